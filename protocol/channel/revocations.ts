/**
 * Step 3 of resolution: strong removal and the other revocations (role changes),
 * settled one at a time in a deterministic priority order (docs/CHANNELS.md "Strong and
 * mutual removal").
 *
 *   ready     a revocation whose ancestor revocations are all settled;
 *   priority  among the ready: the author's rank in its causal past (owner first), then
 *             the lowest id;
 *   cut       a removal of m with cutSeq s discards m's changes with seq > s and every
 *             change that depends on a discarded one;
 *   refusals  'revocation-conflict' when the cut would discard a revocation already
 *             applied (so a later, lower-priority removal cannot undo an earlier one:
 *             this is what settles mutual removals), 'last-owner' when applying it would
 *             leave the settled part of the channel without an owner. A refused
 *             revocation is discarded with its descendants.
 *
 * Cost: O(R² + R·k) bit tests for R revocations among k changes, plus O(k) per removal
 * (its cut) and per revocation that could touch an owner (the owner check's fold).
 *
 * @example
 * settleRevocations({ order, depPos, reason, root })   // fills `reason` for what it discards
 */
import { compareBytes } from '../bytes.ts'
import { CowMap } from './cow-map.ts'
import type { Change } from './governance.ts'
import { applyChange, ownerCount, refOf, type Core, type DiscardReason, type Info, type Root } from './causal.ts'

/** The working set of one resolution, in (depth, id) order. */
export interface Frame {
  order: Info[]
  /** Positions of each change's deps in `order`. */
  depPos: number[][]
  /** Why each change is discarded so far (undefined: still accepted). */
  reason: Array<DiscardReason | undefined>
  root: Root
}

function isRevocation (y: Info): boolean {
  return y.change?.op === 'remove' || y.change?.op === 'role'
}

function grantsOwner (c: Change | undefined): boolean {
  return c?.op === 'create' || ((c?.op === 'add' || c?.op === 'role') && c.role === 'owner')
}

/** Higher rank first, then lower id. */
function outranks (a: Info, b: Info): boolean {
  return a.rank !== b.rank ? a.rank > b.rank : compareBytes(a.env.id, b.env.id) < 0
}

/** The accepted changes folded, in order, onto the state the root starts from (the root's own when compacted). */
export function fold (root: Root, order: Info[], include: (j: number) => boolean): Core {
  const start = root.core
  if (start === undefined) {
    const create = root.info.change as Extract<Change, { op: 'create' }>
    const core: Core = { policy: create.policy, members: new CowMap(), removed: new CowMap() }
    for (let j = 0; j < order.length; j++) if (include(j)) applyChange(core, order[j])
    return core
  }
  const core: Core = { policy: start.policy, members: start.members.fork(), removed: start.removed.fork() }
  for (let j = 0; j < order.length; j++) if (order[j] !== root.info && include(j)) applyChange(core, order[j])
  return core
}

/** Discard `r` for `why`, and everything after it that depends on something discarded. */
export function discardFrom (f: Frame, r: number, why: DiscardReason): void {
  f.reason[r] = why
  for (let j = r + 1; j < f.order.length; j++) {
    if (f.reason[j] === undefined && f.depPos[j].some(p => f.reason[p] !== undefined)) f.reason[j] = 'depends-on-discarded'
  }
}

export function settleRevocations (f: Frame): void {
  const { order, reason } = f
  const revs: number[] = []
  const mayOwn = new Set<string>()
  // A compacted root was settled and applied before the graph was compacted at it; the owners
  // of its state count as granted here.
  const start = f.root.core
  if (start !== undefined) for (const [ref, m] of start.members) if (m.role === 'owner') mayOwn.add(ref)
  for (let i = 0; i < order.length; i++) {
    if (reason[i] !== undefined || (start !== undefined && order[i] === f.root.info)) continue
    const c = order[i].change
    if (isRevocation(order[i])) revs.push(i)
    if (grantsOwner(c)) mayOwn.add(c?.op === 'create' ? order[i].ref : refOf((c as { memberEd: Uint8Array }).memberEd))
  }
  // waiting[r]: ancestor revocations of r not yet settled (ancestors come earlier in `order`).
  const waiting = new Map<number, number>()
  for (let a = 0; a < revs.length; a++) {
    let n = 0
    for (let b = 0; b < a; b++) if (order[revs[a]].anc.has(order[revs[b]].gidx)) n++
    waiting.set(revs[a], n)
  }
  const ready = revs.filter(r => waiting.get(r) === 0)
  const unsettled = new Set(revs)
  const applied = new Uint8Array(order.length)
  while (ready.length > 0) {
    let at = 0
    for (let i = 1; i < ready.length; i++) if (outranks(order[ready[i]], order[ready[at]])) at = i
    const r = ready.splice(at, 1)[0]
    if (reason[r] !== undefined) { unsettled.delete(r); continue } // cut meanwhile, with its descendants
    const why = tryRevocation(f, r, applied, unsettled, mayOwn)
    unsettled.delete(r)
    if (why !== undefined) discardFrom(f, r, why)
    else applied[r] = 1
    const g = order[r].gidx
    for (const q of revs) {
      if (q <= r || !order[q].anc.has(g)) continue
      const left = (waiting.get(q) as number) - 1
      waiting.set(q, left)
      if (left === 0) ready.push(q)
    }
  }
}

/** Apply revocation r if it may be applied: returns the refusal reason, or undefined (cut marked). */
function tryRevocation (f: Frame, r: number, applied: Uint8Array, unsettled: Set<number>, mayOwn: Set<string>): DiscardReason | undefined {
  const { order, depPos, reason } = f
  const c = order[r].change as Extract<Change, { op: 'remove' | 'role' }>
  const target = refOf(c.memberEd)
  const cut = new Uint8Array(order.length)
  let cutsGrant = false
  if (c.op === 'remove') {
    for (let j = 0; j < order.length; j++) {
      if (reason[j] !== undefined) continue
      if ((order[j].ref === target && order[j].env.seq > c.cutSeq) || depPos[j].some(p => cut[p] === 1)) {
        if (applied[j] === 1) return 'revocation-conflict'
        cut[j] = 1
        cutsGrant ||= grantsOwner(order[j].change)
      }
    }
  }
  // Only a revocation that could take away an owner needs the owner check: the settled part
  // (nothing that waits on an unsettled revocation, r included) with r applied must keep one.
  const mayTakeOwner = cutsGrant || (mayOwn.has(target) && !(c.op === 'role' && c.role === 'owner'))
  if (mayTakeOwner) {
    const pending = [...unsettled].map(u => order[u].gidx)
    const settledPart = (j: number): boolean => j === r || pending.every(g => g !== order[j].gidx && !order[j].anc.has(g))
    const core = fold(f.root, order, j => reason[j] === undefined && cut[j] === 0 && settledPart(j))
    if (ownerCount(core) === 0) return 'last-owner'
  }
  for (let j = 0; j < order.length; j++) {
    if (cut[j] === 1) reason[j] = order[j].ref === target && order[j].env.seq > (c as { cutSeq: number }).cutSeq ? 'cut' : 'depends-on-discarded'
  }
  return undefined
}
