// Interop: a stock js-libp2p node, built only from registry packages with their defaults (no code of
// ours), dials our host on loopback, completes identify (learning /ddil/sync/1.0.0 among our protocols)
// and a ping round trip. If our host drifted from standard libp2p, this is where it shows.
import t from 'tap'
import { waitUntil } from './helpers/wait.ts'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import type { Libp2p, PeerId as Libp2pPeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { LinkHandler, PeerId } from '../protocol/ports.ts'
import { createHost } from '../node/p2p/host.ts'
import { attachFrameTransport, syncProtocol } from '../node/p2p/link.ts'

async function waitFor (what: string, predicate: () => Promise<boolean>): Promise<void> {
  await waitUntil(what, predicate, { everyMs: 5 })
}

async function protocolsOf (node: Libp2p, id: Libp2pPeerId): Promise<string[]> {
  try {
    return (await node.peerStore.get(id)).protocols
  } catch (e) {
    if ((e as Error).name === 'NotFoundError') return [] // not identified yet
    throw e
  }
}

t.test('a stock libp2p node identifies and pings our host', async (t) => {
  const ups: PeerId[] = []
  const handler: LinkHandler = { linkUp: (peer) => { ups.push(peer) }, linkDown: () => {}, receive: () => {} }
  const ours = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'], start: false })
  const transport = attachFrameTransport(ours, handler)
  await transport.ready
  await ours.start()
  t.teardown(async () => { await transport.close(); await ours.stop() })

  const stock = await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() },
  })
  t.teardown(() => stock.stop())

  const tcpAddr = ours.getMultiaddrs().find((ma) => !ma.toString().includes('/ws'))
  t.ok(tcpAddr, 'our host listens on loopback tcp')
  t.ok(ours.getMultiaddrs().some((ma) => ma.toString().includes('/ws')), 'and on loopback websockets')
  const connection = await stock.dial(multiaddr(String(tcpAddr)))
  t.equal(connection.remotePeer.toString(), ours.peerId.toString(), 'Noise authenticated our peer id')
  t.equal(connection.multiplexer, '/yamux/1.0.0', 'yamux negotiated')
  t.equal(connection.encryption, '/noise', 'noise negotiated')

  await waitFor('stock node identified us', async () => (await protocolsOf(stock, ours.peerId)).includes(syncProtocol))
  const theirView = await protocolsOf(stock, ours.peerId)
  t.ok(theirView.includes('/ipfs/id/1.0.0') && theirView.includes('/ipfs/ping/1.0.0'), `stock node sees identify and ping: ${theirView.join(' ')}`)
  await waitFor('we identified the stock node', async () => (await protocolsOf(ours, stock.peerId)).includes('/ipfs/ping/1.0.0'))

  const rttMs = await stock.services.ping.ping(ours.peerId)
  t.ok(Number.isFinite(rttMs) && rttMs >= 0, `ping round trip from stock node (${rttMs} ms)`)
  const backMs = await ours.services.ping.ping(stock.peerId)
  t.ok(Number.isFinite(backMs) && backMs >= 0, 'and back')
  t.same(ups, [], 'no sync link to a peer that does not speak the protocol')
})
