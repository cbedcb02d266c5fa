/**
 * What a relay's operator accepted (#29): its own organisation (pinned by key, with this
 * relay's certificate from it), the partner organisations it trusts or cut off, and the
 * revocations it holds. Kept in `<data>/orgs.json`, written whole and renamed:
 *
 *   { "type": "ddil-orgs", "version": 1,
 *     "own": null | { "key": "ddilorg1:…", "name": …, "certificate": <base64url> },
 *     "partners": [{ "key": "ddilorg1:…", "name": …, "gateway": bool, "trustedMs": n, "distrustedMs"?: n, "policy"?: {…} }],
 *     "revocations": [<base64url revocation>, …],
 *     "revocationEnvelopes"?: [<base64url envelope>, …] }
 *
 * `revocationEnvelopes` (#29): the revocations that came as envelopes (imported from a file
 * `ddil org revoke` wrote, or received from a peer); a running relay keeps each in its store
 * and passes it on, so one import reaches every relay that trusts the organisation.
 *
 * `policy`: what this relay lets cross to and from that partner at a gateway (protocol/org/policy.ts;
 * each rule optional: "precedences": [0..3], "messageBytesMax", "creators": [author ref hex],
 * "messagesPerMinuteMax", "retentionMsMax"). `gateway`: this relay is one of its organisation's gateways to that partner, so it links
 * with the partner's relays (peers.mode: org); other relays refuse them. A cut-off partner stays listed with the time it was cut off, so refusals name it and an
 * auditor sees when it happened. Every document is checked when it is added (a forged
 * revocation or a certificate for another node is refused with a sentence), and again when
 * the file is read (a hand-edited file cannot slip one in).
 *
 * @example
 * await joinOrg(dataDir, { orgKey, name: 'Water utility', certificate, nodeKey }, Date.now())
 * await trustPartner(dataDir, partnerKey, 'County EM', Date.now())
 * const state = toTrustState(await readTrustStore(dataDir))
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { bytesEqual } from '../../protocol/bytes.ts'
import { displayNameProblem } from '../../protocol/channel/profile.ts'
import { ConfigError, isDdilError, UsageError } from '../../protocol/errors.ts'
import { orgPartnersMax, orgRevocationsMax, partnerPolicyCreatorsMax } from '../../protocol/limits.ts'
import { decodeEnvelope, verifySignature, type Envelope } from '../../protocol/envelope.ts'
import { decodeCertificate, decodeRevocation, verifyCertificate, verifyRevocation, type Certificate, type Revocation } from '../../protocol/org/certificate.ts'
import { orgChannel, revocationInEnvelope } from '../../protocol/org/revocation-envelope.ts'
import type { PartnerPolicy } from '../../protocol/org/policy.ts'
import { judgeCertificate, orgRef, revokedRef, type AcceptedOrg, type TrustState } from '../../protocol/org/trust.ts'
import type { Crypto } from '../../protocol/ports.ts'
import { statOrUndefined } from '../config/files.ts'
import { createNodeCrypto } from '../crypto.ts'
import { writeFileAtomic } from '../fs-durable.ts'
import { parseTypedJson } from '../json-file.ts'
import { formatOrgPublicKey, parseOrgPublicKey } from './org-dir.ts'

export const trustStoreFileName = 'orgs.json'
const fileType = 'ddil-orgs'
const formatVersion = 1

export interface OwnOrg { key: Uint8Array, name: string, certificate: Certificate }
export interface Partner { key: Uint8Array, name: string, gateway: boolean, trustedMs: number, distrustedMs?: number, policy?: PartnerPolicy }
export interface TrustStore { own: OwnOrg | null, partners: Partner[], revocations: Revocation[], revocationEnvelopes?: Uint8Array[] }

const empty = (): TrustStore => ({ own: null, partners: [], revocations: [] })

export function toTrustState (store: TrustStore): TrustState {
  const orgs = new Map<string, AcceptedOrg>()
  for (const p of store.partners) orgs.set(orgRef(p.key), { key: p.key, name: p.name, role: 'partner', ...(p.distrustedMs !== undefined ? { distrustedAtMs: p.distrustedMs } : {}) })
  if (store.own !== null) orgs.set(orgRef(store.own.key), { key: store.own.key, name: store.own.name, role: 'own' })
  return { orgs, revoked: new Set(store.revocations.map(r => revokedRef(r.org, r.serial))) }
}

// ---- The file ----------------------------------------------------------------------------

function b64 (bytes: Uint8Array): string { return Buffer.from(bytes).toString('base64url') }

function encode (store: TrustStore): string {
  return JSON.stringify({
    type: fileType,
    version: formatVersion,
    own: store.own === null ? null : { key: formatOrgPublicKey(store.own.key), name: store.own.name, certificate: b64(store.own.certificate.bytes) },
    partners: store.partners.map(p => ({ key: formatOrgPublicKey(p.key), name: p.name, gateway: p.gateway, trustedMs: p.trustedMs, ...(p.distrustedMs !== undefined ? { distrustedMs: p.distrustedMs } : {}), ...(p.policy !== undefined ? { policy: p.policy } : {}) })),
    revocations: store.revocations.map(r => b64(r.bytes)),
    ...(store.revocationEnvelopes !== undefined && store.revocationEnvelopes.length > 0 ? { revocationEnvelopes: store.revocationEnvelopes.map(b64) } : {}),
  }, null, 2) + '\n'
}

/** The relay's trust store; an empty one when the file does not exist yet. */
export async function readTrustStore (dataDir: string, crypto: Crypto = createNodeCrypto()): Promise<TrustStore> {
  const path = join(dataDir, trustStoreFileName)
  if (await statOrUndefined(path) === undefined) return empty()
  const corrupt = (why: string): ConfigError => new ConfigError(`${path} is corrupt (${why}); move it away and accept the organisations again with "ddil org join" and "ddil org trust"`)
  const r = parseTypedJson(await readFile(path, 'utf8'), fileType, corrupt)
  if (r.version !== formatVersion) throw new ConfigError(`${path} has format version ${JSON.stringify(r.version)}, but this ddil reads version ${formatVersion}`)
  if (!Array.isArray(r.partners) || !Array.isArray(r.revocations) || typeof r.own !== 'object') throw corrupt('"own", "partners" or "revocations" is missing')
  const read = <T>(what: string, fn: () => T): T => {
    try { return fn() } catch (e) { if (isDdilError(e)) throw corrupt(`${what}: ${e.message}`); throw e }
  }
  const bytes = (text: unknown): Uint8Array => {
    if (typeof text !== 'string' || Buffer.from(text, 'base64url').toString('base64url') !== text) throw new ConfigError('not base64url')
    return new Uint8Array(Buffer.from(text, 'base64url'))
  }
  const name = (text: unknown): string => {
    if (typeof text !== 'string' || displayNameProblem(text) !== undefined) throw new ConfigError('a name is not a display name')
    return text
  }
  const flag = (b: unknown): boolean => { if (typeof b !== 'boolean') throw new ConfigError('"gateway" is not true or false'); return b }
  const time = (ms: unknown): number => { if (!Number.isSafeInteger(ms) || (ms as number) < 0) throw new ConfigError('a time is not integer ms'); return ms as number }
  const own = r.own === null ? null : read('own', () => {
    const o = r.own as Record<string, unknown>
    return { key: parseOrgPublicKey(String(o.key)), name: name(o.name), certificate: decodeCertificate(bytes(o.certificate)) }
  })
  const partners = (r.partners as Array<Record<string, unknown>>).map((p, i) => read(`partner ${i + 1}`, () => ({
    key: parseOrgPublicKey(String(p.key)), name: name(p.name), gateway: flag(p.gateway), trustedMs: time(p.trustedMs), ...(p.distrustedMs !== undefined ? { distrustedMs: time(p.distrustedMs) } : {}),
    ...(p.policy !== undefined ? { policy: checkPolicy(p.policy) } : {}),
  })))
  if (r.revocationEnvelopes !== undefined && !Array.isArray(r.revocationEnvelopes)) throw corrupt('"revocationEnvelopes" is not a list')
  const envelopes = ((r.revocationEnvelopes ?? []) as unknown[]).map((x, i) => read(`revocation envelope ${i + 1}`, () => bytes(x)))
  const store: TrustStore = {
    own, partners, revocations: (r.revocations as unknown[]).map((x, i) => read(`revocation ${i + 1}`, () => decodeRevocation(bytes(x)))),
    ...(envelopes.length > 0 ? { revocationEnvelopes: envelopes } : {}),
  }
  read('signatures', () => { checkStore(store, crypto) })
  return store
}

/** A partner policy as the file holds it, every rule checked (a hand-edited file cannot slip in nonsense). */
export function checkPolicy (raw: unknown): PartnerPolicy {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new ConfigError('"policy" is not an object')
  const r = raw as Record<string, unknown>
  const unknown = Object.keys(r).filter(k => !policyRules.includes(k))
  if (unknown.length > 0) throw new ConfigError(`"policy" has unknown rule ${JSON.stringify(unknown[0])} (rules: ${policyRules.join(', ')})`)
  const count = (v: unknown, what: string, min: number): number => {
    if (!Number.isSafeInteger(v) || (v as number) < min) throw new ConfigError(`policy "${what}" is not an integer of at least ${min}`)
    return v as number
  }
  const policy: PartnerPolicy = {}
  if (r.precedences !== undefined) {
    if (!Array.isArray(r.precedences) || r.precedences.some(p => !Number.isInteger(p) || p < 0 || p > 3) || new Set(r.precedences).size !== r.precedences.length) throw new ConfigError('policy "precedences" is not a list of distinct precedences 0..3')
    policy.precedences = [...(r.precedences as number[])].sort()
  }
  if (r.messageBytesMax !== undefined) policy.messageBytesMax = count(r.messageBytesMax, 'messageBytesMax', 1)
  if (r.creators !== undefined) {
    if (!Array.isArray(r.creators) || r.creators.some(c => typeof c !== 'string' || !/^[0-9a-f]{16}$/.test(c)) || r.creators.length > partnerPolicyCreatorsMax) throw new ConfigError(`policy "creators" is not a list of at most ${partnerPolicyCreatorsMax} author references (16 hex digits)`)
    policy.creators = r.creators as string[]
  }
  if (r.messagesPerMinuteMax !== undefined) policy.messagesPerMinuteMax = count(r.messagesPerMinuteMax, 'messagesPerMinuteMax', 1)
  if (r.retentionMsMax !== undefined) policy.retentionMsMax = count(r.retentionMsMax, 'retentionMsMax', 1)
  return policy
}

const policyRules = ['precedences', 'messageBytesMax', 'creators', 'messagesPerMinuteMax', 'retentionMsMax']

/** What `readTrustStore` insists on: the own certificate signed by the own key, revocations signed by an accepted organisation, limits. */
function checkStore (store: TrustStore, crypto: Crypto): void {
  if (store.partners.length > orgPartnersMax) throw new ConfigError(`${store.partners.length} partners; at most ${orgPartnersMax}`)
  if (store.revocations.length > orgRevocationsMax) throw new ConfigError(`${store.revocations.length} revocations; at most ${orgRevocationsMax}`)
  const state = toTrustState(store)
  if (store.own !== null && !bytesEqual(store.own.certificate.org, store.own.key)) throw new ConfigError('this relay\'s certificate is from another organisation than its own')
  if (store.own !== null) verifyCertificate(store.own.certificate, crypto)
  for (const r of store.revocations) {
    if (!state.orgs.has(orgRef(r.org))) throw new ConfigError(`revocation of serial ${r.serial} is from an organisation not accepted here`)
    verifyRevocation(r, crypto)
  }
}

async function write (dataDir: string, store: TrustStore): Promise<void> {
  await writeFileAtomic(join(dataDir, trustStoreFileName), encode(store), 0o600)
}

// ---- Changes an operator makes -------------------------------------------------------------

export interface JoinRequest {
  /** The organisation key the operator pinned (pasted from the organisation's own records). */
  orgKey: Uint8Array
  name: string
  certificate: Uint8Array
  /** This relay's Ed25519 node key: the certificate must name it. */
  nodeKey: Uint8Array
}

/** Makes `orgKey` this relay's own organisation, with this relay's certificate from it (replacing an earlier one from the same organisation). */
export async function joinOrg (dataDir: string, req: JoinRequest, nowMs: number, crypto: Crypto = createNodeCrypto()): Promise<TrustStore> {
  const store = await readTrustStore(dataDir, crypto)
  const nameProblem = displayNameProblem(req.name)
  if (nameProblem !== undefined) throw new UsageError(`the organisation's name ${nameProblem}`)
  if (store.own !== null && !bytesEqual(store.own.key, req.orgKey)) throw new UsageError(`this relay already belongs to ${store.own.name} (${formatOrgPublicKey(store.own.key)}); a relay belongs to one organisation. Move ${trustStoreFileName} away first to change it.`)
  if (store.partners.some(p => bytesEqual(p.key, req.orgKey))) throw new UsageError('that organisation is listed as a partner here; a relay\'s own organisation cannot also be its partner')
  const own: AcceptedOrg = { key: req.orgKey, name: req.name, role: 'own' }
  const v = judgeCertificate(req.certificate, { kind: 'relay', subject: req.nodeKey }, { orgs: new Map([[orgRef(req.orgKey), own]]), revoked: toTrustState(store).revoked }, nowMs, crypto)
  if (!v.ok) throw new UsageError(`cannot join ${req.name}: ${v.code === 'untrusted-org' ? 'the certificate was signed by another organisation than the key given' : v.reason}`)
  const next: TrustStore = { ...store, own: { key: req.orgKey, name: req.name, certificate: v.certificate } }
  await write(dataDir, next)
  return next
}

/** Accepts a partner organisation (or accepts again one cut off before); `gateway`: this relay links with the partner's relays. */
export async function trustPartner (dataDir: string, key: Uint8Array, name: string, gateway: boolean, nowMs: number, crypto: Crypto = createNodeCrypto()): Promise<{ store: TrustStore, outcome: 'trusted' | 'updated' | 'trusted-again' }> {
  const problem = displayNameProblem(name)
  if (problem !== undefined) throw new UsageError(`the partner's name ${problem}`)
  const store = await readTrustStore(dataDir, crypto)
  if (store.own !== null && bytesEqual(store.own.key, key)) throw new UsageError(`that is this relay's own organisation (${store.own.name}), not a partner`)
  const i = store.partners.findIndex(p => bytesEqual(p.key, key))
  if (i < 0 && store.partners.length >= orgPartnersMax) throw new UsageError(`this relay trusts ${store.partners.length} partner organisations already, the most it may (${orgPartnersMax})`)
  const before = i < 0 ? undefined : store.partners[i]
  const partner: Partner = { key, name, gateway, trustedMs: before === undefined || before.distrustedMs !== undefined ? nowMs : before.trustedMs, ...(before?.policy !== undefined ? { policy: before.policy } : {}) }
  const partners = i < 0 ? [...store.partners, partner] : store.partners.map((p, j) => j === i ? partner : p)
  const next = { ...store, partners }
  await write(dataDir, next)
  return { store: next, outcome: before === undefined ? 'trusted' : before.distrustedMs !== undefined ? 'trusted-again' : 'updated' }
}

/** Sets what may cross to and from a partner at this relay (replacing its earlier policy); an empty policy lets everything cross. */
export async function setPartnerPolicy (dataDir: string, key: Uint8Array, policy: PartnerPolicy, crypto: Crypto = createNodeCrypto()): Promise<{ store: TrustStore, partner: Partner }> {
  const store = await readTrustStore(dataDir, crypto)
  const before = store.partners.find(p => bytesEqual(p.key, key))
  if (before === undefined) throw new UsageError(`${formatOrgPublicKey(key)} is not a partner of this relay; accept it first with "ddil org trust"`)
  const { policy: _old, ...rest } = before
  const partner: Partner = Object.keys(policy).length === 0 ? rest : { ...rest, policy: checkPolicy(policy) }
  const next = { ...store, partners: store.partners.map(p => p === before ? partner : p) }
  await write(dataDir, next)
  return { store: next, partner }
}

/** Cuts a partner off: kept, marked with the time, so its certificates are refused by name. */
export async function distrustPartner (dataDir: string, key: Uint8Array, nowMs: number, crypto: Crypto = createNodeCrypto()): Promise<{ store: TrustStore, partner: Partner, already: boolean }> {
  const store = await readTrustStore(dataDir, crypto)
  if (store.own !== null && bytesEqual(store.own.key, key)) throw new UsageError(`that is this relay's own organisation (${store.own.name}); a relay cannot distrust its own organisation`)
  const before = store.partners.find(p => bytesEqual(p.key, key))
  if (before === undefined) throw new UsageError(`${formatOrgPublicKey(key)} is not a partner of this relay; "ddil org show" lists them`)
  if (before.distrustedMs !== undefined) return { store, partner: before, already: true }
  const partner = { ...before, distrustedMs: nowMs }
  const next = { ...store, partners: store.partners.map(p => p === before ? partner : p) }
  await write(dataDir, next)
  return { store: next, partner, already: false }
}

/**
 * Adds a revocation that came as an envelope (#29): from a file `ddil org revoke` wrote, or from
 * a peer. The envelope must be an accepted organisation's, signed by it, carrying its signed
 * revocation; the revocation is added (if new) and the envelope kept, for the relay to pass on.
 */
export async function addRevocationEnvelope (dataDir: string, envelope: Uint8Array, crypto: Crypto = createNodeCrypto()): Promise<{ store: TrustStore, revocation: Revocation, org: AcceptedOrg, already: boolean }> {
  const store = await readTrustStore(dataDir, crypto)
  let env: Envelope
  try { env = decodeEnvelope(envelope, b => crypto.sha256(b)) } catch (e) { throw new UsageError(`not a revocation envelope: ${(e as Error).message}`) }
  const v = judgeRevocationEnvelope(env, toTrustState(store), crypto)
  if (!v.ok) throw new UsageError(v.reason)
  const { revocation, org } = v
  try { verifySignature(crypto, env, org.key) } catch (e) { throw new UsageError(`not a valid revocation of ${org.name}: ${(e as Error).message}`) }
  const heldDoc = store.revocations.some(r => bytesEqual(r.org, revocation.org) && r.serial === revocation.serial)
  const heldEnvelope = (store.revocationEnvelopes ?? []).some(b => bytesEqual(b, envelope))
  if (heldDoc && heldEnvelope) return { store, revocation, org, already: true }
  if (!heldDoc && store.revocations.length >= orgRevocationsMax) throw new UsageError(`this relay holds ${orgRevocationsMax} revocations, the most it may`)
  const next: TrustStore = {
    ...store,
    revocations: heldDoc ? store.revocations : [...store.revocations, revocation],
    revocationEnvelopes: heldEnvelope ? store.revocationEnvelopes : [...(store.revocationEnvelopes ?? []), envelope],
  }
  await write(dataDir, next)
  return { store: next, revocation, org, already: heldDoc }
}

export type RevocationEnvelopeVerdict =
  | { ok: true, revocation: Revocation, org: AcceptedOrg }
  /** `unknownOrg`: from an organisation this relay does not accept (no fault of whoever passed it on). */
  | { ok: false, reason: string, unknownOrg: boolean }

/**
 * Whether `env` is a revocation envelope of an organisation in `trust`, carrying that
 * organisation's own signed revocation. The envelope's signature, under the organisation key
 * this returns, is the caller's to check (the engine checks every envelope's).
 */
export function judgeRevocationEnvelope (env: Envelope, trust: TrustState, crypto: Crypto): RevocationEnvelopeVerdict {
  const org = [...trust.orgs.values()].find(o => bytesEqual(orgChannel(crypto, o.key), env.channel))
  if (org === undefined) return { ok: false, reason: 'that revocation is from an organisation this relay has not accepted; it would change nothing here', unknownOrg: true }
  try {
    const revocation = revocationInEnvelope(crypto, env, org.key)
    verifyRevocation(revocation, crypto)
    return { ok: true, revocation, org }
  } catch (e) {
    if (!isDdilError(e)) throw e
    return { ok: false, reason: `not a valid revocation of ${org.name}: ${e.message}`, unknownOrg: false }
  }
}

/** Adds a revocation signed by the own organisation or a partner. */
export async function addRevocation (dataDir: string, bytes: Uint8Array, crypto: Crypto = createNodeCrypto()): Promise<{ store: TrustStore, revocation: Revocation, org: AcceptedOrg, already: boolean }> {
  const store = await readTrustStore(dataDir, crypto)
  const revocation = decodeRevocation(bytes)
  const org = toTrustState(store).orgs.get(orgRef(revocation.org))
  if (org === undefined) throw new UsageError(`that revocation is from an organisation this relay has not accepted (${formatOrgPublicKey(revocation.org)}); it would change nothing here`)
  verifyRevocation(revocation, crypto)
  if (store.revocations.some(r => bytesEqual(r.org, revocation.org) && r.serial === revocation.serial)) return { store, revocation, org, already: true }
  if (store.revocations.length >= orgRevocationsMax) throw new UsageError(`this relay holds ${orgRevocationsMax} revocations, the most it may`)
  const next = { ...store, revocations: [...store.revocations, revocation] }
  await write(dataDir, next)
  return { store: next, revocation, org, already: false }
}
