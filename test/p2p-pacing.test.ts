// Pacing a declared link (node/p2p/pacer.ts): frames are taken no faster than the link carries
// them, so they queue in the engine by precedence rather than in the FIFO buffers below.
// (On a real 9.6 kbps radio, emulate.test.ts shows the effect on a flash message: radio-burst.)
import { waitUntil } from './helpers/wait.ts'
import t from 'tap'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { LinkHandler, LinkInfo, PeerId } from '../protocol/ports.ts'
import { createHost } from '../node/p2p/host.ts'
import { attachFrameTransport } from '../node/p2p/link.ts'
import { linkPaceAheadMs, linkPaceShare } from '../node/p2p/limits.ts'
import { Pacer } from '../node/p2p/pacer.ts'

t.test('Pacer: one frame at once, the next when the wire is within the lead of free', async t => {
  const pacer = new Pacer(8000, 200) // 1000 bytes a second
  t.equal(pacer.waitMs(0), 0, 'an idle link takes a frame now')
  pacer.took(1000, 0)
  t.equal(pacer.waitMs(0), 800, 'a 1 s frame: the next may follow when 200 ms of it remain')
  t.equal(pacer.waitMs(800), 0, '...which is at 800 ms')
  pacer.took(500, 800)
  t.equal(pacer.waitMs(800), 500, 'taken early, it queues behind the first: free at 1.5 s, next at 1.3 s')
  t.equal(pacer.waitMs(5000), 0, 'an idle gap is not saved up as credit')
  pacer.took(1000, 5000)
  t.equal(pacer.waitMs(5000), 800, 'after the gap, pacing starts from now')
  const framed = new Pacer(8000, 0, 100) // each frame costs 100 bytes more below it
  framed.took(900, 0)
  t.equal(framed.waitMs(0), 1000, 'a frame is charged its bytes and the overhead below it: 1000 bytes, a second')
  for (const bad of [0, -1, Number.NaN, Infinity]) t.throws(() => new Pacer(bad, 200), RangeError, `a bandwidth of ${bad} is refused`)
})

class Pump implements LinkHandler {
  readonly ups: LinkInfo[] = []
  drains = 0
  onDrain: () => void = () => {}
  linkUp (_peer: PeerId, info: LinkInfo): void { this.ups.push(info) }
  linkDown (): void {}
  receive (): void {}
  drain (): void { this.drains++; this.onDrain() }
}

t.test('a declared 64 kbps link takes frames at its pace and asks for more; an undeclared one takes all at once', async t => {
  const keys = await Promise.all([7, 8].map(async (seed) => await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(seed))))
  const idB = peerIdFromPrivateKey(keys[1]).toString()
  const bandwidth = 64_000
  const [a, b] = await Promise.all(keys.map(async (privateKey, i) => {
    const host = await createHost({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], start: false })
    const handler = new Pump()
    const transport = attachFrameTransport(host, handler, { declaredLink: (peer) => i === 0 && peer === idB ? { bandwidthBitsPerSecond: bandwidth } : undefined })
    await transport.ready
    await host.start()
    t.teardown(async () => { await transport.close(); await host.stop() })
    return { host, handler, transport }
  }))
  await a.host.dial(multiaddr(b.host.getMultiaddrs()[0]))
  await waitUntil('links up on both sides', () => a.handler.ups.length > 0 && b.handler.ups.length > 0)
  const idA = a.host.peerId.toString()
  const frame = new Uint8Array(a.handler.ups[0]?.frameBytesMax ?? 0) // 8000 B: a second of the link
  const pump = (from: typeof a, to: PeerId, bytesMax: number): { taken: () => number } => {
    let taken = 0
    const fill = (): void => { while (taken < bytesMax && from.transport.send(to, frame)) taken += frame.byteLength }
    from.handler.onDrain = fill
    fill()
    return { taken: () => taken }
  }
  const start = performance.now()
  const paced = pump(a, idB, Infinity)
  const unpaced = pump(b, idA, 1_000_000)
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const elapsedMs = performance.now() - start
  const paceBytesPerMs = bandwidth * linkPaceShare / 8000
  const allowed = Math.ceil((elapsedMs + linkPaceAheadMs) * paceBytesPerMs / frame.byteLength + 1) * frame.byteLength
  t.ok(paced.taken() <= allowed, `paced: ${paced.taken()} bytes taken in ${elapsedMs.toFixed(0)} ms, at most ${allowed} (${paceBytesPerMs * 8} bits/ms plus one frame)`)
  t.ok(paced.taken() >= 2 * frame.byteLength && a.handler.drains >= 1, `paced: the engine was asked for more as the link freed (${a.handler.drains} drains)`)
  t.ok(unpaced.taken() >= 1_000_000, `unpaced (nothing declared): ${unpaced.taken()} bytes taken, as fast as the stream takes them`)
})
