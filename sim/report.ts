/**
 * The run report (brief §5): one JSON object whose field names are a contract other
 * people's tools read. Everything is a pure function of the run, so the same scenario
 * and seed give byte-identical JSON except `wall_ms`. Besides the contract fields it
 * carries The ONE simulator's MessageStatsReport names under `one` (times in seconds,
 * as The ONE prints them) so DTN testers can set our runs beside theirs, the engines'
 * own counters, the checkers' verdicts and the command that replays the run.
 *
 * Definitions: a pair is (message, expected recipient). `delivered_vs_oracle` =
 * delivered deliverable pairs / deliverable pairs; `delivery_prob` = delivered pairs /
 * expected pairs; `latency_vs_oracle` is per delivered deliverable pair; `relayed`
 * counts envelopes stored from a peer (each completed transfer that made a new copy);
 * `overhead_ratio` = (relayed − delivered) / delivered.
 *
 * @example
 * const report = buildReport(result, { command: 'npx ddil sim scenarios/example.yaml' })
 * report.expect.delivered_vs_oracle  // { value: 1, limit: 1, op: 'min', ok: true }
 */
import { precedenceNames, type PrecedenceName } from '../protocol/envelope.ts'
import { analysePairs, mean, percentile, ratio, round, spread, type Pair, type Spread } from './analysis.ts'
import { runCheckers, type CheckResult } from './checkers.ts'
import type { CarryOutcome } from './courier.ts'
import type { RunResult } from './run-stats.ts'
import { evaluateExpect, type ExpectOutcome } from './expect.ts'

export interface PairCounts { expected: number, deliverable: number, delivered: number, delivered_deliverable: number }

export interface Slice {
  created: number
  pairs: PairCounts
  delivered_vs_oracle: number | null
  delivery_prob: number | null
  latency_ms: Spread
  latency_vs_oracle: Spread
}

export interface Report extends Slice {
  scenario: string
  description: string
  seed: number
  duration_ms: number
  wall_ms: number
  events: number
  nodes: number
  posts_skipped: number
  posts_unacknowledged: number
  non_member_posts: number
  by_precedence: Record<PrecedenceName, Slice>
  /** Scenarios with `carry` events only: what each courier carried, in event order (sim/courier.ts). */
  carries?: CarryOutcome[]
  wire: {
    bytes: number, payload_bytes: number, duplicate_payload_bytes: number, overhead_ratio: number | null,
    duplicate_share: number | null, frames: number, retransmitted_bytes: number, frames_lost_down: number, frames_lost_clog: number,
  }
  one: Record<string, number | null>
  engine: Record<string, number | Record<string, number>>
  checks: Record<string, { ok: boolean, value: number, detail: string }>
  expect: Record<string, ExpectOutcome>
  ok: boolean
  replay: string
  trace_hash: string
}

/** Counts, delivery and latency figures of a set of pairs (the whole run, or one precedence). */
export function slice (pairs: readonly Pair[], created: number): Slice {
  const deliverable = pairs.filter(p => p.deliverable)
  const dd = deliverable.filter(p => p.delivered)
  const delivered = pairs.filter(p => p.delivered)
  return {
    created,
    pairs: { expected: pairs.length, deliverable: deliverable.length, delivered: delivered.length, delivered_deliverable: dd.length },
    delivered_vs_oracle: ratio(dd.length, deliverable.length),
    delivery_prob: ratio(delivered.length, pairs.length),
    latency_ms: spread(delivered.map(p => p.latencyMs), true),
    latency_vs_oracle: spread(dd.map(p => p.ratio)),
  }
}

function median (values: number[]): number | null {
  return percentile(Array.from(Float64Array.from(values).sort()), 0.5)
}

function oneStats (r: RunResult, pairs: readonly Pair[], created: number): Record<string, number | null> {
  const delivered = pairs.filter(p => p.delivered)
  const lat = delivered.map(p => p.latencyMs / 1000)
  const hops = delivered.map(p => p.rec.hops[p.node])
  const buffer = delivered.map(p => Math.max(0, p.latencyMs - p.rec.transit[p.node]) / 1000)
  const c = r.counters
  return {
    created,
    started: c.framesSent[1],
    relayed: r.ledger.relayed,
    aborted: r.wire.lostDown,
    dropped: c.evicted + c.purged,
    delivered: delivered.length,
    delivery_prob: ratio(delivered.length, pairs.length),
    overhead_ratio: ratio(r.ledger.relayed - delivered.length, delivered.length),
    latency_avg: round(mean(lat)),
    latency_med: round(median(lat)),
    hopcount_avg: round(mean(hops)),
    hopcount_med: median(hops),
    buffertime_avg: round(mean(buffer)),
    buffertime_med: round(median(buffer)),
  }
}

function engineStats (r: RunResult): Report['engine'] {
  const c = r.counters
  return {
    stored: c.stored, submitted: c.submitted, duplicates_received: c.duplicatesReceived, evicted: c.evicted, purged: c.purged,
    expired_on_arrival: c.expiredOnArrival, expired_unsent: c.expiredUnsent, refused: { ...r.refusals }, reconcile_sessions: c.reconcileSessions, gap_requests: c.gapRequests,
    equivocations: c.equivocations, peers_penalised: c.peersPenalised, disconnects: r.disconnects.length,
    verify_calls: r.verify.calls, verify_computed: r.verify.computed,
  }
}

export interface ReportOptions {
  /** How the run was invoked, for the replay line (default `npx ddil sim <scenario file>`). */
  command?: string
}

export interface ReportBundle { report: Report, pairs: Pair[], checks: CheckResult[] }

export function buildReport (r: RunResult, options: ReportOptions = {}): ReportBundle {
  const pairs = analysePairs(r)
  const acked = r.ledger.records.filter(rec => rec.acked)
  const all = slice(pairs, acked.length)
  const byPrecedence = Object.fromEntries(precedenceNames.map(p => [p, slice(pairs.filter(x => x.rec.post.precedenceName === p), acked.filter(rec => rec.post.precedenceName === p).length)])) as Record<PrecedenceName, Slice>
  const c = r.counters
  const one = oneStats(r, pairs, acked.length)
  const wire: Report['wire'] = {
    bytes: r.wire.bytes, payload_bytes: c.payloadBytesSent, duplicate_payload_bytes: c.duplicatePayloadBytesReceived,
    overhead_ratio: one.overhead_ratio, duplicate_share: ratio(c.duplicatePayloadBytesReceived, c.payloadBytesSent),
    frames: r.wire.frames, retransmitted_bytes: r.wire.retransmittedBytes, frames_lost_down: r.wire.lostDown, frames_lost_clog: r.wire.lostClog,
  }
  const checks = runCheckers(r, pairs)
  const partial = { ...all, by_precedence: byPrecedence, wire }
  const expect = evaluateExpect(r.scenario.expect, partial, pairs)
  const ok = checks.every(x => x.ok) && Object.values(expect).every(x => x.ok)
  const report: Report = {
    scenario: r.scenario.name, description: r.scenario.description, seed: r.seed, duration_ms: r.scenario.durationMs,
    wall_ms: Math.round(r.wallMs), events: r.events, nodes: r.nodeIds.length,
    posts_skipped: r.postsSkipped, posts_unacknowledged: r.ledger.records.length - acked.length,
    non_member_posts: acked.filter(rec => rec.nonMember).length,
    ...all, by_precedence: byPrecedence, wire, one, engine: engineStats(r),
    ...(r.carries !== undefined ? { carries: r.carries } : {}),
    checks: Object.fromEntries(checks.map(x => [x.name, { ok: x.ok, value: x.value, detail: x.detail }])),
    expect, ok, replay: `${options.command ?? `npx ddil sim ${r.scenario.fileName}`} --seed ${r.seed}`, trace_hash: r.traceHash,
  }
  return { report, pairs, checks }
}
