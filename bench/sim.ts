/**
 * Simulator benchmark (brief §6): runs scenarios/city-200.yaml (200 nodes, 6 simulated
 * hours, ~21,000 messages) and reports wall time, simulated seconds per wall second,
 * events per second, envelope copies stored per second, peak RSS and CPU time, against
 * the target of ≤ 60 s wall on 2 cores, and the most a two-worker parallel run could
 * gain (sim/split-bound.ts), with the machine's load average before and after
 * (on shared machines the same build varies by a third: compare builds side by side). The run happens in a child process
 * (bench/_sim-child.ts) with a heap large enough for 200 full replicas. `--quick` runs
 * scenarios/example.yaml instead (a smoke test of the benchmark, not a figure to quote).
 *
 * `--against=DIR` runs another checkout's simulator (its bench/_sim-child.ts, with its
 * dependencies installed) at the same time, one per core, and reports the ratio. Both
 * runs then meet the same machine. Two identical builds, paired so: over the first 90
 * simulated minutes (`--minutes=90`), ratios 1.038, 0.990 and 1.016; over the whole six
 * hours, where each heap grows to 3 GB and both collectors compete for the cores, 1.084
 * and 0.947. Runs one after the other differ by a third. So a difference under about 5%
 * needs several pairs. Their wall times are each longer than alone: quote the ratio, and
 * wall_s only from a whole run alone.
 * `--minutes=N` alone cuts the run short too (not a figure for the target).
 *
 * @example
 * npm run bench -- sim --json
 * git worktree add ../base HEAD~3 && ln -s "$PWD/node_modules" ../base/ && npm run bench -- sim --against=../base --minutes=90
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Report } from '../sim/report.ts'
import type { SplitBound } from '../sim/split-bound.ts'
import type { BenchOptions, BenchResult } from './types.ts'

/** Brief §6: 200 nodes, 6 simulated hours, ≥ 20,000 messages within this wall time on 2 cores. */
const targetWallSeconds = 60
/** Heap for the child, MB: the 200-node case peaks above Node's default limit (about 4 GB here). */
const childHeapMb = 14_336

interface ChildResult {
  scenario: string, nodes: number, durationMs: number, wallMs: number, events: number, stored: number, peakRssMb: number, cpuMs: number
  verify: { calls: number, computed: number }
  digest: { calls: number, computed: number }
  report: Report
  split: SplitBound
}

const ourRoot = fileURLToPath(new URL('..', import.meta.url))

function runChild (root: string, file: string, minutes: number | undefined, log: (line: string) => void): Promise<ChildResult> {
  const args = [`--max-old-space-size=${childHeapMb}`, 'bench/_sim-child.ts', file, ...(minutes === undefined ? [] : [String(minutes)])]
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s })
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    err += s
    for (const line of s.split('\n')) if (line.startsWith('sim: ')) log(line)
  })
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', code => {
      if (code === 0) resolve(JSON.parse(out) as ChildResult)
      else reject(new Error(`simulator child exited with ${code}: ${err.split('\n').filter(l => !l.startsWith('sim: ')).slice(-5).join(' ')}`))
    })
  })
}

export async function bench (options: BenchOptions): Promise<BenchResult> {
  const file = options.quick ? 'scenarios/example.yaml' : 'scenarios/city-200.yaml'
  const against = options.against === undefined ? undefined : resolve(options.against)
  if (against !== undefined && !existsSync(join(against, 'bench/_sim-child.ts'))) throw new Error(`--against=${options.against}: no bench/_sim-child.ts there; give a checkout of this project with its dependencies installed`)
  const loadBefore = loadavg()[0]
  const [r, base] = await Promise.all([
    runChild(ourRoot, file, options.minutes, options.log),
    against === undefined ? undefined : runChild(against, file, options.minutes, line => { options.log(`against: ${line}`) }),
  ])
  const loadAfter = loadavg()[0]
  const wallSeconds = r.wallMs / 1000
  const { report } = r
  return {
    rows: [{
      scenario: r.scenario,
      nodes: r.nodes,
      messages: report.created,
      simulated_s: r.durationMs / 1000,
      wall_s: Number(wallSeconds.toFixed(1)),
      sim_s_per_wall_s: Number((r.durationMs / 1000 / wallSeconds).toFixed(2)),
      events: r.events,
      events_per_s: Math.round(r.events / wallSeconds),
      stored_copies: r.stored,
      stored_per_s: Math.round(r.stored / wallSeconds),
      peak_rss_mb: Math.round(r.peakRssMb),
      cpu_s: Number((r.cpuMs / 1000).toFixed(1)),
      // The machines are shared: a busy one can stretch the wall time by a third. Compare builds side by side.
      load_1m_before: Number(loadBefore.toFixed(2)),
      load_1m_after: Number(loadAfter.toFixed(2)),
      // The most two workers could gain (sim/split-bound.ts): whether parallelism alone could meet the target.
      two_worker_bound: Number(r.split.bound.toFixed(2)),
      split_window_ms: r.split.windowMs,
      split_busy_windows: r.split.busyWindows,
      target_wall_s: targetWallSeconds,
      within_target: options.minutes === undefined ? wallSeconds <= targetWallSeconds : null, // a run cut short says nothing about the target
      ...(base === undefined ? {} : againstFields(r, base)),
    }],
    notes: [
      `delivered_vs_oracle ${report.delivered_vs_oracle ?? '-'}, latency p50/p95 vs oracle ${report.latency_vs_oracle.p50 ?? '-'} / ${report.latency_vs_oracle.p95 ?? '-'}, checks and expectations ${report.ok ? 'pass' : 'FAIL'}`,
      `two-worker bound ${r.split.bound.toFixed(2)}x (${r.split.totalsBound.toFixed(2)}x on totals alone): ${r.split.windowMs} ms windows (${r.split.busyWindows} with work), shares ${r.split.shares[0].join(',')} (${r.split.copies[0]} copies) | ${r.split.shares[1].join(',')} (${r.split.copies[1]} copies)`,
      ...(base === undefined ? [] : [`against ${against}, run at the same time: wall ${(r.wallMs / 1000).toFixed(1)} s here, ${(base.wallMs / 1000).toFixed(1)} s there (ratio ${(r.wallMs / base.wallMs).toFixed(3)}); quote the ratio, not these wall times`]),
      `signature checks: ${r.verify.calls} asked, ${r.verify.computed} computed; SHA-256: ${r.digest.calls} asked, ${r.digest.computed} computed (memoised across nodes)`,
    ],
    report,
  }
}

/** The other checkout's figures from the same moment, and ours over theirs. */
function againstFields (ours: ChildResult, base: ChildResult): Record<string, number | boolean> {
  return {
    concurrent: true,
    against_wall_s: Number((base.wallMs / 1000).toFixed(1)),
    against_cpu_s: Number((base.cpuMs / 1000).toFixed(1)),
    against_events: base.events,
    wall_ratio_vs_against: Number((ours.wallMs / base.wallMs).toFixed(3)),
    cpu_ratio_vs_against: Number((ours.cpuMs / base.cpuMs).toFixed(3)),
  }
}
