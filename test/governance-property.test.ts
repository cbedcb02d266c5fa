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
import { arbPlan, crypto, history, invariants, shuffled, type Plan } from './helpers/governance-history.ts'
import { toHex, bytesEqual } from '../protocol/bytes.ts'
import type { Envelope } from '../protocol/envelope.ts'
import { GovernanceStore } from '../protocol/channel/store.ts'
import { resolve } from '../protocol/channel/resolve.ts'
import { encodeState, type GovernanceState } from '../protocol/channel/state.ts'
import { authoriseEnvelope } from '../protocol/channel/authorise.ts'

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
