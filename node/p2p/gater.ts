/**
 * Peer governance for the libp2p host.
 *
 * Before Noise: every inbound connection passes admission (../admission.ts): a bounded
 * pool of unfinished handshakes, a share per source address, a reserve for the addresses
 * of allowlisted and static peers, the oldest unfinished handshake dropped for a newcomer,
 * and a short deadline while the pool is under pressure. Silent TCP connections from one
 * address used to keep every pending-handshake slot full, so new peers could not connect.
 * Each drop is told to `onRefused` (no peer id yet) so the daemon can audit the pressure.
 *
 * After Noise: a peer the engine disconnected is refused while its backoff lasts
 * (backoff.ts), whatever the mode, and not dialled either; in `allowlist` mode a peer whose
 * id is not listed is refused (the `deny*EncryptedConnection` hooks run after the security
 * handshake and before muxer negotiation). `onRefused` is told of each. In every mode only
 * IP multiaddrs are dialled or stored: a peer cannot make us resolve a DNS name by
 * advertising one.
 *
 * @example
 * const gater = createGater({ mode: 'allowlist', allow: ['12D3KooW…'] }, { admission: limits, clock, knownSources: ['/ip4/10.0.0.2'], onRefused: (peer, dir, why, remote) => audit(peer, dir, why, remote) })
 */
import type { ConnectionGater, MultiaddrConnection, PeerId as Libp2pPeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Clock } from '../../protocol/ports.ts'
import { Admission, RecentSources, type AdmissionLimits, type Ticket } from '../admission.ts'
import { remoteHost } from '../audit/repeats.ts'
import type { PeerBackoff } from './backoff.ts'

export type PeerMode = 'open' | 'allowlist'

export interface PeerPolicy {
  mode: PeerMode
  /** Peer ids (base58 / CID strings) allowed in `allowlist` mode. */
  allow?: readonly string[]
}

export type ConnectionDirection = 'inbound' | 'outbound'

/** Called when the gater refuses a peer; `remoteAddr` says where it came from or where we dialled. The peer id is `unidentifiedPeer` before Noise. */
export type RefusedCallback = (peerId: string, direction: ConnectionDirection, reason: string, remoteAddr: string) => void

export const refusedNotAllowlisted = 'peer id not in allowlist'

/** One reason for every refusal during a backoff (not the time left), so the audit log folds them. */
export const refusedBackingOff = 'kept away after the engine disconnected it (backoff)'

/** `who` of a connection dropped before its Noise handshake told us who it is. */
export const unidentifiedPeer = 'unidentified peer'

export interface GaterOptions {
  /** Bounds on inbound connections still in their handshake. */
  admission: AdmissionLimits
  clock: Pick<Clock, 'schedule'>
  /** Source addresses (`/ip4/…`) of peers we trust before they prove it: the static peers'. Allowed peers' addresses are added as they connect. */
  knownSources?: readonly string[]
  /** Addresses remembered as known (most recent kept). */
  knownSourcesMax: number
  /** Peers the engine disconnected, kept away for a while. */
  backoff?: Pick<PeerBackoff, 'remainingMs'>
  onRefused?: RefusedCallback
}

/** Multiaddrs whose first component is a literal IP address: anything else would need a name lookup. */
export function isIpMultiaddr (ma: Multiaddr): boolean {
  const first = ma.getComponents()[0]
  return first !== undefined && (first.name === 'ip4' || first.name === 'ip6')
}

export function createGater (policy: PeerPolicy, options: GaterOptions): ConnectionGater {
  const allowed = new Set(policy.allow ?? [])
  const known = new RecentSources(options.knownSourcesMax, options.knownSources)
  const admission = new Admission({
    limits: options.admission,
    clock: options.clock,
    isKnown: (source) => known.has(source),
    onDrop: (source, reason) => { options.onRefused?.(unidentifiedPeer, 'inbound', reason, source) },
  })
  const handshaking = new WeakMap<MultiaddrConnection, Ticket>()
  /** Noise is done: the connection has proved who it is; an allowed peer's address becomes known. */
  const authenticated = (peer: Libp2pPeerId, maConn: MultiaddrConnection): void => {
    handshaking.get(maConn)?.done()
    if (allowed.has(peer.toString())) known.add(remoteHost(maConn.remoteAddr.toString()))
  }
  const backingOff = (id: string): boolean => (options.backoff?.remainingMs(id) ?? 0) > 0
  const refuse = (peer: Libp2pPeerId, direction: ConnectionDirection, maConn: MultiaddrConnection): boolean => {
    authenticated(peer, maConn)
    const id = peer.toString()
    const reason = backingOff(id) ? refusedBackingOff : policy.mode === 'allowlist' && !allowed.has(id) ? refusedNotAllowlisted : undefined
    if (reason === undefined) return false
    options.onRefused?.(id, direction, reason, maConn.remoteAddr.toString())
    return true
  }
  return {
    denyDialMultiaddr: (ma) => !isIpMultiaddr(ma),
    filterMultiaddrForPeer: (_peer, ma) => isIpMultiaddr(ma),
    denyDialPeer: (peer) => (policy.mode === 'allowlist' && !allowed.has(peer.toString())) || backingOff(peer.toString()),
    denyInboundConnection: (maConn) => {
      const ticket = admission.admit(remoteHost(maConn.remoteAddr.toString()), (reason) => { maConn.abort(new Error(reason)) })
      handshaking.set(maConn, ticket)
      maConn.addEventListener('close', ticket.done, { once: true })
      return false
    },
    denyInboundEncryptedConnection: (peer, maConn) => refuse(peer, 'inbound', maConn),
    denyOutboundEncryptedConnection: (peer, maConn) => refuse(peer, 'outbound', maConn),
  }
}
