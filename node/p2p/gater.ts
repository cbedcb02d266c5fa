/**
 * Peer governance for the libp2p host. In `allowlist` mode a peer whose id is
 * not listed is refused right after Noise has authenticated it (the
 * `deny*EncryptedConnection` hooks run after the security handshake and before
 * muxer negotiation), and `onRefused` is told so the daemon can audit it. In
 * every mode only IP multiaddrs are dialled or stored: a peer cannot make us
 * resolve a DNS name by advertising one.
 *
 * @example
 * const gater = createGater({ mode: 'allowlist', allow: ['12D3KooW…'] }, (peer, dir, why) => audit.peerRefused(peer, dir, why))
 */
import type { ConnectionGater, MultiaddrConnection, PeerId as Libp2pPeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type PeerMode = 'open' | 'allowlist'

export interface PeerPolicy {
  mode: PeerMode
  /** Peer ids (base58 / CID strings) allowed in `allowlist` mode. */
  allow?: readonly string[]
}

export type ConnectionDirection = 'inbound' | 'outbound'

/** Called when the gater refuses an authenticated peer; `remoteAddr` says where it came from or where we dialled. */
export type RefusedCallback = (peerId: string, direction: ConnectionDirection, reason: string, remoteAddr: string) => void

export const refusedNotAllowlisted = 'peer id not in allowlist'

/** Multiaddrs whose first component is a literal IP address: anything else would need a name lookup. */
export function isIpMultiaddr (ma: Multiaddr): boolean {
  const first = ma.getComponents()[0]
  return first !== undefined && (first.name === 'ip4' || first.name === 'ip6')
}

export function createGater (policy: PeerPolicy, onRefused?: RefusedCallback): ConnectionGater {
  const gater: ConnectionGater = {
    denyDialMultiaddr: (ma) => !isIpMultiaddr(ma),
    filterMultiaddrForPeer: (_peer, ma) => isIpMultiaddr(ma),
  }
  if (policy.mode === 'open') return gater
  const allowed = new Set(policy.allow ?? [])
  const refuse = (peer: Libp2pPeerId, direction: ConnectionDirection, maConn: MultiaddrConnection): boolean => {
    const id = peer.toString()
    if (allowed.has(id)) return false
    onRefused?.(id, direction, refusedNotAllowlisted, maConn.remoteAddr.toString())
    return true
  }
  gater.denyDialPeer = (peer) => !allowed.has(peer.toString())
  gater.denyInboundEncryptedConnection = (peer, maConn) => refuse(peer, 'inbound', maConn)
  gater.denyOutboundEncryptedConnection = (peer, maConn) => refuse(peer, 'outbound', maConn)
  return gater
}
