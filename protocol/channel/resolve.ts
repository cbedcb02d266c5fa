/**
 * Resolution: the governance state as a pure function of a SET of changes, never of
 * their arrival order (docs/CHANNELS.md "Resolution" and "Strong and mutual removal").
 *
 *   1. Order: by depth (longest dep path from the genesis), then id bytes. Parents come
 *      first, and the order restricted to any subset is that subset's own order.
 *   2. Static verdicts: each change's author must hold a sufficient role in the state
 *      resolved from its own causal past (computed once per change, see causal.ts).
 *      Refused changes and everything that depends on them are discarded.
 *   3. Revocations (remove and role changes; revocations.ts) are applied one at a time: among those whose
 *      ancestor revocations are all settled, the highest priority first (author's rank
 *      in its causal past, owner first; then lowest id). A removal cuts the target's
 *      changes with seq > cutSeq and their descendants. It is refused instead
 *      ('revocation-conflict') when its cut would discard a revocation already applied,
 *      and any revocation is refused ('last-owner') when it would leave no owner. A
 *      refused revocation is discarded with its descendants.
 *   4. Fold the accepted changes in order into members, removed members and policy.
 *
 * @example
 * const state = resolve([genesis, addBob, removeBob])   // signature-verified, closed under deps
 * encodeState(state)                                    // identical bytes on every replica
 */
import { compareBytes, toHex } from '../bytes.ts'
import type { Envelope } from '../envelope.ts'
import { isDdilError, ProtocolError } from '../errors.ts'
import { decodeChange, type Change } from './governance.ts'
import { byDepthThenId, ChangeGraph, type DiscardReason, type Info, type Resolution, type Root } from './causal.ts'
import { fold, settleRevocations } from './revocations.ts'
import { publicState, type GovernanceState } from './state.ts'

function pickGenesis (order: Info[]): Info | undefined {
  let genesis: Info | undefined
  for (const y of order) {
    if (y.depth !== 0) break
    if (y.change?.op === 'create' && y.problem === undefined && (genesis === undefined || compareBytes(y.env.id, genesis.env.id) < 0)) genesis = y
  }
  return genesis
}

function genesisRoot (order: Info[]): Root | undefined {
  const genesis = pickGenesis(order)
  return genesis === undefined ? undefined : { info: genesis, core: undefined, channelId: genesis.env.id }
}

/**
 * Steps 1–4 over a closed set of changes; undefined when the set holds no valid genesis.
 * Given a compacted graph's root (compact.ts), the set is every change descending from it, and
 * resolution starts from the root's state: the same result as over the uncompacted set,
 * because nothing descending from a root can discard anything in its past ('cut-below-past').
 */
export function resolveSet (set: Info[], compactedRoot?: Root): Resolution | undefined {
  const order = [...set].sort(byDepthThenId)
  const root = compactedRoot ?? genesisRoot(order)
  if (root === undefined) return undefined
  const genesis = root.info
  const k = order.length
  const pos = new Map<number, number>()
  order.forEach((y, i) => pos.set(y.gidx, i))
  const depPos = order.map(y => y.deps.map(d => {
    const p = pos.get(d.gidx)
    if (p === undefined) throw new ProtocolError('resolve: set is not closed under dependencies')
    return p
  }))
  const reason: Array<DiscardReason | undefined> = new Array(k)
  const dependsOnDiscarded = (j: number): boolean => depPos[j].some(p => reason[p] !== undefined)

  // Step 2: static verdicts, then their descendants.
  for (let i = 0; i < k; i++) {
    const y = order[i]
    if (y.change?.op === 'create' && y !== genesis) reason[i] = y.problem ?? 'second-genesis'
    else if (y !== genesis && !y.anc.has(genesis.gidx)) reason[i] = 'no-genesis'
    else if (y.problem !== undefined) reason[i] = y.problem
    else if (y.pastDiscarded || dependsOnDiscarded(i)) reason[i] = 'depends-on-discarded'
  }

  // Step 3: revocations, in priority order (revocations.ts).
  settleRevocations({ order, depPos, reason, root })

  // Step 4: fold what is accepted.
  const core = fold(root, order, j => reason[j] === undefined)
  const cited = new Uint8Array(k)
  for (let j = 0; j < k; j++) if (reason[j] === undefined) for (const p of depPos[j]) cited[p] = 1
  const heads: Info[] = []
  const discarded = new Map<number, DiscardReason>()
  for (let j = 0; j < k; j++) {
    const why = reason[j]
    if (why !== undefined) discarded.set(order[j].gidx, why)
    else if (cited[j] === 0) heads.push(order[j])
  }
  heads.sort((a, b) => compareBytes(a.env.id, b.env.id))
  return { ...core, root, channelId: root.channelId, discarded, heads, size: k }
}

/**
 * The pure contract: the state of a set of governance envelopes of one channel. Inputs
 * must already be verified (signature by the author, genesis rule: see `GovernanceStore`);
 * changes whose deps are not in the set are discarded as 'missing-dep', with their
 * descendants. Throws ProtocolError when the set holds no valid genesis.
 */
export function resolve (changes: Iterable<Envelope>): GovernanceState {
  const graph = new ChangeGraph(resolveSet)
  const waiting = new Map<string, Envelope>()
  for (const env of changes) waiting.set(toHex(env.id), env)
  const missing = new Map<string, DiscardReason>()
  // Insert parents before children (Kahn over what is present); the rest miss a dep.
  let progress = true
  while (progress) {
    progress = false
    for (const [key, env] of [...waiting].sort((a, b) => compareBytes(a[1].id, b[1].id))) {
      if (!env.deps.every(d => graph.byKey.has(toHex(d)))) continue
      graph.commit(graph.prepare(env, decodeOrUndefined(env.body)))
      waiting.delete(key)
      progress = true
    }
  }
  for (const key of waiting.keys()) missing.set(key, 'missing-dep')
  const res = resolveSet(graph.infos)
  if (res === undefined) throw new ProtocolError('resolve: no valid genesis in the set')
  return publicState(res, graph.infos, missing)
}

/** An undecodable body makes a discarded change ('invalid'), not an error of the whole set. */
function decodeOrUndefined (body: Uint8Array): Change | undefined {
  try {
    return decodeChange(body)
  } catch (e) {
    if (isDdilError(e)) return undefined
    throw e
  }
}
