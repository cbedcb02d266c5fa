/**
 * The operator user's identity: an Ed25519 signing key and an X25519 key-agreement
 * key (raw 32-byte seeds), kept in `<dataDir>/user.key` (mode 0600), and its public
 * form for `ddil whoami` / `ddil channel add`.
 *
 * user.key, format version 1 (JSON, exactly these keys, base64url without padding):
 *   { "type": "ddil-user-key", "version": 1,
 *     "ed25519Seed": <32 B>, "x25519Seed": <32 B>, "publicKey": "ddil1:…" }
 * `publicKey` is redundant on purpose: it is re-derived on load, so a flipped bit in a
 * seed is reported as corruption instead of silently becoming another user.
 *
 * user.key may instead be protected under a passphrase (node/protected-key.ts, whose
 * plaintext is the file above); `loadUserIdentity` unlocks it with `access.passphrases`.
 *
 * Public form: `ddil1:` + base64url(ed25519 public 32 B ‖ x25519 public 32 B ‖
 * first 4 bytes of SHA-256(ed25519 public ‖ x25519 public)), 91 characters after the
 * prefix. The checksum catches a mistyped or truncated key (a miss is 1 in 2^32).
 *
 * @example
 * const me = await createUserIdentityFile('/var/lib/ddil')
 * me.publicKey                                  // 'ddil1:…' (91 characters after the prefix)
 * parseUserPublicKey(me.publicKey).ed25519      // Uint8Array(32)
 */
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { ConfigError } from '../protocol/errors.ts'
import { userKeyFileBytesMax } from '../protocol/limits.ts'
import type { Crypto, KeyPair } from '../protocol/ports.ts'
import { writeNewFile } from './config/files.ts'
import { createNodeCrypto } from './crypto.ts'
import { parseTypedJson } from './json-file.ts'
import { newKeyBytes, readKeyFile, unlockKeyBytes, type KeyAccess } from './key-files.ts'
import { decodeProtectedKey, isProtectedKey } from './protected-key.ts'

export const userKeyFileName = 'user.key'
export const userPublicKeyPrefix = 'ddil1:'

const fileType = 'ddil-user-key'
const fileVersion = 1
const fileKeys = ['type', 'version', 'ed25519Seed', 'x25519Seed', 'publicKey']
const checksumBytes = 4
/** base64url length of 32 + 32 + 4 bytes, unpadded. */
const publicTextChars = Math.ceil((64 + checksumBytes) * 4 / 3)

export interface UserPublicKey {
  ed25519: Uint8Array
  x25519: Uint8Array
  /** The canonical `ddil1:…` text. */
  text: string
}

export interface UserIdentity {
  ed25519: KeyPair
  x25519: KeyPair
  /** The `ddil1:…` public form. */
  publicKey: string
}

function b64 (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url')
}

/**
 * Strict base64url: only the alphabet ('alphabet' otherwise), and it must re-encode to the
 * same text ('non-canonical' otherwise: the last character's spare bits are set, which is
 * what changing that character usually does).
 */
function unb64 (text: string): Uint8Array | 'alphabet' | 'non-canonical' {
  if (!/^[A-Za-z0-9_-]*$/.test(text)) return 'alphabet'
  const bytes = Buffer.from(text, 'base64url')
  return bytes.toString('base64url') === text ? new Uint8Array(bytes) : 'non-canonical'
}

function checksum (ed25519: Uint8Array, x25519: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(ed25519).update(x25519).digest().subarray(0, checksumBytes))
}

/** The `ddil1:…` text for two raw 32-byte public keys. */
export function formatUserPublicKey (ed25519: Uint8Array, x25519: Uint8Array): string {
  if (ed25519.length !== 32 || x25519.length !== 32) throw new ConfigError('user public keys are 32 bytes each')
  const body = new Uint8Array(64 + checksumBytes)
  body.set(ed25519, 0)
  body.set(x25519, 32)
  body.set(checksum(ed25519, x25519), 64)
  return userPublicKeyPrefix + b64(body)
}

/** Parses a pasted `ddil1:…` key (surrounding whitespace ignored); ConfigError says what is wrong with it. */
export function parseUserPublicKey (input: string): UserPublicKey {
  const result = tryParseUserPublicKey(input)
  if ('problem' in result) {
    const text = String(input).trim()
    throw new ConfigError(`${JSON.stringify(text.length > 100 ? `${text.slice(0, 100)}…` : text)} ${result.problem}`)
  }
  return result
}

/** Like `parseUserPublicKey`, but returns the problem as the tail of a sentence ("is not a user key: …"). */
export function tryParseUserPublicKey (input: string): UserPublicKey | { problem: string } {
  const text = typeof input === 'string' ? input.trim() : ''
  const fix = 'copy it again from "ddil whoami" on the user\'s machine'
  if (!text.startsWith(userPublicKeyPrefix)) {
    const hint = /^(12D3KooW|Qm)/.test(text) ? ' (that looks like a node id; a user key comes from "ddil whoami")' : ''
    return { problem: `is not a user key: it must start with "${userPublicKeyPrefix}"${hint}` }
  }
  const encoded = text.slice(userPublicKeyPrefix.length)
  if (encoded.length !== publicTextChars) {
    return { problem: `is not a user key: it has ${encoded.length} characters after "${userPublicKeyPrefix}" instead of ${publicTextChars}; ${fix}` }
  }
  const body = unb64(encoded)
  const mistyped = `is not a valid user key: its checksum does not match (a character was mistyped or changed); ${fix}`
  if (body === 'alphabet') return { problem: `is not a user key: it contains characters other than A-Z, a-z, 0-9, "-" and "_"; ${fix}` }
  if (body === 'non-canonical') return { problem: mistyped }
  const ed25519 = body.slice(0, 32)
  const x25519 = body.slice(32, 64)
  if (!Buffer.from(checksum(ed25519, x25519)).equals(body.subarray(64))) return { problem: mistyped }
  return { ed25519, x25519, text }
}

/** Derives an identity from two 32-byte seeds (random ones when omitted). */
export function createUserIdentity (crypto: Crypto = createNodeCrypto(), seeds?: { ed25519: Uint8Array, x25519: Uint8Array }): UserIdentity {
  const ed25519 = crypto.ed25519KeyPair(seeds?.ed25519 ?? new Uint8Array(randomBytes(32)))
  const x25519 = crypto.x25519KeyPair(seeds?.x25519 ?? new Uint8Array(randomBytes(32)))
  return { ed25519, x25519, publicKey: formatUserPublicKey(ed25519.publicKey, x25519.publicKey) }
}

/** The user.key file text (version 1). */
export function encodeUserKeyFile (identity: UserIdentity): string {
  const file = {
    type: fileType,
    version: fileVersion,
    ed25519Seed: b64(identity.ed25519.privateKey),
    x25519Seed: b64(identity.x25519.privateKey),
    publicKey: identity.publicKey,
  }
  return JSON.stringify(file, null, 2) + '\n'
}

/** Reads user.key text strictly; `where` names the file in errors. */
export function decodeUserKeyFile (text: string, where = userKeyFileName, crypto: Crypto = createNodeCrypto()): UserIdentity {
  const corrupt = (why: string): ConfigError => new ConfigError(`${where} is corrupt (${why}); restore it from a backup, or move it away and run "ddil init --force" to create a new operator identity`)
  const record = parseTypedJson(text, fileType, corrupt)
  if (typeof record.version !== 'number') throw corrupt('no "version" number')
  if (record.version !== fileVersion) {
    throw new ConfigError(`${where} has format version ${JSON.stringify(record.version)}, but this ddil reads version ${fileVersion}; use the ddil release that wrote it`)
  }
  const extra = Object.keys(record).filter(k => !fileKeys.includes(k))
  if (extra.length > 0) throw corrupt(`unexpected key ${JSON.stringify(extra[0])}`)
  const seed = (key: string): Uint8Array => {
    const bytes = typeof record[key] === 'string' ? unb64(record[key]) : undefined
    if (!(bytes instanceof Uint8Array) || bytes.length !== 32) throw corrupt(`"${key}" is not 32 bytes of base64url`)
    return bytes
  }
  const identity = createUserIdentity(crypto, { ed25519: seed('ed25519Seed'), x25519: seed('x25519Seed') })
  if (record.publicKey !== identity.publicKey) throw corrupt('the stored public key does not match the seeds')
  return identity
}

/**
 * Loads `<dataDir>/user.key`, refusing a file that group or others can read, or one that is
 * corrupt; a protected one is unlocked with the passphrase from `access`.
 */
export async function loadUserIdentity (dataDir: string, crypto: Crypto = createNodeCrypto(), access: KeyAccess = {}): Promise<UserIdentity> {
  const path = join(dataDir, userKeyFileName)
  const plain = await unlockKeyBytes(await readKeyFile(path, 'the operator user key'), path, 'user.key', access)
  if (plain.length > userKeyFileBytesMax) throw new ConfigError(`${path} is ${plain.length} bytes, not a user key (corrupt?)`)
  return decodeUserKeyFile(Buffer.from(plain).toString('utf8'), path, crypto)
}

/**
 * The operator's public key without unlocking: from the clear header of a protected user.key
 * (authenticated when the key is unlocked; whoever can rewrite the header can replace the
 * whole file anyway), or from a plain one.
 */
export async function loadUserPublicKey (dataDir: string): Promise<UserPublicKey> {
  const path = join(dataDir, userKeyFileName)
  const bytes = await readKeyFile(path, 'the operator user key')
  if (!isProtectedKey(bytes)) return parseUserPublicKey(userKeyPublicText(bytes, path))
  return parseUserPublicKey(decodeProtectedKey(Buffer.from(bytes).toString('utf8'), path).publicKey)
}

/** The `ddil1:…` public key in a plain user.key file's bytes (ConfigError when corrupt). */
export function userKeyPublicText (plain: Uint8Array, where = userKeyFileName): string {
  return decodeUserKeyFile(Buffer.from(plain).toString('utf8'), where).publicKey
}

/** Creates `<dataDir>/user.key` (mode 0600, protected when `access.protectWith` is set) with fresh random seeds; fails if the file exists. */
export async function createUserIdentityFile (dataDir: string, crypto: Crypto = createNodeCrypto(), access: KeyAccess = {}): Promise<UserIdentity> {
  const identity = createUserIdentity(crypto)
  const plain = Buffer.from(encodeUserKeyFile(identity), 'utf8')
  await writeNewFile(join(dataDir, userKeyFileName), newKeyBytes(plain, 'user.key', identity.publicKey, access), 0o600)
  return identity
}
