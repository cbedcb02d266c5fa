// Organisation certificates and revocations (#29): pinned vectors both ways, strict decoding,
// and the trust decision's refusals: the forged, the expired, the revoked, the distrusted, the
// unknown organisation, the wrong kind and the wrong key.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { createNodeCrypto } from '../node/crypto.ts'
import { fromHex, toHex } from '../protocol/bytes.ts'
import { encodeCanonical } from '../protocol/cbor.ts'
import { clockSkewMsMax, orgCertificateLifetimeMsMax, orgDocumentBytesMax } from '../protocol/limits.ts'
import { decodeCertificate, decodeRevocation, orgDocumentKind, signCertificate, signRevocation, verifyCertificate, verifyRevocation, type CertificateFields } from '../protocol/org/certificate.ts'
import { judgeCertificate, orgRef, revokedRef, type AcceptedOrg, type TrustState } from '../protocol/org/trust.ts'

const crypto = createNodeCrypto()
const vectors = JSON.parse(readFileSync(new URL('./vectors/org.json', import.meta.url), 'utf8')) as {
  orgSeed: string
  certificates: Array<{ name: string, kind: 'relay' | 'user', subject: string, holder: string, serial: number, notBeforeMs: number, notAfterMs: number, bytes: string }>
  revocations: Array<{ name: string, serial: number, issuedMs: number, bytes: string }>
}
const org = crypto.ed25519KeyPair(fromHex(vectors.orgSeed))
const partner = crypto.ed25519KeyPair(fromHex('4b'.repeat(32)))
const stranger = crypto.ed25519KeyPair(fromHex('5a'.repeat(32)))
const relayKey = crypto.ed25519KeyPair(fromHex('1e'.repeat(32))).publicKey
const otherRelayKey = crypto.ed25519KeyPair(fromHex('69'.repeat(32))).publicKey
const nowMs = 1_800_000_000_000
const day = 86_400_000

function relayCert (over: Partial<CertificateFields> = {}, signer = org.privateKey): Uint8Array {
  return signCertificate({ kind: 'relay', org: org.publicKey, subject: relayKey, name: 'pump-station-3', serial: 7, notBeforeMs: nowMs - day, notAfterMs: nowMs + 30 * day, ...over }, crypto, signer)
}

function trust (orgs: AcceptedOrg[], revoked: string[] = []): TrustState {
  return { orgs: new Map(orgs.map(o => [orgRef(o.key), o])), revoked: new Set(revoked) }
}
const ours: AcceptedOrg = { key: org.publicKey, name: 'Water utility', role: 'own' }

t.test('pinned vectors: fixed key and fields give fixed bytes, and decode back', async t => {
  for (const v of vectors.certificates) {
    const fields = { kind: v.kind, org: org.publicKey, subject: fromHex(v.subject), name: v.holder, serial: v.serial, notBeforeMs: v.notBeforeMs, notAfterMs: v.notAfterMs }
    t.equal(toHex(signCertificate(fields, crypto, org.privateKey)), v.bytes, v.name)
    const c = decodeCertificate(fromHex(v.bytes))
    t.match(c, { kind: v.kind, name: v.holder, serial: v.serial, notBeforeMs: v.notBeforeMs, notAfterMs: v.notAfterMs }, v.name)
    t.equal(toHex(c.subject), v.subject)
    verifyCertificate(c, crypto)
    t.equal(orgDocumentKind(fromHex(v.bytes)), 'certificate')
  }
  for (const v of vectors.revocations) {
    t.equal(toHex(signRevocation({ org: org.publicKey, serial: v.serial, issuedMs: v.issuedMs }, crypto, org.privateKey)), v.bytes, v.name)
    const r = decodeRevocation(fromHex(v.bytes))
    t.match(r, { serial: v.serial, issuedMs: v.issuedMs })
    verifyRevocation(r, crypto)
    t.equal(orgDocumentKind(fromHex(v.bytes)), 'revocation')
  }
})

t.test('strict decoding: trailing bytes, wrong version, wrong lengths, bad names, oversized, and validity are refused', async t => {
  const good = relayCert()
  t.throws(() => decodeCertificate(new Uint8Array([...good, 0])), { code: 'ERR_DECODE' }, 'trailing byte')
  t.throws(() => decodeCertificate(new Uint8Array(orgDocumentBytesMax + 1)), { code: 'ERR_LIMIT' }, 'oversized: refused before parsing')
  const fields = decodeCertificate(good)
  const body = (over: unknown[]): Uint8Array => encodeCanonical([1, 0, fields.org, fields.subject, fields.name, 7, fields.notBeforeMs, fields.notAfterMs, fields.signature].map((x, i) => over[i] === undefined ? x : over[i]) as never)
  t.throws(() => decodeCertificate(body([2])), { code: 'ERR_DECODE' }, 'version 2')
  t.throws(() => decodeCertificate(body([undefined, 2])), { code: 'ERR_DECODE' }, 'kind 2')
  t.throws(() => decodeCertificate(body([undefined, 1])), { code: 'ERR_DECODE' }, 'a user certificate with a 32-byte subject')
  t.throws(() => decodeCertificate(body([undefined, undefined, fields.org.subarray(1)])), { code: 'ERR_DECODE' }, 'short org key')
  t.throws(() => decodeCertificate(body([undefined, undefined, undefined, undefined, 'evil\u202ename'])), { code: 'ERR_DECODE' }, 'bidirectional override in a name')
  t.throws(() => decodeCertificate(body([undefined, undefined, undefined, undefined, undefined, 0])), { code: 'ERR_DECODE' }, 'serial 0')
  t.throws(() => decodeCertificate(body([undefined, undefined, undefined, undefined, undefined, undefined, nowMs, nowMs])), { code: 'ERR_DECODE' }, 'empty validity')
  t.throws(() => relayCert({ notAfterMs: nowMs - day + orgCertificateLifetimeMsMax + 1 }), { code: 'ERR_LIMIT' }, 'longer than five years is not issued')
  t.throws(() => decodeRevocation(new Uint8Array([...signRevocation({ org: org.publicKey, serial: 3, issuedMs: nowMs }, crypto, org.privateKey), 0])), { code: 'ERR_DECODE' }, 'revocation with a trailing byte')
  t.equal(orgDocumentKind(new Uint8Array([0x83, 1, 2, 3])), undefined)
})

t.test('a relay certificate of our organisation, for the right key, in its validity, is accepted', async t => {
  const v = judgeCertificate(relayCert(), { kind: 'relay', subject: relayKey }, trust([ours]), nowMs, crypto)
  t.ok(v.ok, v.ok ? '' : v.reason)
  if (v.ok) t.equal(v.org.name, 'Water utility')
  const p = judgeCertificate(relayCert({}, partner.privateKey), { kind: 'relay' }, trust([ours, { key: partner.publicKey, name: 'County EM', role: 'partner' }]), nowMs, crypto)
  t.equal(p.ok, false, 'a partner key cannot sign a certificate naming our organisation')
  const q = judgeCertificate(relayCert({ org: partner.publicKey }, partner.privateKey), { kind: 'relay' }, trust([ours, { key: partner.publicKey, name: 'County EM', role: 'partner' }]), nowMs, crypto)
  t.ok(q.ok && q.org.role === 'partner', 'a partner\'s own certificate is accepted as the partner\'s')
})

t.test('refusals, each with its code and a sentence naming the certificate', async t => {
  const cases: Array<[string, Uint8Array, Parameters<typeof judgeCertificate>[1], TrustState, number, string]> = [
    ['forged: signed by a stranger, naming our organisation', relayCert({}, stranger.privateKey), { kind: 'relay' }, trust([ours]), nowMs, 'signature'],
    ['an organisation nobody here accepted', relayCert({ org: stranger.publicKey }, stranger.privateKey), { kind: 'relay' }, trust([ours]), nowMs, 'untrusted-org'],
    ['a partner cut off with ddil org distrust', relayCert({ org: partner.publicKey }, partner.privateKey), { kind: 'relay' }, trust([ours, { key: partner.publicKey, name: 'County EM', role: 'partner', distrustedAtMs: nowMs - 1 }]), nowMs, 'distrusted-org'],
    ['a user certificate shown as a relay\'s', signCertificate({ kind: 'user', org: org.publicKey, subject: new Uint8Array(64).fill(3), name: 'Ann', serial: 9, notBeforeMs: nowMs - day, notAfterMs: nowMs + day }, crypto, org.privateKey), { kind: 'relay' }, trust([ours]), nowMs, 'wrong-kind'],
    ['another relay\'s certificate', relayCert(), { kind: 'relay', subject: otherRelayKey }, trust([ours]), nowMs, 'wrong-subject'],
    ['expired a millisecond ago', relayCert({ notAfterMs: nowMs }), { kind: 'relay' }, trust([ours]), nowMs, 'expired'],
    ['valid only after more than the clock allowance', relayCert({ notBeforeMs: nowMs + clockSkewMsMax + 1, notAfterMs: nowMs + 30 * day }), { kind: 'relay' }, trust([ours]), nowMs, 'not-yet-valid'],
    ['revoked', relayCert(), { kind: 'relay' }, trust([ours], [revokedRef(org.publicKey, 7)]), nowMs, 'revoked'],
    ['junk', new Uint8Array([1, 2, 3]), { kind: 'relay' }, trust([ours]), nowMs, 'decode'],
  ]
  for (const [what, bytes, expected, state, at, code] of cases) {
    const v = judgeCertificate(bytes, expected, state, at, crypto)
    t.equal(v.ok ? 'accepted' : v.code, code, what)
    if (!v.ok && code !== 'decode' && code !== 'untrusted-org') t.match(v.reason, /certificate \d+ \("/, `${what}: the reason names it`)
  }
  const early = judgeCertificate(relayCert({ notBeforeMs: nowMs + clockSkewMsMax, notAfterMs: nowMs + 30 * day }), { kind: 'relay' }, trust([ours]), nowMs, crypto)
  t.ok(early.ok, 'a certificate valid within the clock allowance is accepted (field clocks may be a day off)')
  t.ok(judgeCertificate(relayCert(), { kind: 'relay' }, trust([ours], [revokedRef(org.publicKey, 8)]), nowMs, crypto).ok, 'another serial\'s revocation does not touch it')
})
