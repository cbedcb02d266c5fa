/**
 * An organisation's signing directory (#29), kept offline (a laptop that never joins the
 * relay network, a USB stick in a safe): its key and the ledger of what it issued.
 *
 *   <dir>/org.key      { "type": "ddil-org-key", "version": 1, "name": …, "ed25519Seed": <32 B
 *                        base64url>, "publicKey": "ddilorg1:…" }, mode 0600; or protected under a
 *                        passphrase (node/protected-key.ts) like node.key and user.key
 *   <dir>/issued.json  { "type": "ddil-org-issued", "version": 1, "nextSerial": n,
 *                        "issued": [{ serial, kind, subject, name, notBeforeMs, notAfterMs,
 *                        revokedMs? }] }, written whole and renamed (a crash leaves one or the other)
 *
 * The ledger is why serials are unique (a revocation names one) and what `ddil org list`
 * shows an auditor. The public form of an organisation key is `ddilorg1:` + base64url(key ‖
 * first 4 bytes of its SHA-256): the checksum catches a mistyped key (1 in 2^32 slips by).
 *
 * @example
 * const org = await createOrgDir(dir, 'Water utility')
 * const cert = await issueCertificate(dir, { kind: 'relay', subject: nodeKey, name: 'pump-3', lifetimeMs: 365 * day }, Date.now())
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError, UsageError } from '../../protocol/errors.ts'
import { orgCertificateLifetimeMsMax, userKeyFileBytesMax } from '../../protocol/limits.ts'
import { signCertificate, signRevocation, type CertificateKind } from '../../protocol/org/certificate.ts'
import { revocationEnvelope } from '../../protocol/org/revocation-envelope.ts'
import type { Crypto, KeyPair } from '../../protocol/ports.ts'
import { displayNameProblem } from '../../protocol/channel/profile.ts'
import { statOrUndefined, writeNewFile } from '../config/files.ts'
import { createNodeCrypto } from '../crypto.ts'
import { writeFileAtomic } from '../fs-durable.ts'
import { parseTypedJson } from '../json-file.ts'
import { newKeyBytes, readKeyFile, unlockKeyBytes, type KeyAccess } from '../key-files.ts'
import { decodeProtectedKey, isProtectedKey } from '../protected-key.ts'

export const orgKeyFileName = 'org.key'
export const issuedFileName = 'issued.json'
export const orgPublicKeyPrefix = 'ddilorg1:'
const keyFileType = 'ddil-org-key'
const issuedFileType = 'ddil-org-issued'
const formatVersion = 1
const checksumBytes = 4

export interface OrgIdentity { name: string, key: KeyPair, publicKey: string }

export interface IssuedRecord {
  serial: number
  kind: CertificateKind
  /** The subject as an operator wrote it: a node id or a `ddil1:` user key. */
  subject: string
  name: string
  notBeforeMs: number
  notAfterMs: number
  revokedMs?: number
}

// ---- The public key's text -----------------------------------------------------------

function checksum (key: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(key).digest().subarray(0, checksumBytes))
}

export function formatOrgPublicKey (key: Uint8Array): string {
  return orgPublicKeyPrefix + Buffer.concat([key, checksum(key)]).toString('base64url')
}

/** Parses a pasted `ddilorg1:…` key; a UsageError says what is wrong with it. */
export function parseOrgPublicKey (input: string): Uint8Array {
  const text = input.trim()
  const fix = 'copy it again from "ddil org init" or "ddil org show" of that organisation'
  if (!text.startsWith(orgPublicKeyPrefix)) throw new UsageError(`${JSON.stringify(text.slice(0, 80))} is not an organisation key: it must start with "${orgPublicKeyPrefix}"${text.startsWith('ddil1:') ? ' (that is a user key)' : ''}`)
  const encoded = text.slice(orgPublicKeyPrefix.length)
  const body = /^[A-Za-z0-9_-]{48}$/.test(encoded) ? Buffer.from(encoded, 'base64url') : undefined
  if (body === undefined || body.length !== 32 + checksumBytes || body.toString('base64url') !== encoded) throw new UsageError(`${JSON.stringify(text)} is not an organisation key: expected 48 characters of base64url after "${orgPublicKeyPrefix}"; ${fix}`)
  const key = new Uint8Array(body.subarray(0, 32))
  if (!Buffer.from(checksum(key)).equals(body.subarray(32))) throw new UsageError(`${JSON.stringify(text)} is not a valid organisation key: its checksum does not match (a character was mistyped or changed); ${fix}`)
  return key
}

// ---- org.key ---------------------------------------------------------------------------

function encodeOrgKeyFile (org: OrgIdentity): string {
  return JSON.stringify({ type: keyFileType, version: formatVersion, name: org.name, ed25519Seed: Buffer.from(org.key.privateKey).toString('base64url'), publicKey: org.publicKey }, null, 2) + '\n'
}

function decodeOrgKeyFile (text: string, where: string, crypto: Crypto): OrgIdentity {
  const corrupt = (why: string): ConfigError => new ConfigError(`${where} is corrupt (${why}); restore the organisation directory from its backup`)
  const r = parseTypedJson(text, keyFileType, corrupt)
  if (r.version !== formatVersion) throw new ConfigError(`${where} has format version ${JSON.stringify(r.version)}, but this ddil reads version ${formatVersion}`)
  if (Object.keys(r).join() !== 'type,version,name,ed25519Seed,publicKey') throw corrupt('its keys are not exactly type, version, name, ed25519Seed, publicKey')
  const seed = typeof r.ed25519Seed === 'string' ? Buffer.from(r.ed25519Seed, 'base64url') : undefined
  if (seed === undefined || seed.length !== 32 || seed.toString('base64url') !== r.ed25519Seed) throw corrupt('"ed25519Seed" is not 32 bytes of base64url')
  if (typeof r.name !== 'string' || displayNameProblem(r.name) !== undefined) throw corrupt('"name" is not a display name')
  const key = crypto.ed25519KeyPair(new Uint8Array(seed))
  const publicKey = formatOrgPublicKey(key.publicKey)
  if (r.publicKey !== publicKey) throw corrupt('the stored public key does not match the seed')
  return { name: r.name, key, publicKey }
}

/** Creates `<dir>` (0700) with a new org.key and an empty ledger; refuses a directory that has either. */
export async function createOrgDir (dir: string, name: string, access: KeyAccess = {}, crypto: Crypto = createNodeCrypto()): Promise<OrgIdentity> {
  const problem = displayNameProblem(name)
  if (problem !== undefined) throw new UsageError(`the organisation's name ${problem}`)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  for (const f of [orgKeyFileName, issuedFileName]) {
    if (await statOrUndefined(join(dir, f)) !== undefined) throw new UsageError(`${join(dir, f)} exists: ${dir} already holds an organisation; use another directory`)
  }
  const key = crypto.ed25519KeyPair(new Uint8Array(randomBytes(32)))
  const org: OrgIdentity = { name, key, publicKey: formatOrgPublicKey(key.publicKey) }
  await writeNewFile(join(dir, orgKeyFileName), newKeyBytes(Buffer.from(encodeOrgKeyFile(org)), 'org.key', org.publicKey, access), 0o600)
  await writeLedger(dir, 1, [])
  return org
}

export async function loadOrg (dir: string, access: KeyAccess = {}, crypto: Crypto = createNodeCrypto()): Promise<OrgIdentity> {
  const path = join(dir, orgKeyFileName)
  if (await statOrUndefined(path) === undefined) throw new UsageError(`${dir} holds no organisation (no ${orgKeyFileName}); create one with "ddil org init --dir ${dir} --name NAME"`)
  const plain = await unlockKeyBytes(await readKeyFile(path, 'the organisation key'), path, 'org.key', access)
  if (plain.length > userKeyFileBytesMax) throw new ConfigError(`${path} is ${plain.length} bytes, not an organisation key (corrupt?)`)
  return decodeOrgKeyFile(Buffer.from(plain).toString('utf8'), path, crypto)
}

/** The organisation's public key without unlocking org.key (from a protected file's clear header). */
export async function loadOrgPublicKey (dir: string): Promise<string> {
  const path = join(dir, orgKeyFileName)
  const bytes = await readKeyFile(path, 'the organisation key')
  if (isProtectedKey(bytes)) return decodeProtectedKey(Buffer.from(bytes).toString('utf8'), path).publicKey
  return decodeOrgKeyFile(Buffer.from(bytes).toString('utf8'), path, createNodeCrypto()).publicKey
}

// ---- issued.json -----------------------------------------------------------------------

async function writeLedger (dir: string, nextSerial: number, issued: IssuedRecord[]): Promise<void> {
  await writeFileAtomic(join(dir, issuedFileName), JSON.stringify({ type: issuedFileType, version: formatVersion, nextSerial, issued }, null, 2) + '\n', 0o600)
}

export async function readLedger (dir: string): Promise<{ nextSerial: number, issued: IssuedRecord[] }> {
  const path = join(dir, issuedFileName)
  const corrupt = (why: string): ConfigError => new ConfigError(`${path} is corrupt (${why}); restore the organisation directory from its backup`)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    throw new ConfigError(`cannot read ${path}: the organisation directory is incomplete; restore it from its backup`)
  }
  const r = parseTypedJson(text, issuedFileType, corrupt)
  if (r.version !== formatVersion) throw new ConfigError(`${path} has format version ${JSON.stringify(r.version)}, but this ddil reads version ${formatVersion}`)
  if (!Number.isSafeInteger(r.nextSerial) || (r.nextSerial as number) < 1 || !Array.isArray(r.issued)) throw corrupt('"nextSerial" or "issued" is missing')
  const issued = r.issued as IssuedRecord[]
  for (const rec of issued) {
    if (typeof rec !== 'object' || rec === null || !Number.isSafeInteger(rec.serial) || rec.serial >= (r.nextSerial as number)) throw corrupt('an issued record has no serial below "nextSerial"')
  }
  return { nextSerial: r.nextSerial as number, issued }
}

export interface IssueRequest {
  kind: CertificateKind
  subject: Uint8Array
  /** The subject as the operator wrote it, for the ledger. */
  subjectText: string
  name: string
  lifetimeMs: number
}

/** Signs a certificate with the next serial and records it; returns its bytes and its record. */
export async function issueCertificate (dir: string, req: IssueRequest, nowMs: number, access: KeyAccess = {}, crypto: Crypto = createNodeCrypto()): Promise<{ bytes: Uint8Array, record: IssuedRecord, org: OrgIdentity }> {
  if (!Number.isSafeInteger(req.lifetimeMs) || req.lifetimeMs <= 0 || req.lifetimeMs > orgCertificateLifetimeMsMax) throw new UsageError(`a certificate may be valid for up to five years (${orgCertificateLifetimeMsMax} ms), got ${req.lifetimeMs} ms`)
  const problem = displayNameProblem(req.name)
  if (problem !== undefined) throw new UsageError(`the name ${problem}`)
  const org = await loadOrg(dir, access, crypto)
  const ledger = await readLedger(dir)
  const record: IssuedRecord = { serial: ledger.nextSerial, kind: req.kind, subject: req.subjectText, name: req.name, notBeforeMs: nowMs, notAfterMs: nowMs + req.lifetimeMs }
  const bytes = signCertificate({ kind: req.kind, org: org.key.publicKey, subject: req.subject, name: req.name, serial: record.serial, notBeforeMs: record.notBeforeMs, notAfterMs: record.notAfterMs }, crypto, org.key.privateKey)
  // The ledger moves first: a crash after it wastes a serial, never issues one twice.
  await writeLedger(dir, ledger.nextSerial + 1, [...ledger.issued, record])
  return { bytes, record, org }
}

/** Signs a revocation of an issued serial and marks it in the ledger. */
/**
 * Revokes a certificate: the revocation document (`bytes`) and its envelope (`envelope`, #29),
 * which travels from the relay it is imported at to every relay that trusts this organisation.
 * Revoking a serial again gives the same bytes (stamped with the first revocation's time), so
 * no two envelopes of this organisation share a sequence number: each revocation's is its rank
 * among the revocations in the ledger, by time then serial.
 */
export async function revokeCertificate (dir: string, serial: number, nowMs: number, access: KeyAccess = {}, crypto: Crypto = createNodeCrypto()): Promise<{ bytes: Uint8Array, envelope: Uint8Array, record: IssuedRecord }> {
  const org = await loadOrg(dir, access, crypto)
  const ledger = await readLedger(dir)
  const record = ledger.issued.find(r => r.serial === serial)
  if (record === undefined) throw new UsageError(`${org.name} issued no certificate with serial ${serial}; "ddil org list --dir ${dir}" shows what it issued`)
  const revoked = { ...record, revokedMs: record.revokedMs ?? nowMs }
  const issued = ledger.issued.map(r => r.serial === serial ? revoked : r)
  const bytes = signRevocation({ org: org.key.publicKey, serial, issuedMs: revoked.revokedMs }, crypto, org.key.privateKey)
  const rank = issued.filter(r => r.revokedMs !== undefined).sort((a, b) => (a.revokedMs as number) - (b.revokedMs as number) || a.serial - b.serial).findIndex(r => r.serial === serial) + 1
  const envelope = revocationEnvelope(crypto, org.key, bytes, rank).bytes
  await writeLedger(dir, ledger.nextSerial, issued)
  return { bytes, envelope, record: revoked }
}
