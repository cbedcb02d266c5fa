/**
 * `ddil configtest [--data DIR] [--config FILE] [--json]`: validates the config as
 * `ddil start` would read it (file, then `DDIL_*` variables) and says in plain
 * sentences what the node would do. Exit 0 when valid; 1 when the check fails (each
 * problem one sentence on stderr, the first being the one to fix first); 2 on bad
 * usage (commander's errors, mapped by main.ts). Keys stored unencrypted, or readable by
 * others (which start refuses), are warnings: the config itself is still valid.
 *
 * Exit status 1: main.ts maps ConfigError to 2 (bad usage) and overwrites
 * process.exitCode with its own result, so a failed check cannot be signalled by
 * throwing or by setting process.exitCode. The action therefore writes its output,
 * waits for it to be flushed, and exits with 1 itself (`exitAfterFlush`). Nothing is
 * open at that point (configtest reads one file synchronously).
 *
 * @example
 * ddil configtest --data /var/lib/ddil
 * // /var/lib/ddil/config.yaml is valid. This node would:
 * //   Keep its data in /var/lib/ddil. …
 */
import { exitAfterFlush } from '../exit.ts'
import type { Command } from 'commander'
import type { ConfigCheck } from '../../config/load.ts'
import type { Env } from '../../config/overrides.ts'
import type { ResolvedConfig } from '../../config/schema.ts'

export interface ConfigtestOptions { data?: string, config?: string, json?: boolean }

export interface ConfigtestIo {
  env: Env
  cwd?: string
  stdout: (text: string) => void
  stderr: (text: string) => void
}

function human (check: Extract<ConfigCheck, { ok: true }>, describeConfig: (c: ResolvedConfig) => string[]): string {
  return [
    `${check.source} is valid.`,
    ...check.overrides.map(o => `override: ${o}`),
    ...check.warnings.map(w => `warning: ${w}`),
    'This node would:',
    ...describeConfig(check.config).map(s => `  ${s}`),
    '',
  ].join('\n')
}

/** Runs the check and writes the report; returns the exit status (0 valid, 1 invalid). */
export async function runConfigtest (options: ConfigtestOptions, io: ConfigtestIo): Promise<number> {
  // Loaded here, not at the top: every ddil command loads this module, and zod and yaml take a while.
  const [{ checkConfig }, { describeConfig }, { keyWarnings }] = await Promise.all([import('../../config/load.ts'), import('../../config/describe.ts'), import('../../key-files.ts')])
  const check = checkConfig({ dataDir: options.data, configPath: options.config, env: io.env, cwd: io.cwd })
  if (check.ok) check.warnings.push(...await keyWarnings(check.config.dataDir))
  if (options.json === true) {
    const body = check.ok
      ? { valid: true, source: check.source, overrides: check.overrides, warnings: check.warnings, description: describeConfig(check.config), config: check.config }
      : { valid: false, source: check.source, problems: check.problems }
    io.stdout(JSON.stringify(body) + '\n')
  }
  if (!check.ok) {
    io.stderr(check.problems.map(p => `ddil: ${p}\n`).join(''))
    return 1
  }
  if (options.json !== true) io.stdout(human(check, describeConfig))
  return 0
}

export function register (program: Command): void {
  program.command('configtest')
    .description('validate the config and say what the node would do (exit 1 if invalid)')
    .option('--data <dir>', 'data directory (default: $DDIL_DATA, else ./data)')
    .option('--config <file>', 'config file (default: $DDIL_CONFIG, else <data>/config.yaml)')
    .option('--json', 'print the result as JSON on stdout')
    .action(async (opts: ConfigtestOptions) => {
      const code = await runConfigtest(opts, {
        env: process.env,
        stdout: s => process.stdout.write(s),
        stderr: s => process.stderr.write(s),
      })
      if (code !== 0) await exitAfterFlush(code)
    })
}
