// Which packages a ddil command loads (node/cli/main.ts: command modules import the heavy
// parts only when their action runs). `ddil --help` and the local commands must load
// commander and nothing else; client commands must not load the daemon's packages
// (libp2p, LevelDB, pino), nor the config's (zod, YAML, peer ids) when a relay's
// endpoints file says where it is; `ddil sim` must not load the plotting library (vega)
// unless asked for plots. What is loaded is recorded by a module hook, not timed:
// `npm run bench -- cli` times it.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Relay, cleanupRelays } from './helpers/relays.ts'
import { writeEndpoints } from '../node/endpoints.ts'

const bin = new URL('../node/cli/bin.js', import.meta.url).pathname
const hook = new URL('./helpers/record-loaded-modules.ts', import.meta.url).pathname
const scratch = mkdtempSync(join(tmpdir(), 'ddil-startup-'))
t.teardown(() => { rmSync(scratch, { recursive: true, force: true }); cleanupRelays() })

/** Packages only the daemon (`ddil start`) or the simulator's plots (`ddil sim --out`) need. */
const daemonAndPlottingPackages = ['libp2p', '@chainsafe/libp2p-noise', '@chainsafe/libp2p-yamux', '@libp2p/tcp', 'level', 'classic-level', 'pino', 'prom-client', 'vega', 'vega-lite']
/** What `ddil send` and the channel commands need: commander, the API client's WebSocket, the board's CRDT. */
const channelClientPackages = ['commander', 'lib0', 'ws', 'yjs']
/** What `ddil enrol` and `ddil clients` need before a relay answers: commander and the API client's WebSocket (the QR code library comes after). */
const operatorClientPackages = ['commander', 'ws']

interface Run { status: number | null, stderr: string, packages: string[] }

/** Runs `ddil args`; returns its exit status, stderr and the npm packages (`name`, `@scope/name`) it loaded. */
function run (args: string[]): Run {
  const list = join(scratch, `loaded-${args.join('-').replace(/[^\w-]/g, '_')}`)
  const env = { ...process.env, DDIL_DATA: '', DDIL_CONFIG: '', DDIL_LOADED_MODULES: list }
  const r = spawnSync(process.execPath, ['--import', hook, bin, ...args], { encoding: 'utf8', env, timeout: 60_000 })
  const urls = readFileSync(list, 'utf8').split('\n').filter(u => u !== '')
  const names = urls.flatMap(u => /.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(u)?.[1] ?? [])
  return { status: r.status, stderr: r.stderr, packages: [...new Set(names)].sort() }
}

/** `ddil` and its arguments, without the data directory's temporary path. */
function label (args: string[]): string {
  return ['ddil', ...args.filter((a, i) => args[i - 1] !== '--data')].join(' ')
}

function daemonOrPlotting (r: Run): string[] {
  return r.packages.filter(p => daemonAndPlottingPackages.includes(p))
}

t.test('ddil --help and the local commands load commander and no other package', async t => {
  const relay = await Relay.init('startup')
  for (const args of [['--help'], ['send', '--help'], ['enrol', '--help'], ['clients', 'list', '--help'], ['whoami', '--data', relay.dataDir], ['channel', 'list', '--data', relay.dataDir]]) {
    const r = run(args)
    t.equal(r.status, 0, `${label(args)} exits 0 ${r.stderr}`)
    t.same(r.packages, ['commander'], `${label(args)} loads only commander`)
  }
})

t.test('client commands, told where the relay is by its endpoints file, load only what they use', async t => {
  const relay = await Relay.init('startup-endpoints')
  // Ports nothing listens on: the relay has stopped without removing its file.
  await writeEndpoints(relay.dataDir, { api: { host: '127.0.0.1', port: relay.apiPort }, admin: { host: '127.0.0.1', port: relay.adminPort } })
  const expected: Array<[string[], string[]]> = [
    [['status'], ['commander']], [['send', 'ops', 'hello'], channelClientPackages], [['channel', 'create', 'ops'], channelClientPackages],
    [['enrol', '--name', 'Ana'], operatorClientPackages], [['clients', 'list'], operatorClientPackages],
  ]
  for (const [command, packages] of expected) {
    const args = [...command, '--data', relay.dataDir]
    const r = run(args)
    t.equal(r.status, 1, `${label(args)} exits 1 with no relay running`)
    t.match(r.stderr, /no relay answering/)
    t.same(r.packages, packages, `${label(args)} loads only ${packages.join(', ')}`)
  }
})

t.test('client commands load no daemon or plotting package, even when they read the config', async t => {
  const relay = await Relay.init('startup-client')
  relay.writeConfig({ authors: [relay] })
  for (const args of [['status'], ['send', 'ops', 'hello'], ['channel', 'create', 'ops'], ['enrol'], ['clients', 'revoke', relay.user.publicKey]].map(a => [...a, '--data', relay.dataDir])) {
    const r = run(args)
    t.equal(r.status, 1, `${label(args)} exits 1 with no relay running`)
    t.match(r.stderr, /no relay answering/)
    t.same(daemonOrPlotting(r), [], `${label(args)} loads none of ${daemonAndPlottingPackages.join(', ')}`)
  }
})

t.test('ddil sim without --out loads the simulator but not the plotting library', async t => {
  const r = run(['sim', join(scratch, 'no-such-scenario.yaml')])
  t.equal(r.status, 2, 'an unreadable scenario is bad usage')
  t.same(daemonOrPlotting(r), [])
})

t.test('the check itself sees the packages the daemon loads', async t => {
  const relay = await Relay.init('startup-daemon')
  const r = run(['start', '--data', relay.dataDir, '--api', 'not-an-address'])
  t.not(r.status, 0, 'start refuses the bad --api')
  t.same(daemonOrPlotting(r), daemonAndPlottingPackages.filter(p => !p.startsWith('vega')).sort(), 'ddil start loads them all but the plotting library')
})
