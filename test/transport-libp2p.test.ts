// The Transport acceptance suite (transport-acceptance.ts) against the relay's libp2p link
// adapter (node/p2p/link.ts) between two real hosts on loopback TCP. A network failure is
// the connection aborted under both hosts (the socket destroyed); a link comes up by a dial.
// Waits are for conditions with deadlines; `settle` alone waits a fixed 200 ms, only to see
// that nothing more arrives.
import t from 'tap'
import { multiaddr } from '@multiformats/multiaddr'
import { frameBytesMax } from '../protocol/limits.ts'
import { startHost } from './helpers/p2p-hosts.ts'
import { waitUntil } from './helpers/wait.ts'
import { runTransportAcceptance, type TransportFactory } from './transport-acceptance.ts'

/** Real time `settle` lets pass, ms: loopback delivers within a few ms. */
const settleMs = 200

const libp2pFactory: TransportFactory = {
  open: async (handlers) => {
    const a = await startHost(t, handlers.a, { seed: 31 })
    const b = await startHost(t, handlers.b, { seed: 32 })
    return {
      ids: { a: a.id, b: b.id },
      transports: { a: a.transport, b: b.transport },
      frameBytesMax,
      promisedInfo: { frameBytesMax },
      reported: (side) => (side === 'a' ? a : b).misbehaved.map(m => m.reason),
      connect: async () => { await a.host.dial(multiaddr(b.addr)) },
      cut: async () => { for (const c of a.host.getConnections(b.host.peerId)) c.abort(new Error('acceptance test: the network failed')) },
      until: async (what, done) => { await waitUntil(what, done, { everyMs: 5 }) },
      settle: async () => { await new Promise(resolve => setTimeout(resolve, settleMs)) },
      close: async () => { await a.stop(); await b.stop() },
    }
  },
}

runTransportAcceptance(t, 'libp2p loopback', libp2pFactory)
