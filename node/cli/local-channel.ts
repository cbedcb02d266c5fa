/**
 * Messages on a locally named channel, until channel governance and end-to-end
 * encryption land (the channels issue): the channel reference is derived from its
 * name, and the body is a content-type byte followed by UTF-8 text. NOT encrypted:
 * relays can read these bodies. Sequence numbers per (channel, author) come from a
 * counter file updated under a lock before use, so two `ddil send` runs never reuse one.
 *
 * @example
 * const ref = localChannelRef(crypto, 'ops'); const seq = await nextSequence(dataDir, ref)
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError, StorageError, DecodeError } from '../../protocol/errors.ts'
import { fromUtf8, toHex, utf8 } from '../../protocol/bytes.ts'
import { channelRefBytes } from '../../protocol/envelope.ts'
import type { Crypto } from '../../protocol/ports.ts'

export const contentText = 0x01
/** How long `nextSequence` waits for another `ddil send` to release the counter lock. */
const sequenceLockWaitMs = 5_000

export function localChannelRef (crypto: Crypto, name: string): Uint8Array {
  if (!/^[\p{L}\p{N}][\p{L}\p{N}_.-]{0,63}$/u.test(name)) throw new UsageError(`channel name "${name}" must be 1-64 letters, digits, "_", "." or "-", starting with a letter or digit`)
  return crypto.sha256(utf8(`ddil/v1/local-channel\n${name}`)).slice(0, channelRefBytes)
}

export function encodeText (text: string): Uint8Array {
  const body = utf8(text)
  const out = new Uint8Array(1 + body.length)
  out[0] = contentText
  out.set(body, 1)
  return out
}

export function decodeText (body: Uint8Array): string {
  if (body.length === 0 || body[0] !== contentText) throw new DecodeError('not a text message')
  return fromUtf8(body.subarray(1))
}

/** Reserves the next sequence number for (channel, this user), durably, before it is used. */
export async function nextSequence (dataDir: string, channel: Uint8Array): Promise<number> {
  const file = join(dataDir, 'sequences.json')
  const lock = `${file}.lock`
  const deadline = Date.now() + sequenceLockWaitMs
  for (;;) {
    try { closeSync(openSync(lock, 'wx', 0o600)); break } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new StorageError(`cannot lock ${lock}: ${(e as Error).message}`)
      if (Date.now() > deadline) throw new StorageError(`${lock} is held by another ddil send; remove it if no ddil command is running`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }
  try {
    let counters: Record<string, number> = {}
    try { counters = JSON.parse(readFileSync(file, 'utf8')) as Record<string, number> } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new StorageError(`${file} is unreadable: ${(e as Error).message}`)
    }
    const key = toHex(channel)
    const next = (counters[key] ?? 0) + 1
    counters[key] = next
    const tmp = `${file}.tmp`
    writeFileSync(tmp, JSON.stringify(counters) + '\n', { mode: 0o600 })
    const fd = openSync(tmp, 'r+'); fsyncSync(fd); closeSync(fd)
    renameSync(tmp, file)
    return next
  } finally {
    rmSync(lock, { force: true })
  }
}
