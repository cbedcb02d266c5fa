// What an operator and a first-time user meet around the relay (issue 20, items 5–7, 9, 10), through
// the real binary: start-up failures are one sentence naming the key and flag, exit 2; refusals say
// what happened (a user the relay refused is not told "no relay answering"); configtest names only
// endpoints that answer; duplicate channels, empty messages, split option values and a TTL capped
// by retention are caught or explained; the relay logs peers coming and going and says what waits
// for a peer that is away; `npm start` stops its relay when it is stopped.
import t from 'tap'
import { spawn } from 'node:child_process'
import { createServer, type Server } from 'node:net'
import { Relay, cleanupRelays, freePort, waitFor } from './helpers/relays.ts'
import { ddil } from './helpers/cli.ts'
import { within } from './helpers/wait.ts'

t.teardown(cleanupRelays)

const repo = new URL('..', import.meta.url).pathname

function occupy (port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => { resolve(server) })
  })
}

t.test('a busy port stops start-up with one sentence naming the key and the flag, status 2', async t => {
  const r = await Relay.init('busy')
  r.writeConfig({ authors: [] })
  for (const [port, key, flag] of [[r.apiPort, 'api.listen', '--api'], [r.adminPort, 'admin.listen', '--admin'], [r.p2pPort, 'node.listen', '--listen']] as const) {
    const server = await occupy(port)
    const out = await ddil(['start', '--data', r.dataDir])
    server.close()
    t.equal(out.code, 2, `${key} busy: exit 2`)
    t.match(out.stderr, new RegExp(`^ddil: cannot .* on .*${port}: the port is in use .*; change ${key.replace('.', '\\.')} in the config or pass ${flag}\\n$`), `${key} busy: ${out.stderr.trim()}`)
    t.notMatch(out.stderr, /\n\s+at |transportManager|faultTolerance/, 'no stack trace, no advice about libp2p settings')
  }
})

t.test('operator journey: refusals that say what happened, footguns, logs, what waits for an absent peer', async t => {
  const [a, b, stranger] = await Promise.all(['ops-a', 'ops-b', 'stranger'].map(n => Relay.init(n)))
  a.writeConfig({ authors: [a], dial: [b], logLevel: 'info' })
  b.writeConfig({ authors: [a] })
  stranger.useRelay(a) // a user A's operator never allowed
  t.teardown(async () => { for (const r of [a, b]) await r.kill('SIGKILL') })
  await Promise.all([a.start(), b.start()])
  await waitFor('A linked to B', async () => (await a.status()).peers.some((p: { ready: boolean }) => p.ready) ? true : undefined)
  const alice = async (...args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> => await ddil([...args, '--data', a.dataDir])

  // configtest names the admin endpoints; each of them answers on the running relay.
  const described = (await alice('configtest')).stdout
  const paths = [...new Set([.../\/(healthz|status|metrics)\b/g[Symbol.matchAll](described)].map(m => m[0]))]
  t.same(paths.sort(), ['/healthz', '/metrics', '/status'], `configtest names ${paths.join(', ')}`)
  for (const path of paths) t.equal((await fetch(`http://127.0.0.1:${a.adminPort}${path}`)).status, 200, `${path} answers`)

  // A user the relay refuses hears that the relay refused them, not that nobody answered.
  const refused = await ddil(['channel', 'create', 'ops', '--data', stranger.dataDir])
  t.equal(refused.code, 1)
  t.match(refused.stderr, /the relay at ws:\/\/127\.0\.0\.1:\d+ refused this user \(user is not allowed on this node: .*\).*clients\.allow/)
  t.notMatch(refused.stderr, /no relay answering/)

  // Footguns.
  t.equal((await alice('channel', 'create', 'ops')).code, 0)
  const twice = await alice('channel', 'create', 'ops')
  t.equal(twice.code, 2, 'a second channel of the same name is refused')
  t.match(twice.stderr, /a channel named "ops" exists here already.*--force/)
  const empty = await alice('send', 'ops', '   ')
  t.equal(empty.code, 2)
  t.match(empty.stderr, /the message is empty/)
  const split = await alice('send', 'ops', 'pump 3 offline', '--ttl', '5', 'minutes')
  t.equal(split.code, 2)
  t.match(split.stderr, /^ddil: --ttl: invalid duration "5"/, `a split option value names the option: ${split.stderr.trim()}`)
  const capped = await alice('send', 'ops', 'long-lived', '--ttl', '30d')
  t.equal(capped.code, 0, capped.stderr)
  t.match(capped.stdout, /expires in 7d: the channel's retention caps --ttl 30d at 7d/, 'a TTL above the retention is capped, and the user is told')

  // The relay logs its peers at info; the CLI's authentications are not news.
  t.match(a.output, /peer connected/)
  t.notMatch(a.output, /client authenticated/)

  // B goes away; what A holds for it shows in status, by precedence, with the oldest age.
  await b.kill('SIGTERM')
  await waitFor('A to see B gone', async () => (await a.status()).away.length === 1 ? true : undefined)
  t.match(a.output, /peer disconnected/)
  for (const p of ['flash', 'routine', 'routine']) t.equal((await alice('send', 'ops', `while B is away (${p})`, '--precedence', p)).code, 0)
  const away = (await a.status()).away[0]
  t.equal(away.id, b.nodeId)
  t.ok(away.waiting[0] >= 1 && away.waiting[3] >= 2, `waiting for B: ${away.waiting.join('/')} (flash/immediate/priority/routine)`)
  t.ok(away.oldestWaitingMs >= 0, `oldest waiting ${away.oldestWaitingMs} ms`)
  const status = await alice('status')
  t.match(status.stdout, new RegExp(`away: +${b.nodeId} +since .* waiting for it: flash [1-9]\\d*, immediate 0, priority 0, routine [2-9]\\d*; oldest waiting`))
  await b.start()
  await waitFor('B back', async () => (await a.status()).away.length === 0 ? true : undefined)

  // A standing channel (#25): longer retention, a legal hold, then closed; its relay says so.
  const kept = await alice('channel', 'policy', 'ops', '--retention', '730d', '--hold')
  t.equal(kept.code, 0, kept.stderr)
  t.match(kept.stdout, /retention: messages 730d, files 730d\nlegal hold: ON/)
  t.match((await alice('send', 'ops', 'kept two years', '--ttl', '700d')).stdout, /expires in 700d/, 'the longer retention lets a TTL of years through')
  t.match((await alice('channel', 'policy', 'ops', '--close')).stdout, /state: closed \(archived\) at /)
  const late = await alice('send', 'ops', 'after the close')
  t.equal(late.code, 1)
  t.match(late.stderr, /the channel was closed \(archived\) at \d+ ms and takes no post stamped later/)
  const both = await alice('channel', 'policy', 'ops', '--close', '--reopen')
  t.equal(both.code, 2)
  t.match(both.stderr, /--close and --reopen exclude each other/)
})

t.test('npm start: stopping the launcher stops the relay', async t => {
  const r = await Relay.init('npm-start')
  r.writeConfig({ authors: [] })
  const npm = spawn('npm', ['start', '--', '--data', r.dataDir], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  npm.stdout.on('data', (c: Buffer) => { output += c.toString() })
  npm.stderr.on('data', (c: Buffer) => { output += c.toString() })
  t.teardown(() => { npm.kill('SIGKILL') })
  await waitFor('the relay under npm start', () => { if (npm.exitCode !== null) throw new Error(output); return output.includes('admin:') ? true : undefined })
  t.equal((await fetch(`http://127.0.0.1:${r.adminPort}/healthz`)).status, 200)
  const exited = new Promise(resolve => npm.once('exit', resolve))
  npm.kill('SIGTERM') // what a process manager or a container runtime sends the launcher
  await within(exited, 'npm to exit')
  await waitFor('the relay to stop', async () => { try { await fetch(`http://127.0.0.1:${r.adminPort}/healthz`); return undefined } catch { return true } })
  t.match(output, /SIGTERM: stopping/, 'the relay itself got the signal and stopped cleanly')
  // Its data directory is free again: a new relay starts on it.
  r.apiPort = await freePort(); r.adminPort = await freePort(); r.writeConfig({ authors: [] })
  await r.start()
  await r.kill('SIGTERM')
})
