/**
 * Checkers: properties every run must have, whatever its workload (kept apart from the
 * workload, as TigerBeetle keeps its cluster checkers). Safety: no node delivers a
 * message twice, no outbound queue outgrows its bound, no store outgrows its quota.
 * Liveness, judged on the quiet healed phase at the end: every pair the oracle calls
 * deliverable, of a message created before the quiet phase, was delivered; and nodes
 * that are connected at the end hold the same live messages (convergence). Messages
 * that were evicted or refused for quota anywhere are left out of the liveness checks:
 * the brief's delivery target holds where storage is adequate.
 *
 * @example
 * const checks = runCheckers(result, analysePairs(result))
 * checks.every(c => c.ok)
 */
import type { Pair } from './analysis.ts'
import type { CheckResult } from './check-result.ts'
import { channelCheckers } from './channel-checkers.ts'
import type { MessageRecord } from './ledger.ts'
import { closedLinks } from './organisations.ts'
import { componentsOf, type RunResult } from './run-stats.ts'

export type { CheckResult } from './check-result.ts'

/** Margin before the end within which a message may still be expiring somewhere, ms. */
const expiryMarginMs = 60_000
const examplesMax = 5

function check (name: string, ok: boolean, value: number, detail: string): CheckResult {
  return { name, ok, value, detail }
}

function noDuplicates (r: RunResult): CheckResult {
  const d = r.ledger.duplicateDeliveries
  const ex = r.ledger.duplicateExamples.map(e => `message ${e.message} at ${r.nodeIds[e.node]}`).join(', ')
  return check('no_duplicate_deliveries', d === 0, d, d === 0 ? 'every node stored each message at most once' : `${d} repeated deliveries, e.g. ${ex}`)
}

function boundedQueues (r: RunResult): CheckResult {
  const ok = r.queueBytesSeen <= r.queueBytesLimit
  return check('bounded_queues', ok, r.queueBytesSeen, `largest outbound queue for one peer ${r.queueBytesSeen} B (bound ${r.queueBytesLimit} B); links hold one frame per direction`)
}

function withinQuota (r: RunResult): CheckResult {
  const first = r.overQuota[0]
  return check('storage_within_quota', first === undefined, r.overQuota.length,
    first === undefined ? 'no store above its quota in any sample' : `${first.node} held ${first.bytes} B over its ${first.quota} B quota at ${first.atMs} ms`)
}

function allDelivered (r: RunResult, pairs: readonly Pair[]): CheckResult {
  const due = pairs.filter(p => p.deliverable && !p.rec.quotaHit && p.rec.createdAtMs < r.quietStartMs)
  const missing = due.filter(p => !p.delivered)
  const ex = missing.slice(0, examplesMax).map(p => `message ${p.rec.index} ${r.nodeIds[p.rec.sender]}→${r.nodeIds[p.node]} created at ${Math.round(p.rec.createdAtMs)} ms`).join('; ')
  return check('all_deliverable_delivered', missing.length === 0, missing.length,
    missing.length === 0
      ? `${due.length} deliverable pairs of messages created before the quiet phase (from ${r.quietStartMs} ms) all delivered`
      : `${missing.length} of ${due.length} deliverable pairs never delivered, e.g. ${ex}`)
}

function convergence (r: RunResult): CheckResult {
  const skewMax = r.scenario.nodes.reduce((m, n) => Math.max(m, Math.abs(n.skewMs ?? 0)), 0)
  const liveAfter = r.scenario.durationMs + skewMax + expiryMarginMs
  let missing = 0
  const ex: string[] = []
  // A message a gateway's policy refuses (#29) converges on each side of that boundary apart.
  const nodes = new Map(r.scenario.nodes.map(n => [n.id, n]))
  const closedGroups = new Map<string, number[][]>()
  const groupsOf = (rec: MessageRecord): number[][] => {
    const c = closedLinks(nodes, rec.crossing)
    if (c === undefined) return r.components
    let groups = closedGroups.get(c.key)
    if (groups === undefined) {
      const open = r.endLinks.filter(([a, b]) => !c.closed(r.nodeIds[a], r.nodeIds[b]))
      closedGroups.set(c.key, groups = componentsOf(r.nodes.map(n => n.running), open))
    }
    return groups
  }
  for (const rec of r.ledger.records) {
    if (!rec.acked || rec.quotaHit || rec.createdAtMs >= r.quietStartMs || rec.createdAtMs + rec.post.ttlMs <= liveAfter) continue
    for (const comp of groupsOf(rec)) {
      if (comp.length < 2) continue
      // A post sent as file pieces converges piece by piece: every piece is an envelope of its own.
      for (const key of rec.file?.keys ?? [rec.key]) {
        let holders = 0
        for (const i of comp) if (r.nodes[i].engine?.probe.catalog.has(key) === true) holders++
        if (holders === 0 || holders === comp.length) continue
        missing += comp.length - holders
        if (ex.length < examplesMax) ex.push(`message ${rec.index}${rec.file === undefined ? '' : ` (a piece)`} held by ${holders} of ${comp.length}`)
      }
    }
  }
  return check('convergence', missing === 0, missing,
    missing === 0 ? `${r.components.length} connected group(s) at the end hold identical live message sets` : `${missing} copies missing inside connected groups, e.g. ${ex.join('; ')}`)
}

/**
 * Nothing crossed a boundary that a gateway's policy closes to it (#29): no pair the oracle,
 * without the closed links, finds no path for was delivered. Only in scenarios with a policy.
 */
function policyRespected (r: RunResult, pairs: readonly Pair[]): CheckResult[] {
  if (!r.scenario.nodes.some(n => n.policy !== undefined)) return []
  const leaked = pairs.filter(p => p.rec.crossing !== undefined && !p.deliverable && p.delivered)
  const ex = leaked.slice(0, examplesMax).map(p => `message ${p.rec.index} ${r.nodeIds[p.rec.sender]}→${r.nodeIds[p.node]}`).join('; ')
  const closed = pairs.filter(p => p.rec.crossing !== undefined && !p.deliverable).length
  return [check('policy_respected', leaked.length === 0, leaked.length,
    leaked.length === 0 ? `none of the ${closed} pairs with no path (the policies' closed boundaries, expiry or the end) was delivered` : `${leaked.length} pairs delivered across a boundary closed to them, e.g. ${ex}`)]
}

export function runCheckers (result: RunResult, pairs: readonly Pair[]): CheckResult[] {
  return [noDuplicates(result), boundedQueues(result), withinQuota(result), allDelivered(result, pairs), convergence(result), ...policyRespected(result, pairs), ...channelCheckers(result, pairs)]
}
