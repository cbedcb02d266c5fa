/**
 * What `ddil sim … --out DIR` writes: `report.json` (the same object `--json`
 * prints), `messages.csv` (one row per message: who sent it where, its size and
 * precedence, how many recipients were expected, deliverable and reached, and its
 * slowest delivery against the oracle's), and the SVG plots.
 *
 * @example
 * await writeArtifacts('out/example', result, bundle)   // out/example/messages.csv, delivery.svg, …
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Pair, ScoredRun } from './analysis.ts'
import { renderPlots } from './plots.ts'
import type { ReportBundle } from './report.ts'
import type { RunResult } from './run-stats.ts'

const csvHeader = ['message', 'created_ms', 'from', 'to', 'precedence', 'size_bytes', 'envelope_bytes', 'ttl_ms', 'acked', 'non_member',
  'expected', 'deliverable', 'delivered', 'delivered_deliverable', 'latency_max_ms', 'oracle_latency_max_ms', 'quota_hit']

function cell (v: string | number | boolean): string {
  const s = String(v)
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

function fixed (x: number): string { return Number.isFinite(x) ? x.toFixed(3) : '' }

/** One CSV row per message, in creation order. */
export function messagesCsv (result: Pick<ScoredRun, 'ledger' | 'nodeIds'>, pairs: readonly Pair[]): string {
  const byMessage = new Map<number, Pair[]>()
  for (const p of pairs) {
    const list = byMessage.get(p.rec.index)
    if (list === undefined) byMessage.set(p.rec.index, [p])
    else list.push(p)
  }
  const rows = [csvHeader.join(',')]
  for (const rec of result.ledger.records) {
    const ps = byMessage.get(rec.index) ?? []
    const to = rec.post.target.kind === 'channel' ? `#${rec.post.target.channel}` : rec.post.target.to
    const latencies = ps.filter(p => p.delivered).map(p => p.latencyMs)
    const oracle = ps.filter(p => p.deliverable).map(p => p.oracleAtMs - rec.createdAtMs)
    rows.push([
      rec.index, fixed(rec.createdAtMs), result.nodeIds[rec.sender], to, rec.post.precedenceName, rec.post.sizeBytes, rec.envelopeBytes, rec.post.ttlMs,
      rec.acked, rec.nonMember, rec.expected.length, ps.filter(p => p.deliverable).length, ps.filter(p => p.delivered).length,
      ps.filter(p => p.delivered && p.deliverable).length, fixed(latencies.length > 0 ? Math.max(...latencies) : NaN),
      fixed(oracle.length > 0 ? Math.max(...oracle) : NaN), rec.quotaHit,
    ].map(cell).join(','))
  }
  return rows.join('\n') + '\n'
}

/** Writes the report, CSV and plots into `dir` (created if needed); returns the paths written. */
export async function writeArtifacts (dir: string, result: RunResult, bundle: ReportBundle): Promise<string[]> {
  mkdirSync(dir, { recursive: true })
  const files: Record<string, string> = {
    'report.json': JSON.stringify(bundle.report, null, 2) + '\n',
    'messages.csv': messagesCsv(result, bundle.pairs),
    ...await renderPlots(result, bundle.pairs),
  }
  const written: string[] = []
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name)
    writeFileSync(path, text)
    written.push(path)
  }
  return written
}
