/**
 * Simulator against emulation (#26): each scenario run by `ddil sim` (governed, as the
 * emulation is) and by real relays in network namespaces (`ddil emulate`, node/emulate/), with
 * delivery and latency side by side and the ratio of each; then heal-to-everything-everywhere
 * after a silent partition of ten relays (bench/emulate/heal-10.yaml): from the heal until every
 * message posted during the partition is at every member (goal ≤ 5 s; 29–34 s before #26).
 *
 * Scenarios and speed-ups (a scenario is sped up only where its timings allow: radio-9k6's
 * backlog is the point, so it runs as written, two hours):
 * - full: partition-heal ×100, flapping-link ×20, radio-9k6 ×1, heal-10 ×1;
 * - `--quick`: partition-heal ×300, flapping-link ×60, radio-burst ×1, heal-10 ×1.
 * Needs root. Latencies are in scenario time (the emulation's multiplied back by its speed-up).
 *
 * @example
 * sudo npm run bench -- emulate --quick --json
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createNodeCrypto } from '../node/crypto.ts'
import { planEmulation } from '../node/emulate/plan.ts'
import { buildEmulationReport, compareReports } from '../node/emulate/report.ts'
import { runEmulation, type EmulationResult } from '../node/emulate/run.ts'
import { toHex } from '../protocol/bytes.ts'
import { buildReport, type Report } from '../sim/report.ts'
import { runScenario } from '../sim/runner.ts'
import { parseScenario } from '../sim/scenario.ts'
import type { RunResult } from '../sim/run-stats.ts'
import type { Scenario } from '../sim/scenario-types.ts'
import type { BenchOptions, BenchResult } from './types.ts'

type Row = Record<string, string | number | boolean | null>

const runs = {
  full: [['partition-heal', 100], ['flapping-link', 20], ['radio-9k6', 1]],
  quick: [['partition-heal', 300], ['flapping-link', 60], ['radio-burst', 1]],
} as const

/** The heal in bench/emulate/heal-10.yaml, scenario ms. */
const healAtMs = 50_000
const partitionAtMs = 20_000

function load (path: string): Scenario {
  return parseScenario(readFileSync(path, 'utf8'), path)
}

async function simulate (scenario: Scenario): Promise<{ result: RunResult, report: Report }> {
  const result = await runScenario({ ...scenario, governance: true }, { crypto: createNodeCrypto(), seed: scenario.seed })
  return { result, report: buildReport(result).report }
}

async function emulate (scenario: Scenario, timeScale: number, log: (line: string) => void): Promise<EmulationResult> {
  return await runEmulation(planEmulation(scenario, { seed: scenario.seed, timeScale }), { progress: line => log(line.trimEnd()) })
}

const round3 = (x: number | null): number | null => x === null ? null : Math.round(x * 1000) / 1000

/** Each message posted during the partition: when its last expected member had it, ms after the heal (NaN if one never did). */
function healToEverywhere (posts: Array<{ createdAtMs: number, expected: number, arrivals: number[] }>): { messages: number, maxMs: number, p50Ms: number } {
  const during = posts.filter(p => p.createdAtMs >= partitionAtMs && p.createdAtMs < healAtMs)
  const lasts = during.map(p => p.arrivals.length < p.expected ? NaN : Math.max(...p.arrivals) - healAtMs).sort((a, b) => a - b)
  return { messages: during.length, maxMs: lasts.some(Number.isNaN) ? NaN : lasts[lasts.length - 1] ?? NaN, p50Ms: lasts[Math.floor(lasts.length / 2)] ?? NaN }
}

function simulatedHeal (result: RunResult): ReturnType<typeof healToEverywhere> {
  return healToEverywhere(result.ledger.records.filter(r => r.acked).map(r => ({
    createdAtMs: r.createdAtMs, expected: r.expected.length, arrivals: r.expected.map(n => r.arrivedAt[n]).filter(x => !Number.isNaN(x)),
  })))
}

function emulatedHeal (result: EmulationResult): ReturnType<typeof healToEverywhere> {
  return healToEverywhere(result.sent.filter(s => s.acked).map(s => ({
    createdAtMs: s.atMs, expected: s.expected.length, arrivals: [...(result.arrivals.get(toHex(s.env.id)) ?? new Map<string, number>())].filter(([node]) => s.expected.includes(node)).map(([, at]) => at),
  })))
}

export async function bench (options: BenchOptions): Promise<BenchResult> {
  if (process.getuid?.() !== 0) throw new Error('bench emulate needs root: it runs relays in network namespaces')
  const scenarios = fileURLToPath(new URL('../scenarios/', import.meta.url))
  const rows: Row[] = []
  const notes: string[] = []
  for (const [name, scale] of options.quick ? runs.quick : runs.full) {
    const scenario = load(`${scenarios}${name}.yaml`)
    options.log(`emulate bench: ${name}, simulated`)
    const sim = await simulate(scenario)
    options.log(`emulate bench: ${name}, emulated ×${scale}`)
    const emu = buildEmulationReport(await emulate(scenario, scale, options.log), { command: `npm run bench -- emulate (${name})` }).report
    for (const c of compareReports(sim.report, emu)) rows.push({ scenario: name, time_scale: scale, figure: c.figure, simulated: round3(c.simulated), emulated: round3(c.emulated), emulated_over_simulated: round3(c.ratio) })
    notes.push(`${name} ×${scale}: set-up ${(emu.setup_ms / 1000).toFixed(1)} s, run ${(emu.wall_ms / 1000).toFixed(1)} s; expectations not met under emulation: ${Object.entries(emu.expect).filter(([, e]) => !e.ok).map(([k]) => k).join(', ') || 'none'}`)
  }
  const heal = load(fileURLToPath(new URL('./emulate/heal-10.yaml', import.meta.url)))
  options.log('emulate bench: heal-10, simulated and emulated')
  const simHeal = simulatedHeal((await simulate(heal)).result)
  const emuHeal = emulatedHeal(await emulate(heal, 1, options.log))
  rows.push({ scenario: 'heal-10', time_scale: 1, figure: 'heal_to_everywhere_max_ms', simulated: round3(simHeal.maxMs), emulated: round3(emuHeal.maxMs), emulated_over_simulated: round3(emuHeal.maxMs / simHeal.maxMs) })
  rows.push({ scenario: 'heal-10', time_scale: 1, figure: 'heal_to_everywhere_p50_ms', simulated: round3(simHeal.p50Ms), emulated: round3(emuHeal.p50Ms), emulated_over_simulated: round3(emuHeal.p50Ms / simHeal.p50Ms) })
  notes.push(`heal-10: ${emuHeal.messages} messages posted during the silent partition; every one at every member ${(emuHeal.maxMs / 1000).toFixed(2)} s after the heal (goal ≤ 5 s; simulated ${(simHeal.maxMs / 1000).toFixed(2)} s)`)
  return { rows, notes }
}
