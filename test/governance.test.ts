// Channel governance: codec strictness, pinned vectors, and every brief §7 forgery and authorisation
// case at this layer. Each case asserts a specific outcome (reason code), so removing its defence
// (signature check, causal-past authorisation, seq cut, priority rule, pending) makes it fail.
import t, { type Test } from 'tap'
import { readFileSync } from 'node:fs'
import { createNodeCrypto } from '../node/crypto.ts'
import { fromHex, toHex } from '../protocol/bytes.ts'
import { encodeCanonical } from '../protocol/cbor.ts'
import { authorRef, decodeEnvelope, Kind, Precedence, signEnvelope, verifySignature, type Envelope, type EnvelopeFields } from '../protocol/envelope.ts'
import { channelRefOf, createChannel, signChange, type UserKeys } from '../protocol/channel/builders.ts'
import { decodeChange, encodeChange, type Change, type Policy } from '../protocol/channel/governance.ts'
import { GovernanceStore, type AddResult } from '../protocol/channel/store.ts'
import { resolve } from '../protocol/channel/resolve.ts'
import { encodeState, type GovernanceState } from '../protocol/channel/state.ts'
import { authoriseEnvelope } from '../protocol/channel/authorise.ts'
import { ttlSecondsMax } from '../protocol/limits.ts'

const crypto = createNodeCrypto()
const t0 = 1795348800000
const user = (n: number): UserKeys => ({ ed25519: crypto.ed25519KeyPair(new Uint8Array(32).fill(n)), x25519: crypto.x25519KeyPair(new Uint8Array(32).fill(n + 0x80)) })
const owner = user(1); const owner2 = user(2); const admin = user(3); const admin2 = user(4)
const member = user(5); const reader = user(6); const partner = user(7); const stranger = user(8); const partner2 = user(9)
const relayKeys = crypto.ed25519KeyPair(new Uint8Array(32).fill(0x99))
const policy: Policy = { retentionSeconds: 604800, allowedPrecedence: [0, 1, 2, 3], whoMayPost: 'member' }
const sha = (b: Uint8Array): Uint8Array => crypto.sha256(b)

/** A channel under construction: one replica's store, per-user seq counters and a clock. */
class World {
  readonly store = new GovernanceStore(crypto)
  readonly genesis: Envelope
  readonly seqs = new Map<UserKeys, number>()
  clock = 1
  constructor (nonceByte = 7) {
    this.genesis = createChannel(crypto, owner, policy, new Uint8Array(16).fill(nonceByte), { ms: t0, c: 0 })
    this.seqs.set(owner, 1)
    this.store.add(this.genesis)
  }

  get channel (): Uint8Array { return this.genesis.channel }
  get state (): GovernanceState { return this.store.state(this.channel) as GovernanceState }
  nextSeq (u: UserKeys): number { const s = (this.seqs.get(u) ?? 0) + 1; this.seqs.set(u, s); return s }

  /** Sign a change citing `heads` (default: this replica's heads); not added. */
  sign (author: UserKeys, change: Change, heads: readonly Uint8Array[] = this.state.heads, c = 0): Envelope {
    return signChange(crypto, author, { channel: this.channel, heads }, change, this.nextSeq(author), { ms: t0 + this.clock++, c })
  }

  apply (author: UserKeys, change: Change): { env: Envelope, result: AddResult } {
    const env = this.sign(author, change)
    return { env, result: this.store.add(env) }
  }

  post (author: UserKeys, fields: Partial<EnvelopeFields> = {}): Envelope {
    return signEnvelope(crypto, {
      kind: Kind.message, precedence: Precedence.routine, channel: this.channel, author: authorRef(author.ed25519.publicKey),
      seq: this.nextSeq(author), hlc: { ms: t0 + this.clock++, c: 0 }, ttlSeconds: 3600, epoch: 1, deps: [], body: new Uint8Array(24), ...fields,
    }, author.ed25519.privateKey)
  }
}

const add = (u: UserKeys, role: 'owner' | 'admin' | 'member' | 'reader'): Change => ({ op: 'add', memberEd: u.ed25519.publicKey, memberX: u.x25519.publicKey, role })
const remove = (u: UserKeys, cutSeq: number): Change => ({ op: 'remove', memberEd: u.ed25519.publicKey, cutSeq })
const setRole = (u: UserKeys, role: 'owner' | 'admin' | 'member' | 'reader'): Change => ({ op: 'role', memberEd: u.ed25519.publicKey, role })
const ref = (u: UserKeys): string => toHex(authorRef(u.ed25519.publicKey))

function refusedWith (t: Test, r: AddResult, reason: string, what: string): void {
  t.equal(r.status, 'refused', `${what}: refused`)
  if (r.status === 'refused') t.equal(r.reason, reason, `${what}: ${r.detail}`)
}

function accepted (t: Test, r: AddResult, what: string): void {
  t.equal(r.status, 'accepted', `${what}: accepted${r.status === 'refused' ? ` (refused: ${r.reason} ${r.detail})` : ''}`)
}

/** Re-kind an envelope: same bytes and signature, another kind in the head byte. */
function rekind (env: Envelope, kind: number): Envelope {
  const bytes = env.bytes.slice()
  bytes[0] = (bytes[0] & 0b1110_0011) | (kind << 2)
  return decodeEnvelope(bytes, sha)
}

const states = (stores: GovernanceStore[], channel: Uint8Array): string[] => stores.map(s => toHex(encodeState(s.state(channel) as GovernanceState)))

t.test('codec: every op round-trips; strict decode refuses everything else', async t => {
  const changes: Change[] = [
    { op: 'create', ownerEd: owner.ed25519.publicKey, ownerX: owner.x25519.publicKey, policy, nonce: new Uint8Array(16) },
    add(member, 'reader'), remove(member, 12), setRole(member, 'admin'),
    { op: 'policy', policy: { retentionSeconds: 3600, allowedPrecedence: [0, 3], whoMayPost: 'admin' } },
  ]
  for (const c of changes) {
    const bytes = encodeChange(c)
    t.same(decodeChange(bytes), c, `${c.op} round-trips`)
    t.equal(toHex(encodeChange(decodeChange(bytes))), toHex(bytes), `${c.op}: one byte form`)
  }
  const ed = member.ed25519.publicKey
  const bad: Array<[string, unknown]> = [
    ['unknown op', new Map<number, unknown>([[0, 'grant'], [1, ed]])],
    ['unknown key', new Map<number, unknown>([[0, 'remove'], [1, ed], [5, 1], [9, 0]])],
    ['missing key', new Map<number, unknown>([[0, 'remove'], [1, ed]])],
    ['short key', new Map<number, unknown>([[0, 'remove'], [1, ed.subarray(0, 31)], [5, 1]])],
    ['unknown role', new Map<number, unknown>([[0, 'role'], [1, ed], [3, 'king']])],
    ['text key', new Map<string | number, unknown>([[0, 'remove'], [1, ed], [5, 1], ['x', 1]])],
    ['negative cut', new Map<number, unknown>([[0, 'remove'], [1, ed], [5, -1]])],
    ['precedences not ascending', new Map<number, unknown>([[0, 'policy'], [3, new Map<number, unknown>([[0, 3600], [1, [3, 0]], [2, 'member']])]])],
    ['precedence out of range', new Map<number, unknown>([[0, 'policy'], [3, new Map<number, unknown>([[0, 3600], [1, [4]], [2, 'member']])]])],
    ['no precedence', new Map<number, unknown>([[0, 'policy'], [3, new Map<number, unknown>([[0, 3600], [1, []], [2, 'member']])]])],
    ['whoMayPost reader', new Map<number, unknown>([[0, 'policy'], [3, new Map<number, unknown>([[0, 3600], [1, [0]], [2, 'reader']])]])],
    ['retention over the TTL limit', new Map<number, unknown>([[0, 'policy'], [3, new Map<number, unknown>([[0, ttlSecondsMax + 1], [1, [0]], [2, 'member']])]])],
    ['not a map', [0, 'add']],
  ]
  for (const [what, value] of bad) t.throws(() => decodeChange(encodeCanonical(value as never)), { code: 'ERR_DECODE' }, what)
  const good = encodeChange(remove(member, 1))
  t.throws(() => decodeChange(Uint8Array.from([...good, 0])), { code: 'ERR_DECODE' }, 'trailing byte')
  t.throws(() => encodeChange({ op: 'add', memberEd: ed.subarray(0, 8), memberX: ed, role: 'member' }), { code: 'ERR_DECODE' }, 'encoder refuses a short key')
})

t.test('pinned vectors: genesis, add, remove bytes and the resolved state', async t => {
  const v = JSON.parse(readFileSync(new URL('./vectors/governance.json', import.meta.url), 'utf8')) as {
    policy: Policy, nonce: string, changes: Array<{ name: string, body: string, bytes: string, id: string, channel?: string }>, state: string
  }
  const o = { ed25519: crypto.ed25519KeyPair(new Uint8Array(32).fill(1)), x25519: crypto.x25519KeyPair(new Uint8Array(32).fill(2)) }
  const m = { ed25519: crypto.ed25519KeyPair(new Uint8Array(32).fill(3)), x25519: crypto.x25519KeyPair(new Uint8Array(32).fill(4)) }
  const g = createChannel(crypto, o, v.policy, fromHex(v.nonce), { ms: t0, c: 0 })
  const s = new GovernanceStore(crypto)
  s.add(g)
  const a = signChange(crypto, o, s.state(g.channel) as GovernanceState, { op: 'add', memberEd: m.ed25519.publicKey, memberX: m.x25519.publicKey, role: 'member' }, 2, { ms: t0 + 1000, c: 0 })
  s.add(a)
  const r = signChange(crypto, o, s.state(g.channel) as GovernanceState, remove(m, 0), 3, { ms: t0 + 2000, c: 0 })
  s.add(r)
  const made = [g, a, r]
  v.changes.forEach((c, i) => {
    t.equal(toHex(made[i].body), c.body, `${c.name}: body`)
    t.equal(toHex(made[i].bytes), c.bytes, `${c.name}: envelope bytes`)
    t.equal(toHex(made[i].id), c.id, `${c.name}: id`)
    t.equal(toHex(encodeChange(decodeChange(fromHex(c.body)))), c.body, `${c.name}: decode then encode is identity`)
  })
  t.equal(v.changes[0].channel, toHex(channelRefOf(crypto, g.body)), 'channel ref = SHA-256(genesis body)[0..8]')
  t.equal(toHex(encodeState(s.state(g.channel) as GovernanceState)), v.state, 'store state')
  const decoded = v.changes.map(c => decodeEnvelope(fromHex(c.bytes), sha))
  t.equal(toHex(encodeState(resolve(decoded.reverse()))), v.state, 'resolve() of the decoded vectors gives the pinned state')
})

t.test('forged or bit-flipped signature: refused, state unchanged', async t => {
  const w = new World()
  const before = toHex(encodeState(w.state))
  const env = w.sign(owner, add(member, 'member'))
  const flipped = env.bytes.slice(); flipped[flipped.length - 1] ^= 1
  refusedWith(t, w.store.add(decodeEnvelope(flipped, sha)), 'signature', 'flipped signature bit')
  const body = env.bytes.slice(); body[env.signedLength - 1] ^= 1 // flips the body: the signature no longer covers it
  const r = w.store.add(decodeEnvelope(body, sha))
  t.equal(r.status, 'refused', 'flipped body bit refused')
  t.equal(toHex(encodeState(w.state)), before, 'state unchanged')
  accepted(t, w.store.add(env), 'the genuine change still goes through')
})

t.test('a signature replayed as another kind never verifies', async t => {
  const w = new World()
  w.apply(owner, add(member, 'member'))
  // A governance change re-labelled as a message: the relay finds the author a member, but the
  // signature carries the governance label, so the engine's verifySignature refuses it.
  // Signed with a TTL the channel retains for messages, so only the label stands in the way.
  const gov = signChange(crypto, owner, { channel: w.channel, heads: w.state.heads }, add(reader, 'reader'), w.nextSeq(owner), { ms: t0 + w.clock++, c: 0 }, policy.retentionSeconds)
  const asMessage = rekind(gov, Kind.message)
  const auth = authoriseEnvelope(w.store, asMessage, crypto)
  t.ok(auth.ok, 'membership alone authorises a message from the owner')
  if (auth.ok) t.throws(() => verifySignature(crypto, asMessage, auth.publicKey), { code: 'ERR_SIGNATURE' }, 'governance signature does not verify as a message')
  // A member signs a "message" whose body is a governance change, then re-labels it governance.
  const fields: EnvelopeFields = { kind: Kind.message, precedence: Precedence.flash, channel: w.channel, author: authorRef(member.ed25519.publicKey), seq: w.nextSeq(member), hlc: { ms: t0 + 50, c: 0 }, ttlSeconds: 3600, epoch: 0, deps: [...w.state.heads], body: encodeChange(add(stranger, 'admin')) }
  const smuggled = rekind(signEnvelope(crypto, fields, member.ed25519.privateKey), Kind.governance)
  const r = w.store.add(smuggled)
  t.equal(r.status, 'refused', 'message signature pasted onto a governance envelope is refused')
  if (r.status === 'refused') t.ok(r.reason === 'signature' || r.reason === 'not-permitted', `reason ${r.reason}`)
  // Same smuggling by the owner (who may add admins): only the signature label stops it.
  const ownerFields = { ...fields, author: authorRef(owner.ed25519.publicKey), seq: w.nextSeq(owner) }
  refusedWith(t, w.store.add(rekind(signEnvelope(crypto, ownerFields, owner.ed25519.privateKey), Kind.governance)), 'signature', 'owner message re-labelled as governance')
  t.notOk(w.state.members.has(ref(stranger)), 'stranger never became a member')
})

t.test('replayed stale membership: same id is a no-op; a removed member cannot re-add themself', async t => {
  const w = new World()
  const { env: addM } = w.apply(admin, add(member, 'member')) // refused: admin not yet a member
  w.apply(owner, add(admin, 'admin'))
  const addMember = w.apply(owner, add(member, 'member')).env
  w.apply(owner, remove(member, 0))
  const before = toHex(encodeState(w.state))
  const again = w.store.add(addMember)
  t.equal(again.status, 'accepted')
  if (again.status === 'accepted') t.ok(again.duplicate, 'same id: duplicate')
  t.equal(toHex(encodeState(w.state)), before, 're-delivered add changes nothing')
  t.equal(w.store.status(addM.id, w.channel), 'refused', 'the early add by a non-member stays refused')
  refusedWith(t, w.store.add(addM), 'not-member', 'replaying it later does not help')
  refusedWith(t, w.apply(member, add(member, 'member')).result, 'removed-author', 'removed member re-adding themself')
  refusedWith(t, w.apply(admin, add(member, 'member')).result, 'target-exists', 'admin re-adding a removed key')
  t.ok(w.state.removed.has(ref(member)) && !w.state.members.has(ref(member)), 'member stays removed')
})

t.test('relay-forged membership: a change claiming an admin but signed by a relay key is refused', async t => {
  const w = new World()
  w.apply(owner, add(admin, 'admin'))
  const fields: EnvelopeFields = { kind: Kind.governance, precedence: Precedence.flash, channel: w.channel, author: authorRef(admin.ed25519.publicKey), seq: 5, hlc: { ms: t0 + 99, c: 0 }, ttlSeconds: 3600, epoch: 0, deps: [...w.state.heads], body: encodeChange(add(stranger, 'member')) }
  const forged = signEnvelope(crypto, fields, relayKeys.privateKey)
  refusedWith(t, w.store.add(forged), 'signature', 'admin ref, relay signature')
  const own = signEnvelope(crypto, { ...fields, author: authorRef(relayKeys.publicKey) }, relayKeys.privateKey)
  refusedWith(t, w.store.add(own), 'not-member', 'relay signing as itself')
  const auth = authoriseEnvelope(w.store, forged, crypto)
  t.equal(auth.ok, false, 'authoriseEnvelope refuses it too')
  t.notOk(w.state.members.has(ref(stranger)))
})

t.test('removed member still posting: seq ≤ cutSeq accepted, later refused', async t => {
  const w = new World()
  w.apply(owner, add(member, 'member'))
  const p1 = w.post(member); const p2 = w.post(member); const p3 = w.post(member)
  w.apply(owner, remove(member, p2.seq))
  t.same(authoriseEnvelope(w.store, p1, crypto), { ok: true, publicKey: member.ed25519.publicKey }, 'seq 1 before the cut')
  t.same(authoriseEnvelope(w.store, p2, crypto), { ok: true, publicKey: member.ed25519.publicKey }, 'seq 2 at the cut')
  const r3 = authoriseEnvelope(w.store, p3, crypto)
  t.equal(r3.ok, false, 'seq 3 after the cut')
  t.notOk('pending' in r3 && r3.pending === true, 'refused, not pending')
  t.equal(authoriseEnvelope(w.store, w.post(member), crypto).ok, false, 'a new post is refused')
  t.same(w.store.removals(w.channel).map(r => [toHex(r.author), r.cutSeq]), [[ref(member), 2]], 'removals() lists the cut')
})

t.test('concurrent removal versus post: discarded on every replica, with what depends on it', async t => {
  const w = new World()
  w.apply(owner, add(owner2, 'owner'))
  w.apply(owner, add(admin, 'admin'))
  const base = [...w.state.heads]
  const seen = w.seqs.get(admin) ?? 0
  // Concurrently: the admin adds a member and posts; owner removes the admin, having seen none of it.
  const adminAdds = w.sign(admin, add(member, 'member'), base)
  const adminPost = w.post(admin)
  const removal = w.sign(owner, remove(admin, seen), base)
  // Owner2 saw the admin's add and builds on it.
  const o2 = w.sign(owner2, setRole(member, 'reader'), [adminAdds.id])
  const all = [...w.store.changes(w.channel), adminAdds, removal, o2]
  const orders = [all, [...all].reverse(), [all[0], o2, removal, all[2], adminAdds, all[1]]]
  const stores = orders.map(order => { const s = new GovernanceStore(crypto); for (const e of order) s.add(e); return s })
  const encoded = states(stores, w.channel)
  t.ok(encoded.every(e => e === encoded[0]), 'identical state on every replica')
  const s = stores[0].state(w.channel) as GovernanceState
  t.equal(s.discarded.get(toHex(adminAdds.id)), 'cut', "admin's concurrent change is cut")
  t.equal(s.discarded.get(toHex(o2.id)), 'depends-on-discarded', 'and so is the change that depends on it')
  t.notOk(s.members.has(ref(member)), 'the member the removed admin added is not a member')
  t.equal(s.removed.get(ref(admin))?.cutSeq, seen)
  for (const store of stores) t.equal(authoriseEnvelope(store, adminPost, crypto).ok, false, 'the concurrent post is refused on every replica')
})

t.test('mutual removal: two owners remove each other; the same single winner everywhere', async t => {
  const w = new World()
  w.apply(owner, add(owner2, 'owner'))
  const base = [...w.state.heads]
  const seen = [w.seqs.get(owner2) ?? 0, w.seqs.get(owner) ?? 0] // what each had seen of the other before
  const r1 = w.sign(owner, remove(owner2, seen[0]), base)
  const r2 = w.sign(owner2, remove(owner, seen[1]), base)
  const all = [...w.store.changes(w.channel), r1, r2]
  const stores = [all, [...all].reverse(), [all[0], r2, all[1], r1]].map(order => { const s = new GovernanceStore(crypto); for (const e of order) s.add(e); return s })
  const encoded = states(stores, w.channel)
  t.ok(encoded.every(e => e === encoded[0]), 'identical state in every order')
  const s = stores[0].state(w.channel) as GovernanceState
  const [win, lose] = toHex(r1.id) < toHex(r2.id) ? [r1, r2] : [r2, r1]
  t.notOk(s.discarded.has(toHex(win.id)), 'lower-id removal wins (equal rank)')
  t.equal(s.discarded.get(toHex(lose.id)), 'cut', 'the other is cut with its author')
  t.equal([...s.members.values()].filter(m => m.role === 'owner').length, 1, 'exactly one owner remains')
  t.equal(s.removed.size, 1, 'exactly one removed')
  // An inflated cut (claiming to have seen the other's removal) still yields exactly one winner.
  const inflated = [w.sign(owner, remove(owner2, 99), base), w.sign(owner2, remove(owner, 99), base)]
  const si = resolve([...w.store.changes(w.channel), ...inflated])
  t.equal([...si.members.values()].filter(m => m.role === 'owner').length, 1, 'inflated cuts: one owner remains')
  t.equal(si.discarded.size, 1, 'inflated cuts: one removal discarded')
  // Two admins cannot remove each other at all: admins only manage members and readers.
  w.apply(owner, add(admin, 'admin')); w.apply(owner, add(admin2, 'admin'))
  refusedWith(t, w.apply(admin, remove(admin2, 0)).result, 'not-permitted', 'admin removing an admin')
})

t.test('a removal cycle among three owners: the first removal by priority stands, the cycle cannot undo it', async t => {
  const w = new World()
  w.apply(owner, add(owner2, 'owner')); w.apply(owner, add(admin, 'owner'))
  const base = [...w.state.heads]
  const [o1, o2, o3] = [owner, owner2, admin]
  const seen = [o1, o2, o3].map(u => w.seqs.get(u) ?? 0)
  const cyc = [w.sign(o1, remove(o2, seen[1]), base), w.sign(o2, remove(o3, seen[2]), base), w.sign(o3, remove(o1, seen[0]), base)]
  const prior = [...w.store.changes(w.channel)]
  const perms = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]]
  const stores = perms.map(p => { const s = new GovernanceStore(crypto); for (const e of [...p.map(i => cyc[i]), ...prior].reverse()) s.add(e); return s })
  const encoded = states(stores, w.channel)
  t.ok(encoded.every(e => e === encoded[0]), 'identical in all six orders')
  const s = stores[0].state(w.channel) as GovernanceState
  const first = [...cyc].sort((a, b) => toHex(a.id) < toHex(b.id) ? -1 : 1)[0]
  t.notOk(s.discarded.has(toHex(first.id)), 'the lowest-id removal stands')
  t.equal(s.removed.size, 1, 'exactly one owner removed')
  t.equal([...s.members.values()].filter(m => m.role === 'owner').length, 2)
  t.same([...s.discarded.values()].sort(), ['cut', 'revocation-conflict'], 'one removal cut, the one that would undo the first refused')
  for (const e of cyc) {
    if (s.discarded.get(toHex(e.id)) === 'cut') t.ok(s.removed.has(toHex(e.author)), 'a cut change belongs to a removed member')
  }
})

t.test('removal priority: an owner outranks an admin whatever the ids', async t => {
  // The admin removes a member while the owner concurrently removes the admin. By rank the owner's
  // removal goes first and cuts the admin's. We grind the admin's hlc counter until its removal has
  // the LOWER id, so that an id-only order would apply it first and refuse the owner's removal.
  const w = new World()
  w.apply(owner, add(admin, 'admin'))
  w.apply(owner, add(member, 'member'))
  const base = [...w.state.heads]
  const ownerRemoval = w.sign(owner, remove(admin, w.seqs.get(admin) ?? 0), base)
  const adminSeq = w.seqs.get(admin) ?? 0
  let adminRemoval: Envelope | undefined
  for (let c = 0; c < 256 && adminRemoval === undefined; c++) {
    const e = signChange(crypto, admin, { channel: w.channel, heads: base }, remove(member, 0), adminSeq + 1, { ms: t0 + 500, c })
    if (toHex(e.id) < toHex(ownerRemoval.id)) adminRemoval = e
  }
  if (adminRemoval === undefined) throw new Error('no grind found')
  const all = [...w.store.changes(w.channel), adminRemoval, ownerRemoval]
  const s = resolve(all)
  t.equal(s.discarded.get(toHex(adminRemoval.id)), 'cut', "the admin's removal is cut by the owner's")
  t.ok(s.members.has(ref(member)), 'the member stays')
  t.ok(s.removed.has(ref(admin)), 'the admin is removed')
})

t.test('unknown parent: held, released when it arrives; invalid parent: discarded transitively', async t => {
  const w = new World()
  const a1 = w.sign(owner, add(admin, 'admin'))
  const a2 = w.sign(owner, add(member, 'member'), [a1.id])
  const a3 = w.sign(admin, setRole(member, 'reader'), [a2.id])
  const r3 = w.store.add(a3)
  t.same(r3, { status: 'pending', reason: 'unknown-parent', missing: 1 }, 'grandchild pending')
  t.equal(w.store.add(a2).status, 'pending', 'child pending')
  t.equal(authoriseEnvelope(w.store, a3, crypto).ok, false)
  t.equal((authoriseEnvelope(w.store, a3, crypto) as { pending?: boolean }).pending, true, 'authorise says pending')
  const r1 = w.store.add(a1)
  t.equal(r1.status, 'accepted')
  if (r1.status === 'accepted') t.same(r1.released.map(e => toHex(e.id)), [toHex(a2.id), toHex(a3.id)], 'both released in causal order')
  t.equal(w.state.members.get(ref(member))?.role, 'reader', 'all three applied')
  t.equal(w.store.pendingCount, 0)

  // A child of a forged parent: pending, then refused when the parent turns out invalid.
  const bad = w.sign(owner, add(stranger, 'member'))
  const forged = decodeEnvelope(Uint8Array.from(bad.bytes, (b, i) => i === bad.bytes.length - 1 ? b ^ 1 : b), sha)
  const child = w.sign(owner, add(reader, 'reader'), [forged.id])
  const grandchild = w.sign(owner, add(partner, 'member'), [child.id])
  t.equal(w.store.add(grandchild).status, 'pending')
  t.equal(w.store.add(child).status, 'pending')
  const rf = w.store.add(forged)
  refusedWith(t, rf, 'signature', 'forged parent')
  if (rf.status === 'refused') t.equal(rf.dropped.length, 2, 'its pending descendants are dropped')
  refusedWith(t, w.store.add(child), 'depends-on-refused', 'child re-delivered')
  refusedWith(t, w.store.add(w.sign(owner, add(partner, 'member'), [child.id])), 'depends-on-refused', 'new grandchild')
  t.notOk(w.state.members.has(ref(reader)) || w.state.members.has(ref(partner)), 'none applied')
})

t.test('pending is bounded: oldest evicted first; old entries pruned', async t => {
  const w = new World()
  const store = new GovernanceStore(crypto, { pending: { itemsMax: 2 } })
  store.add(w.genesis)
  const orphans = [1, 2, 3].map(i => w.sign(owner, add(member, 'member'), [crypto.sha256(Uint8Array.of(i))]))
  orphans.forEach((e, i) => store.add(e, t0 + i))
  t.same(orphans.map(e => store.status(e.id, w.channel)), ['unknown', 'pending', 'pending'], 'oldest evicted')
  t.equal(store.prunePending(t0 + 24 * 3_600_000 + 2).length, 1, 'one held past the age limit')
  t.equal(store.pendingCount, 1)
})

t.test("a partner's admin cannot change our policy; the owner can", async t => {
  const w = new World()
  w.apply(owner, add(partner, 'admin'))
  w.apply(owner, add(member, 'member'))
  const strict: Policy = { retentionSeconds: 3600, allowedPrecedence: [2, 3], whoMayPost: 'admin' }
  refusedWith(t, w.apply(partner, { op: 'policy', policy: strict }).result, 'not-permitted', 'partner admin policy change')
  t.same(w.state.policy, policy, 'policy unchanged')
  t.ok(authoriseEnvelope(w.store, w.post(member, { precedence: Precedence.flash }), crypto).ok, 'flash allowed before')
  accepted(t, w.apply(owner, { op: 'policy', policy: strict }).result, 'owner policy change')
  t.same(w.state.policy, strict)
  t.equal(authoriseEnvelope(w.store, w.post(partner, { precedence: Precedence.flash }), crypto).ok, false, 'flash now refused by relays')
  t.equal(authoriseEnvelope(w.store, w.post(member), crypto).ok, false, 'members may no longer post')
  t.ok(authoriseEnvelope(w.store, w.post(partner), crypto).ok, 'admins may')
})

t.test('admin limits: cannot remove an owner, grant admin or promote; may manage members', async t => {
  const w = new World()
  w.apply(owner, add(admin, 'admin'))
  refusedWith(t, w.apply(admin, remove(owner, 1)).result, 'not-permitted', 'admin removing the owner')
  refusedWith(t, w.apply(admin, add(stranger, 'admin')).result, 'not-permitted', 'admin granting admin')
  refusedWith(t, w.apply(admin, add(stranger, 'owner')).result, 'not-permitted', 'admin granting owner')
  accepted(t, w.apply(admin, add(member, 'member')).result, 'admin adding a member')
  refusedWith(t, w.apply(admin, setRole(member, 'admin')).result, 'not-permitted', 'admin promoting a member to admin')
  accepted(t, w.apply(admin, setRole(member, 'reader')).result, 'admin demoting a member to reader')
  refusedWith(t, w.apply(member, add(stranger, 'reader')).result, 'not-permitted', 'reader adding anyone')
  t.equal(w.state.members.get(ref(owner))?.role, 'owner')
})

t.test('a removal whose cut is below what its own past holds of the target is refused', async t => {
  const w = new World()
  w.apply(owner, add(admin, 'admin'))
  const { env } = w.apply(admin, add(member, 'member')) // the admin's change the owner has now seen
  refusedWith(t, w.apply(owner, remove(admin, env.seq - 1)).result, 'cut-below-past', 'cut below a change the remover cites')
  accepted(t, w.apply(owner, remove(admin, env.seq)).result, 'cut at what the remover has seen')
  t.ok(w.state.members.has(ref(member)), "the admin's earlier add stands")
})

t.test('the last owner cannot be removed or demoted, even by concurrent demotions', async t => {
  const w = new World()
  refusedWith(t, w.apply(owner, remove(owner, 1)).result, 'self-removal', 'sole owner removing themself')
  refusedWith(t, w.apply(owner, setRole(owner, 'admin')).result, 'last-owner', 'sole owner demoting themself')
  w.apply(owner, add(owner2, 'owner'))
  const base = [...w.state.heads]
  const d1 = w.sign(owner, setRole(owner2, 'admin'), base)
  const d2 = w.sign(owner2, setRole(owner, 'admin'), base)
  const all = [...w.store.changes(w.channel), d1, d2]
  const encoded = [all, [...all].reverse()].map(o => toHex(encodeState(resolve(o))))
  t.equal(encoded[0], encoded[1])
  const s = resolve(all)
  t.equal([...s.members.values()].filter(m => m.role === 'owner').length, 1, 'one owner remains')
  const [win, lose] = toHex(d1.id) < toHex(d2.id) ? [d1, d2] : [d2, d1]
  t.notOk(s.discarded.has(toHex(win.id)))
  t.equal(s.discarded.get(toHex(lose.id)), 'last-owner', 'the lower-priority demotion is refused at resolution')
  const loserAuthor = lose === d1 ? owner : owner2
  const onTop = signChange(crypto, loserAuthor, { channel: w.channel, heads: [lose.id] }, add(member, 'member'), 50, { ms: t0 + 900, c: 0 })
  const s2 = resolve([...all, onTop])
  t.equal(s2.discarded.get(toHex(onTop.id)), 'depends-on-discarded', 'a change built on the refused demotion goes with it')
  t.notOk(s2.members.has(ref(member)))
})

t.test('genesis rule: wrong channel ref, wrong author, forged signature, wrong seq', async t => {
  const w = new World()
  const g = w.genesis
  const fields: EnvelopeFields = { kind: g.kind, precedence: g.precedence, channel: g.channel, author: g.author, seq: 1, hlc: g.hlc, ttlSeconds: g.ttlSeconds, epoch: 0, deps: [], body: g.body }
  const store = new GovernanceStore(crypto)
  refusedWith(t, store.add(signEnvelope(crypto, { ...fields, channel: fromHex('0102030405060708') }, owner.ed25519.privateKey)), 'genesis', 'wrong channel ref')
  refusedWith(t, store.add(signEnvelope(crypto, { ...fields, author: authorRef(admin.ed25519.publicKey) }, admin.ed25519.privateKey)), 'genesis', 'author is not the owner')
  refusedWith(t, store.add(signEnvelope(crypto, fields, relayKeys.privateKey)), 'signature', 'signed by someone else')
  refusedWith(t, store.add(signEnvelope(crypto, { ...fields, seq: 2 }, owner.ed25519.privateKey)), 'genesis', 'seq 2')
  t.equal(store.state(g.channel), undefined, 'no channel from any of them')
  accepted(t, store.add(g), 'the genuine genesis')
})

t.test('signChange refuses create; a create with deps is refused', async t => {
  const w = new World()
  t.throws(() => w.sign(owner, { op: 'create', ownerEd: owner.ed25519.publicKey, ownerX: owner.x25519.publicKey, policy, nonce: new Uint8Array(16) }), { code: 'ERR_PROTOCOL' })
  const fields: EnvelopeFields = { kind: Kind.governance, precedence: 0, channel: w.channel, author: w.genesis.author, seq: 9, hlc: { ms: t0, c: 1 }, ttlSeconds: 3600, epoch: 0, deps: [w.genesis.id], body: w.genesis.body }
  refusedWith(t, w.store.add(signEnvelope(crypto, fields, owner.ed25519.privateKey)), 'genesis', 'create citing deps')
})

t.test('relay enforcement by kind and role', async t => {
  const w = new World()
  const unknownChannel = new World(8)
  t.same(authoriseEnvelope(w.store, unknownChannel.post(owner), crypto), { ok: false, pending: true, reason: 'unknown channel' })
  t.same(authoriseEnvelope(w.store, w.post(stranger), crypto), { ok: false, pending: true, reason: 'unknown author' })
  w.apply(owner, add(admin, 'admin')); w.apply(owner, add(member, 'member')); w.apply(owner, add(reader, 'reader'))
  t.equal(authoriseEnvelope(w.store, w.post(reader), crypto).ok, false, 'reader message refused')
  t.equal(authoriseEnvelope(w.store, w.post(reader, { kind: Kind.state }), crypto).ok, false, 'reader state refused')
  t.ok(authoriseEnvelope(w.store, w.post(reader, { kind: Kind.receipt }), crypto).ok, 'reader receipt allowed')
  t.equal(authoriseEnvelope(w.store, w.post(member, { kind: Kind.keys }), crypto).ok, false, 'member keys refused')
  t.ok(authoriseEnvelope(w.store, w.post(admin, { kind: Kind.keys }), crypto).ok, 'admin keys allowed')
  const oldKeys = w.post(admin, { kind: Kind.keys })
  w.apply(owner, remove(admin, oldKeys.seq))
  t.ok(authoriseEnvelope(w.store, oldKeys, crypto).ok, "a removed admin's keys envelope from before the cut stays valid")
  t.equal(authoriseEnvelope(w.store, w.post(admin, { kind: Kind.keys }), crypto).ok, false, 'and a later one is refused')
  const ga = authoriseEnvelope(w.store, w.sign(owner, add(stranger, 'member')), crypto)
  t.same(ga, { ok: true, publicKey: owner.ed25519.publicKey }, 'governance: authorised and added')
  t.ok(w.state.members.has(ref(stranger)))
})

t.test('resolve(): pure, order-free, missing deps discarded; cost of a few hundred changes', async t => {
  const w = new World()
  for (const u of [admin, member, reader]) w.apply(owner, add(u, u === admin ? 'admin' : 'member'))
  const orphan = w.sign(owner, add(stranger, 'member'), [crypto.sha256(Uint8Array.of(1))])
  const all = [...w.store.changes(w.channel), orphan]
  const s = resolve(all)
  t.equal(s.discarded.get(toHex(orphan.id)), 'missing-dep')
  t.equal(toHex(encodeState(resolve([...all].reverse()))), toHex(encodeState(s)))
  t.throws(() => resolve([orphan]), { code: 'ERR_PROTOCOL' }, 'no genesis')
  // resolve() judges unverified-by-store input too: a non-member's change and its child are discarded.
  const intruder = w.sign(stranger, add(partner, 'member'))
  const child = w.sign(owner, add(partner2, 'member'), [intruder.id])
  const s3 = resolve([...all, intruder, child])
  t.equal(s3.discarded.get(toHex(intruder.id)), 'not-member')
  t.equal(s3.discarded.get(toHex(child.id)), 'depends-on-discarded')

  // A long history: 300 role flips by the owner and admin, with a merge every 10 changes.
  const big = new World(9)
  big.apply(owner, add(admin, 'admin')); big.apply(owner, add(member, 'member'))
  let started = performance.now()
  for (let i = 0; i < 150; i++) {
    const heads = [...big.state.heads]
    const a = big.sign(owner, setRole(member, i % 2 === 0 ? 'reader' : 'member'), heads)
    const b = big.sign(admin, setRole(member, i % 2 === 0 ? 'member' : 'reader'), i % 10 === 0 ? heads : [a.id])
    big.store.add(a); big.store.add(b)
  }
  const storeMs = performance.now() - started
  started = performance.now()
  const again = resolve(big.store.changes(big.channel))
  const resolveMs = performance.now() - started
  t.equal(toHex(encodeState(again)), toHex(encodeState(big.state)), 'store and resolve agree on 303 changes')
  t.comment(`303 changes: store adds ${storeMs.toFixed(0)} ms in total, resolve() from scratch ${resolveMs.toFixed(0)} ms`)
})

t.test('policy retention keys (#25): files kept apart, a legal hold, closing; one byte form each', async t => {
  const full: Policy = { ...policy, retentionSeconds: 10 * 365 * 24 * 3600, fileRetentionSeconds: 90 * 24 * 3600, legalHold: true, closedAtMs: 1_795_000_000_000 }
  const bytes = encodeChange({ op: 'policy', policy: full })
  t.same(decodeChange(bytes), { op: 'policy', policy: full }, 'round trip')
  t.equal(toHex(bytes), toHex(encodeChange({ op: 'policy', policy: { ...full } })), 'deterministic')
  t.same(decodeChange(encodeChange({ op: 'policy', policy })), { op: 'policy', policy }, 'absent keys stay absent: older policies keep their bytes')
  const raw = (value: Map<number, unknown>): Uint8Array => encodeCanonical(new Map<number, unknown>([[0, 'policy'], [3, value]]) as never)
  const base = (): Map<number, unknown> => new Map<number, unknown>([[0, 3600], [1, [0, 3]], [2, 'member']])
  t.throws(() => decodeChange(raw(base().set(6, false))), { code: 'ERR_DECODE' }, 'no hold is written by leaving the key out, never as false')
  t.throws(() => decodeChange(raw(base().set(0, 10 * 365 * 24 * 3600 + 1))), 'retention beyond ten years is refused')
  t.throws(() => decodeChange(raw(base().set(5, 5))), 'a file retention below the shortest TTL is refused')
})
