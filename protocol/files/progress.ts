/**
 * File progress payload (content type 0x08, in a receipt envelope, #23): how much of a file a
 * member holds, sent at each quarter while it arrives, so its sender sees bytes delivered per
 * recipient before the file is whole (then an ordinary receipt names it). Sealed like every
 * receipt: relays learn that a member reported, not what.
 *
 *   progress = file-id (32 B: the manifest envelope's id) || varint held-bytes
 *
 * @example
 * const payload = encodeFileProgress({ file, heldBytes: 500_000 })
 * decodeFileProgress(payload)   // { file, heldBytes: 500000 }
 */
import { ByteReader, ByteWriter, varintLength } from '../bytes.ts'
import { DecodeError, LimitError } from '../errors.ts'
import { fileChunkBytes, fileChunksMax } from '../limits.ts'

const fileIdBytes = 32
/** Most bytes a file can have (the most chunks, each full). */
const heldBytesMax = fileChunksMax * fileChunkBytes

export interface FileProgressReport { file: Uint8Array, heldBytes: number }

function check (p: FileProgressReport): FileProgressReport {
  if (p.file.length !== fileIdBytes) throw new DecodeError(`a progress report names a ${fileIdBytes}-byte file id`)
  if (!Number.isSafeInteger(p.heldBytes) || p.heldBytes < 0) throw new DecodeError(`held bytes ${p.heldBytes} is not a byte count`)
  if (p.heldBytes > heldBytesMax) throw new LimitError(`held bytes ${p.heldBytes} exceed the largest file, ${heldBytesMax}`)
  return p
}

export function encodeFileProgress (p: FileProgressReport): Uint8Array {
  check(p)
  const w = new ByteWriter(fileIdBytes + varintLength(p.heldBytes))
  w.bytes(p.file)
  w.varint(p.heldBytes)
  return w.finish()
}

/** Strict: exactly an id and one canonical varint. */
export function decodeFileProgress (payload: Uint8Array): FileProgressReport {
  const r = new ByteReader(payload)
  const file = r.bytes(fileIdBytes)
  const heldBytes = r.varint()
  if (r.remaining() !== 0) throw new DecodeError(`${r.remaining()} bytes after a progress report`)
  return check({ file: file.slice(), heldBytes })
}
