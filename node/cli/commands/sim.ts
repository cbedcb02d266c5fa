/**
 * `ddil sim SCENARIO [--seed N] [--mirror] [--json] [--out DIR]`: runs a scenario in the
 * deterministic simulator (brief §5) and prints the report: a table for people, or one
 * JSON object with `--json`. `--out DIR` also writes report.json, messages.csv and
 * SVG plots. `--mirror` renames the nodes so that their ids sort the other way round
 * (sim/mirror.ts): every tie the engine breaks by peer id goes the other way. Exit 0 when every check and expectation passes; 1 when one fails (stderr
 * names them and the command that replays the run); 2 on bad usage or an invalid
 * scenario (one sentence with file, line and column). A progress line goes to stderr
 * during long runs, never into the JSON on stdout.
 *
 * Exit status 1 is set by exiting after the output is flushed: main.ts maps thrown
 * errors to their own codes and overwrites process.exitCode (as configtest does).
 *
 * @example
 * npx ddil sim scenarios/example.yaml --seed 7 --json | jq .delivered_vs_oracle
 */
import { exitAfterFlush } from '../exit.ts'
import type { Command } from 'commander'
import { readFileSync } from 'node:fs'
import { UsageError } from '../../../protocol/errors.ts'
import { formatDuration } from '../../../protocol/units.ts'
import type { Progress } from '../../../sim/runner.ts'

export interface SimOptions { seed?: string, mirror?: boolean, json?: boolean, out?: string }

export interface SimIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
}

function parseSeed (text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  if (!/^\d{1,10}$/.test(text) || Number(text) > 2 ** 32 - 1) throw new UsageError(`--seed must be a whole number from 0 to ${2 ** 32 - 1}, not ${JSON.stringify(text)}`)
  return Number(text)
}

function readScenarioText (file: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (e) {
    throw new UsageError(`cannot read scenario ${file} (${(e as NodeJS.ErrnoException).code ?? String(e)})`)
  }
}

function progressLine (p: Progress): string {
  const share = Math.floor(100 * p.simMs / p.durationMs)
  return `sim: ${formatDuration(Math.floor(p.simMs / 1000) * 1000)} of ${formatDuration(p.durationMs)} simulated (${share}%), ${p.events} events, ${(p.wallMs / 1000).toFixed(0)} s wall\n`
}

/** Runs the command; returns the exit status (errors that mean exit 2 are thrown). */
export async function runSim (file: string, opts: SimOptions, io: SimIo): Promise<number> {
  // The simulator is loaded here, not at the top: every ddil command loads this module.
  const [{ buildReport }, { formatReport }, { runScenario }, { parseScenario }, { mirrorNodeIds }, { tuneHeapForSimulation }, { createNodeCrypto }] = await Promise.all([
    import('../../../sim/report.ts'), import('../../../sim/report-text.ts'), import('../../../sim/runner.ts'),
    import('../../../sim/scenario.ts'), import('../../../sim/mirror.ts'), import('../../../sim/heap-tuning.ts'), import('../../crypto.ts'),
  ])
  const seed = parseSeed(opts.seed)
  const parsed = parseScenario(readScenarioText(file), file)
  const scenario = opts.mirror === true ? mirrorNodeIds(parsed) : parsed
  for (const w of scenario.warnings) io.stderr(`warning: ${w}\n`)
  tuneHeapForSimulation()
  const result = await runScenario(scenario, { crypto: createNodeCrypto(), seed, progress: p => { if (p.wallMs > 2000) io.stderr(progressLine(p)) } })
  const bundle = buildReport(result, { command: `npx ddil sim ${file}${opts.mirror === true ? ' --mirror' : ''}` })
  const { report } = bundle
  io.stdout(opts.json === true ? JSON.stringify(report) + '\n' : formatReport(report, { governed: scenario.governance === true }))
  if (opts.out !== undefined) {
    const { writeArtifacts } = await import('../../../sim/artifacts.ts') // with the plotting library, only for --out
    const written = await writeArtifacts(opts.out, result, bundle)
    io.stderr(`wrote ${written.join(', ')}\n`)
  }
  if (report.ok) return 0
  const failed = [
    ...Object.entries(report.checks).filter(([, c]) => !c.ok).map(([name]) => `check ${name}`),
    ...Object.entries(report.expect).filter(([, e]) => !e.ok).map(([key]) => `expect ${key}`),
  ]
  io.stderr(`ddil: scenario ${report.scenario} failed (${failed.join(', ')}); replay: ${report.replay}\n`)

  return 1
}

export function register (program: Command): void {
  program.command('sim')
    .description('run a scenario in the deterministic simulator (exit 1 if a check or expectation fails)')
    .argument('<scenario>', 'scenario file (YAML or JSON)')
    .option('--seed <n>', "seed for this run (default: the scenario's seed)")
    .option('--mirror', 'rename the nodes so that their ids sort the other way round: ties broken by peer id go the other way')
    .option('--json', 'print the report as one JSON object on stdout')
    .option('--out <dir>', 'also write report.json, messages.csv and SVG plots into DIR')
    .action(async (file: string, opts: SimOptions) => {
      const code = await runSim(file, opts, { stdout: s => process.stdout.write(s), stderr: s => process.stderr.write(s) })
      if (code !== 0) await exitAfterFlush(code)
    })
}
