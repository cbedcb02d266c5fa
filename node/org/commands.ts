/**
 * What `ddil org …` does (#29), one function per subcommand, each returning the lines it
 * prints (or the record `--json` prints). The organisation's side runs on its offline
 * signing directory (org-dir.ts); the relay's side on the relay's data directory
 * (trust-store.ts). Loaded only when an org command runs (it pulls in libp2p's key codec).
 *
 * @example
 * const out = await certifyRelay({ dir, nodeId: '12D3KooW…', name: 'pump-3', validMs: 365 * day, out: 'pump-3.cert' }, Date.now(), keys)
 */
import { readFile } from 'node:fs/promises'
import { join as joinPath } from 'node:path'
import { bytesEqual, toHex } from '../../protocol/bytes.ts'
import { authorRefBytes, decodeEnvelope, precedenceNames, type PrecedenceName } from '../../protocol/envelope.ts'
import { orgDocumentBytesMax } from '../../protocol/limits.ts'
import { ConfigError, UsageError } from '../../protocol/errors.ts'
import { decodeCertificate, decodeRevocation, orgDocumentKind, type Certificate } from '../../protocol/org/certificate.ts'
import { describePolicy, type PartnerPolicy } from '../../protocol/org/policy.ts'
import { judgeCertificate } from '../../protocol/org/trust.ts'
import { parseDuration, parseSize } from '../../protocol/units.ts'
import { statOrUndefined, writeNewFile } from '../config/files.ts'
import { createNodeCrypto } from '../crypto.ts'
import { protectedNodePublicKey, type KeyAccess } from '../key-files.ts'
import { nodeKeyFileName, nodeKeyPublicText } from '../p2p/identity.ts'
import { parseUserPublicKey, formatUserPublicKey } from '../user-identity.ts'
import { createOrgDir, formatOrgPublicKey, issueCertificate, loadOrgPublicKey, parseOrgPublicKey, readLedger, revokeCertificate, type IssuedRecord } from './org-dir.ts'
import { nodeIdOfKey, nodeKeyOfId } from './node-ids.ts'
import { addRevocation, addRevocationEnvelope, distrustPartner, joinOrg, readTrustStore, setPartnerPolicy, toTrustState, trustPartner } from './trust-store.ts'

const crypto = createNodeCrypto()

function iso (ms: number): string { return new Date(ms).toISOString() }

/** This relay's node key, without unlocking node.key (a protected file's header names it). */
async function nodeKeyOf (dataDir: string): Promise<Uint8Array> {
  const path = joinPath(dataDir, nodeKeyFileName)
  if (await statOrUndefined(path) === undefined) throw new UsageError(`${dataDir} has no ${nodeKeyFileName}; run "ddil init --data ${dataDir}" first`)
  return await protectedNodePublicKey(dataDir) ?? new Uint8Array(Buffer.from(nodeKeyPublicText(new Uint8Array(await readFile(path)), path), 'base64url'))
}

async function readDocument (path: string): Promise<Uint8Array> {
  const stats = await statOrUndefined(path)
  if (stats === undefined) throw new UsageError(`${path} does not exist`)
  if (stats.size > orgDocumentBytesMax) throw new UsageError(`${path} is ${stats.size} bytes; a certificate or revocation is at most ${orgDocumentBytesMax}`)
  return new Uint8Array(await readFile(path))
}

// ---- The organisation's side (offline) ---------------------------------------------------

export async function initOrg (dir: string, name: string, keys: KeyAccess): Promise<string[]> {
  const org = await createOrgDir(dir, name, keys, crypto)
  return [
    `organisation:     ${org.name}`,
    `organisation key: ${org.publicKey}`,
    `created ${joinPath(dir, 'org.key')}${keys.protectWith !== undefined ? ' (encrypted under the passphrase)' : ' (unencrypted, mode 0600)'} and ${joinPath(dir, 'issued.json')}.`,
    'Keep this directory offline and backed up. Give the organisation key to your relays\' operators ("ddil org join") and to partners ("ddil org trust").',
  ]
}

export interface CertifyRequest { dir: string, subject: string, name: string, validMs: number, out: string }

async function certify (kind: 'relay' | 'user', req: CertifyRequest, nowMs: number, keys: KeyAccess): Promise<string[]> {
  const subject = kind === 'relay' ? nodeKeyOfId(req.subject) : userKeyBytes(req.subject)
  const subjectText = kind === 'relay' ? nodeIdOfKey(subject) : req.subject.trim()
  if (await statOrUndefined(req.out) !== undefined) throw new UsageError(`${req.out} exists; choose another file for the certificate`)
  const { bytes, record, org } = await issueCertificate(req.dir, { kind, subject, subjectText, name: req.name, lifetimeMs: req.validMs }, nowMs, keys, crypto)
  await writeNewFile(req.out, bytes, 0o644)
  return [`wrote ${req.out}: ${org.name} certifies ${kind} "${record.name}" (${subjectText}), serial ${record.serial}, valid until ${iso(record.notAfterMs)}`]
}

function userKeyBytes (text: string): Uint8Array {
  try {
    const k = parseUserPublicKey(text)
    return new Uint8Array([...k.ed25519, ...k.x25519])
  } catch (e) {
    throw new UsageError((e as Error).message)
  }
}

export const certifyRelay = (req: CertifyRequest, nowMs: number, keys: KeyAccess): Promise<string[]> => certify('relay', req, nowMs, keys)
export const certifyUser = (req: CertifyRequest, nowMs: number, keys: KeyAccess): Promise<string[]> => certify('user', req, nowMs, keys)

export async function revoke (dir: string, serial: number, out: string, nowMs: number, keys: KeyAccess): Promise<string[]> {
  if (await statOrUndefined(out) !== undefined) throw new UsageError(`${out} exists; choose another file for the revocation`)
  const { envelope, record } = await revokeCertificate(dir, serial, nowMs, keys, crypto)
  await writeNewFile(out, envelope, 0o644)
  return [`wrote ${out}: revokes serial ${serial}, the ${record.kind} "${record.name}" (${record.subject}). Import it at any relay that trusts this organisation ("ddil org import ${out}"): it travels from there to the others.`]
}

export async function listIssued (dir: string): Promise<{ org: string, issued: IssuedRecord[] }> {
  return { org: await loadOrgPublicKey(dir), issued: (await readLedger(dir)).issued }
}

export function formatIssued (list: { org: string, issued: IssuedRecord[] }, nowMs: number): string[] {
  return [
    `organisation key: ${list.org}`,
    ...list.issued.map(r => `${String(r.serial).padStart(5)}  ${r.kind.padEnd(5)}  ${r.name}  ${r.subject}  until ${iso(r.notAfterMs)}${r.revokedMs !== undefined ? `  REVOKED ${iso(r.revokedMs)}` : r.notAfterMs <= nowMs ? '  expired' : ''}`),
    ...(list.issued.length === 0 ? ['nothing issued yet'] : []),
  ]
}

// ---- The relay's side ------------------------------------------------------------------------

export async function join (dataDir: string, orgKey: string, name: string, certificatePath: string, nowMs: number): Promise<string[]> {
  const store = await joinOrg(dataDir, { orgKey: parseOrgPublicKey(orgKey), name, certificate: await readDocument(certificatePath), nodeKey: await nodeKeyOf(dataDir) }, nowMs, crypto)
  const c = store.own?.certificate as Certificate
  return [`this relay belongs to ${name} (${orgKey.trim()}), certified as "${c.name}", serial ${c.serial}, until ${iso(c.notAfterMs)}`]
}

export async function trust (dataDir: string, key: string, name: string, gateway: boolean, nowMs: number): Promise<string[]> {
  const { outcome } = await trustPartner(dataDir, parseOrgPublicKey(key), name, gateway, nowMs, crypto)
  const said = { trusted: 'now trusts', updated: 'already trusted', 'trusted-again': 'trusts again, after cutting it off,' }
  return [`this relay ${said[outcome]} ${name} (${key.trim()})${gateway ? ', and is a gateway to it: it links with its relays' : ', and is not a gateway to it: it refuses its relays'}`]
}

/** Changes to one partner's policy, as the command line gives them: `null` drops a rule, `clear` drops them all first. */
export interface PolicyChange {
  clear?: boolean
  precedences?: string | null
  messageMax?: string | null
  creators?: string | null
  rate?: string | null
  retentionMax?: string | null
}

function parsed<T> (what: string, fn: () => T): T {
  try { return fn() } catch (e) { throw new UsageError(`${what}: ${(e as Error).message}`) }
}

/** The rules `change` makes of `before` (pure, apart from the sentences it throws). */
export function changedPolicy (before: PartnerPolicy, change: PolicyChange): PartnerPolicy {
  const next: PartnerPolicy = change.clear === true ? {} : { ...before }
  const set = <K extends keyof PartnerPolicy>(key: K, text: string | null | undefined, parse: (t: string) => PartnerPolicy[K]): void => {
    if (text === undefined) return
    if (text === null || text === 'any' || text === 'none') { delete next[key]; return }
    next[key] = parse(text)
  }
  set('precedences', change.precedences, t => parsed('--precedences', () => t.split(',').map(name => {
    const p = precedenceNames.indexOf(name.trim() as PrecedenceName)
    if (p < 0) throw new UsageError(`"${name.trim()}" is not a precedence (${precedenceNames.join(', ')}, or any)`)
    return p
  }).filter((p, i, all) => all.indexOf(p) === i).sort()))
  set('messageBytesMax', change.messageMax, t => parsed('--message-max', () => parseSize(t)))
  set('creators', change.creators, t => parsed('--creators', () => t.split(',').map(k => k.trim()).map(k => /^[0-9a-f]{16}$/.test(k) ? k : toHex(parseUserPublicKey(k).ed25519.subarray(0, authorRefBytes)))))
  set('messagesPerMinuteMax', change.rate, t => parsed('--rate', () => {
    const n = Number(t.replace(/\/min$/, ''))
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`"${t}" is not a whole number of messages a minute (at least 1), e.g. 60 or 60/min`)
    return n
  }))
  set('retentionMsMax', change.retentionMax, t => parsed('--retention-max', () => parseDuration(t)))
  return next
}

export async function policy (dataDir: string, key: string, change: PolicyChange): Promise<string[]> {
  const orgKey = parseOrgPublicKey(key)
  const before = (await readTrustStore(dataDir, crypto)).partners.find(p => bytesEqual(p.key, orgKey))
  const { partner } = await setPartnerPolicy(dataDir, orgKey, changedPolicy(before?.policy ?? {}, change), crypto)
  const rules = describePolicy(partner.policy)
  return [
    `what crosses between this relay and ${partner.name}: ${rules.length === 0 ? 'everything (no rules)' : rules.join('; ')}`,
    ...(partner.gateway ? [] : [`this relay is not a gateway to ${partner.name}, so nothing crosses here yet: set the same policy on its gateways`]),
  ]
}

export async function distrust (dataDir: string, key: string, nowMs: number): Promise<string[]> {
  const { partner, already } = await distrustPartner(dataDir, parseOrgPublicKey(key), nowMs, crypto)
  return [already
    ? `${partner.name} was cut off already, at ${iso(partner.distrustedMs as number)}`
    : `this relay no longer trusts ${partner.name}: its certificates are refused from now on`]
}

export async function importRevocation (dataDir: string, path: string): Promise<string[]> {
  const bytes = await readDocument(path)
  const kind = orgDocumentKind(bytes)
  if (kind !== 'revocation' && kind !== 'revocation-envelope') throw new UsageError(`${path} is not a revocation`)
  // A bare revocation document (from before revocations travelled) stays at this relay; an envelope is passed on.
  const { revocation, org, already } = kind === 'revocation' ? await addRevocation(dataDir, bytes, crypto) : await addRevocationEnvelope(dataDir, bytes, crypto)
  const travels = kind === 'revocation-envelope' ? '; a running relay passes it on to the relays it reaches that trust this organisation' : ''
  return [`${already ? 'already held: ' : ''}${org.name} revoked serial ${revocation.serial} at ${iso(revocation.issuedMs)}${travels}`]
}

export async function showTrust (dataDir: string, nowMs: number): Promise<{ lines: string[], json: unknown }> {
  const store = await readTrustStore(dataDir, crypto)
  const state = toTrustState(store)
  const nodeKey = await nodeKeyOf(dataDir)
  const lines: string[] = [`node id:          ${nodeIdOfKey(nodeKey)} (what "ddil org certify-relay" certifies)`]
  const own = store.own
  if (own === null) lines.push('own organisation: none ("ddil org join" sets it)')
  else {
    const v = judgeCertificate(own.certificate, { kind: 'relay', subject: nodeKey }, state, nowMs, crypto)
    lines.push(`own organisation: ${own.name} (${formatOrgPublicKey(own.key)})`)
    lines.push(`this relay:       "${own.certificate.name}", serial ${own.certificate.serial}, until ${iso(own.certificate.notAfterMs)}${v.ok ? '' : ` — NOT VALID: ${v.reason}`}`)
  }
  for (const p of store.partners) {
    lines.push(`partner:          ${p.name} (${formatOrgPublicKey(p.key)}), ${p.distrustedMs === undefined ? `trusted since ${iso(p.trustedMs)}${p.gateway ? '; this relay is a gateway to it' : ''}` : `CUT OFF at ${iso(p.distrustedMs)}`}`)
    const rules = describePolicy(p.policy)
    if (p.gateway) lines.push(`  what crosses:   ${rules.length === 0 ? 'everything this relay carries ("ddil org policy" sets rules)' : rules.join('; ')}`)
  }
  if (store.partners.length === 0) lines.push('partners:         none ("ddil org trust" adds one)')
  lines.push(`revocations:      ${store.revocations.length}`)
  const json = {
    nodeId: nodeIdOfKey(nodeKey),
    own: own === null ? null : { key: formatOrgPublicKey(own.key), name: own.name, certificate: { name: own.certificate.name, serial: own.certificate.serial, notAfterMs: own.certificate.notAfterMs } },
    partners: store.partners.map(p => ({ key: formatOrgPublicKey(p.key), name: p.name, gateway: p.gateway, trustedMs: p.trustedMs, distrustedMs: p.distrustedMs ?? null, policy: p.policy ?? {} })),
    revocations: store.revocations.map(r => ({ org: formatOrgPublicKey(r.org), serial: r.serial, issuedMs: r.issuedMs })),
  }
  return { lines, json }
}

/** A user certificate file (for `ddil channel add --certificate`): its bytes and the keys it names. Whether its organisation is trusted is each relay's call. */
export async function readUserCertificate (path: string): Promise<{ certificate: Uint8Array, ed25519: Uint8Array, x25519: Uint8Array }> {
  const bytes = await readDocument(path)
  if (orgDocumentKind(bytes) !== 'certificate') throw new UsageError(`${path} is not a certificate`)
  const c = decodeCertificate(bytes)
  if (c.kind !== 'user') throw new UsageError(`${path} certifies a ${c.kind}, not a user ("ddil org certify-user" makes one)`)
  return { certificate: bytes, ed25519: c.subject.slice(0, 32), x25519: c.subject.slice(32) }
}

/** What a certificate or revocation file says (no trust decision: `ddil org show` and the relay make that). */
export async function inspect (path: string): Promise<string[]> {
  const bytes = await readDocument(path)
  const kind = orgDocumentKind(bytes)
  if (kind === 'revocation' || kind === 'revocation-envelope') {
    const r = decodeRevocation(kind === 'revocation' ? bytes : decodeEnvelope(bytes, b => crypto.sha256(b)).body)
    return [`revocation of serial ${r.serial}`, `organisation key: ${formatOrgPublicKey(r.org)}`, `issued:           ${iso(r.issuedMs)}`]
  }
  if (kind !== 'certificate') throw new ConfigError(`${path} is neither a certificate nor a revocation`)
  const c = decodeCertificate(bytes)
  const subject = c.kind === 'relay' ? nodeIdOfKey(c.subject) : formatUserPublicKey(c.subject.subarray(0, 32), c.subject.subarray(32))
  return [
    `${c.kind} certificate, serial ${c.serial}: "${c.name}"`,
    `organisation key: ${formatOrgPublicKey(c.org)}`,
    `${c.kind === 'relay' ? 'node id: ' : 'user key:'}         ${subject}`,
    `valid:            ${iso(c.notBeforeMs)} to ${iso(c.notAfterMs)}`,
    `fingerprint:      ${toHex(crypto.sha256(bytes)).slice(0, 32)}`,
  ]
}
