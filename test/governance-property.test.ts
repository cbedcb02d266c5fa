// Convergence property (seeded fast-check): random concurrent governance histories by 3–5 users
// who see each other's changes only through random pairwise syncs (so changes are concurrent and
// cite different heads), including posts, removals with seq cuts, role and policy changes and
// changes their authors may not make. The full set is then delivered to several replicas in
// different orders (through GovernanceStore.add, so out-of-order arrival goes through pending):
// every replica must end with byte-identical encodeState, the same kept/refused verdicts, the same
// relay answers for every post, equal to resolve() of the kept set, and the invariants must hold.
import t from 'tap'
import fc from 'fast-check'
import { testSeed } from './helpers/seed.ts'
import { createNodeCrypto } from '../node/crypto.ts'
import { toHex, bytesEqual } from '../protocol/bytes.ts'
import { authorRef, Kind, Precedence, signEnvelope, type Envelope } from '../protocol/envelope.ts'
import { createChannel, signChange, type UserKeys } from '../protocol/channel/builders.ts'
import { GovernanceStore } from '../protocol/channel/store.ts'
import { resolve } from '../protocol/channel/resolve.ts'
import { encodeState, type GovernanceState } from '../protocol/channel/state.ts'
import { authoriseEnvelope } from '../protocol/channel/authorise.ts'
import { roleNames } from '../protocol/channel/roles.ts'
import type { Change, Policy } from '../protocol/channel/governance.ts'

const crypto = createNodeCrypto()
const t0 = 1795348800000
const users: UserKeys[] = Array.from({ length: 5 }, (_, i) => ({
  ed25519: crypto.ed25519KeyPair(new Uint8Array(32).fill(0x31 + i)),
  x25519: crypto.x25519KeyPair(new Uint8Array(32).fill(0x51 + i)),
}))
const policies: Policy[] = [
  { retentionSeconds: 86_400, allowedPrecedence: [0, 1, 2, 3], whoMayPost: 'member' },
  { retentionSeconds: 3_600, allowedPrecedence: [2, 3], whoMayPost: 'admin' },
]

type Step = [action: number, a: number, b: number, c: number]
interface Plan { users: number, roles: number[], steps: Step[], orders: number[] }

const arbPlan: fc.Arbitrary<Plan> = fc.record({
  users: fc.integer({ min: 3, max: 5 }),
  roles: fc.array(fc.nat(3), { minLength: 4, maxLength: 4 }),
  steps: fc.array(fc.tuple(fc.nat(99), fc.nat(4), fc.nat(4), fc.nat(99)), { minLength: 4, maxLength: 36 }),
  orders: fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
})

interface Actor { store: GovernanceStore, seq: number, seen: Map<string, number>, envs: Map<string, Envelope> }

/** Build the history: who issues what, seeing only what reached them. */
function history (plan: Plan): { genesis: Envelope, changes: Envelope[], posts: Envelope[] } {
  const n = plan.users
  const actors: Actor[] = Array.from({ length: n }, () => ({ store: new GovernanceStore(crypto), seq: 0, seen: new Map(), envs: new Map() }))
  const genesis = createChannel(crypto, users[0], policies[0], new Uint8Array(16).fill(9), { ms: t0, c: 0 })
  const changes: Envelope[] = [genesis]
  const posts: Envelope[] = []
  const learn = (x: Actor, env: Envelope): void => {
    x.envs.set(toHex(env.id), env)
    const a = toHex(env.author)
    x.seen.set(a, Math.max(x.seen.get(a) ?? 0, env.seq))
    if (env.kind === Kind.governance) x.store.add(env)
  }
  learn(actors[0], genesis); actors[0].seq = 1
  let clock = 1
  // Opening: the owner adds everyone (roles from the plan) and everyone hears of it; then partitions.
  for (let i = 1; i < n; i++) {
    const u = users[i]
    const env = signChange(crypto, users[0], actors[0].store.state(genesis.channel) as GovernanceState, { op: 'add', memberEd: u.ed25519.publicKey, memberX: u.x25519.publicKey, role: roleNames[plan.roles[i - 1]] }, ++actors[0].seq, { ms: t0 + clock++, c: 0 })
    changes.push(env); learn(actors[0], env)
  }
  for (let i = 1; i < n; i++) for (const env of actors[0].envs.values()) learn(actors[i], env)
  for (const [action, ai, bi, c] of plan.steps) {
    const a = ai % n; const b = bi % n
    const me = actors[a]
    const hlc = { ms: t0 + clock++, c: 0 }
    if (action < 30) { // sync b ← a (one direction: partitions are asymmetric)
      for (const env of me.envs.values()) learn(actors[b], env)
      continue
    }
    const state = me.store.state(genesis.channel)
    if (state === undefined) continue // has not heard of the channel yet
    if (action < 42) { // post
      const env = signEnvelope(crypto, { kind: Kind.message, precedence: (c % 4) as Precedence, channel: genesis.channel, author: authorRef(users[a].ed25519.publicKey), seq: ++me.seq, hlc, ttlSeconds: 3600, epoch: 1, deps: [], body: new Uint8Array(20).fill(c) }, users[a].ed25519.privateKey)
      posts.push(env); learn(me, env)
      continue
    }
    const target = users[b]
    let change: Change
    if (action < 52) change = { op: 'add', memberEd: target.ed25519.publicKey, memberX: target.x25519.publicKey, role: roleNames[c % 4] }
    else if (action < 78) change = { op: 'remove', memberEd: target.ed25519.publicKey, cutSeq: Math.max(0, (me.seen.get(toHex(authorRef(target.ed25519.publicKey))) ?? 0) - (c < 10 ? 1 : 0)) }
    else if (action < 94) change = { op: 'role', memberEd: target.ed25519.publicKey, role: roleNames[c % 4] }
    else change = { op: 'policy', policy: policies[c % 2] }
    const env = signChange(crypto, users[a], state, change, ++me.seq, hlc)
    changes.push(env); learn(me, env)
  }
  return { genesis, changes, posts }
}

function shuffled<T> (items: T[], seed: number): T[] {
  const out = [...items]
  let s = seed >>> 0
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

function invariants (s: GovernanceState, kept: Envelope[]): string | null {
  if (![...s.members.values()].some(m => m.role === 'owner')) return 'no owner left'
  const accepted = new Set(s.accepted.map(toHex))
  for (const env of kept) {
    const r = s.removed.get(toHex(env.author))
    if (r !== undefined && accepted.has(toHex(env.id)) && env.seq > r.cutSeq) return `accepted change by a removed member after the cut (${env.seq} > ${r.cutSeq})`
    if (accepted.has(toHex(env.id)) && env.deps.some(d => !accepted.has(toHex(d)))) return 'accepted change depends on a change that is not accepted'
  }
  for (const env of kept) {
    if (s.discarded.get(toHex(env.id)) === 'cut' && !s.removed.has(toHex(env.author))) return "a change was cut but its author is not removed"
  }
  const cited = new Set(kept.filter(e => accepted.has(toHex(e.id))).flatMap(e => e.deps.map(toHex)))
  if (s.heads.some(h => cited.has(toHex(h)))) return 'a head is cited by an accepted change'
  return null
}

interface Outcome { state: string, verdicts: string, posts: string }

function replay (order: Envelope[], genesis: Envelope, posts: Envelope[]): { outcome: Outcome, store: GovernanceStore, maxPending: number } {
  const store = new GovernanceStore(crypto)
  let maxPending = 0
  for (const env of order) { store.add(env); maxPending = Math.max(maxPending, store.pendingCount) }
  const s = store.state(genesis.channel) as GovernanceState
  const verdicts = order.map(e => `${toHex(e.id)}:${store.status(e.id, genesis.channel)}`).sort().join(',')
  const answers = posts.map(p => { const r = authoriseEnvelope(store, p, crypto); return r.ok ? 'ok' : r.reason }).join('|')
  return { outcome: { state: toHex(encodeState(s)), verdicts, posts: answers }, store, maxPending }
}

let interleavings = 0
let changesSeen = 0
let discardedSeen = 0
let refusedSeen = 0
let pendingSeen = 0
const reasons = new Map<string, number>()

function check (plan: Plan): boolean {
  const { genesis, changes, posts } = history(plan)
  const orders = [changes, [...changes].reverse(), ...plan.orders.map(seed => shuffled(changes, seed))]
  let first: Outcome | undefined
  for (const order of orders) {
    const { outcome, store, maxPending } = replay(order, genesis, posts)
    pendingSeen += maxPending > 0 ? 1 : 0
    interleavings++
    if (first === undefined) {
      first = outcome
      const kept = store.changes(genesis.channel)
      const s = store.state(genesis.channel) as GovernanceState
      const problem = invariants(s, kept)
      if (problem !== null) throw new Error(problem)
      if (toHex(encodeState(resolve(kept))) !== outcome.state) throw new Error('store state differs from resolve() of its kept set')
      if (!bytesEqual(s.channelId, genesis.id)) throw new Error('channel id is not the genesis id')
      changesSeen += changes.length; discardedSeen += s.discarded.size
      for (const why of s.discarded.values()) reasons.set(why, (reasons.get(why) ?? 0) + 1)
      refusedSeen += changes.length - kept.length
      continue
    }
    if (outcome.state !== first.state) throw new Error('replicas disagree on encodeState')
    if (outcome.verdicts !== first.verdicts) throw new Error('replicas disagree on kept/refused verdicts')
    if (outcome.posts !== first.posts) throw new Error('replicas disagree on relay answers for posts')
  }
  return true
}

t.test('convergence: any delivery order of the same concurrent history gives identical state', async t => {
  const seed = testSeed(t)
  const started = Date.now()
  fc.assert(fc.property(arbPlan, check), { seed, numRuns: Number(process.env.DDIL_RUNS ?? 400) })
  t.comment(`${interleavings} interleavings of ${changesSeen} changes (${discardedSeen} discarded by resolution, ${refusedSeen} refused, ${pendingSeen} deliveries went through pending) in ${Date.now() - started} ms`)
  t.comment(`discard reasons: ${[...reasons].map(([k, v]) => `${k} ${v}`).join(', ')}`)
  t.ok(interleavings >= 2000, `explored ${interleavings} interleavings`)
  t.ok(discardedSeen > 0 && refusedSeen > 0, 'histories exercised strong removal and refusals')
})
