// Young links (#24), ping-pong on virtual time. Responders' relays meet for seconds to
// minutes, too briefly for per-author prunes to build push trees, and eager copies of a wave
// crossed (12% of payload bytes on scenarios/mobile.yaml's trace). On a link up for less
// than `youngLinkMs`, a relay announces an envelope it relays where another of its
// neighbours reaches the peer too, and the peer asks for it after `youngLinkGraftDelayMs`;
// a bridge, the author's own relay and a settled link push as ever.
import t from 'tap'
import { TestNet } from './helpers/net.ts'
import { toHex } from '../protocol/bytes.ts'
import { announcesRelayed } from '../protocol/engine/forwarding.ts'
import { defaultEngineConfig } from '../protocol/engine/types.ts'
import { decodeFrame, FrameType } from '../protocol/frames.ts'

const young = defaultEngineConfig.youngLinkMs

t.test('announcesRelayed: only a young link, and only where another neighbour reaches the peer', async t => {
  const yes = (): boolean => true
  t.ok(announcesRelayed(0, young, yes))
  t.ok(announcesRelayed(young - 1, young, yes))
  t.notOk(announcesRelayed(young, young, () => { t.fail('a settled link does not walk the neighbours'); return true }), 'settled')
  t.notOk(announcesRelayed(0, young, () => false), 'a bridge')
  t.notOk(announcesRelayed(Infinity, young, yes))
})

/** What went over a→q, in order: `copy` of an envelope (its bytes, hex) or `have` of an id (hex). */
function watch (net: TestNet, a: string, q: string): string[] {
  const seen: string[] = []
  const link = net.link(a, q)
  if (link === undefined) throw new Error(`no link ${a}-${q}`)
  link.tamper = (from, frame) => {
    if (from !== a) return frame
    const f = decodeFrame(frame)
    if (f.type === FrameType.envelope) seen.push(`copy ${toHex(f.envelope)}`)
    if (f.type === FrameType.have) seen.push(...f.ids.map(id => `have ${toHex(id)}`))
    return frame
  }
  return seen
}

/** src – a – q, and b, a neighbour of both a and q (so a sees another way into q). */
async function mesh (): Promise<TestNet> {
  const net = new TestNet()
  for (const id of ['src', 'a', 'b', 'q']) await net.node(id)
  net.connect('src', 'a'); net.connect('a', 'q'); net.connect('a', 'b'); net.connect('b', 'q')
  await net.run(1_000) // hellos and neighbour lists; every link is young
  return net
}

t.test('in a mesh, a young link carries a relayed envelope as an announcement, and the peer asks for it at once', async t => {
  const net = await mesh()
  const seen = watch(net, 'a', 'q')
  const env = await net.post('src', net.author(1), 1)
  await net.run(500)
  t.same(seen, [`have ${toHex(env.id)}`, `copy ${toHex(env.bytes)}`], 'a announced it to q, and sent it when q asked')
  t.ok(net.engines.get('q')?.holds(env.id), 'q holds it')
  t.equal(net.engines.get('q')?.counters.duplicatesReceived, 0, 'q got one copy')
  t.equal(net.engines.get('q')?.counters.grafts, 1, 'q asked (want) once')
})

t.test('once the links settle, the same relay pushes again', async t => {
  const net = await mesh()
  await net.run(young)
  const seen = watch(net, 'a', 'q')
  const env = await net.post('src', net.author(2), 1)
  await net.run(500)
  t.ok(net.engines.get('q')?.holds(env.id), 'q holds it')
  t.same(seen, [`copy ${toHex(env.bytes)}`], 'a pushed the copy, without announcing it')
})

t.test('a bridge pushes, young or not: nothing else would bring the peer a copy', async t => {
  const net = new TestNet()
  for (const id of ['src', 'a', 'q']) await net.node(id)
  net.connect('src', 'a'); net.connect('a', 'q')
  await net.run(1_000)
  const seen = watch(net, 'a', 'q')
  const env = await net.post('src', net.author(3), 1)
  await net.run(200)
  t.same(seen, [`copy ${toHex(env.bytes)}`], 'a pushed it to q, and announced nothing')
})
