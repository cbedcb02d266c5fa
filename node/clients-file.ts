/**
 * The enrolled clients file, `<data>/clients.json`: the devices let in with an enrolment
 * code (node/enrolment.ts), and when each was revoked. Format version 1, JSON, exactly
 * these keys, written atomically with mode 0600:
 *
 *   {"version":1,"clients":[{"publicKey":"ddil1:…","name":"Ana's phone","enrolledAtMs":1795348800000},
 *                           {"publicKey":"ddil1:…","name":"lost tablet","enrolledAtMs":…,"revokedAtMs":…}]}
 *
 * `publicKey` is the `ddil1:` text (both public keys and a checksum, node/user-identity.ts),
 * so a flipped bit is caught as corruption rather than becoming another user's key; `name`
 * follows the display-name rules (protocol/channel/profile.ts); entries are in enrolment
 * order, one per key, one a line. Decoding refuses anything else; re-encoding a file this
 * module wrote gives it back byte for byte (a pinned fixture: test/fixtures/clients-v1.json).
 *
 * @example
 * const clients = await loadClientsFile(dataDir)        // [] when there is no file yet
 * await saveClientsFile(dataDir, [...clients, { publicKey, xPublicKey, name: 'Ana', enrolledAtMs: now }])
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError, StorageError } from '../protocol/errors.ts'
import { toHex } from '../protocol/bytes.ts'
import { displayNameProblem } from '../protocol/channel/profile.ts'
import { hlcMsMax } from '../protocol/hlc.ts'
import { checkPrivateFile, statOrUndefined } from './config/files.ts'
import { writeFileAtomic } from './fs-durable.ts'
import { formatUserPublicKey, tryParseUserPublicKey } from './user-identity.ts'
import { clientsFileBytesMax, enrolledClientsMax } from './api/limits.ts'

/** One enrolled device, as the file holds it (the client API's `clients` entries have this shape). */
export interface ClientRecord {
  /** Ed25519 public key: the user key the device authenticates with. */
  publicKey: Uint8Array
  /** X25519 public key: what a channel owner seals epoch keys to. */
  xPublicKey: Uint8Array
  name: string
  enrolledAtMs: number
  revokedAtMs?: number
}

export const clientsFileName = 'clients.json'
export const clientsFileVersion = 1

const fileKeys = ['version', 'clients']
const entryKeys = ['publicKey', 'name', 'enrolledAtMs', 'revokedAtMs']

export function encodeClientsFile (clients: readonly ClientRecord[]): string {
  const entries = clients.map(c => ({
    publicKey: formatUserPublicKey(c.publicKey, c.xPublicKey),
    name: c.name,
    enrolledAtMs: c.enrolledAtMs,
    ...(c.revokedAtMs !== undefined ? { revokedAtMs: c.revokedAtMs } : {}),
  }))
  // One entry a line: an operator reading it sees one device a line.
  const list = entries.length === 0 ? '' : `\n${entries.map(e => JSON.stringify(e)).join(',\n')}\n`
  const text = `{"version":${clientsFileVersion},"clients":[${list}]}\n`
  decodeClientsFile(text) // one definition of validity: never write what the next start would refuse
  return text
}

/** Strict decode; ConfigError saying what is wrong (`where` names the file). */
export function decodeClientsFile (text: string, where = clientsFileName): ClientRecord[] {
  const corrupt = (why: string): ConfigError => new ConfigError(`${where} is corrupt (${why}); restore it from a backup, or fix that entry (devices listed in it are the ones "ddil enrol" let in)`)
  let file: unknown
  try { file = JSON.parse(text) } catch { throw corrupt('not JSON') }
  if (typeof file !== 'object' || file === null || Array.isArray(file)) throw corrupt('not a JSON object')
  const record = file as Record<string, unknown>
  if (typeof record.version !== 'number') throw corrupt('no "version" number')
  if (record.version !== clientsFileVersion) throw new ConfigError(`${where} has format version ${record.version}, but this ddil reads version ${clientsFileVersion}; use the ddil release that wrote it`)
  const extra = Object.keys(record).find(k => !fileKeys.includes(k))
  if (extra !== undefined) throw corrupt(`unexpected key ${JSON.stringify(extra)}`)
  if (!Array.isArray(record.clients)) throw corrupt('"clients" is not a list')
  if (record.clients.length > enrolledClientsMax) throw corrupt(`${record.clients.length} entries, more than ${enrolledClientsMax}`)
  const seen = new Set<string>()
  return record.clients.map((entry: unknown, i: number) => {
    const c = decodeEntry(entry, (why) => corrupt(`entry ${i + 1}: ${why}`))
    const key = toHex(c.publicKey)
    if (seen.has(key)) throw corrupt(`entry ${i + 1}: the key is listed twice`)
    seen.add(key)
    return c
  })
}

function decodeEntry (entry: unknown, corrupt: (why: string) => ConfigError): ClientRecord {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw corrupt('not a JSON object')
  const e = entry as Record<string, unknown>
  const extra = Object.keys(e).find(k => !entryKeys.includes(k))
  if (extra !== undefined) throw corrupt(`unexpected key ${JSON.stringify(extra)}`)
  const key = typeof e.publicKey === 'string' ? tryParseUserPublicKey(e.publicKey) : { problem: 'is missing' }
  if ('problem' in key) throw corrupt(`"publicKey" ${key.problem}`)
  if (key.text !== e.publicKey) throw corrupt('"publicKey" has spaces around it')
  if (typeof e.name !== 'string') throw corrupt('"name" is not text')
  const problem = displayNameProblem(e.name)
  if (problem !== undefined) throw corrupt(`"name" ${problem}`)
  const time = (k: string): number => {
    const v = e[k]
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > hlcMsMax) throw corrupt(`"${k}" is not a time in ms`)
    return v
  }
  const out: ClientRecord = { publicKey: key.ed25519, xPublicKey: key.x25519, name: e.name, enrolledAtMs: time('enrolledAtMs') }
  if (e.revokedAtMs !== undefined) out.revokedAtMs = time('revokedAtMs')
  return out
}

/** Reads `<dataDir>/clients.json`; [] when there is none. Refuses a file others can read, an oversized one, a corrupt one. */
export async function loadClientsFile (dataDir: string): Promise<ClientRecord[]> {
  const path = join(dataDir, clientsFileName)
  if (await statOrUndefined(path) === undefined) return []
  const stats = await checkPrivateFile(path, 'the enrolled clients list')
  if (stats.size > clientsFileBytesMax) throw new ConfigError(`${path} is ${stats.size} bytes, more than ${clientsFileBytesMax}: not an enrolled clients list (corrupt?)`)
  return decodeClientsFile(await readFile(path, 'utf8'), path)
}

/** Replaces `<dataDir>/clients.json` atomically (mode 0600). */
export async function saveClientsFile (dataDir: string, clients: readonly ClientRecord[]): Promise<void> {
  const path = join(dataDir, clientsFileName)
  const text = encodeClientsFile(clients)
  try {
    await writeFileAtomic(path, text, 0o600)
  } catch (e) {
    throw new StorageError(`cannot write ${path}: ${(e as Error).message}`, { cause: e })
  }
}
