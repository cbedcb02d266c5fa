/**
 * The user's keys on this device. Created here (crypto.getRandomValues), never sent
 * anywhere, and stored in IndexedDB only sealed: AES-256-GCM under a key derived from the
 * PIN or passphrase with PBKDF2-HMAC-SHA256 (WebCrypto; 600,000 iterations, a fresh
 * 16-byte salt), the public key bound in as associated data. A wrong PIN fails the tag
 * and is refused; after `pinTriesBeforeBackoff` wrong PINs in a row each try waits,
 * doubling. Honest limit: someone who copies the browser's storage can still guess PINs
 * offline at PBKDF2's cost, so a passphrase is stronger than six digits.
 *
 * @example
 * const me = await createIdentity(db, crypto, { pin: '482913', name: 'Ana (medic)' })
 * const again = await unlockIdentity(db, crypto, '482913')   // UnauthorisedError if wrong
 */
import { concatBytes, utf8 } from '../../protocol/bytes.ts'
import { CryptoError, LimitError, StorageError, UnauthorisedError, UsageError } from '../../protocol/errors.ts'
import type { Crypto, KeyPair } from '../../protocol/ports.ts'
import type { Db } from './idb.ts'
import { pinBackoffMs, pinBackoffMsMax, pinCharsMax, pinCharsMin, pinKdfIterations, pinTriesBeforeBackoff } from './limits.ts'
import { randomBytes } from './random.ts'
import { formatUserKey } from './user-key.ts'

const recordKey = 'me'
const sealLabel = 'ddil/web/identity/v1\n'

/** What IndexedDB holds: never a seed in clear. */
export interface SealedIdentity {
  version: 1
  publicKey: string
  name: string
  iterations: number
  salt: Uint8Array
  iv: Uint8Array
  /** AES-256-GCM of ed25519 seed ‖ x25519 seed (64 bytes) with its tag. */
  sealed: Uint8Array
  /** Whether a relay has let this key in (an enrolment code was spent for it). */
  enrolled: boolean
  createdAtMs: number
  failedTries: number
  lastFailedAtMs: number
}

export interface Identity {
  ed25519: KeyPair
  x25519: KeyPair
  /** The `ddil1:` form, as `ddil whoami` prints it. */
  publicKey: string
  name: string
}

function arrayBuffer (bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer as ArrayBuffer
}

async function pinKey (pin: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  const base = await crypto.subtle.importKey('raw', arrayBuffer(utf8(pin.normalize('NFC'))), 'PBKDF2', false, ['deriveKey'])
  return await crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt: arrayBuffer(salt), iterations }, base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
}

export function checkPin (pin: string): void {
  if (pin.length < pinCharsMin) throw new UsageError(`Choose a PIN or passphrase of at least ${pinCharsMin} characters.`)
  if (pin.length > pinCharsMax) throw new UsageError(`A PIN or passphrase has at most ${pinCharsMax} characters.`)
}

export async function loadSealedIdentity (db: Db): Promise<SealedIdentity | undefined> {
  return await db.get<SealedIdentity>('identity', recordKey)
}

function identityFrom (c: Crypto, seeds: Uint8Array, name: string): Identity {
  const ed25519 = c.ed25519KeyPair(seeds.slice(0, 32))
  const x25519 = c.x25519KeyPair(seeds.slice(32, 64))
  return { ed25519, x25519, name, publicKey: formatUserKey(c, ed25519.publicKey, x25519.publicKey) }
}

/** New keys for this device, sealed under `pin` and stored; returns them unlocked. */
export async function createIdentity (db: Db, c: Crypto, o: { pin: string, name: string, nowMs: number }): Promise<Identity> {
  checkPin(o.pin)
  if (await loadSealedIdentity(db) !== undefined) throw new StorageError('this device already holds a user key: unlock it, or forget this device first')
  const seeds = randomBytes(64)
  const me = identityFrom(c, seeds, o.name)
  const salt = randomBytes(16)
  const iv = randomBytes(12)
  const key = await pinKey(o.pin, salt, pinKdfIterations)
  const sealed = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv: arrayBuffer(iv), additionalData: arrayBuffer(utf8(sealLabel + me.publicKey)) }, key, arrayBuffer(seeds)))
  seeds.fill(0)
  const record: SealedIdentity = { version: 1, publicKey: me.publicKey, name: o.name, iterations: pinKdfIterations, salt, iv, sealed, enrolled: false, createdAtMs: o.nowMs, failedTries: 0, lastFailedAtMs: 0 }
  await db.put('identity', record, recordKey)
  return me
}

/** How long until another PIN may be tried, ms (0: now). */
export function pinWaitMs (record: SealedIdentity, nowMs: number): number {
  const over = record.failedTries - pinTriesBeforeBackoff
  if (over < 0) return 0
  const wait = Math.min(pinBackoffMsMax, pinBackoffMs * 2 ** over)
  return Math.max(0, record.lastFailedAtMs + wait - nowMs)
}

/** Opens the stored keys with `pin`. A wrong PIN is an UnauthorisedError and counts towards the back-off. */
export async function unlockIdentity (db: Db, c: Crypto, pin: string, nowMs: number): Promise<Identity> {
  const record = await loadSealedIdentity(db)
  if (record === undefined) throw new StorageError('no user key on this device: enrol first')
  const wait = pinWaitMs(record, nowMs)
  if (wait > 0) throw new LimitError(`Too many wrong PINs: try again in ${Math.ceil(wait / 1000)} s.`)
  const key = await pinKey(pin, record.salt, record.iterations)
  let seeds: Uint8Array
  try {
    seeds = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: arrayBuffer(record.iv), additionalData: arrayBuffer(utf8(sealLabel + record.publicKey)) }, key, arrayBuffer(record.sealed)))
  } catch {
    await db.update<SealedIdentity>('identity', recordKey, r => ({ ...(r ?? record), failedTries: (r ?? record).failedTries + 1, lastFailedAtMs: nowMs }))
    throw new UnauthorisedError('Wrong PIN.')
  }
  const me = identityFrom(c, seeds, record.name)
  seeds.fill(0)
  if (me.publicKey !== record.publicKey) throw new CryptoError('the stored key does not match its public key: this device\'s storage is corrupt')
  if (record.failedTries > 0) await db.update<SealedIdentity>('identity', recordKey, r => ({ ...(r ?? record), failedTries: 0 }))
  return me
}

export async function markEnrolled (db: Db): Promise<void> {
  await db.update<SealedIdentity>('identity', recordKey, r => {
    if (r === undefined) throw new StorageError('no user key on this device')
    return { ...r, enrolled: true }
  })
}

/** Bytes that must never appear in storage: for tests that look (the seeds in clear). */
export function secretBytes (me: Identity): Uint8Array {
  return concatBytes([me.ed25519.privateKey, me.x25519.privateKey])
}
