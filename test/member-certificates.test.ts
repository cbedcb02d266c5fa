// Channel members vouched for by their organisation (#29): a user certificate rides on a
// governance `add` (and `create`), strictly bound to the member's keys; a relay in
// `peers.mode: org` refuses an add whose certificate its trust store does not accept (forged,
// expired when added, revoked, unknown or cut-off organisation, a partner's user in a channel
// that partner's policy does not let cross); a device shows the organisation beside the name.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { crypto, nowMs } from './helpers/fixtures.ts'
import { concatBytes, toHex } from '../protocol/bytes.ts'
import { createChannel, signChange, type UserKeys } from '../protocol/channel/builders.ts'
import { decodeChange, encodeChange, type Policy } from '../protocol/channel/governance.ts'
import { RelayChannelPolicy } from '../protocol/channel/relay.ts'
import type { GovernanceState } from '../protocol/channel/state.ts'
import { authorRef } from '../protocol/envelope.ts'
import { encodeCanonical } from '../protocol/cbor.ts'
import { signCertificate, signRevocation, decodeRevocation } from '../protocol/org/certificate.ts'
import { memberOrganisation } from '../protocol/org/member.ts'
import { createMemberCheck } from '../node/org/member-check.ts'
import { toTrustState, type TrustStore } from '../node/org/trust-store.ts'

const day = 86_400_000
const policy: Policy = { retentionSeconds: 7 * 86_400, allowedPrecedence: [0, 1, 2, 3], whoMayPost: 'member' }
const user = (seed: number): UserKeys => ({ ed25519: crypto.ed25519KeyPair(new Uint8Array(32).fill(seed)), x25519: crypto.x25519KeyPair(new Uint8Array(32).fill(seed + 1)) })
const keysOf = (u: UserKeys): Uint8Array => concatBytes([u.ed25519.publicKey, u.x25519.publicKey])
const water = crypto.ed25519KeyPair(new Uint8Array(32).fill(40))
const county = crypto.ed25519KeyPair(new Uint8Array(32).fill(41))
const stranger = crypto.ed25519KeyPair(new Uint8Array(32).fill(42))
const owner = user(10)
const ann = user(20) // a county duty officer
let serial = 0
const certify = (org: { publicKey: Uint8Array, privateKey: Uint8Array }, u: UserKeys, o: { notAfterMs?: number, signer?: Uint8Array, kind?: 'user' | 'relay' } = {}): Uint8Array =>
  signCertificate({ kind: o.kind ?? 'user', org: org.publicKey, subject: o.kind === 'relay' ? u.ed25519.publicKey : keysOf(u), name: 'Ann Example (duty officer)', serial: ++serial, notBeforeMs: Math.min(nowMs, o.notAfterMs ?? nowMs) - day, notAfterMs: o.notAfterMs ?? nowMs + 90 * day }, crypto, o.signer ?? org.privateKey)

t.test('format: an add carries the member\'s certificate, bound to the keys it names', async t => {
  const cert = certify(county, ann)
  const add = { op: 'add' as const, memberEd: ann.ed25519.publicKey, memberX: ann.x25519.publicKey, role: 'member' as const, memberCertificate: cert }
  const body = encodeChange(add)
  t.same(decodeChange(body), add, 'decodes to what was encoded')
  const pinned = JSON.parse(readFileSync(new URL('./vectors/governance.json', import.meta.url), 'utf8')) as { certifiedAdd: string }
  t.equal(toHex(body), pinned.certifiedAdd, 'pinned bytes (test/vectors/governance.json certifiedAdd)')
  const { memberCertificate: _cert, ...plain } = add
  t.equal(encodeChange(plain).length + cert.length + 3, body.length, 'without one, an add keeps its byte form (key 6 is written only when set)')
  const create = { op: 'create' as const, ownerEd: owner.ed25519.publicKey, ownerX: owner.x25519.publicKey, policy, nonce: new Uint8Array(16), ownerCertificate: certify(water, owner) }
  t.same(decodeChange(encodeChange(create)), create, 'a create carries its owner\'s')
  const raw = (c: Record<number, unknown>): Uint8Array => encodeCanonical(new Map(Object.entries(c).map(([k, v]) => [Number(k), v])) as never)
  const base = { 0: 'add', 1: ann.ed25519.publicKey, 2: ann.x25519.publicKey, 3: 'member' }
  for (const [what, body, said] of [
    ['another member\'s certificate', raw({ ...base, 6: certify(county, owner) }), /certificate is for other keys than the member's/],
    ['a relay certificate', raw({ ...base, 6: certify(county, ann, { kind: 'relay' }) }), /certifies a relay, not a user/],
    ['junk', raw({ ...base, 6: new Uint8Array([1, 2, 3]) }), /./],
    ['oversized', raw({ ...base, 6: new Uint8Array(513) }), /./],
    ['a certificate on a remove', raw({ 0: 'remove', 1: ann.ed25519.publicKey, 5: 0, 6: cert }), /unknown field 6/],
  ] as Array<[string, Uint8Array, RegExp]>) t.throws(() => decodeChange(body), { message: said }, what)
})

/** A relay's channel policy in org mode: it belongs to the water utility and trusts the county (whose policy here is `partnerPolicy`). */
function relay (store: Partial<TrustStore> = {}): RelayChannelPolicy {
  const trust: TrustStore = {
    own: { key: water.publicKey, name: 'Water utility', certificate: undefined as never },
    partners: [{ key: county.publicKey, name: 'County EM', gateway: true, trustedMs: 0 }],
    revocations: [],
    ...store,
  }
  const p = new RelayChannelPolicy(crypto, () => true)
  p.memberCheck = createMemberCheck({ trust: () => ({ store: trust, state: toTrustState(trust) }), crypto })
  return p
}

function addedBy (p: RelayChannelPolicy, cert: Uint8Array, stampMs = nowMs): { ok: boolean, reason?: string } {
  const g = createChannel(crypto, owner, policy, new Uint8Array(16).fill(1), { ms: nowMs - 1000, c: 0 })
  const genesis = p.authorise(g)
  if (!genesis.ok) throw new Error(`genesis refused: ${genesis.reason}`)
  p.store.add(g)
  p.restored(g) // notes the creator, as a stored genesis does
  const add = signChange(crypto, owner, { channel: g.channel, heads: (p.store.state(g.channel) as GovernanceState).heads }, { op: 'add', memberEd: ann.ed25519.publicKey, memberX: ann.x25519.publicKey, role: 'member', memberCertificate: cert }, 2, { ms: stampMs, c: 0 })
  const r = p.authorise(add)
  return r.ok ? { ok: true } : { ok: false, reason: r.reason }
}

t.test('a relay in org mode judges the certificate on an add', async t => {
  t.same(addedBy(relay(), certify(county, ann)), { ok: true }, 'a partner\'s user with a valid certificate joins')
  t.same(addedBy(relay(), certify(water, ann)), { ok: true }, 'so does one of our own')
  t.match(addedBy(relay(), certify(county, ann, { signer: stranger.privateKey })), { ok: false, reason: /signature does not verify/ }, 'a forged organisation signature')
  t.match(addedBy(relay(), certify(stranger, ann)), { ok: false, reason: /organisation this relay has not accepted/ }, 'an organisation this relay never accepted')
  t.match(addedBy(relay(), certify(county, ann, { notAfterMs: nowMs - 1 })), { ok: false, reason: /expired/ }, 'a certificate expired when the member was added')
  t.same(addedBy(relay(), certify(county, ann, { notAfterMs: nowMs + 1 })), { ok: true }, 'judged at the add\'s time, not later: valid then, it stays valid here')
  const revokedCert = certify(county, ann)
  const revocation = decodeRevocation(signRevocation({ org: county.publicKey, serial, issuedMs: nowMs }, crypto, county.privateKey))
  t.match(addedBy(relay({ revocations: [revocation] }), revokedCert), { ok: false, reason: /revoked by County EM/ }, 'a revoked certificate')
  t.match(addedBy(relay({ partners: [{ key: county.publicKey, name: 'County EM', gateway: true, trustedMs: 0, distrustedMs: 1 }] }), certify(county, ann)), { ok: false, reason: /no longer trusts/ }, 'a partner cut off')
  const creatorRef = toHex(authorRef(owner.ed25519.publicKey))
  const only = (creators: string[]): Partial<TrustStore> => ({ partners: [{ key: county.publicKey, name: 'County EM', gateway: true, trustedMs: 0, policy: { creators } }] })
  t.match(addedBy(relay(only(['0000000000000000'])), certify(county, ann)), { ok: false, reason: /Water utility lets County EM's users into channels created by the listed creators only/ }, 'a partner\'s user, into a channel our policy does not let cross')
  t.same(addedBy(relay(only([creatorRef])), certify(county, ann)), { ok: true }, '…and into one it does')
  const open = new RelayChannelPolicy(crypto, () => true)
  t.same(addedBy(open, certify(stranger, ann)), { ok: true }, 'a relay without organisations carries the change (it trusts no organisation to judge by)')
})

t.test('beside the name: the organisation, or why its certificate does not hold', async t => {
  const trust = toTrustState({ own: { key: water.publicKey, name: 'Water utility', certificate: undefined as never }, partners: [{ key: county.publicKey, name: 'County EM', gateway: true, trustedMs: 0 }], revocations: [] })
  t.same(memberOrganisation(certify(county, ann), keysOf(ann), trust, nowMs, crypto), { name: 'County EM', ok: true })
  t.same(memberOrganisation(certify(county, ann, { notAfterMs: nowMs - 2 * day }), keysOf(ann), trust, nowMs, crypto), { name: 'County EM', ok: false, problem: 'certificate expired 2d ago' })
  t.match(memberOrganisation(certify(stranger, ann), keysOf(ann), trust, nowMs, crypto), { name: 'an organisation this relay does not know', ok: false })
  t.match(memberOrganisation(certify(county, ann, { signer: stranger.privateKey }), keysOf(ann), trust, nowMs, crypto), { name: 'County EM', ok: false, problem: /signature/ })
  t.equal(memberOrganisation(undefined, keysOf(ann), trust, nowMs, crypto), undefined, 'no certificate: nothing shown')
})

t.test('once our operator cuts their organisation off, what its certified users author is refused', async t => {
  const p = relay()
  const g = createChannel(crypto, owner, policy, new Uint8Array(16).fill(2), { ms: nowMs - 1000, c: 0 })
  p.store.add(g); p.restored(g)
  const add = signChange(crypto, owner, { channel: g.channel, heads: (p.store.state(g.channel) as GovernanceState).heads }, { op: 'add', memberEd: ann.ed25519.publicKey, memberX: ann.x25519.publicKey, role: 'admin', memberCertificate: certify(county, ann) }, 2, { ms: nowMs, c: 0 })
  t.equal(p.authorise(add).ok, true)
  p.store.add(add); p.restored(add)
  const annChange = signChange(crypto, ann, { channel: g.channel, heads: (p.store.state(g.channel) as GovernanceState).heads }, { op: 'add', memberEd: user(30).ed25519.publicKey, memberX: user(30).x25519.publicKey, role: 'member' }, 1, { ms: nowMs + 1000, c: 0 })
  t.equal(p.authorise(annChange).ok, true, 'Ann, a county admin, may add a member while the county is trusted')
  let cut = false
  p.orgCutOff = ref => cut && ref === toHex(county.publicKey) ? 'County EM' : undefined
  t.equal(p.authorise(annChange).ok, true, 'still, until the cut')
  cut = true
  t.same(p.authorise(annChange), { ok: false, reason: 'its author is a user of County EM, which this relay\'s operator cut off', carried: false }, 'refused, naming the organisation')
  const ownerChange = signChange(crypto, owner, { channel: g.channel, heads: (p.store.state(g.channel) as GovernanceState).heads }, { op: 'role', memberEd: ann.ed25519.publicKey, role: 'reader' }, 3, { ms: nowMs + 2000, c: 0 })
  const verdict = p.authorise(ownerChange)
  t.equal(verdict.ok, true, `our owner still governs: demoting the cut-off user is carried ${JSON.stringify(verdict)}`)
})

t.test('a partner\'s channel adds one of this relay\'s own users only with our organisation\'s certificate for them', async t => {
  const p = relay()
  const local = user(40) // enrolled at this relay
  p.ownUsers = { org: () => ({ ref: toHex(water.publicKey), name: 'Water utility' }), isLocal: ed => toHex(ed) === toHex(local.ed25519.publicKey) }
  // The county's Ann creates a channel, with her county certificate on the genesis.
  const g = createChannel(crypto, ann, policy, new Uint8Array(16).fill(3), { ms: nowMs - 1000, c: 0 }, undefined, certify(county, ann))
  t.equal(p.authorise(g).ok, true)
  p.store.add(g); p.restored(g)
  let seq = 1
  const adding = (member: UserKeys, memberCertificate?: Uint8Array): ReturnType<RelayChannelPolicy['authorise']> => p.authorise(signChange(crypto, ann, { channel: g.channel, heads: (p.store.state(g.channel) as GovernanceState).heads },
    { op: 'add', memberEd: member.ed25519.publicKey, memberX: member.x25519.publicKey, role: 'member', ...(memberCertificate !== undefined ? { memberCertificate } : {}) }, ++seq, { ms: nowMs + seq, c: 0 }))
  t.same(adding(local), { ok: false, reason: 'a partner organisation\'s channel may add this relay\'s own users only with Water utility\'s certificate for them', carried: false }, 'without a certificate: refused')
  t.match(adding(local, certify(county, local)), { ok: false, reason: /only with Water utility's certificate/ }, 'the county cannot vouch for our user')
  t.equal(adding(local, certify(water, local)).ok, true, 'with ours: carried')
  const stranger = adding(user(50))
  t.equal(stranger.ok, true, `someone who is not this relay's user: the partner's business ${JSON.stringify(stranger)}`)
  // Our own channel (its owner certified by us, or not at all) adds our users as ever.
  const ours = createChannel(crypto, owner, policy, new Uint8Array(16).fill(4), { ms: nowMs - 1000, c: 0 }, undefined, certify(water, owner))
  p.store.add(ours); p.restored(ours)
  const ourAdd = signChange(crypto, owner, { channel: ours.channel, heads: (p.store.state(ours.channel) as GovernanceState).heads }, { op: 'add', memberEd: local.ed25519.publicKey, memberX: local.x25519.publicKey, role: 'member' }, 2, { ms: nowMs, c: 0 })
  t.equal(p.authorise(ourAdd).ok, true, 'our own channel needs no certificate for our user')
})
