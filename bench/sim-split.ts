/**
 * Would two workers run city-200 faster? `npm run bench -- sim-split [--minutes=N] [--json]`
 * runs the scenario's first N simulated minutes (45 by default; it has no faults before
 * the first hour) single-threaded and on two workers (bench/_sim-split-child.ts), one
 * after the other on the same machine, for each of two ways to cut the fleet:
 * - `groups`: whole districts per worker, cut on the 20 ms backbone (sim/split-bound.ts's split);
 * - `interleaved`: alternate relays of each district per worker, cut on 2 ms Wi-Fi links.
 * Each round runs the three in a rotated order; a speed-up is the geometric mean over the
 * rounds of single-threaded wall time over split wall time. Each split run must store
 * exactly the copies the single-threaded one did, or the benchmark fails.
 *
 * `balance` is what the windows allowed: the two workers' busy time over the sum, per
 * window, of the busier one's (2 would be perfect); the rest of a split run's time is
 * barriers and copying frames across.
 *
 * @example
 * npm run bench -- sim-split --minutes=45
 */
import { fileURLToPath } from 'node:url'
import type { Partition } from './_sim-split-share.ts'
import type { ShareResult } from './_sim-split-share.ts'
import { runJsonChild } from './sim.ts'
import type { BenchOptions, BenchResult } from './types.ts'

/** Simulated minutes run by default: city-200's fault-free first stretch, long enough to reach a steady state. */
const minutesDefault = 45
const rounds = { full: 3, quick: 1 }
const quickMinutes = 2
const partitions: Partition[] = ['groups', 'interleaved']
const file = 'scenarios/city-200.yaml'
const root = fileURLToPath(new URL('..', import.meta.url))

interface SingleRun { wallMs: number, stored: number }
interface SplitRun { partition: Partition, lookaheadMs: number, wallMs: number, stored: number, busierMs: number, shares: [Omit<ShareResult, 'busyPerWindowMs'>, Omit<ShareResult, 'busyPerWindowMs'>] }

export async function bench (options: BenchOptions): Promise<BenchResult> {
  const minutes = options.quick ? quickMinutes : options.minutes ?? minutesDefault
  const n = options.quick ? rounds.quick : rounds.full
  const single: SingleRun[] = []
  const split = new Map<Partition, SplitRun[]>(partitions.map(p => [p, []]))
  const kinds: Array<Partition | 'single'> = ['single', ...partitions]
  for (let round = 0; round < n; round++) {
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(k + round) % kinds.length] // rotated, so no kind always runs first
      options.log(`sim-split: round ${round + 1} of ${n}, ${kind}`)
      if (kind === 'single') single.push(await runJsonChild<SingleRun>(root, ['bench/_sim-child.ts', file, String(minutes)], options.log))
      else split.get(kind)?.push(await runJsonChild<SplitRun>(root, ['bench/_sim-split-child.ts', file, String(minutes), kind], options.log))
    }
  }
  const rows = partitions.map(p => row(p, single, split.get(p) ?? [], minutes))
  return {
    rows,
    notes: [
      `${file}, first ${minutes} simulated minutes, ${n} round(s); speed-up = single-threaded wall time / two-worker wall time, geometric mean over rounds`,
      'balance: busy time of both workers over the sum of the busier one\'s per window (2 is perfect); the rest of a split run is barriers and copying',
    ],
  }
}

function row (partition: Partition, single: SingleRun[], runs: SplitRun[], minutes: number): Record<string, string | number | boolean | null> {
  for (const [i, r] of runs.entries()) {
    if (r.stored !== single[i].stored) throw new Error(`${partition} split stored ${r.stored} copies, the single-threaded run ${single[i].stored}: the split run is wrong`)
  }
  const speedups = runs.map((r, i) => single[i].wallMs / r.wallMs)
  const last = runs[runs.length - 1]
  const [a, b] = last.shares
  return {
    partition,
    simulated_min: minutes,
    lookahead_ms: last.lookaheadMs,
    stored_copies: last.stored,
    single_wall_s: seconds(single[single.length - 1].wallMs),
    split_wall_s: seconds(last.wallMs),
    speedup: Number(Math.exp(speedups.reduce((sum, x) => sum + Math.log(x), 0) / speedups.length).toFixed(3)),
    speedups_per_round: speedups.map(x => x.toFixed(3)).join(' '),
    busy_s: `${seconds(a.busyMs)} ${seconds(b.busyMs)}`,
    wait_s: `${seconds(a.waitMs)} ${seconds(b.waitMs)}`,
    balance: Number(((a.busyMs + b.busyMs) / Math.max(1, last.busierMs)).toFixed(3)),
    busier_s: seconds(last.busierMs),
    windows: a.windows,
    frames_crossed: a.crossed + b.crossed,
  }
}

function seconds (ms: number): number { return Number((ms / 1000).toFixed(1)) }
