/**
 * The simulator benchmark's worker: runs one scenario and prints one JSON line with the
 * figures bench/sim.ts reports. A separate process so that the 200-node case can be
 * given a larger heap than Node's default (200 full replicas of ~21,000 envelopes, with
 * the engines' indexes, need several GB) and so that its peak RSS is its own.
 *
 * @example
 * node --max-old-space-size=12288 bench/_sim-child.ts scenarios/city-200.yaml [minutes]
 */
import { createNodeCrypto } from '../node/crypto.ts'
import { readFileSync } from 'node:fs'
import { buildReport } from '../sim/report.ts'
import { runScenario } from '../sim/runner.ts'
import { parseScenario } from '../sim/scenario.ts'
import { tuneHeapForSimulation } from '../sim/heap-tuning.ts'

/** CPU time of this process so far (all its threads: the simulation and V8's helpers), ms. */
function cpuMs (): number {
  const { user, system } = process.cpuUsage()
  return (user + system) / 1000
}

const file = process.argv[2]
const parsed = parseScenario(readFileSync(file, 'utf8'), file)
// An optional second argument runs only the first N simulated minutes (bench sim --minutes=N).
const scenario = process.argv[3] === undefined ? parsed : { ...parsed, durationMs: Math.min(parsed.durationMs, Number(process.argv[3]) * 60_000) }
tuneHeapForSimulation() // as `ddil sim` does
const result = await runScenario(scenario, {
  crypto: createNodeCrypto(),
  progress: p => process.stderr.write(`sim: ${(p.simMs / 3_600_000).toFixed(2)} h of ${(p.durationMs / 3_600_000).toFixed(1)} h, ${p.events} events, ${(p.wallMs / 1000).toFixed(0)} s\n`),
})
const { report } = buildReport(result, { command: `npx ddil sim ${file}` })
process.stdout.write(JSON.stringify({
  scenario: scenario.name, nodes: scenario.nodes.length, durationMs: scenario.durationMs, wallMs: result.wallMs, events: result.events,
  stored: result.counters.stored, peakRssMb: process.resourceUsage().maxRSS / 1024, cpuMs: cpuMs(), verify: result.verify, digest: result.digest, report,
}) + '\n')
