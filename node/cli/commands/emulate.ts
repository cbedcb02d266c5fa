/**
 * `ddil emulate SCENARIO [--seed N] [--time-scale X] [--json] [--out DIR] [--compare]`:
 * runs a scenario against real relay processes, each in its own network namespace, joined
 * by virtual links shaped with tbf (node/emulate/). The report has the simulator's fields,
 * scored by the same oracle; `--compare` also runs the simulator on the same scenario and
 * seed and prints both with the ratio of each figure. Needs root. Exit 0 when every
 * expectation passes, 1 when one fails, 2 on bad usage, a scenario it cannot emulate, or
 * no root.
 *
 * @example
 * sudo npx ddil emulate scenarios/partition-heal.yaml --time-scale 300 --compare
 */
import type { Command } from 'commander'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from '../../../protocol/errors.ts'
import { exitAfterFlush } from '../exit.ts'
import type { EmulationReport, Compared } from '../../emulate/report.ts'

export interface EmulateOptions { seed?: string, timeScale?: string, json?: boolean, out?: string, compare?: boolean }

export interface EmulateIo { stdout: (text: string) => void, stderr: (text: string) => void }

function number (name: string, text: string | undefined, whole: boolean): number | undefined {
  if (text === undefined) return undefined
  const x = Number(text)
  if (text.trim() === '' || !Number.isFinite(x) || x < 0 || (whole && !Number.isInteger(x))) throw new UsageError(`--${name} must be a ${whole ? 'whole ' : ''}number, not ${JSON.stringify(text)}`)
  return x
}

/** Runs the command; returns the exit status (errors that mean exit 2 are thrown). */
export async function runEmulate (file: string, opts: EmulateOptions, io: EmulateIo): Promise<number> {
  if (process.getuid?.() !== 0) throw new UsageError('ddil emulate needs root: it creates network namespaces and virtual links (run it with sudo)')
  const [{ parseScenario }, { planEmulation }, { runEmulation }, { buildEmulationReport, compareReports }] = await Promise.all([
    import('../../../sim/scenario.ts'), import('../../emulate/plan.ts'), import('../../emulate/run.ts'), import('../../emulate/report.ts'),
  ])
  let text: string
  try { text = readFileSync(file, 'utf8') } catch (e) { throw new UsageError(`cannot read scenario ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`) }
  const scenario = parseScenario(text, file)
  const seed = number('seed', opts.seed, true) ?? scenario.seed
  const plan = planEmulation(scenario, { seed, timeScale: number('time-scale', opts.timeScale, false) ?? 1 })
  for (const w of [...scenario.warnings, ...plan.unemulated]) io.stderr(`warning: ${w}\n`)
  if (opts.out !== undefined) mkdirSync(opts.out, { recursive: true })
  const result = await runEmulation(plan, { dir: opts.out === undefined ? undefined : join(opts.out, 'relays'), progress: io.stderr })
  const { report, pairs, records } = buildEmulationReport(result, { command: `sudo npx ddil emulate ${file}` })
  const compared = opts.compare === true ? compareReports(await simulate(scenario, seed), report) : undefined
  const out = compared === undefined ? report : { ...report, compare: compared }
  io.stdout(opts.json === true ? JSON.stringify(out) + '\n' : formatEmulation(report, compared))
  if (opts.out !== undefined) {
    const { messagesCsv } = await import('../../../sim/artifacts.ts')
    writeFileSync(join(opts.out, 'report.json'), JSON.stringify(out, null, 2) + '\n')
    writeFileSync(join(opts.out, 'messages.csv'), messagesCsv({ ledger: { records }, nodeIds: result.nodeIds }, pairs))
    io.stderr(`wrote ${join(opts.out, 'report.json')}, ${join(opts.out, 'messages.csv')}; relays' data and logs in ${join(opts.out, 'relays')}\n`)
  }
  if (report.ok) return 0
  io.stderr(`ddil: scenario ${report.scenario} failed under emulation (${Object.entries(report.expect).filter(([, e]) => !e.ok).map(([k]) => `expect ${k}`).join(', ')}); replay: ${report.replay}\n`)
  return 1
}

/**
 * The simulator's run of the same scenario and seed, governed as the emulation is, unless the
 * scenario posts more than one envelope on a channel, which the simulator runs only ungoverned.
 */
async function simulate (scenario: import('../../../sim/scenario-types.ts').Scenario, seed: number): Promise<import('../../../sim/report.ts').Report> {
  const [{ runScenario }, { buildReport }, { createNodeCrypto }, { envelopeBodyBytesMax }] = await Promise.all([
    import('../../../sim/runner.ts'), import('../../../sim/report.ts'), import('../../crypto.ts'), import('../../../protocol/limits.ts'),
  ])
  const governable = scenario.traffic.every(t => t.to.kind !== 'channel' || t.size.maxBytes <= envelopeBodyBytesMax)
  return buildReport(await runScenario({ ...scenario, governance: governable || scenario.governance === true }, { crypto: createNodeCrypto(), seed })).report
}

function fmt (x: number | null, digits = 3): string {
  return x === null ? '–' : Math.abs(x) >= 1000 ? x.toFixed(0) : x.toPrecision(digits)
}

function formatEmulation (r: EmulationReport, compared: Compared[] | undefined): string {
  const pct = (x: number | null): string => x === null ? '–' : `${(100 * x).toFixed(2)}%`
  const lines = [
    `scenario ${r.scenario} (seed ${r.seed}), emulated with ${r.nodes} relays${r.time_scale === 1 ? '' : `, ${r.time_scale}x faster than written`}: ${(r.wall_ms / 1000).toFixed(1)} s run, ${(r.setup_ms / 1000).toFixed(1)} s set-up`,
    `  messages ${r.created}, pairs ${r.pairs.expected} (deliverable ${r.pairs.deliverable}), delivered vs oracle ${pct(r.delivered_vs_oracle)}, delivery prob ${pct(r.delivery_prob)}`,
    `  latency p50 ${fmt(r.latency_ms.p50)} ms, p95 ${fmt(r.latency_ms.p95)} ms (real time); vs oracle p50 ${fmt(r.latency_vs_oracle.p50)}, p95 ${fmt(r.latency_vs_oracle.p95)}`,
    `  wire ${r.wire.bytes} B, payload ${r.wire.payload_bytes} B, duplicate share ${pct(r.wire.duplicate_share)}; links seen going down ${r.link_drops}; posts skipped ${r.posts_skipped}, refused at source ${r.posts_unacknowledged}`,
    ...Object.entries(r.expect).map(([k, e]) => `  expect ${k}: ${fmt(e.value)} ${e.op === 'min' ? '>=' : '<='} ${fmt(e.limit)} ${e.ok ? 'ok' : 'FAILED'}`),
  ]
  if (compared !== undefined) {
    lines.push('  simulator vs emulation (times in scenario time):', ...compared.map(c => `    ${c.figure.padEnd(24)} sim ${fmt(c.simulated).padStart(10)}  emu ${fmt(c.emulated).padStart(10)}  emu/sim ${fmt(c.ratio)}`))
  }
  lines.push(r.ok ? 'ok' : 'FAILED', '')
  return lines.join('\n')
}

export function register (program: Command): void {
  program.command('emulate')
    .description('run a scenario against real relay processes in network namespaces (root; exit 1 if an expectation fails)')
    .argument('<scenario>', 'scenario file (YAML or JSON)')
    .option('--seed <n>', "seed for this run (default: the scenario's seed)")
    .option('--time-scale <x>', 'run the scenario X times faster than written: every time (events, posts, TTLs, duration) is divided by X, link bandwidths are kept')
    .option('--json', 'print the report as one JSON object on stdout')
    .option('--out <dir>', 'keep the relays\' data directories and logs in DIR/relays; write DIR/report.json and DIR/messages.csv')
    .option('--compare', 'also run the simulator on the same scenario and seed and print both, with the ratio of each figure')
    .action(async (file: string, opts: EmulateOptions) => {
      const code = await runEmulate(file, opts, { stdout: s => process.stdout.write(s), stderr: s => process.stderr.write(s) })
      if (code !== 0) await exitAfterFlush(code)
    })
}
