// Links whose latency the host learns only after they are up (libp2p: the connection
// monitor's ping round trip). Told nothing, an engine takes every link to cost 1 ms; once
// the host reports a measurement the link's cost, latency and clock offset follow it,
// neighbours hear the new cost, and forwarding routes around a slow direct link.
import t from 'tap'
import { TestNet } from './helpers/net.ts'
import { decodeFrame, FrameType } from '../protocol/frames.ts'
import { toHex } from '../protocol/bytes.ts'
import type { Engine } from '../protocol/engine/engine.ts'

/** Costs `engine` advertised to `peer` in neighbours frames, newest last. */
function advertised (net: TestNet, from: string, to: string): Array<Array<{ ref: string, costMs: number }>> {
  const seen: Array<Array<{ ref: string, costMs: number }>> = []
  const link = net.link(from, to)!
  link.tamper = (sender, frame) => {
    if (sender === from && frame[0] === FrameType.neighbours) {
      const f = decodeFrame(frame)
      if (f.type === FrameType.neighbours) seen.push(f.neighbours.map(n => ({ ref: toHex(n.ref), costMs: n.costMs })))
    }
    return frame
  }
  return seen
}

t.test('linkMeasured sets latency, cost and clock offset; neighbours hear a changed rounded cost once', async t => {
  const net = new TestNet()
  const a = await net.node('a'); await net.node('b'); await net.node('c')
  net.connect('a', 'b', { untold: true })
  net.connect('a', 'c', { untold: true })
  const toB = advertised(net, 'a', 'b')
  await net.run(1_000)
  const c = a.probe.links.get('c')!
  t.same([c.costMs, c.latencyMs, c.clockOffsetMs], [1, 0, -1], 'told nothing: 1 ms, no latency; the hello\'s real 1 ms looks like a clock 1 ms behind')
  const before = toB.length

  a.linkMeasured('c', { latencyMs: 40 })
  await net.run(100)
  t.same([c.costMs, c.latencyMs, c.clockOffsetMs], [41, 40, 39], 'a 40 ms one-way latency: cost 41 ms, the hello offset corrected by 40 ms')
  t.equal(toB.length, before + 1, 'b was told once')
  t.ok(toB.at(-1)!.some(n => n.costMs === 41), 'the advertisement carries the new cost')

  a.linkMeasured('c', { latencyMs: 40.3 })
  await net.run(100)
  t.equal(toB.length, before + 1, 'the same rounded cost is not advertised again')
  t.equal(c.latencyMs, 40.3, 'though the link keeps the finer figure')

  a.linkMeasured('c', { bandwidthBitsPerSecond: 9600 })
  t.equal(c.costMs, 40.3 + 250, 'a bandwidth adds a typical envelope\'s serialisation (300 B at 9.6 kbps)')
})

t.test('linkMeasured ignores what it cannot use: unknown peers, NaN, negative latency, zero bandwidth', async t => {
  const net = new TestNet()
  const a = await net.node('a'); await net.node('b')
  net.connect('a', 'b', { latencyMs: 5 })
  await net.run(1_000)
  const b = a.probe.links.get('b')!
  const figures = (): number[] => [b.costMs, b.latencyMs, b.clockOffsetMs]
  const start = figures()
  t.doesNotThrow(() => { a.linkMeasured('nobody', { latencyMs: 3 }) })
  for (const info of [{ latencyMs: Number.NaN }, { latencyMs: -5 }, { latencyMs: Infinity }, { bandwidthBitsPerSecond: 0 }, { bandwidthBitsPerSecond: -1 }, {}]) {
    a.linkMeasured('b', info)
    t.same(figures(), start, `unchanged by ${JSON.stringify(info)}`)
  }
})

t.test('once measured, a relay pushes around a slow direct link; told nothing, it cannot', async t => {
  // s–d is a 600 ms satellite hop; s–r and r–d are 1 ms LAN hops. r skips d when s reaches d
  // directly at no more cost than through r: with every link at 1 ms that is always.
  const arrivalAtD = async (measured: boolean): Promise<{ ms: number, from: string }> => {
    const net = new TestNet()
    const engines: Record<string, Engine> = {}
    for (const id of ['s', 'r', 'd']) engines[id] = await net.node(id)
    const latency: Record<string, number> = { 's|d': 600, 's|r': 1, 'r|d': 1 }
    for (const [key, ms] of Object.entries(latency)) {
      const [x, y] = key.split('|')
      net.connect(x, y, { latencyMs: ms, untold: true })
    }
    await net.run(5_000)
    if (measured) {
      for (const [key, ms] of Object.entries(latency)) {
        const [x, y] = key.split('|')
        engines[x].linkMeasured(y, { latencyMs: ms })
        engines[y].linkMeasured(x, { latencyMs: ms })
      }
      await net.run(5_000)
    }
    const env = await net.post('s', net.author(1), 1)
    const postedAt = net.clock.now
    await net.run(2_000)
    const first = net.arrivals.find(a => a.node === 'd' && a.id === toHex(env.id))!
    return { ms: first.at - postedAt, from: first.from }
  }
  const untold = await arrivalAtD(false)
  const measured = await arrivalAtD(true)
  t.equal(untold.from, 's', `told nothing: d waits for the satellite copy (${untold.ms} ms)`)
  t.ok(untold.ms >= 600, 'which takes the 600 ms hop')
  t.equal(measured.from, 'r', `measured: r pushes it on (${measured.ms} ms)`)
  t.ok(measured.ms < 50, 'over the LAN')
})
