// The virtual network `ddil emulate` runs relays on (#26, node/emulate/net.ts), checked with
// small TCP programs run inside its namespaces: a node reaches its link peers and nothing
// beyond them, a 9.6 kbps link carries 9.6 kbps (less the headers), a link cut both ways is
// silent (an open connection hears nothing, and carries on once it is back), and teardown
// leaves nothing behind. Needs root and network namespaces; skipped without them.
import t, { type Test } from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { connect } from 'node:net'
import { buildEmulatedNet } from '../node/emulate/net.ts'
import { within } from './helpers/wait.ts'

const tag = process.pid % 10_000
const port = 7000

/** Why these tests cannot run here, or undefined when they can. */
function whySkip (): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)'
  const probe = `ddeprobe${process.pid}`
  const r = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' })
  spawnSync('ip', ['netns', 'del', probe])
  return r.status === 0 ? undefined : `\`ip netns add\` failed: ${r.stderr ?? r.error?.message}`
}

/**
 * A TCP end run inside a namespace, talking over stdio: a sink prints each chunk it receives
 * (with its own clock, so timing is the receiver's); a client prints its socket's events and
 * writes what stdin asks for, as one write.
 */
const endScript = `
const net = require('node:net'); const [role, host, port] = process.argv.slice(1)
const say = x => process.stdout.write(JSON.stringify(x) + '\\n')
if (role === 'sink') {
  net.createServer(s => { s.on('data', d => say({ data: d.length, atMs: performance.now() })); s.on('error', () => {}) })
    .listen(Number(port), host, () => say({ listening: true }))
} else {
  const s = net.connect(Number(port), host, () => say({ connected: true }))
  s.on('error', e => say({ error: e.code })); s.on('close', () => say({ close: true }))
  require('node:readline').createInterface({ input: process.stdin }).on('line', l => s.write(Buffer.alloc(Number(l), 120)))
}`

interface End {
  child: ChildProcess
  lines: any[]
  /** The first printed line that passes `test` (one already printed counts); never times out. */
  seen: (test: (line: any) => boolean) => Promise<any>
  /** The same, or a failure naming `what` after `ms` (default: the tests' patience). */
  next: (what: string, test: (line: any) => boolean, ms?: number) => Promise<any>
}

/** Runs the sink or client in namespace `ns`. */
function endIn (t: Test, ns: string, role: 'sink' | 'client', host: string): End {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', endScript, role, host, String(port)], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.teardown(() => { child.kill('SIGKILL') })
  const lines: any[] = []
  const waiters: Array<() => void> = []
  let rest = ''
  child.stdout?.on('data', (c: Buffer) => {
    const parts = (rest + c.toString()).split('\n')
    rest = parts.pop() ?? ''
    for (const p of parts) lines.push(JSON.parse(p))
    for (const w of waiters.splice(0)) w()
  })
  const seen = async (test: (line: any) => boolean): Promise<any> => await new Promise(resolve => {
    const look = (): void => { const hit = lines.find(test); if (hit !== undefined) resolve(hit); else waiters.push(look) }
    look()
  })
  return { child, lines, seen, next: async (what, test, ms) => await within(seen(test), what, ms) }
}

const received = (sink: End): number => sink.lines.reduce((sum, l) => sum + (l.data ?? 0), 0)

const skip = whySkip()
if (skip !== undefined) t.comment(`skipped: ${skip}`)

t.test('the emulated network', { skip }, async t => {
  const net = buildEmulatedNet(['a', 'b', 'c'], [{ a: 'a', b: 'b' }, { a: 'b', b: 'c' }], { tag, bitsPerSecond: () => 1_000_000 })
  t.teardown(net.teardown)
  const bothWays = (bits: number, up = true): void => { for (const [x, y] of [['a', 'b'], ['b', 'a']]) net.setDirection(x, y, { up, bandwidthBitsPerSecond: bits }) }

  await t.test('a node reaches its link peer and no one beyond; management addresses are reachable from here', async t => {
    const sinkB = endIn(t, net.ns('b'), 'sink', '0.0.0.0')
    await sinkB.next('the sink at B listening', l => l.listening)
    const toB = endIn(t, net.ns('a'), 'client', net.linkAddress('b', 'a'))
    t.ok(await toB.next('A connected to B', l => l.connected || l.error), 'A connects to B over their link')
    t.same(toB.lines[0], { connected: true })
    for (const [what, host] of [['C\'s link address', net.linkAddress('c', 'b')], ['C\'s management address', net.mgmtAddress('c')]]) {
      const toC = endIn(t, net.ns('a'), 'client', host)
      t.same(await toC.next(`A's try at ${what}`, l => l.connected || l.error), { error: 'ENETUNREACH' }, `A has no route to ${what}`)
    }
    const fromHere = connect(port, net.mgmtAddress('b'))
    t.teardown(() => { fromHere.destroy() })
    await within(new Promise((resolve, reject) => { fromHere.on('connect', resolve).on('error', reject) }), 'a connection from here to B\'s management address')
    t.pass('this namespace reaches B\'s management address')
  })

  await t.test('a 9.6 kbps link is a 9.6 kbps link', async t => {
    bothWays(9600)
    const sinkB = endIn(t, net.ns('b'), 'sink', net.linkAddress('b', 'a'))
    await sinkB.next('the sink at B listening', l => l.listening)
    const toB = endIn(t, net.ns('a'), 'client', net.linkAddress('b', 'a'))
    await toB.next('A connected to B', l => l.connected)
    // Full frames: 1500-byte IP packets carry 1448 bytes (IP 20, TCP 20, timestamps 12) in 1514
    // bytes on the wire (Ethernet's 14 counted by tbf), so TCP's goodput is 9600 × 1448/1514.
    // One write of three full segments: the link's 3 s queue holds about 3.4 frames, and TCP sends
    // its whole initial window (10 segments) at once, so a larger write loses its tail in the
    // queue and then measures TCP's recovery, not the link (9 KB measured 7.65 kbit/s, 5 drops).
    const mss = 1448
    const expected = 9600 * mss / 1514
    const bytes = 3 * mss
    toB.child.stdin?.write(`${bytes}\n`)
    await sinkB.next(`${bytes} bytes at B`, () => received(sinkB) >= bytes, 60_000)
    const chunks = sinkB.lines.filter(l => l.data !== undefined)
    const [first, last] = [chunks[0], chunks[chunks.length - 1]]
    // From the first chunk's arrival to the last's, what came after the first was carried.
    const goodput = (received(sinkB) - first.data) * 8 / ((last.atMs - first.atMs) / 1000)
    const drops = /dropped (\d+)/.exec(spawnSync('tc', ['-s', '-n', `dde${tag}w`, 'qdisc', 'show', 'dev', 'w0b'], { encoding: 'utf8' }).stdout)?.[1]
    t.comment(`arrivals (ms: bytes): ${chunks.map(c => `${Math.round(c.atMs - first.atMs)}: ${c.data}`).join(', ')}; packets the queue dropped (TCP resends before it has learnt the round trip): ${drops}`)
    t.comment(`9.6 kbps link: ${Math.round(goodput)} bit/s of TCP payload measured over ${chunks.length} chunks (${Math.round(last.atMs - first.atMs)} ms), ${Math.round(expected)} expected`)
    t.ok(Math.abs(goodput - expected) <= 0.2 * expected, `goodput ${Math.round(goodput)} bit/s within ±20% of ${Math.round(expected)}`)
  })

  await t.test('a link that is down is silent, and carries on once up', async t => {
    bothWays(1_000_000)
    const sinkB = endIn(t, net.ns('b'), 'sink', net.linkAddress('b', 'a'))
    await sinkB.next('the sink at B listening', l => l.listening)
    const toB = endIn(t, net.ns('a'), 'client', net.linkAddress('b', 'a'))
    await toB.next('A connected to B', l => l.connected)
    toB.child.stdin?.write('100\n')
    await sinkB.next('the first 100 bytes at B', () => received(sinkB) >= 100)
    bothWays(1_000_000, false)
    toB.child.stdin?.write('100\n')
    // The check is of silence: for 2 s neither end may hear anything, error or bytes.
    const heard = await Promise.race([
      toB.seen(l => l.error || l.close).then(l => `A heard ${JSON.stringify(l)}`),
      sinkB.seen(() => received(sinkB) > 100).then(() => 'B received bytes'),
      new Promise<string>(resolve => setTimeout(resolve, 2000, 'nothing')),
    ])
    t.equal(heard, 'nothing', 'for 2 s with the link down: no error, no close, no bytes through')
    bothWays(1_000_000)
    await sinkB.next('the second 100 bytes at B once the link is up', () => received(sinkB) >= 200, 30_000)
    t.equal(received(sinkB), 200, 'the bytes written during the outage arrived once the link was up')
    t.same(toB.lines, [{ connected: true }], 'A\'s connection never saw an error or a close')
  })

  await t.test('teardown removes every namespace and the management veths', async t => {
    net.teardown()
    net.teardown() // idempotent
    const namespaces = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout
    t.notOk(namespaces.split('\n').some(l => l.startsWith(`dde${tag}n`) || l.startsWith(`dde${tag}w`)), 'no namespace of this run is left')
    const links = spawnSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' }).stdout
    t.notOk(links.includes(`dde${tag}m`), 'no management veth is left in this namespace')
  })
})
