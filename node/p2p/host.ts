/**
 * The relay's libp2p host: TCP and WebSocket listeners, Noise, yamux, identify
 * (with push, so peers learn protocols we handle after start), ping, optional
 * mDNS, a peer-governance gater and a redialer for static peers. Nothing dials
 * out unasked: no bootstrap list, no DNS resolvers, no AutoNAT, UPnP, relay or
 * DHT services (libp2p 3 adds none of these unless configured). Limits default
 * to `limits.ts` and may be overridden.
 *
 * @example
 * const host = await createHost({
 *   privateKey: await loadOrCreateNodeKey(dataDir),
 *   listen: ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws'],
 *   peers: { mode: 'allowlist', allow: ['12D3KooW…'] },
 *   staticPeers: ['/ip4/10.0.0.2/tcp/4001/p2p/12D3KooW…'],
 *   onRefused: (peer, direction, reason) => audit.peerRefused(peer, direction, reason),
 *   start: false,
 * })
 * const link = attachFrameTransport(host, engine, {})
 * await host.start()
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify, identifyPush, type Identify, type IdentifyPush } from '@libp2p/identify'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { mdns } from '@libp2p/mdns'
import { peerIdFromString } from '@libp2p/peer-id'
import { ping, type Ping } from '@libp2p/ping'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { ConfigError } from '../../protocol/errors.ts'
import type { Logger } from '../../protocol/ports.ts'
import { remoteHost } from '../audit/repeats.ts'
import { systemClock } from '../runtime.ts'
import { createGater, isIpMultiaddr, type PeerPolicy, type RefusedCallback } from './gater.ts'
import * as limits from './limits.ts'
import { startRedialer, type StaticPeer } from './redial.ts'
import { boundedWebSockets } from './ws-bounds.ts'
import type { PeerBackoff } from './backoff.ts'
import { coalescingTcp } from './coalesce.ts'
import { economiseYamuxWindowUpdates } from './yamux-window.ts'

export type HostServices = { identify: Identify, identifyPush: IdentifyPush, ping: Ping }
export type Host = Libp2p<HostServices>

export interface HostLimits {
  connectionsMax: number
  inboundPendingConnectionsMax: number
  inboundPendingReservedMax: number
  inboundPendingPerAddressMax: number
  inboundPressuredUpgradeTimeoutMs: number
  inboundUpgradeTimeoutMs: number
  dialTimeoutMs: number
  serviceInboundStreamsPerConnectionMax: number
  redialDelayMsMin: number
  redialDelayMsMax: number
  redialBackoffFactor: number
  redialJitterFraction: number
  /** A static peer connected within this long is redialled every `redialRecentDelayMs`, without backoff. */
  redialRecentForMs: number
  redialRecentDelayMs: number
  /** A redial whose TCP connection is not up within this is abandoned for a fresh one. */
  redialConnectWaitMs: number
  /** libp2p's connection monitor pings every connection this often; the round trip feeds each link's latency. */
  pingIntervalMs: number
  /** ...and aborts a connection whose ping is unanswered this long (more where pings have been slow). */
  pingTimeoutMsMin: number
}

export const defaultHostLimits: Readonly<HostLimits> = {
  connectionsMax: limits.hostConnectionsMax,
  inboundPendingConnectionsMax: limits.hostInboundPendingConnectionsMax,
  inboundPendingReservedMax: limits.hostInboundPendingReservedMax,
  inboundPendingPerAddressMax: limits.hostInboundPendingPerAddressMax,
  inboundPressuredUpgradeTimeoutMs: limits.hostInboundPressuredUpgradeTimeoutMs,
  inboundUpgradeTimeoutMs: limits.hostInboundUpgradeTimeoutMs,
  dialTimeoutMs: limits.hostDialTimeoutMs,
  serviceInboundStreamsPerConnectionMax: limits.serviceInboundStreamsPerConnectionMax,
  redialDelayMsMin: limits.redialDelayMsMin,
  redialDelayMsMax: limits.redialDelayMsMax,
  redialBackoffFactor: limits.redialBackoffFactor,
  redialJitterFraction: limits.redialJitterFraction,
  redialRecentForMs: limits.redialRecentForMs,
  redialRecentDelayMs: limits.redialRecentDelayMs,
  redialConnectWaitMs: limits.redialConnectWaitMs,
  pingIntervalMs: limits.hostPingIntervalMs,
  pingTimeoutMsMin: limits.hostPingTimeoutMsMin,
}

export interface HostOptions {
  privateKey: PrivateKey
  /** Listen multiaddrs: IP literals with tcp, or tcp/ws. */
  listen: readonly string[]
  /** Default `{ mode: 'open' }`. */
  peers?: PeerPolicy
  /** Multiaddrs ending in /p2p/<peer id>, dialled at start and redialled when they drop; allowed in allowlist mode. */
  staticPeers?: readonly string[]
  /** Announce and discover on the LAN by multicast DNS; off unless set. */
  mdns?: boolean
  limits?: Partial<HostLimits>
  /** Peers the engine disconnected, kept away (neither redialled nor let in) for a while; give the same one to `attachFrameTransport`. */
  backoff?: PeerBackoff
  onRefused?: RefusedCallback
  logger?: Logger
  /** Start listening and dialling now (default true). Pass false to attach protocol handlers first, then `host.start()`. */
  start?: boolean
}

export async function createHost (options: HostOptions): Promise<Host> {
  const bounds = { ...defaultHostLimits, ...options.limits }
  const listen = options.listen.map((s) => parseIpMultiaddr(s, 'listen'))
  const staticPeers = groupStaticPeers(options.staticPeers ?? [])
  const policy = validatePolicy(options.peers ?? { mode: 'open' }, staticPeers)
  economiseYamuxWindowUpdates()
  const host = await createLibp2p({
    privateKey: options.privateKey,
    start: false,
    addresses: { listen: listen.map((ma) => ma.toString()) },
    transports: [coalescingTcp({ dialOpts: { keepAlive: true }, listenOpts: { keepAlive: true }, maxConnections: limits.hostListenerSocketsMax }), boundedWebSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: createGater(policy, {
      admission: {
        pendingMax: bounds.inboundPendingConnectionsMax,
        reservedMax: bounds.inboundPendingReservedMax,
        perSourceMax: bounds.inboundPendingPerAddressMax,
        pressuredTimeoutMs: bounds.inboundPressuredUpgradeTimeoutMs,
      },
      clock: systemClock,
      knownSources: staticPeers.flatMap((p) => p.addrs.map((ma) => remoteHost(ma.toString()))),
      knownSourcesMax: limits.hostKnownAddressesMax,
      backoff: options.backoff,
      onRefused: options.onRefused,
    }),
    connectionManager: {
      maxConnections: bounds.connectionsMax,
      // Our admission (the gater) bounds handshakes; libp2p's own bound, unaudited, stays above it.
      maxIncomingPendingConnections: bounds.inboundPendingConnectionsMax + bounds.inboundPendingReservedMax + limits.hostLibp2pPendingHeadroom,
      inboundConnectionThreshold: limits.hostInboundConnectionsPerSecondPerAddressMax,
      inboundUpgradeTimeout: bounds.inboundUpgradeTimeoutMs,
      dialTimeout: bounds.dialTimeoutMs,
      resolvers: {}, // no /dnsaddr lookups
      reconnectRetries: 0, // our redialer owns reconnection
    },
    connectionMonitor: {
      pingInterval: bounds.pingIntervalMs,
      pingTimeout: { minTimeout: bounds.pingTimeoutMsMin, maxTimeout: 2 * bounds.pingTimeoutMsMin },
    },
    peerDiscovery: options.mdns === true ? [mdns()] : [],
    services: {
      identify: identify({ maxInboundStreams: bounds.serviceInboundStreamsPerConnectionMax }),
      identifyPush: identifyPush({ maxInboundStreams: bounds.serviceInboundStreamsPerConnectionMax }),
      // The answering side gives a ping stream as long as the asking side's monitor waits for it:
      // libp2p's 10 s reset pings behind a loaded radio's queue, and the monitor then aborted the connection.
      ping: ping({ maxInboundStreams: limits.pingStreamsPerConnectionMax, maxOutboundStreams: limits.pingStreamsPerConnectionMax, timeout: 2 * bounds.pingTimeoutMsMin }),
    },
  })
  startRedialer(host, staticPeers, {
    delayMsMin: bounds.redialDelayMsMin,
    delayMsMax: bounds.redialDelayMsMax,
    backoffFactor: bounds.redialBackoffFactor,
    jitterFraction: bounds.redialJitterFraction,
    recentForMs: bounds.redialRecentForMs,
    recentDelayMs: bounds.redialRecentDelayMs,
    connectWaitMs: bounds.redialConnectWaitMs,
    dialTimeoutMs: bounds.dialTimeoutMs,
    backoff: options.backoff,
    logger: options.logger,
  })
  if (options.mdns === true) dialDiscoveredPeers(host, options.logger)
  if (options.start !== false) await host.start()
  return host
}

/** mDNS only fills the peer store; dial what it finds (the gater still applies). */
function dialDiscoveredPeers (host: Host, logger?: Logger): void {
  host.addEventListener('peer:discovery', (evt) => {
    const peer = evt.detail.id
    if (host.status !== 'started' || host.getConnections(peer).length > 0) return
    host.dial(peer).catch((e: unknown) => {
      logger?.debug({ peer: peer.toString(), err: (e as Error).message }, 'discovered peer dial failed')
    })
  })
}

/** Checks the ids; in allowlist mode the static peers are allowed too (we chose to dial them). */
function validatePolicy (policy: PeerPolicy, staticPeers: readonly StaticPeer[]): PeerPolicy {
  if (policy.mode !== 'open' && policy.mode !== 'allowlist') throw new ConfigError(`peers.mode must be 'open' or 'allowlist', not ${String(policy.mode)}`)
  for (const id of policy.allow ?? []) parsePeerId(id, 'peers.allow')
  return { mode: policy.mode, allow: [...new Set([...policy.allow ?? [], ...staticPeers.map((p) => p.peer.toString())])] }
}

function parsePeerId (id: string, key: string): ReturnType<typeof peerIdFromString> {
  try {
    return peerIdFromString(id)
  } catch {
    throw new ConfigError(`${key}: ${JSON.stringify(id)} is not a libp2p peer id`)
  }
}

function parseIpMultiaddr (s: string, key: string): Multiaddr {
  let ma: Multiaddr
  try {
    ma = multiaddr(s)
  } catch {
    throw new ConfigError(`${key}: ${JSON.stringify(s)} is not a multiaddr`)
  }
  if (!isIpMultiaddr(ma)) throw new ConfigError(`${key}: ${s} must start with /ip4/ or /ip6/ (no DNS names)`)
  return ma
}

/** Static peers by peer id (one peer may have several addresses). */
function groupStaticPeers (addrs: readonly string[]): StaticPeer[] {
  const byPeer = new Map<string, StaticPeer>()
  for (const s of addrs) {
    const ma = parseIpMultiaddr(s, 'peers.static')
    const id = ma.getComponents().findLast((c) => c.name === 'p2p')?.value
    if (id === undefined) throw new ConfigError(`peers.static: ${s} must end in /p2p/<peer id>`)
    const entry = byPeer.get(id) ?? { peer: parsePeerId(id, 'peers.static'), addrs: [] }
    entry.addrs.push(ma)
    byPeer.set(id, entry)
  }
  return [...byPeer.values()]
}
