/**
 * Checkers for governed runs (`governance: true`), reported with the other checks and
 * failing the run when violated (issue 6: removal during a partition):
 *
 * - `removal_enforced`: at the end no running node's store holds an envelope of a
 *   removed member in that channel with a sequence above the cut its removal carries;
 * - `removed_cannot_read`: the removed member's client decrypted no post made after the
 *   removal by a sender whose client already knew of it (posts by members still cut off
 *   from the news, encrypted under the old epoch, are counted in the detail: no relay or
 *   client can withhold those, and they are what the partition exposes);
 * - `members_read_everything`: every deliverable pair of a governed channel post created
 *   before the quiet phase was decrypted by the recipient's client.
 *
 * @example
 * const checks = channelCheckers(result, analysePairs(result))
 * checks.every(c => c.ok)
 */
import { streamKey } from '../protocol/engine/stream-key.ts'
import type { Pair } from './analysis.ts'
import type { CheckResult } from './check-result.ts'
import type { GovernedOutcome } from './governed.ts'
import type { RunResult } from './run-stats.ts'

const examplesMax = 5

function removalEnforced (r: RunResult, g: GovernedOutcome): CheckResult {
  const left: string[] = []
  let count = 0
  const unissued = g.removals.filter(x => x.cutSeq === undefined)
  for (const removal of g.removals) {
    if (removal.cutSeq === undefined) continue
    const key = streamKey({ channel: removal.channelRef, author: removal.author })
    r.nodes.forEach((node, i) => {
      const stream = node.engine?.probe.catalog.streams.get(key)
      if (stream === undefined) return
      for (const seq of stream.bySeq.keys()) {
        if (seq <= (removal.cutSeq as number)) continue
        count++
        if (left.length < examplesMax) left.push(`${r.nodeIds[i]} holds ${removal.member}'s seq ${seq} in ${removal.channel} (cut ${removal.cutSeq})`)
      }
    })
  }
  const ok = count === 0 && unissued.length === 0
  const cuts = g.removals.map(x => `${x.member} from ${x.channel} at seq ${x.cutSeq ?? '(never issued)'}`).join(', ')
  return {
    name: 'removal_enforced', ok, value: count,
    detail: ok
      ? `no store holds a removed member's envelope above its cut (${cuts || 'no removals'}); relays refused ${g.removedRefused} and discarded ${g.discarded}`
      : unissued.length > 0 ? `removal never issued: ${unissued.map(x => x.member).join(', ')}` : `${count} envelopes above a cut survive, e.g. ${left.join('; ')}`,
  }
}

function removedCannotRead (r: RunResult, g: GovernedOutcome): CheckResult {
  let read = 0
  let exposed = 0
  let guarded = 0
  const ex: string[] = []
  for (const removal of g.removals) {
    const member = r.nodeIds.indexOf(removal.member)
    for (const rec of r.ledger.records) {
      if (rec.sender === member || rec.createdAtMs <= removal.atMs) continue
      if (rec.post.target.kind !== 'channel' || rec.post.target.channel !== removal.channel) continue
      const decrypted = g.decrypted.get(rec.index)?.has(member) === true
      if (g.senderKnew.get(rec.index) !== true) { if (decrypted) exposed++; continue }
      guarded++
      if (!decrypted) continue
      read++
      if (ex.length < examplesMax) ex.push(`message ${rec.index} by ${r.nodeIds[rec.sender]} at ${Math.round(rec.createdAtMs)} ms`)
    }
  }
  return {
    name: 'removed_cannot_read', ok: read === 0, value: read,
    detail: read === 0
      ? `removed members decrypted none of the ${guarded} posts sent after their removal by members who knew of it (${exposed} posts by members not yet reached by the removal were readable, under the old epoch)`
      : `removed members decrypted ${read} posts sent after their removal, e.g. ${ex.join('; ')}`,
  }
}

function membersReadEverything (r: RunResult, g: GovernedOutcome, pairs: readonly Pair[]): CheckResult {
  const due = pairs.filter(p => p.rec.post.target.kind === 'channel' && p.deliverable && !p.rec.quotaHit && p.rec.createdAtMs < r.quietStartMs)
  const missing = due.filter(p => g.decrypted.get(p.rec.index)?.has(p.node) !== true)
  const ex = missing.slice(0, examplesMax).map(p => `message ${p.rec.index} ${r.nodeIds[p.rec.sender]}→${r.nodeIds[p.node]}`).join('; ')
  const refused = Object.entries(g.refusedAtSource).map(([why, n]) => `${n} ${why}`).join(', ')
  return {
    name: 'members_read_everything', ok: missing.length === 0, value: missing.length,
    detail: (missing.length === 0 ? `all ${due.length} deliverable channel pairs decrypted by the recipient's client` : `${missing.length} of ${due.length} deliverable channel pairs never decrypted, e.g. ${ex}`) +
      `; posts refused at source: ${refused || 'none'}`,
  }
}

export function channelCheckers (r: RunResult, pairs: readonly Pair[]): CheckResult[] {
  const g = r.governance
  if (g === undefined) return []
  return [removalEnforced(r, g), removedCannotRead(r, g), membersReadEverything(r, g, pairs)]
}
