// Simulated links, against hand-computed timings: serialisation and latency, one frame
// on the wire per direction with back-pressure and drain, loss as retransmission,
// one-way clogs, duplication, reordering, handshake delay, link-down losing what is in
// flight, and the options the engine tests set (tamper, untold, no redial, infinite
// bandwidth). Each engine is replaced by a recorder of the calls it would get.
import t from 'tap'
import type { LinkHandler, LinkInfo } from '../protocol/ports.ts'
import { SimNetwork } from '../sim/network.ts'
import { Rng } from '../sim/rng.ts'
import { Scheduler } from '../sim/scheduler.ts'
import type { LinkState } from '../sim/timeline.ts'
import { testSeed } from './helpers/seed.ts'

const seed = testSeed(t)

interface Recorder extends LinkHandler { log: Array<[number, string, string, number?]>, infos: LinkInfo[] }

function setup (state: Partial<LinkState>, nodes = ['a', 'b']) {
  const s = new Scheduler()
  const handlers = new Map<string, Recorder>()
  const alive = new Set(nodes)
  for (const n of nodes) {
    const log: Recorder['log'] = []
    const infos: LinkInfo[] = []
    handlers.set(n, {
      log, infos,
      linkUp: (peer, info) => { log.push([s.now, 'up', peer]); infos.push(info) },
      linkDown: (peer) => { log.push([s.now, 'down', peer]) },
      receive: (peer, frame) => { log.push([s.now, 'rx', peer, frame[0]]) },
      drain: (peer) => { log.push([s.now, 'drain', peer]) },
    })
  }
  const net = new SimNetwork(s, Rng.from(seed), { handler: (n) => alive.has(n) ? handlers.get(n) : undefined })
  net.addLink('a', 'b')
  const full: LinkState = { up: true, bandwidthBitsPerSecond: 8000, latencyMs: 100, loss: 0, jitterMs: 0, duplicate: 0, reorder: 0, ...state }
  net.setState('a', 'b', full)
  net.setState('b', 'a', full)
  const run = (until = Infinity): void => { while (s.step(until)) {} }
  return { s, net, a: handlers.get('a') as Recorder, b: handlers.get('b') as Recorder, alive, run, full }
}

const frame = (tag: number, bytes: number): Uint8Array => new Uint8Array(bytes).fill(tag)

t.test('connect after two round trips; serialise, then propagate; back-pressure and drain', async t => {
  const { net, a, b, run, s } = setup({})
  run()
  t.same(a.log, [[400, 'up', 'b']], 'handshake: 2 round trips of 100 ms')
  t.same(b.log, [[400, 'up', 'a']])
  t.equal(a.infos[0].frameBytesMax, 2048, 'frames sized to ~1 s of link, at least the protocol minimum')
  const tx = net.transport('a')
  t.ok(tx.send('b', frame(1, 100)), 'the idle wire takes a frame')
  t.notOk(tx.send('b', frame(2, 100)), 'a busy wire pushes back')
  run()
  // 100 B at 8000 bit/s = 100 ms on the wire, then 100 ms latency.
  t.same(b.log.slice(1), [[600, 'rx', 'a', 1]])
  t.same(a.log.slice(1), [[500, 'drain', 'b']], 'drain when the wire frees, before the frame lands')
  t.equal(s.now, 600)
})

t.test('loss costs a retransmission, never the frame', async t => {
  const { net, b, run } = setup({ loss: 0.5 })
  run()
  const tx = net.transport('a')
  let delivered = 0
  for (let i = 0; i < 40; i++) {
    while (!tx.send('b', frame(1, 10))) run()
    run()
    delivered = b.log.filter(e => e[1] === 'rx').length
  }
  t.equal(delivered, 40, 'every frame arrives')
  const times = b.log.filter(e => e[1] === 'rx').map(e => e[0])
  const gaps = times.slice(1).map((x, i) => x - times[i])
  t.ok(gaps.some(g => g >= 400), 'some frames waited a retransmission timeout (>= 4x latency)')
})

t.test('one-way clog drops silently in one direction only; both down disconnects', async t => {
  const { net, a, b, run, full } = setup({})
  run()
  net.setState('a', 'b', { ...full, up: false })
  t.ok(net.isConnected('a', 'b'), 'a clog is not a disconnect')
  t.ok(net.transport('a').send('b', frame(1, 10)))
  t.ok(net.transport('b').send('a', frame(2, 10)))
  run()
  t.equal(b.log.filter(e => e[1] === 'rx').length, 0, 'a → b frame vanished')
  t.same(a.log.filter(e => e[1] === 'rx'), [[a.log.find(e => e[1] === 'rx')?.[0], 'rx', 'b', 2]], 'b → a still delivered')
  net.transport('a').send('b', frame(3, 10))
  net.setState('b', 'a', { ...full, up: false })
  run()
  t.notOk(net.isConnected('a', 'b'))
  t.equal(b.log.filter(e => e[1] === 'rx').length, 0, 'in flight when the link went down: lost')
  t.ok(a.log.some(e => e[1] === 'down') && b.log.some(e => e[1] === 'down'), 'both engines told')
  t.notOk(net.transport('a').send('b', frame(4, 10)), 'a down link takes nothing')
})

t.test('duplicate delivers twice; reorder swaps with the next frame', async t => {
  const dup = setup({ duplicate: 1 })
  dup.run()
  dup.net.transport('a').send('b', frame(7, 10))
  dup.run()
  t.same(dup.b.log.filter(e => e[1] === 'rx').map(e => e[3]), [7, 7])
  const re = setup({ reorder: 1 })
  re.run()
  const tx = re.net.transport('a')
  tx.send('b', frame(1, 10))
  re.run(re.s.now + 12)
  tx.send('b', frame(2, 10))
  re.run()
  t.same(re.b.log.filter(e => e[1] === 'rx').map(e => e[3]), [2, 1], 'the first frame was held back and came after the second')
})

t.test('a crashed node: links drop, frames to it vanish, it relinks on restart', async t => {
  const { net, a, b, run, alive } = setup({})
  run()
  net.transport('a').send('b', frame(1, 10))
  alive.delete('b')
  net.nodeChanged('b')
  run()
  t.ok(a.log.some(e => e[1] === 'down'), 'the peer of a crashed node sees the link go down')
  t.equal(b.log.filter(e => e[1] === 'rx').length, 0)
  alive.add('b')
  net.nodeChanged('b')
  run()
  t.equal(a.log.filter(e => e[1] === 'up').length, 2, 'relinked after restart')
})

t.test('an engine asking to disconnect a peer is redialled later', async t => {
  const { net, a, run, s } = setup({})
  run()
  net.transport('a').disconnect('b', 'score below 0')
  t.notOk(net.isConnected('a', 'b'))
  const at = s.now
  run()
  const up = a.log.filter(e => e[1] === 'up')
  t.equal(up.length, 2)
  t.ok(up[1][0] >= at + 10_000, 'redial after the redial delay')
})

t.test('test options: tamper sees frames as they arrive; untold links say only the frame size; redialMs Infinity stays down', async t => {
  const { net, a, b, run, s } = setup({})
  const link = net.link('b', 'a')!
  link.untold = true
  link.redialMs = Infinity
  run()
  t.same(a.infos[0], { frameBytesMax: 65_536 }, 'untold: no latency, no bandwidth')
  const seen: number[] = []
  link.tamper = (from, frame) => { seen.push(s.now); return frame[0] === 1 ? null : from === 'a' ? Uint8Array.of(9) : frame }
  net.transport('a').send('b', frame(1, 10))
  run()
  net.transport('a').send('b', frame(2, 10))
  run()
  t.same(b.log.filter(e => e[1] === 'rx').map(e => e[3]), [9], 'the first dropped, the second replaced')
  t.same(seen, [510, 620], 'at arrival: 10 ms on the wire and 100 ms latency after the send (the first at the 400 ms link-up)')
  net.transport('a').disconnect('b', 'test')
  run()
  t.equal(a.log.filter(e => e[1] === 'up').length, 1, 'never redialled')
  t.notOk(net.isConnected('a', 'b'))
})

t.test('an infinite bandwidth: the wire frees at once, still one frame at a time, and the engines are told no bandwidth', async t => {
  const { net, a, b, run } = setup({ bandwidthBitsPerSecond: Infinity })
  run()
  t.same(a.infos[0], { frameBytesMax: 65_536, latencyMs: 100 })
  const tx = net.transport('a')
  t.ok(tx.send('b', frame(1, 60_000)))
  t.notOk(tx.send('b', frame(2, 10)), 'busy until the serialisation event, at the same instant')
  run()
  t.same(a.log.filter(e => e[1] === 'drain').map(e => e[0]), [400], 'drain at the same instant')
  t.same(b.log.filter(e => e[1] === 'rx').map(e => e[0]), [500], 'the frame arrives after the latency alone')
})
