// The Transport acceptance suite (transport-acceptance.ts) against the relay's libp2p link
// adapter (node/p2p/link.ts) between two real hosts on loopback TCP. A network failure is
// the connection aborted under one host (its socket destroyed); a link comes up by a dial.
// Twice: an undeclared link, and one whose bandwidth both sides declare, which is paced.
// Waits are for conditions with deadlines; `settle` alone waits a fixed 200 ms, only to see
// that nothing more arrives.
import t from 'tap'
import { multiaddr } from '@multiformats/multiaddr'
import { frameBytesMax } from '../protocol/limits.ts'
import type { DeclaredLink } from '../node/p2p/link-info.ts'
import type { LinkInfo } from '../protocol/ports.ts'
import { startHost } from './helpers/p2p-hosts.ts'
import { waitUntil } from './helpers/wait.ts'
import { runTransportAcceptance, type TransportFactory } from './transport-acceptance.ts'

/** Real time `settle` lets pass, ms: loopback delivers within a few ms. */
const settleMs = 200

/** Two hosts; `declared`: both declare the link's bandwidth (config `peers.links`), so its frames are paced. */
function libp2pFactory (promisedInfo: LinkInfo, declared?: DeclaredLink): TransportFactory {
  const transport = declared === undefined ? {} : { declaredLink: () => declared }
  return {
    open: async (handlers) => {
      const a = await startHost(t, handlers.a, { seed: 31, transport })
      const b = await startHost(t, handlers.b, { seed: 32, transport })
      return {
        ids: { a: a.id, b: b.id },
        transports: { a: a.transport, b: b.transport },
        frameBytesMax,
        promisedInfo,
        reported: (side) => (side === 'a' ? a : b).misbehaved.map(m => m.reason),
        connect: async () => { await a.host.dial(multiaddr(b.addr)) },
        cut: async () => { for (const c of a.host.getConnections(b.host.peerId)) c.abort(new Error('acceptance test: the network failed')) },
        until: async (what, done) => { await waitUntil(what, done, { everyMs: 5 }) },
        settle: async () => { await new Promise(resolve => setTimeout(resolve, settleMs)) },
        close: async () => { await a.stop(); await b.stop() },
      }
    },
  }
}

runTransportAcceptance(t, 'libp2p loopback', libp2pFactory({ frameBytesMax }))
runTransportAcceptance(t, 'libp2p loopback, declared 2 Mbps (paced)', libp2pFactory({ frameBytesMax, bandwidthBitsPerSecond: 2_000_000 }, { bandwidthBitsPerSecond: 2_000_000 }))
