/**
 * Receipt payload (content type 0x03): the ids of the messages a member has received.
 * The smallest honest form, since receipts are frequent and links are slow:
 *
 *   receipt = id{1..receiptIdsMax}      ; 32-byte envelope ids, sorted ascending, unique
 *
 * No length prefix: the payload length is known from the decrypted body, and must be a
 * whole number of ids. Sorted and unique, so each set of ids has one byte form.
 *
 * @example
 * const payload = encodeReceipt([idA, idB])      // sorts a copy
 * decodeReceipt(payload)                         // [idA, idB] in byte order
 */
import { compareBytes } from '../bytes.ts'
import { DecodeError, LimitError } from '../errors.ts'
import { receiptIdsMax } from '../limits.ts'

export const messageIdBytes = 32

function checkCount (n: number): void {
  if (n === 0) throw new DecodeError('a receipt names at least one message')
  if (n > receiptIdsMax) throw new LimitError(`${n} receipt ids exceed ${receiptIdsMax}`)
}

export function encodeReceipt (ids: Uint8Array[]): Uint8Array {
  checkCount(ids.length)
  const sorted = [...ids].sort(compareBytes)
  const out = new Uint8Array(sorted.length * messageIdBytes)
  sorted.forEach((id, i) => {
    if (id.length !== messageIdBytes) throw new DecodeError(`receipt id must be ${messageIdBytes} bytes, got ${id.length}`)
    if (i > 0 && compareBytes(sorted[i - 1], id) === 0) throw new DecodeError('receipt lists an id twice')
    out.set(id, i * messageIdBytes)
  })
  return out
}

export function decodeReceipt (payload: Uint8Array): Uint8Array[] {
  // Count check first: bounds the work before anything is sliced.
  if (payload.length % messageIdBytes !== 0) throw new DecodeError(`receipt of ${payload.length} bytes is not a whole number of ids`)
  checkCount(payload.length / messageIdBytes)
  const ids: Uint8Array[] = []
  for (let off = 0; off < payload.length; off += messageIdBytes) {
    const id = payload.slice(off, off + messageIdBytes)
    if (ids.length > 0 && compareBytes(ids[ids.length - 1], id) >= 0) throw new DecodeError('receipt ids must be sorted and unique')
    ids.push(id)
  }
  return ids
}
