// Link latency on libp2p links: the host's connection monitor measures each connection's
// round trip, and the sync transport passes half of it to the engine (at linkUp when known,
// else from a ping at once, then whenever it moves enough to matter).
import t from 'tap'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { Connection } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { LinkHandler, LinkInfo, PeerId } from '../protocol/ports.ts'
import { createHost } from '../node/p2p/host.ts'
import { attachFrameTransport, LatencyReports } from '../node/p2p/link.ts'

class Measured implements LinkHandler {
  readonly ups: LinkInfo[] = []
  readonly measured: Array<{ peer: PeerId, latencyMs: number | undefined }> = []
  linkUp (_peer: PeerId, info: LinkInfo): void { this.ups.push(info) }
  linkDown (): void {}
  receive (): void {}
  linkMeasured (peer: PeerId, info: LinkInfo): void { this.measured.push({ peer, latencyMs: info.latencyMs }) }
}

t.test('reports: the first figure always, then only a move of more than 5 ms and a quarter', async t => {
  const handler = new Measured()
  const reports = new LatencyReports(handler)
  const connection = { rtt: undefined } as unknown as { rtt: number | undefined } & Connection
  t.equal(reports.track('p', connection), undefined, 'no round trip yet: linkUp carries no latency')
  reports.remeasure('p')
  t.same(handler.measured, [], 'nothing to read yet')
  reports.measured('p', 40)
  t.same(handler.measured, [{ peer: 'p', latencyMs: 20 }], 'the first round trip: half of it, one way')
  for (const rtt of [44, 30, 48, Number.NaN, -1, Infinity]) reports.measured('p', rtt)
  t.equal(handler.measured.length, 1, 'jitter within 5 ms or a quarter, and nonsense, are not reported')
  connection.rtt = 60
  reports.remeasure('p')
  t.same(handler.measured.at(-1), { peer: 'p', latencyMs: 30 }, 'the monitor\'s newer round trip moved it 10 ms: reported')
  connection.rtt = 1200
  reports.remeasure('p')
  t.same(handler.measured.at(-1), { peer: 'p', latencyMs: 600 }, 'a link that turned into a satellite hop')
  reports.forget('p')
  reports.measured('p', 10)
  t.equal(handler.measured.length, 3, 'a forgotten link is not reported')
  connection.rtt = 8
  t.equal(reports.track('q', connection), 4, 'a connection measured before its link came up: linkUp carries it')
})

t.test('two hosts on loopback: the engine hears each link\'s latency within a moment of linkUp', async t => {
  const nodes = await Promise.all([1, 2].map(async (seed) => {
    const privateKey = await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(seed))
    const host = await createHost({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], start: false, limits: { pingIntervalMs: 200 } })
    const handler = new Measured()
    const transport = attachFrameTransport(host, handler, { measureEveryMs: 100 })
    await transport.ready
    await host.start()
    t.teardown(async () => { await transport.close(); await host.stop() })
    return { host, handler }
  }))
  const [a, b] = nodes
  await a.host.dial(multiaddr(b.host.getMultiaddrs()[0]))
  const deadline = performance.now() + 5000
  const heard = (n: typeof a): number | undefined => n.handler.measured[0]?.latencyMs ?? n.handler.ups[0]?.latencyMs
  while ((heard(a) === undefined || heard(b) === undefined) && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
  for (const [name, n] of [['a', a], ['b', b]] as const) {
    const ms = heard(n)
    t.ok(ms !== undefined && ms >= 0 && ms < 1000, `${name} was told a one-way latency on loopback: ${ms} ms`)
  }
})
