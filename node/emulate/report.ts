/**
 * The emulation's report: the simulator's contract fields (brief §5) computed the same way,
 * by the same oracle, over the sped-up timeline that was actually run. Figures the relays
 * cannot give per message (hops, buffer time, the ONE statistics, the simulator's checkers)
 * are left out rather than guessed; wire figures come from the relays' own counters.
 * `compareReports` sets a simulator report beside it, with the ratio of each figure
 * (times in the simulator's report are scenario time, so the emulation's are multiplied
 * back by the time scale before the ratio is taken).
 *
 * @example
 * const { report } = buildEmulationReport(result, { command: 'ddil emulate scenarios/partition-heal.yaml' })
 * report.delivered_vs_oracle   // 1
 */
import { precedenceNames, type PrecedenceName } from '../../protocol/envelope.ts'
import { idKey } from '../../protocol/engine/catalog.ts'
import { toHex } from '../../protocol/bytes.ts'
import { analysePairs, ratio, type Pair } from '../../sim/analysis.ts'
import { evaluateExpect, type ExpectOutcome } from '../../sim/expect.ts'
import type { MessageRecord } from '../../sim/ledger.ts'
import { slice, type Report, type Slice } from '../../sim/report.ts'
import type { EmulationResult } from './run.ts'

export interface EmulationReport extends Slice {
  scenario: string
  description: string
  seed: number
  /** Scenario time over real time: 1 runs the scenario as written. */
  time_scale: number
  /** The run's length in real ms (the scenario's duration over the time scale). */
  duration_ms: number
  /** Real ms after the end spent waiting for pairs the oracle delivers within the run (at most `emulateDrainMsMax`). */
  drain_ms: number
  wall_ms: number
  setup_ms: number
  nodes: number
  posts_skipped: number
  posts_unacknowledged: number
  refused_at_source: Record<string, number>
  by_precedence: Record<PrecedenceName, Slice>
  wire: { bytes: number, payload_bytes: number, duplicate_payload_bytes: number, duplicate_share: number | null, overhead_ratio: null, frames: number }
  engine: Record<string, number>
  /** Links the relays saw go down during the run, each end counted: on a scenario without link or node faults, 0 means no link was ever cut under load. */
  link_drops: number
  /** Knobs of the scenario this host did not emulate, one sentence each. */
  unemulated: string[]
  expect: Record<string, ExpectOutcome>
  ok: boolean
  replay: string
}

/** What the ledger records and the oracle need of a run. */
type Ledgered = Pick<EmulationResult, 'plan' | 'nodeIds' | 'sent' | 'arrivals' | 'removals'>

/** The sent posts as the simulator's ledger records, arrivals filled in from the sessions. */
function records (result: Ledgered): MessageRecord[] {
  const index = new Map(result.nodeIds.map((id, i) => [id, i]))
  const n = result.nodeIds.length
  // As the simulator scores governed runs: a removed member's posts above the cut its removal carries are expected nowhere (every relay refuses them).
  const aboveCut = (s: EmulationResult['sent'][number]): boolean => result.removals.some(r => r.member === s.post.sender && s.post.target.kind === 'channel' && r.channel === s.post.target.channel && r.cutSeq !== undefined && s.env.seq > r.cutSeq)
  return result.sent.map((s, i) => {
    const pieces = s.pieces ?? [s.env]
    const frames = pieces.map(env => env.bytes.length + 1)
    const frameBytes = frames.reduce((a, b) => a + b, 0)
    return {
      index: i, key: idKey(s.env.id), post: s.post, sender: index.get(s.post.sender) as number, createdAtMs: s.atMs,
      frameBytes, envelopeBytes: frameBytes - pieces.length, expected: aboveCut(s) ? [] : s.expected.map(id => index.get(id) as number),
      nonMember: s.nonMember, acked: s.acked, quotaHit: false, arrivedAt: postArrivals(pieces, result.arrivals, index), hops: new Uint8Array(n), transit: new Float32Array(n), firstSent: new Float32Array(n).fill(NaN),
      ...(s.pieces === undefined ? {} : { file: { keys: pieces.map(env => idKey(env.id)), frameBytesMin: Math.min(...frames), held: new Uint32Array(n), seen: new Uint8Array(n * pieces.length), lastSent: new Float32Array(n).fill(NaN) } }),
    }
  })
}

/**
 * When each node (by `index`) had all of a post's envelopes, one for a text, every piece of a long
 * post; NaN where it never did. `byId`: envelope id hex → node → first arrival.
 */
export function postArrivals (pieces: readonly { id: Uint8Array }[], byId: EmulationResult['arrivals'], index: ReadonlyMap<string, number>): Float64Array {
  const at = new Float64Array(index.size).fill(NaN)
  const held = new Uint32Array(index.size)
  for (const env of pieces) {
    for (const [node, ms] of byId.get(toHex(env.id)) ?? []) {
      const i = index.get(node) as number
      held[i]++
      at[i] = Number.isNaN(at[i]) ? ms : Math.max(at[i], ms)
    }
  }
  for (let i = 0; i < at.length; i++) if (held[i] < pieces.length) at[i] = NaN
  return at
}

/** Pairs the oracle delivers within the run that have not arrived yet (the run's drain waits for them). */
export function pairsOutstanding (result: Ledgered): number {
  const pairs = analysePairs({ scenario: result.plan.scenario, timeline: result.plan.timeline, nodeIds: result.nodeIds, ledger: { records: records(result) } })
  return pairs.filter(p => p.deliverable && !p.delivered).length
}

export function buildEmulationReport (result: EmulationResult, options: { command: string }): { report: EmulationReport, pairs: Pair[], records: MessageRecord[] } {
  const { plan } = result
  const recs = records(result)
  const pairs = analysePairs({ scenario: plan.scenario, timeline: plan.timeline, nodeIds: result.nodeIds, ledger: { records: recs } })
  const acked = recs.filter(r => r.acked)
  const all = slice(pairs, acked.length)
  const byPrecedence = Object.fromEntries(precedenceNames.map(p => [p, slice(pairs.filter(x => x.rec.post.precedenceName === p), acked.filter(r => r.post.precedenceName === p).length)])) as Record<PrecedenceName, Slice>
  const c = result.counters
  const wire: EmulationReport['wire'] = {
    bytes: c.bytesSent.reduce((a, b) => a + b, 0), payload_bytes: c.payloadBytesSent, duplicate_payload_bytes: c.duplicatePayloadBytesReceived,
    duplicate_share: ratio(c.duplicatePayloadBytesReceived, c.payloadBytesSent), overhead_ratio: null, frames: c.framesSent.reduce((a, b) => a + b, 0),
  }
  const expect = evaluateExpect(plan.scenario.expect, { ...all, by_precedence: byPrecedence, wire }, pairs)
  const report: EmulationReport = {
    scenario: plan.scenario.name, description: plan.scenario.description, seed: plan.seed, time_scale: plan.timeScale,
    duration_ms: Math.round(plan.timeline.durationMs), drain_ms: Math.round(result.drainMs), wall_ms: Math.round(result.wallMs), setup_ms: Math.round(result.setupMs), nodes: result.nodeIds.length,
    posts_skipped: result.postsSkipped, posts_unacknowledged: Object.values(result.refusedAtSource).reduce((a, b) => a + b, 0), refused_at_source: result.refusedAtSource,
    ...all, by_precedence: byPrecedence, wire,
    engine: { stored: c.stored, submitted: c.submitted, duplicates_received: c.duplicatesReceived, reconcile_sessions: c.reconcileSessions, gap_requests: c.gapRequests, evicted: c.evicted },
    link_drops: result.linkDrops, unemulated: plan.unemulated, expect, ok: Object.values(expect).every(x => x.ok),
    replay: `${options.command} --seed ${plan.seed}${plan.timeScale === 1 ? '' : ` --time-scale ${plan.timeScale}`}`,
  }
  return { report, pairs, records: recs }
}

/** One figure of both runs and emulated / simulated. */
export interface Compared { figure: string, simulated: number | null, emulated: number | null, ratio: number | null }

/** The simulator's report beside the emulation's: delivery, latency (in scenario time) and wire figures. */
export function compareReports (sim: Report, emu: EmulationReport): Compared[] {
  const s = emu.time_scale
  const scaled = (x: number | null): number | null => x === null ? null : x * s
  const rows: Array<[string, number | null, number | null]> = [
    ['delivered_vs_oracle', sim.delivered_vs_oracle, emu.delivered_vs_oracle],
    ['delivery_prob', sim.delivery_prob, emu.delivery_prob],
    ['latency_p50_ms', sim.latency_ms.p50, scaled(emu.latency_ms.p50)],
    ['latency_p95_ms', sim.latency_ms.p95, scaled(emu.latency_ms.p95)],
    ['latency_p50_vs_oracle', sim.latency_vs_oracle.p50, emu.latency_vs_oracle.p50],
    ['latency_p95_vs_oracle', sim.latency_vs_oracle.p95, emu.latency_vs_oracle.p95],
    ...precedenceNames.filter(p => sim.by_precedence[p].pairs.expected > 0).map((p): [string, number | null, number | null] => [`${p}_latency_p95_ms`, sim.by_precedence[p].latency_ms.p95, scaled(emu.by_precedence[p].latency_ms.p95)]),
    ['payload_bytes', sim.wire.payload_bytes, emu.wire.payload_bytes],
    ['duplicate_share', sim.wire.duplicate_share, emu.wire.duplicate_share],
    ['wire_bytes', sim.wire.bytes, emu.wire.bytes],
  ]
  return rows.map(([figure, simulated, emulated]) => ({ figure, simulated, emulated, ratio: simulated === null || emulated === null || simulated === 0 ? null : emulated / simulated }))
}
