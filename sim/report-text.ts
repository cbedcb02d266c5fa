/**
 * The report for people: a short header, a table per precedence (pairs, delivery
 * against the oracle, latency and its ratio to the oracle), the wire and The ONE's
 * figures, then every check and expectation with PASS/FAIL. Plain text, fixed
 * columns, no colour (it goes to terminals, CI logs and e-mails alike).
 *
 * @example
 * process.stdout.write(formatReport(report, { governed: scenario.governance === true }))
 */
import { precedenceNames } from '../protocol/envelope.ts'
import { formatBytes, formatDuration } from '../protocol/units.ts'
import type { ExpectOutcome } from './expect.ts'
import type { Report, Slice } from './report.ts'

function pct (x: number | null): string { return x === null ? '-' : `${(x * 100).toFixed(x === 1 ? 0 : 2)}%` }
/** A latency for people: whole seconds past a minute ("40m6s", not "40m6s373ms"), whole ms below. The JSON keeps it exact. */
function ms (x: number | null): string { return x === null ? '-' : formatDuration(x >= 60_000 ? Math.round(x / 1000) * 1000 : Math.round(x)) }
function num (x: number | null, digits = 2): string { return x === null ? '-' : x.toFixed(digits) }

function table (rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)))
  return rows.map(r => r.map((c, i) => i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join('  ')).join('\n') + '\n'
}

function sliceRow (name: string, s: Slice): string[] {
  return [name, String(s.created), String(s.pairs.expected), String(s.pairs.deliverable), String(s.pairs.delivered_deliverable),
    pct(s.delivered_vs_oracle), ms(s.latency_ms.p50), ms(s.latency_ms.p95), num(s.latency_vs_oracle.p50), num(s.latency_vs_oracle.p95)]
}

function expectValue (key: string, v: number | null): string {
  if (v === null) return '-'
  if (key.includes('vs_oracle') && !key.endsWith('delivered_vs_oracle')) return num(v)
  if (key.includes('latency_')) return ms(v)
  if (key === 'overhead_ratio') return num(v)
  return pct(v)
}

/**
 * What the latency columns measure. They differ from an absolute `expect` bound such as
 * `flash_latency_p95: 10m` on purpose (see expectScope), so the table says which pairs it counts.
 */
const columnsNote = 'lat p50/p95: over every delivered pair, even those the oracle itself delivers late; x oracle: latency over the oracle\'s, per delivered pair'

/**
 * An absolute latency bound is judged only over the pairs the oracle could deliver within
 * it (brief §6, "wherever the oracle allows it"), so its value can be far below the
 * table's, which counts every delivered pair: say so, and how many pairs were left out.
 */
function expectScope (key: string, e: ExpectOutcome): string {
  if (e.pairs === undefined) return ''
  const within = `judged over the ${e.pairs} pairs the oracle can deliver within ${expectValue(key, e.limit)}`
  const excluded = e.excluded ?? 0
  return excluded === 0 ? ` (${within})` : ` (${within}; the table's latencies also count the ${excluded} it cannot)`
}

/**
 * What `non_member_posts` counts depends on the run (sim/membership.ts): the report does
 * not carry the mode, so the caller says it, and the line never claims the other one.
 */
function nonMemberPosts (governed: boolean): string {
  return governed
    ? 'posts by non-members that their own relay accepted (governed run: expected nowhere; relays that know they are not members refuse them)'
    : 'posts by non-members, removed members included (ungoverned run: relays accept them and they are expected at every member; with `governance: true` they are refused)'
}

/** How the run went that the report itself does not record. */
export interface RunMode {
  /** The scenario set `governance: true`. */
  governed: boolean
}

export function formatReport (r: Report, run: RunMode): string {
  const lines: string[] = []
  lines.push(`scenario ${r.scenario} (seed ${r.seed}): ${r.nodes} nodes, ${formatDuration(r.duration_ms)} simulated in ${(r.wall_ms / 1000).toFixed(1)} s wall, ${r.events} events`)
  if (r.description !== '') lines.push(r.description)
  lines.push('')
  const rows = [['precedence', 'msgs', 'pairs', 'deliverable', 'delivered', 'vs oracle', 'lat p50', 'lat p95', 'x oracle p50', 'x oracle p95']]
  for (const p of precedenceNames) if (r.by_precedence[p].created > 0) rows.push(sliceRow(p, r.by_precedence[p]))
  rows.push(sliceRow('all', r))
  lines.push(table(rows) + columnsNote + '\n')
  const w = r.wire
  lines.push(`wire: ${formatBytes(w.bytes)} on links, ${formatBytes(w.payload_bytes)} envelopes sent, duplicates ${pct(w.duplicate_share)} of envelope bytes, overhead ratio ${num(w.overhead_ratio)}`)
  const o = r.one
  lines.push(`The ONE: created ${o.created}, relayed ${o.relayed}, delivered ${o.delivered}, delivery_prob ${num(o.delivery_prob, 4)}, latency_avg ${num(o.latency_avg, 1)} s, hopcount_avg ${num(o.hopcount_avg)}, buffertime_avg ${num(o.buffertime_avg, 1)} s`)
  if (r.posts_skipped > 0 || r.non_member_posts > 0) lines.push(`posts skipped (sender's relay down): ${r.posts_skipped}; ${nonMemberPosts(run.governed)}: ${r.non_member_posts}`)
  lines.push('')
  for (const [name, c] of Object.entries(r.checks)) lines.push(`${c.ok ? 'PASS' : 'FAIL'}  check ${name}: ${c.detail}`)
  for (const [key, e] of Object.entries(r.expect)) {
    lines.push(`${e.ok ? 'PASS' : 'FAIL'}  expect ${key}: ${expectValue(key, e.value)} ${e.op === 'min' ? '>=' : '<='} ${expectValue(key, e.limit)}${expectScope(key, e)}`)
  }
  lines.push(`trace ${r.trace_hash}; replay: ${r.replay}`)
  return lines.join('\n') + '\n'
}
