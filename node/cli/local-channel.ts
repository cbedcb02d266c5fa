/**
 * What the CLI keeps per user in the data directory besides keys: channel names it
 * knows (channel names are encrypted on the wire, so the local name is a
 * convenience), a board device seed, and per-channel sequence counters updated
 * under a lock and fsynced before a number is used, so two `ddil` runs never reuse
 * one (a reused sequence would reuse an AES-GCM nonce).
 *
 * @example
 * const seq = await nextSequence(dataDir, channelHex, highestSeenFromBacklog)
 */
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { StorageError, UsageError } from '../../protocol/errors.ts'
import { fromHex } from '../../protocol/bytes.ts'

/** How long `nextSequence` waits for another ddil command to release the counter lock. */
const sequenceLockWaitMs = 5_000

function writeJsonDurably (file: string, value: unknown): void {
  const tmp = `${file}.tmp`
  writeFileSync(tmp, JSON.stringify(value, null, 1) + '\n', { mode: 0o600 })
  const fd = openSync(tmp, 'r+'); fsyncSync(fd); closeSync(fd)
  renameSync(tmp, file)
}

function readJson<T> (file: string, fallback: T): T {
  try { return JSON.parse(readFileSync(file, 'utf8')) as T } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return fallback
    throw new StorageError(`${file} is unreadable: ${(e as Error).message}`)
  }
}

async function withLock<T> (file: string, fn: () => T): Promise<T> {
  const lock = `${file}.lock`
  const deadline = Date.now() + sequenceLockWaitMs
  for (;;) {
    try { closeSync(openSync(lock, 'wx', 0o600)); break } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new StorageError(`cannot lock ${lock}: ${(e as Error).message}`)
      if (Date.now() > deadline) throw new StorageError(`${lock} is held by another ddil command; remove it if none is running`)
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  }
  try { return fn() } finally { rmSync(lock, { force: true }) }
}

/** Reserves the next sequence number for (channel, this user) above `atLeast`, durably, before it is used. */
export async function nextSequence (dataDir: string, channelHex: string, atLeast = 0, count = 1): Promise<number> {
  const file = join(dataDir, 'sequences.json')
  return await withLock(file, () => {
    const counters = readJson<Record<string, number>>(file, {})
    const next = Math.max(counters[channelHex] ?? 0, atLeast) + 1
    counters[channelHex] = next + count - 1 // a file's pieces take `count` in one write
    writeJsonDurably(file, counters)
    return next
  })
}

export function deviceSeed (dataDir: string): Uint8Array {
  const file = join(dataDir, 'device.seed')
  if (!existsSync(file)) writeFileSync(file, randomBytes(16).toString('hex') + '\n', { mode: 0o600, flag: 'wx' })
  return fromHex(readFileSync(file, 'utf8').trim())
}

export function channelNames (dataDir: string): Record<string, string> {
  return readJson<Record<string, string>>(join(dataDir, 'channels.json'), {})
}

export async function rememberChannel (dataDir: string, refHex: string, name: string): Promise<void> {
  const file = join(dataDir, 'channels.json')
  await withLock(file, () => {
    const names = readJson<Record<string, string>>(file, {})
    if (names[refHex] === name) return
    names[refHex] = name
    writeJsonDurably(file, names)
  })
}

/** A channel argument: a local name, or the 16-hex-digit channel reference. */
export function resolveChannel (dataDir: string, arg: string): string {
  if (/^[0-9a-f]{16}$/i.test(arg)) return arg.toLowerCase()
  const names = channelNames(dataDir)
  const matches = Object.entries(names).filter(([, n]) => n === arg)
  if (matches.length === 1) return matches[0][0]
  if (matches.length > 1) throw new UsageError(`several channels are named "${arg}" here: use the reference (${matches.map(m => m[0]).join(', ')})`)
  throw new UsageError(`no channel named "${arg}" on this machine: create it with "ddil channel create ${arg}", or give its 16-hex-digit reference`)
}
