/**
 * The `sim-split` benchmark's child: runs a scenario's first N minutes on two worker
 * threads, as a conservative parallel simulator would, and prints one JSON line. Each
 * worker runs the real engines of its share of the nodes; both advance in lock-step
 * windows no longer than the smallest latency of a link between the shares (within a
 * window neither side can hear from the other), meet at a barrier on shared memory, and
 * swap the frames that crossed the cut, with the times they arrive.
 *
 * A measurement, not a second simulator: it handles only a fault-free stretch (the tool
 * refuses a scenario with link or node changes before N minutes), keeps no ledger and
 * writes no report. Its check is the count of stored copies, which must equal the
 * single-threaded run's (bench/sim-split.ts compares them).
 *
 * @example
 * node --max-old-space-size=14336 bench/_sim-split-child.ts scenarios/city-200.yaml 45 groups
 */
import { readFileSync } from 'node:fs'
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads'
import { parseScenario } from '../sim/scenario.ts'
import { lookaheadMs, partition, runShare, type ShareResult, type SplitShared } from './_sim-split-share.ts'

/** Shared ring per worker and window parity, bytes: a window's crossing frames must fit. */
const ringBytes = 64 << 20
/** Old-generation heap per worker, MB (each holds about half of the fleet). */
const workerHeapMb = 8192

async function main (): Promise<void> {
  const [file, minutesText, how] = process.argv.slice(2)
  if (how !== 'groups' && how !== 'interleaved') throw new Error(`partition must be groups or interleaved, got ${how}`)
  const parsed = parseScenario(readFileSync(file, 'utf8'), file)
  const durationMs = Math.min(parsed.durationMs, Number(minutesText) * 60_000)
  const side = partition(parsed, how)
  const shared: SplitShared = {
    file, durationMs, side, lookaheadMs: lookaheadMs({ ...parsed, durationMs }, side, durationMs),
    control: new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT),
    times: new SharedArrayBuffer(8 * Float64Array.BYTES_PER_ELEMENT),
    rings: [0, 1].map(() => [new SharedArrayBuffer(ringBytes), new SharedArrayBuffer(ringBytes)]),
  }
  const shares = await Promise.all([0, 1].map(w => new Promise<ShareResult>((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { ...shared, w }, resourceLimits: { maxOldGenerationSizeMb: workerHeapMb } })
    worker.once('message', resolve)
    worker.once('error', reject)
    worker.once('exit', code => { reject(new Error(`worker ${w} exited with ${code} before reporting`)) })
  })))
  const wallMs = Math.max(shares[0].wallMs, shares[1].wallMs) // as the runner's, without loading modules
  // Both met at every barrier, so window k is the k-th entry on both sides.
  const [a, b] = shares.map(r => r.busyPerWindowMs)
  const busierMs = a.reduce((sum, x, k) => sum + Math.max(x, b[k] ?? 0), 0)
  const summary = shares.map(({ busyPerWindowMs, ...rest }) => rest)
  process.stdout.write(JSON.stringify({ partition: how, lookaheadMs: shared.lookaheadMs, durationMs, wallMs, stored: shares[0].stored + shares[1].stored, busierMs, shares: summary }) + '\n')
}

if (isMainThread) {
  await main()
} else {
  const data = workerData as SplitShared & { w: number }
  parentPort?.postMessage(await runShare(data, data.w))
}
