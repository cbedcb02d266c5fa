/**
 * A private key file under a passphrase: node.key or user.key encrypted at rest, and the
 * operator identity's backup (`ddil key export`). The plaintext is the unprotected key
 * file's bytes, unchanged, so protecting a key and unlocking it give back the same file.
 *
 * Format version 1: JSON, exactly these keys in this order, binary fields base64url
 * without padding:
 *   { "type": "ddil-protected-key", "version": 1, "contains": "node.key" | "user.key",
 *     "publicKey": <the key's public half as text>, "kdf": "scrypt", "log2N": 16, "r": 8, "p": 1,
 *     "salt": <16 B>, "cipher": "aes-256-gcm", "nonce": <12 B>, "ciphertext": <ciphertext ‖ 16 B tag> }
 *   key        = scrypt(UTF-8 of the NFC-normalised passphrase, salt, 32 B, N = 2^log2N, r, p)
 *   ciphertext = AES-256-GCM(key, nonce, plaintext), additional data = UTF-8 of the JSON above
 *                without "ciphertext" (compact, same key order)
 * Every header field is authenticated, so a file whose cost, salt, `contains` or public key
 * was changed is refused exactly like a wrong passphrase. `publicKey` is in the clear so
 * `ddil whoami` and `ddil audit verify` work without the passphrase.
 *
 * @example
 * const text = sealKey(bytes, 'correct horse battery', { contains: 'user.key', publicKey: 'ddil1:…', salt, nonce })
 * openKey(decodeProtectedKey(text, 'user.key'), 'correct horse battery', 'user.key')   // bytes
 */
import { createCipheriv, createDecipheriv, scryptSync } from 'node:crypto'
import { ConfigError, CryptoError } from '../protocol/errors.ts'
import { scryptLog2NDefault, scryptLog2NMax, scryptLog2NMin, scryptP, scryptR } from '../protocol/limits.ts'
import { parseTypedJson } from './json-file.ts'

export const protectedKeyType = 'ddil-protected-key'
const formatVersion = 1
const fileKeys = ['type', 'version', 'contains', 'publicKey', 'kdf', 'log2N', 'r', 'p', 'salt', 'cipher', 'nonce', 'ciphertext']
const saltBytes = 16
const nonceBytes = 12
const tagBytes = 16
const keyBytes = 32

export type KeyFileName = 'node.key' | 'user.key' | 'org.key'
const keyFileNames: readonly string[] = ['node.key', 'user.key', 'org.key']

export interface ProtectedKey {
  contains: KeyFileName
  publicKey: string
  log2N: number
  salt: Uint8Array
  nonce: Uint8Array
  /** AES-256-GCM ciphertext followed by its 16-byte tag. */
  ciphertext: Uint8Array
}

export interface SealOptions {
  contains: KeyFileName
  publicKey: string
  /** 16 random bytes; injected so tests can pin vectors. */
  salt: Uint8Array
  /** 12 random bytes. */
  nonce: Uint8Array
  log2N?: number
}

function b64 (bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url')
}

/** The authenticated header: the file's JSON without `ciphertext`. */
function header (k: Omit<ProtectedKey, 'ciphertext'>): Record<string, unknown> {
  return {
    type: protectedKeyType, version: formatVersion, contains: k.contains, publicKey: k.publicKey,
    kdf: 'scrypt', log2N: k.log2N, r: scryptR, p: scryptP, salt: b64(k.salt), cipher: 'aes-256-gcm', nonce: b64(k.nonce),
  }
}

function deriveKey (passphrase: string, salt: Uint8Array, log2N: number): Buffer {
  const N = 2 ** log2N
  // scrypt needs 128 × N × r bytes; maxmem leaves room for its bookkeeping.
  return scryptSync(Buffer.from(passphrase.normalize('NFC'), 'utf8'), salt, keyBytes, { N, r: scryptR, p: scryptP, maxmem: 2 * 128 * N * scryptR })
}

/** The protected file's text. */
export function encodeProtectedKey (k: ProtectedKey): string {
  return JSON.stringify({ ...header(k), ciphertext: b64(k.ciphertext) }, null, 2) + '\n'
}

/** Encrypts `plaintext` (a key file's bytes) under `passphrase`; returns the protected file's text. */
export function sealKey (plaintext: Uint8Array, passphrase: string, options: SealOptions): string {
  const log2N = options.log2N ?? scryptLog2NDefault
  if (options.salt.length !== saltBytes || options.nonce.length !== nonceBytes) throw new CryptoError(`a protected key needs a ${saltBytes}-byte salt and a ${nonceBytes}-byte nonce`)
  const fields = { contains: options.contains, publicKey: options.publicKey, log2N, salt: options.salt, nonce: options.nonce }
  const cipher = createCipheriv('aes-256-gcm', deriveKey(passphrase, options.salt, log2N), options.nonce)
  cipher.setAAD(Buffer.from(JSON.stringify(header(fields)), 'utf8'))
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()])
  return encodeProtectedKey({ ...fields, ciphertext: new Uint8Array(ciphertext) })
}

/**
 * True when `bytes` is a protected key file (of any version, or cut short), not a plain one:
 * a plain node.key is protobuf (first byte 0x08), a plain user.key JSON of another type.
 * A truncated protected file counts, so it is reported as a truncated protected key.
 */
export function isProtectedKey (bytes: Uint8Array): boolean {
  if (bytes[0] !== 0x7b) return false
  const text = Buffer.from(bytes).toString('utf8')
  try {
    const parsed: unknown = JSON.parse(text)
    return typeof parsed === 'object' && parsed !== null && (parsed as Record<string, unknown>).type === protectedKeyType
  } catch {
    return /^\{\s*"type"\s*:\s*"ddil-protected-key"/.test(text)
  }
}

/** Reads a protected key file strictly; `where` names it in errors. Does not decrypt. */
export function decodeProtectedKey (text: string, where: string): ProtectedKey {
  const corrupt = (why: string): ConfigError => new ConfigError(`${where} is not a readable protected key (${why}); restore it from a backup ("ddil key import")`)
  const r = parseTypedJson(text, protectedKeyType, corrupt, 'not complete JSON: truncated?')
  if (r.version !== formatVersion) throw new ConfigError(`${where} has protected-key format version ${JSON.stringify(r.version)}, but this ddil reads version ${formatVersion}; use the ddil release that wrote it`)
  const keys = Object.keys(r)
  if (keys.join() !== fileKeys.join()) throw corrupt(`its keys are not exactly ${fileKeys.join(', ')} in that order`)
  if (typeof r.contains !== 'string' || !keyFileNames.includes(r.contains)) throw corrupt('"contains" is not node.key, user.key or org.key')
  if (typeof r.publicKey !== 'string' || r.publicKey.length > 200) throw corrupt('"publicKey" is not a short text')
  if (r.kdf !== 'scrypt' || r.cipher !== 'aes-256-gcm' || r.r !== scryptR || r.p !== scryptP) throw corrupt(`only scrypt with r = ${scryptR}, p = ${scryptP} and aes-256-gcm are read`)
  if (typeof r.log2N !== 'number' || !Number.isInteger(r.log2N) || r.log2N < scryptLog2NMin || r.log2N > scryptLog2NMax) {
    throw corrupt(`"log2N" is not an integer from ${scryptLog2NMin} to ${scryptLog2NMax}`)
  }
  const bytes = (key: string, length?: number): Uint8Array => {
    const value = r[key]
    const out = typeof value === 'string' && /^[A-Za-z0-9_-]*$/.test(value) ? Buffer.from(value, 'base64url') : undefined
    if (out === undefined || out.toString('base64url') !== value || (length !== undefined && out.length !== length)) throw corrupt(`"${key}" is not ${length ?? 'some'} bytes of base64url`)
    return new Uint8Array(out)
  }
  const ciphertext = bytes('ciphertext')
  if (ciphertext.length <= tagBytes) throw corrupt('"ciphertext" is too short')
  return { contains: r.contains as KeyFileName, publicKey: r.publicKey, log2N: r.log2N, salt: bytes('salt', saltBytes), nonce: bytes('nonce', nonceBytes), ciphertext }
}

/** Decrypts; a wrong passphrase and a changed file are the same CryptoError (GCM cannot tell them apart). */
export function openKey (k: ProtectedKey, passphrase: string, where: string): Uint8Array {
  const decipher = createDecipheriv('aes-256-gcm', deriveKey(passphrase, k.salt, k.log2N), k.nonce)
  decipher.setAAD(Buffer.from(JSON.stringify(header(k)), 'utf8'))
  decipher.setAuthTag(k.ciphertext.subarray(k.ciphertext.length - tagBytes))
  try {
    return new Uint8Array(Buffer.concat([decipher.update(k.ciphertext.subarray(0, k.ciphertext.length - tagBytes)), decipher.final()]))
  } catch {
    throw new CryptoError(`wrong passphrase for ${where}, or the file was changed (nothing was decrypted)`)
  }
}
