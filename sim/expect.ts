/**
 * Evaluates a scenario's `expect:` checks against the report's figures. Each key names
 * one figure (see scenario-expect.ts for the list): `delivered_vs_oracle` and
 * `flash_delivered_vs_oracle` read the overall and per-precedence slices,
 * `latency_p95` / `flash_latency_p95` their latency spread (ms), `…_vs_oracle` the ratio
 * spread, `duplicate_share` (or `duplicates`) the duplicate share of payload bytes, `overhead_ratio` The ONE's.
 * A figure with no data (nothing delivered, no pairs) fails its check: an empty run
 * must not pass a latency bound.
 *
 * Absolute latency bounds (`latency_p95: 10m`, `flash_latency_p95: 10m`) hold "wherever
 * the oracle allows it" (brief §6): they are judged over the deliverable pairs whose
 * oracle latency is within the limit, an undelivered one counting as infinitely late.
 * Pairs that no protocol could deliver within the limit are counted in `excluded`.
 *
 * @example
 * evaluateExpect(scenario.expect, report).latency_p95_vs_oracle  // { value: 1.4, limit: 2, op: 'max', ok: true }
 */
import { precedenceNames } from '../protocol/envelope.ts'
import { percentile, round, type Pair, type Spread } from './analysis.ts'
import type { ExpectSpec } from './scenario-types.ts'

export interface ExpectOutcome {
  value: number | null
  limit: number
  op: 'min' | 'max'
  ok: boolean
  /** Absolute latency bounds only: pairs judged, and pairs left out because the oracle itself is slower than the limit. */
  pairs?: number
  excluded?: number
}

interface SliceFigures {
  delivered_vs_oracle: number | null
  delivery_prob: number | null
  latency_ms: Spread
  latency_vs_oracle: Spread
}

export interface Figures extends SliceFigures {
  by_precedence: Record<string, SliceFigures>
  wire: { duplicate_share: number | null, overhead_ratio: number | null }
}

/** The figure an expect key names, or undefined for a key this evaluator does not know. */
export function figure (key: string, f: Figures): number | null | undefined {
  if (key === 'duplicates' || key === 'duplicate_share') return f.wire.duplicate_share
  if (key === 'overhead_ratio') return f.wire.overhead_ratio
  const prefix = precedenceNames.find(p => key.startsWith(`${p}_`))
  const s: SliceFigures = prefix === undefined ? f : f.by_precedence[prefix]
  const rest = prefix === undefined ? key : key.slice(prefix.length + 1)
  if (rest === 'delivered_vs_oracle') return s.delivered_vs_oracle
  if (rest === 'delivery_prob') return s.delivery_prob
  const m = /^latency_(p50|p95|max)(_vs_oracle)?$/.exec(rest)
  if (m === null) return undefined
  const stat = m[1] as keyof Spread
  return m[2] === undefined ? s.latency_ms[stat] : s.latency_vs_oracle[stat]
}

/** `latency_p95: 10m` over the pairs the oracle could deliver within 10 min (undelivered ones count as infinitely late). */
function attainableLatency (key: string, limitMs: number, pairs: readonly Pair[]): { value: number | null, pairs: number, excluded: number } | undefined {
  const prefix = precedenceNames.find(p => key.startsWith(`${p}_`))
  const m = /^latency_(p50|p95|max)$/.exec(prefix === undefined ? key : key.slice(prefix.length + 1))
  if (m === null) return undefined
  const scope = pairs.filter(p => p.deliverable && (prefix === undefined || p.rec.post.precedenceName === prefix))
  const judged = scope.filter(p => p.oracleAtMs - p.rec.createdAtMs <= limitMs)
  const latencies = Array.from(Float64Array.from(judged.map(p => p.delivered ? p.latencyMs : Infinity)).sort())
  const q = percentile(latencies, m[1] === 'p50' ? 0.5 : m[1] === 'p95' ? 0.95 : 1)
  return { value: q === null ? null : q === Infinity ? Infinity : round(q), pairs: judged.length, excluded: scope.length - judged.length }
}

export function evaluateExpect (spec: ExpectSpec, f: Figures, pairs: readonly Pair[]): Record<string, ExpectOutcome> {
  const out: Record<string, ExpectOutcome> = {}
  for (const c of spec) {
    const attainable = c.unit === 'ms' ? attainableLatency(c.key, c.limit, pairs) : undefined
    const value = attainable !== undefined ? attainable.value : figure(c.key, f) ?? null
    const ok = value !== null && (c.op === 'min' ? value >= c.limit : value <= c.limit)
    // JSON has no Infinity: an undelivered pair inside the bound shows as null, and fails.
    out[c.key] = { value: value === Infinity ? null : value, limit: c.limit, op: c.op, ok, ...(attainable !== undefined ? { pairs: attainable.pairs, excluded: attainable.excluded } : {}) }
  }
  return out
}
