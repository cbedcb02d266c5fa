/**
 * CLI start-up: how long `ddil --help`, `ddil status` and `ddil send CH TEXT` take,
 * each as a ratio to `node -e 0` (Node's own start-up) measured in the same rounds.
 * The commands run as `node node/cli/bin.js …` with this Node (process.execPath)
 * against a real relay in a temporary directory; `npx ddil --help` is reported too,
 * so a reader sees what npx adds on top. ddil keeps Node's compile cache (node/cli/bin.js),
 * here in a fresh directory that the warm-up round fills; `--help` and `send` are also
 * timed without it, as on a first run. Rounds interleave the commands, so a busy
 * moment on the machine slows all of them alike; figures are medians.
 *
 * @example
 * npm run bench -- cli --json
 */
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Relay, cleanupRelays, root as relaysRoot } from '../test/helpers/relays.ts'
import type { BenchOptions, BenchResult } from './types.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = fileURLToPath(new URL('../node/cli/bin.js', import.meta.url))
const channelName = 'bench-cli'

/** A command timed each round: what the table calls it, the program and arguments it runs, what its stdout starts with, extra environment. */
interface Probe { name: string, command: string, args: string[], stdoutStart?: string, env?: Record<string, string> }

/** Where the commands keep Node's compile cache (their $XDG_CACHE_HOME): empty at the start of each run. */
const cacheHome = join(relaysRoot, 'cache')
const withoutCompileCache = { NODE_DISABLE_COMPILE_CACHE: '1' }

function probes (dataDir: string): Probe[] {
  const ddil = (name: string, args: string[], stdoutStart: string, env?: Record<string, string>): Probe => ({ name, command: process.execPath, args: [bin, ...args], stdoutStart, env })
  const help = ['--help']
  const send = ['send', channelName, 'start-up probe', '--data', dataDir]
  return [
    { name: 'node -e 0', command: process.execPath, args: ['-e', '0'] },
    ddil('ddil --help', help, 'Usage: ddil'),
    ddil('ddil status', ['status', '--data', dataDir], 'node id:'),
    ddil('ddil send', send, 'queued'),
    ddil('ddil --help, no compile cache', help, 'Usage: ddil', withoutCompileCache),
    ddil('ddil send, no compile cache', send, 'queued', withoutCompileCache),
    // npx runs the project's own bin (package.json); --no: never offer to install anything; --: the --help is ddil's.
    { name: 'npx ddil --help', command: 'npx', args: ['--no', '--', 'ddil', '--help'], stdoutStart: 'Usage: ddil' },
  ]
}

/** Runs a command to completion; returns its wall time in ms, or throws with its stderr if it failed. */
function timed (probe: Probe): number {
  const env = { ...process.env, DDIL_DATA: '', DDIL_CONFIG: '', XDG_CACHE_HOME: cacheHome, ...probe.env }
  const t0 = performance.now()
  const r = spawnSync(probe.command, probe.args, { cwd: root, env, encoding: 'utf8' })
  const ms = performance.now() - t0
  if (r.status !== 0) throw new Error(`${probe.name} exited ${r.status ?? r.signal ?? r.error?.message}: ${r.stderr.trim()}`)
  if (probe.stdoutStart !== undefined && !r.stdout.startsWith(probe.stdoutStart)) throw new Error(`${probe.name} printed "${r.stdout.slice(0, 80)}", not ddil's output`)
  return ms
}

function median (xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

export async function bench (options: BenchOptions): Promise<BenchResult> {
  const rounds = options.quick ? 3 : 15
  const relay = await Relay.init('bench-cli')
  relay.writeConfig({ authors: [relay] })
  try {
    await relay.start()
    const all = probes(relay.dataDir)
    timed({ name: 'ddil channel create', command: process.execPath, args: [bin, 'channel', 'create', channelName, '--data', relay.dataDir] })
    for (const p of all) timed(p) // warm-up: the file cache, npx's cache and ddil's compile cache
    const times = new Map(all.map(p => [p.name, [] as number[]]))
    for (let round = 0; round < rounds; round++) {
      options.log(`round ${round + 1} of ${rounds}…`)
      for (const p of all) times.get(p.name)?.push(timed(p))
    }
    const baseline = median(times.get('node -e 0') ?? [])
    const rows = all.map(p => {
      const ms = median(times.get(p.name) ?? [])
      return { command: p.name, median_ms: Number(ms.toFixed(1)), ratio_to_node_e_0: Number((ms / baseline).toFixed(2)), runs: rounds }
    })
    return {
      rows,
      notes: [
        `Wall time from spawn to exit, median of ${rounds} interleaved rounds after one warm-up; ddil runs as "${process.execPath} node/cli/bin.js"; npx (from PATH) in the project directory runs the project's own ddil.`,
        'status asks the relay\'s admin endpoint; send replays the channel\'s governance and recent messages, encrypts, and waits for the relay to store the message durably.',
      ],
    }
  } finally {
    await relay.kill('SIGTERM')
    cleanupRelays()
  }
}
