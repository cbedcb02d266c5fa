// The Transport acceptance suite (transport-acceptance.ts) against the relay's libp2p link
// adapter (node/p2p/link.ts) between two real hosts on loopback TCP. A network failure is
// the connection aborted under one host (its socket destroyed); a link comes up by a dial.
// Three links: undeclared; one whose bandwidth both sides declare, which is paced; one whose
// receiver takes smaller frames than the sender, which must report frames over its limit.
// Waits are for conditions with deadlines, `settle` included: it waits until whatever was
// sent has been read (a ping each way behind it on the same socket), or, with no connection
// left, until neither host holds one (nothing can arrive after that).
import t from 'tap'
import { multiaddr } from '@multiformats/multiaddr'
import { frameBytesMax } from '../protocol/limits.ts'
import type { DeclaredLink } from '../node/p2p/link-info.ts'
import type { LinkInfo } from '../protocol/ports.ts'
import { startHost } from './helpers/p2p-hosts.ts'
import { waitUntil } from './helpers/wait.ts'
import { runTransportAcceptance, type TransportFactory } from './transport-acceptance.ts'

interface Setup {
  /** Both sides declare the link's bandwidth (config `peers.links`), so its frames are paced. */
  declared?: DeclaredLink
  /** b's limit on frames, below a's: a takes frames b refuses on their length, and b reports a. */
  frameBytesMaxB?: number
}

function libp2pFactory (promisedInfo: Record<'a' | 'b', LinkInfo>, setup: Setup = {}): TransportFactory {
  const transport = setup.declared === undefined ? {} : { declaredLink: () => setup.declared }
  return {
    open: async (handlers) => {
      const a = await startHost(t, handlers.a, { seed: 31, transport })
      const b = await startHost(t, handlers.b, { seed: 32, transport: { ...transport, frameBytesMax: setup.frameBytesMaxB } })
      return {
        ids: { a: a.id, b: b.id },
        transports: { a: a.transport, b: b.transport },
        frameBytesMax: setup.frameBytesMaxB ?? frameBytesMax,
        promisedInfo,
        reported: (side) => (side === 'a' ? a : b).misbehaved.map(m => m.reason),
        connect: async () => { await a.host.dial(multiaddr(b.addr)) },
        cut: async () => { for (const c of a.host.getConnections(b.host.peerId)) c.abort(new Error('acceptance test: the network failed')) },
        until: async (what, done) => { await waitUntil(what, done, { everyMs: 5 }) },
        settle: async () => {
          if (a.host.getConnections(b.host.peerId).length > 0) {
            // Frames already written are ahead of the ping on the connection's socket: its answer means they were read.
            await a.host.services.ping.ping(b.host.peerId)
            await b.host.services.ping.ping(a.host.peerId)
          } else {
            await waitUntil('neither host to hold a connection', () => b.host.getConnections(a.host.peerId).length === 0)
          }
        },
        close: async () => { await a.stop(); await b.stop() },
      }
    },
  }
}

const both = (info: LinkInfo): Record<'a' | 'b', LinkInfo> => ({ a: info, b: info })
runTransportAcceptance(t, 'libp2p loopback', libp2pFactory(both({ frameBytesMax })))
runTransportAcceptance(t, 'libp2p loopback, declared 2 Mbps (paced)', libp2pFactory(both({ frameBytesMax, bandwidthBitsPerSecond: 2_000_000 }), { declared: { bandwidthBitsPerSecond: 2_000_000 } }))
runTransportAcceptance(t, 'libp2p loopback, the receiver\'s frames limited to 16 KiB', libp2pFactory({ a: { frameBytesMax }, b: { frameBytesMax: 16_384 } }, { frameBytesMaxB: 16_384 }))
