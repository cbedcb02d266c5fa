// Random concurrent governance histories for property tests (test/governance-property.test.ts,
// test/governance-compact.test.ts): 3–5 users who see each other's changes only through random
// pairwise syncs, so changes are concurrent and cite different heads; posts, removals with seq
// cuts, role and policy changes, and changes their authors may not make.
import fc from 'fast-check'
import { createNodeCrypto } from '../../node/crypto.ts'
import { toHex } from '../../protocol/bytes.ts'
import { authorRef, Kind, Precedence, signEnvelope, type Envelope } from '../../protocol/envelope.ts'
import { createChannel, signChange, type UserKeys } from '../../protocol/channel/builders.ts'
import { GovernanceStore } from '../../protocol/channel/store.ts'
import type { GovernanceState } from '../../protocol/channel/state.ts'
import { roleNames } from '../../protocol/channel/roles.ts'
import type { Change, Policy } from '../../protocol/channel/governance.ts'

export const crypto = createNodeCrypto()
const t0 = 1795348800000
const users: UserKeys[] = Array.from({ length: 5 }, (_, i) => ({
  ed25519: crypto.ed25519KeyPair(new Uint8Array(32).fill(0x31 + i)),
  x25519: crypto.x25519KeyPair(new Uint8Array(32).fill(0x51 + i)),
}))
const policies: Policy[] = [
  { retentionSeconds: 86_400, allowedPrecedence: [0, 1, 2, 3], whoMayPost: 'member' },
  { retentionSeconds: 3_600, allowedPrecedence: [2, 3], whoMayPost: 'admin' },
]

export type Step = [action: number, a: number, b: number, c: number]
export interface Plan { users: number, roles: number[], steps: Step[], orders: number[] }

/** Plans of up to `stepsMax` steps. */
export function planOf (stepsMax: number): fc.Arbitrary<Plan> {
  return fc.record({
    users: fc.integer({ min: 3, max: 5 }),
    roles: fc.array(fc.nat(3), { minLength: 4, maxLength: 4 }),
    steps: fc.array(fc.tuple(fc.nat(99), fc.nat(4), fc.nat(4), fc.nat(99)), { minLength: 4, maxLength: stepsMax }),
    orders: fc.array(fc.nat(), { minLength: 5, maxLength: 5 }),
  })
}

export const arbPlan: fc.Arbitrary<Plan> = planOf(36)

interface Actor { store: GovernanceStore, seq: number, seen: Map<string, number>, envs: Map<string, Envelope> }

/** Build the history: who issues what, seeing only what reached them. */
export function history (plan: Plan): { genesis: Envelope, changes: Envelope[], posts: Envelope[] } {
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

export function shuffled<T> (items: T[], seed: number): T[] {
  const out = [...items]
  let s = seed >>> 0
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]]
  }
  return out
}

export function invariants (s: GovernanceState, kept: Envelope[]): string | null {
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


/** A user whose keys come from `n` (distinct for every n below 2³²). */
export function numberedUser (n: number): UserKeys {
  const seed = new Uint8Array(32)
  new DataView(seed.buffer).setUint32(0, n + 1)
  return { ed25519: crypto.ed25519KeyPair(seed), x25519: crypto.x25519KeyPair(seed) }
}

/**
 * A standing channel's history of `changes` governance changes by one owner, one a millisecond
 * from `t0`: `members` join, then members leave and join in turn (each change cites the last).
 */
export function standingHistory (changes: number, members: number, t0: number): Envelope[] {
  const owner = numberedUser(0)
  const policy: Policy = { retentionSeconds: 365 * 24 * 3600, allowedPrecedence: [0, 1, 2, 3], whoMayPost: 'member' }
  const genesis = createChannel(crypto, owner, policy, new Uint8Array(16).fill(3), { ms: t0, c: 0 })
  const out = [genesis]
  const standing: UserKeys[] = []
  for (let i = 1; i < changes; i++) {
    let change: Change
    if (i <= members || i % 2 === 1) {
      const m = numberedUser(i)
      standing.push(m)
      change = { op: 'add', memberEd: m.ed25519.publicKey, memberX: m.x25519.publicKey, role: 'member' }
    } else {
      change = { op: 'remove', memberEd: (standing.shift() as UserKeys).ed25519.publicKey, cutSeq: 0 }
    }
    out.push(signChange(crypto, owner, { channel: genesis.channel, heads: [out[out.length - 1].id] }, change, i + 1, { ms: t0 + i, c: 0 }))
  }
  return out
}
