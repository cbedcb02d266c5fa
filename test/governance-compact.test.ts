// Compaction (protocol/channel/compact.ts) must not change resolution: a store that compacts
// after every few changes and one that never does (the same histories, delivered in the same
// orders, so that changes arrive concurrent with a compacted root and force rebuilds) end with
// byte-identical state, the same kept/refused verdicts and the same answers for every post.
// Then a long sequential history stays within its window, and a change from far behind (every
// dep folded into roots) is placed exactly as without compaction.
import t from 'tap'
import fc from 'fast-check'
import { testSeed } from './helpers/seed.ts'
import { crypto, history, planOf, shuffled, type Plan } from './helpers/governance-history.ts'
import { toHex } from '../protocol/bytes.ts'
import type { Envelope } from '../protocol/envelope.ts'
import { createChannel, signChange, type UserKeys } from '../protocol/channel/builders.ts'
import { GovernanceStore, type GovernanceStoreOptions, type RemovalsToken } from '../protocol/channel/store.ts'
import { resolve } from '../protocol/channel/resolve.ts'
import { encodeState, type GovernanceState } from '../protocol/channel/state.ts'
import { authoriseEnvelope } from '../protocol/channel/authorise.ts'

const never: GovernanceStoreOptions = { compactAt: 1 << 30 }
const often: GovernanceStoreOptions = { compactAt: 2 }

function outcome (order: Envelope[], channel: Uint8Array, posts: Envelope[], options: GovernanceStoreOptions): { text: string, store: GovernanceStore } {
  const store = new GovernanceStore(crypto, options)
  // A relay enforces removals as they change (removalsChanged): what it enforced last must be
  // every removal as it stands (and may name removals a larger set undid since, as before).
  const enforced = new Map<string, number>()
  let token: RemovalsToken | undefined
  for (const env of order) {
    store.add(env)
    const r = store.removalsChanged(channel, token)
    token = r.token ?? token
    for (const [ref, x] of r.changed) enforced.set(ref, x.cutSeq)
  }
  for (const x of store.removals(channel)) {
    if (enforced.get(toHex(x.author)) !== x.cutSeq) throw new Error('removals enforced step by step miss a removal as it stands')
  }
  const s = store.state(channel) as GovernanceState
  const verdicts = order.map(e => `${toHex(e.id)}:${store.status(e.id, channel)}`).sort().join(',')
  const answers = posts.map(p => { const r = authoriseEnvelope(store, p, crypto); return r.ok ? 'ok' : r.reason }).join('|')
  return { text: `${toHex(encodeState(s))}\n${verdicts}\n${answers}`, store }
}

let compactions = 0
let rebuilds = 0
let histories = 0

function check (plan: Plan): boolean {
  const { genesis, changes, posts } = history(plan)
  const orders = [changes, [...changes].reverse(), ...plan.orders.map(seed => shuffled(changes, seed))]
  for (const order of orders) {
    const plain = outcome(order, genesis.channel, posts, never)
    const compacted = outcome(order, genesis.channel, posts, often)
    const held = compacted.store.holding(genesis.channel)
    compactions += held?.compactions ?? 0
    rebuilds += held?.rebuilds ?? 0
    if (plain.store.holding(genesis.channel)?.compactions !== 0) throw new Error('the reference store compacted')
    if (compacted.text !== plain.text) throw new Error('a compacting store disagrees with one that never compacts')
  }
  histories++
  return true
}

t.test('compaction changes nothing: same state, verdicts and post answers as without it, in any delivery order', async t => {
  const seed = testSeed(t)
  fc.assert(fc.property(planOf(60), check), { seed, numRuns: Number(process.env.DDIL_RUNS ?? 150) })
  t.comment(`${histories} histories, ${compactions} compactions, ${rebuilds} rebuilds`)
  t.ok(compactions > 100, `compacted ${compactions} times`)
  t.ok(rebuilds > 10, `rebuilt from an earlier root ${rebuilds} times (arrivals concurrent with the root)`)
})

const t0 = 1795348800000
const user = (i: number): UserKeys => ({
  ed25519: crypto.ed25519KeyPair(new Uint8Array(32).fill(0x61 + i)),
  x25519: crypto.x25519KeyPair(new Uint8Array(32).fill(0x71 + i)),
})

t.test('a long history stays in a bounded window; a change from far behind is resolved as without compaction', async t => {
  const owner = user(0)
  const admin = user(1)
  const policy = { retentionSeconds: 86_400, allowedPrecedence: [0, 1, 2, 3] as Array<0 | 1 | 2 | 3>, whoMayPost: 'member' as const }
  const genesis = createChannel(crypto, owner, policy, new Uint8Array(16).fill(7), { ms: t0, c: 0 })
  const store = new GovernanceStore(crypto, { compactAt: 16 })
  store.add(genesis)
  let seq = 1
  const sign = (by: UserKeys, state: GovernanceState, change: Parameters<typeof signChange>[3], s: number): Envelope =>
    signChange(crypto, by, state, change, s, { ms: t0 + s, c: 0 })
  const all: Envelope[] = [genesis]
  const put = (env: Envelope): void => { all.push(env); t.equal(store.add(env).status, 'accepted') }
  put(sign(owner, store.state(genesis.channel) as GovernanceState, { op: 'add', memberEd: admin.ed25519.publicKey, memberX: admin.x25519.publicKey, role: 'admin' }, ++seq))
  // The admin's view at this point: a phone that then goes offline for the rest of the history.
  const stale = store.state(genesis.channel) as GovernanceState
  for (let i = 0; i < 150; i++) {
    const m = user(10 + i)
    put(sign(owner, store.state(genesis.channel) as GovernanceState, { op: 'add', memberEd: m.ed25519.publicKey, memberX: m.x25519.publicKey, role: 'member' }, ++seq))
    if (i % 3 === 2) put(sign(owner, store.state(genesis.channel) as GovernanceState, { op: 'remove', memberEd: m.ed25519.publicKey, cutSeq: 0 }, ++seq))
  }
  const held = store.holding(genesis.channel)
  t.ok(held !== undefined && held.window <= 16 && held.compactions > 5, `window ${held?.window} of ${held?.kept} changes after ${held?.compactions} compactions`)
  // The owner removes the admin, whom it has not heard from since; meanwhile the admin, offline
  // since the start, added someone, citing the heads it knew then. Both reach this relay.
  const removal = sign(owner, store.state(genesis.channel) as GovernanceState, { op: 'remove', memberEd: admin.ed25519.publicKey, cutSeq: 0 }, ++seq)
  const late = user(400)
  const lateAdd = sign(admin, stale, { op: 'add', memberEd: late.ed25519.publicKey, memberX: late.x25519.publicKey, role: 'member' }, 1)
  t.equal(store.add(lateAdd).status, 'accepted', 'a change from far behind is kept')
  all.push(lateAdd)
  t.ok((store.holding(genesis.channel)?.rebuilds ?? 0) >= 1, 'the window was rebuilt from an earlier root')
  put(removal)
  const expected = resolve(all)
  t.equal(toHex(encodeState(store.state(genesis.channel) as GovernanceState)), toHex(encodeState(expected)), 'identical to resolving the whole set')
  // A store whose window may hold only 64 changes refuses the same late change (not for good:
  // the id is not remembered), and keeps no copy of a state it could never need again.
  const small = new GovernanceStore(crypto, { compactAt: 16, windowMax: 64 })
  for (const env of all) if (env !== lateAdd) small.add(env)
  const refused = small.add(lateAdd)
  t.match(refused, { status: 'refused', reason: 'limit', detail: /window of \d+ governance changes \(most 64\)/ }, 'a change too far behind the window is refused as a limit')
  t.equal(small.status(lateAdd.id, genesis.channel), 'unknown', 'and not remembered as refused')
  t.equal(expected.discarded.get(toHex(lateAdd.id)), 'cut', 'the late change was cut by the removal, as without compaction')
  t.ok(!store.state(genesis.channel)?.members.has(toHex(late.ed25519.publicKey.subarray(0, 8))), 'its member is not in the channel')
})

t.test('edges a compacted root must keep: owners granted before it, and a dep it folded as discarded', async t => {
  const [o1, o2, m] = [user(0), user(1), user(2)]
  const policy = { retentionSeconds: 86_400, allowedPrecedence: [0, 1, 2, 3] as Array<0 | 1 | 2 | 3>, whoMayPost: 'member' as const }
  const genesis = createChannel(crypto, o1, policy, new Uint8Array(16).fill(8), { ms: t0, c: 0 })
  const all: Envelope[] = [genesis]
  const store = new GovernanceStore(crypto, { compactAt: 2 })
  store.add(genesis)
  const seqs = new Map<UserKeys, number>([[o1, 1], [o2, 0]])
  const next = (u: UserKeys): number => { const s = (seqs.get(u) ?? 0) + 1; seqs.set(u, s); return s }
  const at = (): GovernanceState => store.state(genesis.channel) as GovernanceState
  const put = (env: Envelope): void => { all.push(env); store.add(env) }
  const by = (u: UserKeys, change: Parameters<typeof signChange>[3], state = at()): Envelope => { const s = next(u); return signChange(crypto, u, state, change, s, { ms: t0 + all.length, c: 0 }) }
  put(by(o1, { op: 'add', memberEd: o2.ed25519.publicKey, memberX: o2.x25519.publicKey, role: 'owner' }))
  put(by(o1, { op: 'add', memberEd: m.ed25519.publicKey, memberX: m.x25519.publicKey, role: 'member' }))
  // An admin-less change the member may not make is refused at intake, so a discarded change
  // needs a cut: o2 adds someone, o1 concurrently removes o2 below it.
  const before = at()
  const x = user(3)
  const cutAway = by(o2, { op: 'add', memberEd: x.ed25519.publicKey, memberX: x.x25519.publicKey, role: 'member' }, before)
  put(cutAway)
  put(by(o1, { op: 'remove', memberEd: o2.ed25519.publicKey, cutSeq: 0 }, before))
  t.equal(at().discarded.get(toHex(cutAway.id)), 'cut')
  const o3 = user(4)
  put(by(o1, { op: 'add', memberEd: o3.ed25519.publicKey, memberX: o3.x25519.publicKey, role: 'owner' }))
  for (let i = 0; i < 8; i++) put(by(o1, { op: 'policy', policy: { ...policy, retentionSeconds: 86_400 + i } }))
  t.ok((store.holding(genesis.channel)?.compactions ?? 0) >= 2, 'both owner grants and the cut change are folded into the root')

  // A change citing the folded, discarded change (and the head, so it descends from the root).
  const s = at()
  const rogue = signChange(crypto, o3, { ...s, heads: [...s.heads, cutAway.id] }, { op: 'policy', policy }, next(o3), { ms: t0 + 99, c: 0 })
  put(rogue)
  // Mutual demotion of the two owners, concurrent: only one may stand, or nobody would own the channel.
  const here = at()
  put(by(o1, { op: 'role', memberEd: o3.ed25519.publicKey, role: 'admin' }, here))
  put(by(o3, { op: 'role', memberEd: o1.ed25519.publicKey, role: 'admin' }, here))
  const expected = resolve(all)
  t.equal(expected.discarded.get(toHex(rogue.id)), 'depends-on-discarded', 'without compaction the rogue change depends on a discarded one')
  t.equal([...expected.members.values()].filter(v => v.role === 'owner').length, 1, 'without compaction one owner remains')
  t.equal(toHex(encodeState(at())), toHex(encodeState(expected)), 'the compacted store agrees')
})
