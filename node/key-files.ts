/**
 * node.key and user.key as stored: plain (mode 0600) or protected under a passphrase
 * (node/protected-key.ts). Loaders hand the file's bytes to `unlockKeyBytes`, which returns
 * the plain key file's bytes either way; `protectKeyFile` and `unprotectKeyFile` turn one
 * form into the other in place, atomically (a crash leaves the old file or the new one).
 *
 * @example
 * const plain = await unlockKeyBytes(await readFile(path), path, 'user.key', { passphrases })
 * await protectKeyFile(path, 'user.key', passphrase, userKeyPublicText)   // 'protected' | 'already'
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError, StorageError } from '../protocol/errors.ts'
import { protectedKeyFileBytesMax } from '../protocol/limits.ts'
import { checkPrivateFile, modeText, openToOthers, statOrUndefined } from './config/files.ts'
import { writeFileAtomic } from './fs-durable.ts'
import { noPassphrases, type Passphrases } from './passphrase.ts'
import { decodeProtectedKey, isProtectedKey, openKey, sealKey, type KeyFileName } from './protected-key.ts'

export interface KeyAccess {
  /** Where a protected key's passphrase comes from; without it, a protected key is refused with a sentence saying how to give one. */
  passphrases?: Passphrases
  /** Keys created now are protected under this passphrase (`ddil init --protect`); plain (0600) without it. */
  protectWith?: string
  /** Random bytes for salts and nonces; injected by tests. */
  randomBytes?: (n: number) => Uint8Array
  /** scrypt cost for keys sealed now (default `scryptLog2NDefault`); tests use the cheapest readable one. */
  scryptLog2N?: number
}

/** The plain key file's bytes, decrypting a protected file with the passphrase from `access`. */
export async function unlockKeyBytes (bytes: Uint8Array, path: string, contains: KeyFileName, access: KeyAccess = {}): Promise<Uint8Array> {
  if (!isProtectedKey(bytes)) return bytes
  const file = decodeProtectedKey(Buffer.from(bytes).toString('utf8'), path)
  if (file.contains !== contains) throw new ConfigError(`${path} holds a protected ${file.contains}, not a ${contains}; put each key file back under its own name`)
  return openKey(file, await (access.passphrases ?? noPassphrases).unlock(path), path)
}

/** The protected form of a plain key file's bytes. */
export function sealKeyBytes (plain: Uint8Array, contains: KeyFileName, publicKey: string, passphrase: string, access: KeyAccess = {}): string {
  const random = access.randomBytes ?? ((n: number) => new Uint8Array(randomBytes(n)))
  return sealKey(plain, passphrase, { contains, publicKey, salt: random(16), nonce: random(12), ...(access.scryptLog2N !== undefined ? { log2N: access.scryptLog2N } : {}) })
}

/** The bytes to write for a new key: protected when `access.protectWith` is set. */
export function newKeyBytes (plain: Uint8Array, contains: KeyFileName, publicKey: string, access: KeyAccess = {}): Uint8Array | string {
  return access.protectWith === undefined ? plain : sealKeyBytes(plain, contains, publicKey, access.protectWith, access)
}

/** Reads a key file after checking it is a private regular file of a plausible size. */
export async function readKeyFile (path: string, what: string): Promise<Uint8Array> {
  const stats = await checkPrivateFile(path, what)
  if (stats.size > protectedKeyFileBytesMax) throw new ConfigError(`${path} is ${stats.size} bytes, not ${what} (corrupt?)`)
  return new Uint8Array(await readFile(path))
}

async function replace (path: string, contents: Uint8Array | string): Promise<void> {
  try {
    await writeFileAtomic(path, contents, 0o600)
  } catch (e) {
    throw new StorageError(`cannot write ${path}: ${(e as Error).message}`)
  }
}

/**
 * Encrypts the plain key file at `path` in place. `publicText` gives the public half of the
 * plain bytes (and fails on a corrupt key, so a corrupt file is never sealed).
 */
export async function protectKeyFile (path: string, contains: KeyFileName, passphrase: string, publicText: (plain: Uint8Array) => string, access: KeyAccess = {}): Promise<'protected' | 'already'> {
  const bytes = await readKeyFile(path, `the ${contains}`)
  if (isProtectedKey(bytes)) return 'already'
  await replace(path, sealKeyBytes(bytes, contains, publicText(bytes), passphrase, access))
  return 'protected'
}

/** Decrypts the protected key file at `path` in place (mode 0600). */
export async function unprotectKeyFile (path: string, contains: KeyFileName, access: KeyAccess): Promise<'unprotected' | 'already'> {
  const bytes = await readKeyFile(path, `the ${contains}`)
  if (!isProtectedKey(bytes)) return 'already'
  await replace(path, await unlockKeyBytes(bytes, path, contains, access))
  return 'unprotected'
}

/**
 * What `ddil configtest` says about the keys in `dataDir`: a key others could read (which
 * `ddil start` refuses) and keys stored unencrypted (allowed, but worth knowing).
 */
export async function keyWarnings (dataDir: string): Promise<string[]> {
  const warnings: string[] = []
  const plain: string[] = []
  for (const name of ['node.key', 'user.key']) {
    const path = join(dataDir, name)
    const stats = await statOrUndefined(path)
    if (stats === undefined || !stats.isFile() || stats.size > protectedKeyFileBytesMax) continue // start reports those itself
    if (openToOthers(stats)) warnings.push(`${path} has mode ${modeText(stats.mode)}: ddil start refuses a key that group or others can read; run chmod 600 ${path}`)
    if (!isProtectedKey(new Uint8Array(await readFile(path)))) plain.push(name)
  }
  if (plain.length > 0) warnings.push(`${plain.join(' and ')} ${plain.length === 1 ? 'is' : 'are'} stored unencrypted; ddil key protect encrypts ${plain.length === 1 ? 'it' : 'them'}`)
  return warnings
}

/**
 * The node's raw public key from a protected node.key's clear header, for `ddil audit verify`
 * (which reads a plain node.key itself); undefined when node.key is plain or missing.
 */
export async function protectedNodePublicKey (dataDir: string): Promise<Uint8Array | undefined> {
  const path = join(dataDir, 'node.key')
  const stats = await statOrUndefined(path)
  if (stats === undefined || !stats.isFile() || stats.size > protectedKeyFileBytesMax) return undefined
  const bytes = new Uint8Array(await readFile(path))
  if (!isProtectedKey(bytes)) return undefined
  return new Uint8Array(Buffer.from(decodeProtectedKey(Buffer.from(bytes).toString('utf8'), path).publicKey, 'base64url'))
}
