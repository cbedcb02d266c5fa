// What libp2p links tell the engine about themselves. The host's connection monitor measures
// each connection's round trip, and the sync transport passes half of it to the engine (at
// linkUp when known, else from a ping at once, then whenever it moves enough to matter). A
// link the operator declared slow (config peers.links) gets frames of about a second of its
// bandwidth, and its declared latency until measured.
import { waitUntil } from './helpers/wait.ts'
import t from 'tap'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { Connection } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { frameBytesMax, frameBytesMin } from '../protocol/limits.ts'
import { hostPingTimeoutMsMin } from '../node/p2p/limits.ts'
import type { LinkHandler, LinkInfo, PeerId } from '../protocol/ports.ts'
import { createHost } from '../node/p2p/host.ts'
import { attachFrameTransport } from '../node/p2p/link.ts'
import { LatencyReports, linkInfo } from '../node/p2p/link-info.ts'

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
  const heard = (n: typeof a): number | undefined => n.handler.measured[0]?.latencyMs ?? n.handler.ups[0]?.latencyMs
  await waitUntil('both sides told a latency', () => heard(a) !== undefined && heard(b) !== undefined)
  for (const [name, n] of [['a', a], ['b', b]] as const) {
    const ms = heard(n)
    t.ok(ms !== undefined && ms >= 0 && ms < 1000, `${name} was told a one-way latency on loopback: ${ms} ms`)
  }
})

t.test('pings overlapping on one connection are all answered (the monitor aborts a connection whose ping is refused)', async t => {
  const hosts = await Promise.all([5, 6].map(async (seed) => {
    const privateKey = await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(seed))
    const host = await createHost({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'] })
    t.teardown(async () => { await host.stop() })
    return host
  }))
  const [a, b] = hosts
  const connection = await a.dial(multiaddr(b.getMultiaddrs()[0]))
  // Six at once: libp2p's defaults allow one outbound and two inbound ping streams per connection.
  const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map(async () => await a.services.ping.ping(b.peerId)))
  t.same(results.map((r) => r.status === 'rejected' ? (r.reason as Error).message : 'ok'), Array(6).fill('ok'), 'every ping answered')
  t.equal(connection.status, 'open', 'the connection is still open')
  // Answering, libp2p resets a ping stream after 10 s: behind a loaded radio's queue the asking
  // monitor then aborted the connection (a loaded 9.6 kbps radio). Ours waits as long as the monitor may.
  t.equal((a.services.ping as unknown as { timeout: number }).timeout, 2 * hostPingTimeoutMsMin, 'a ping stream is answered for as long as the monitor waits')
})

t.test('linkInfo: a declared link gets about a second of frames, within bounds; a measured latency wins', async t => {
  t.same(linkInfo(frameBytesMax, undefined, undefined), { frameBytesMax }, 'nothing known: the largest frames, no figures')
  t.same(linkInfo(frameBytesMax, undefined, 0.5), { frameBytesMax, latencyMs: 0.5 }, 'measured only')
  t.same(linkInfo(frameBytesMax, { bandwidthBitsPerSecond: 64_000, latencyMs: 300 }, undefined), { frameBytesMax: 8000, bandwidthBitsPerSecond: 64_000, latencyMs: 300 }, '64 kbps satcom: 8000 B frames, the declared latency')
  t.same(linkInfo(frameBytesMax, { bandwidthBitsPerSecond: 64_000, latencyMs: 300 }, 40), { frameBytesMax: 8000, bandwidthBitsPerSecond: 64_000, latencyMs: 40 }, 'a measured latency replaces the declared one')
  t.equal(linkInfo(frameBytesMax, { bandwidthBitsPerSecond: 100e6 }, undefined).frameBytesMax, frameBytesMax, '100 Mbps: no larger than the protocol allows')
  t.equal(linkInfo(frameBytesMax, { bandwidthBitsPerSecond: 9600 }, undefined).frameBytesMax, frameBytesMin, '9.6 kbps radio: no smaller than one envelope needs (2 KiB, 1.7 s)')
  t.equal(linkInfo(4096, { bandwidthBitsPerSecond: 1e6 }, undefined).frameBytesMax, 4096, 'nor larger than this host\'s own bound')
})

t.test('two hosts on loopback: a declared 64 kbps link comes up with its frame size, bandwidth and latency', async t => {
  const keys = await Promise.all([3, 4].map(async (seed) => await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(seed))))
  const idB = peerIdFromPrivateKey(keys[1]).toString()
  const [a, b] = await Promise.all(keys.map(async (privateKey, i) => {
    const host = await createHost({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], start: false })
    const handler = new Measured()
    // a declares its link to b; b declares nothing
    const transport = attachFrameTransport(host, handler, { declaredLink: (peer) => i === 0 && peer === idB ? { bandwidthBitsPerSecond: 64_000, latencyMs: 300 } : undefined })
    await transport.ready
    await host.start()
    t.teardown(async () => { await transport.close(); await host.stop() })
    return { host, handler }
  }))
  await a.host.dial(multiaddr(b.host.getMultiaddrs()[0]))
  await waitUntil('links up on both sides', () => a.handler.ups.length > 0 && b.handler.ups.length > 0)
  t.same(a.handler.ups[0], { frameBytesMax: 8000, bandwidthBitsPerSecond: 64_000, latencyMs: 300 }, 'a\'s declared link to b')
  t.equal(b.handler.ups[0]?.frameBytesMax, frameBytesMax, 'b declared nothing (the engines agree on the smaller frames in hello)')
})
