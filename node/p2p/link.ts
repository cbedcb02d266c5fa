/**
 * The engine's `Transport` over libp2p: one `/ddil/sync/1.0.0` stream per peer
 * carrying length-prefixed frames (see `frame-codec.ts`, `frame-stream.ts`).
 *
 * One stream per pair: only the peer whose id string sorts first opens the
 * stream (when identify shows the other side speaks the protocol); a stream
 * opened by the other side is reset and replaced by our own. Both sides therefore
 * agree without negotiating, and simultaneous dials still end with exactly one
 * stream. A newer stream from the opener replaces an older one (the opener only
 * opens again once it saw the old one die), reported as linkDown then linkUp.
 *
 * The engine sees `linkUp` once per stream, `receive` for each frame in order,
 * `linkDown` exactly once, and `drain` after a refused `send` once the queue has
 * emptied. Handler calls never happen inside `send` or `disconnect`. `disconnect` (the
 * engine's verdict on a peer) hangs up and, given the host's `backoff`, keeps the peer
 * away for a growing while: not redialled, not let back in (backoff.ts).
 *
 * Latency: libp2p's connection monitor pings every connection (host.ts) and keeps the
 * round trip on the connection. `linkUp` carries half of it as the one-way latency when
 * one is known; otherwise the link is pinged at once. Every `measureEveryMs` the
 * transport reads it again and calls `linkMeasured` when it moved by more than
 * `linkLatencyChangeFractionMin` and `linkLatencyChangeMsMin`: the engine's link costs,
 * round-trip waits and clock offsets need it (without it every link costs 1 ms).
 *
 * Liveness (liveness.ts, #26): a link on which nothing arrives (frames, or the answer to a
 * probe sent once it has been quiet a while) for a few of its round trips, at least
 * `linkSilenceMsMin`, is dead: its connection is cut, the engine sees `linkDown`, and the
 * redialer takes over. libp2p's connection monitor stays as the backstop.
 *
 * A link whose bandwidth the operator declared (config `peers.links`) is paced (pacer.ts):
 * its frames are taken no faster than the link carries them, so they wait in the engine's
 * precedence queues rather than in the first-in, first-out buffers below.
 *
 * @example
 * const transport = attachFrameTransport(host, engineLinkHandler, { onPeerMisbehaved: (peer, why) => audit(peer, why) })
 * transport.send(peer, frame) // false: link down, queue full or paced; wait for drain
 * await transport.close()
 */
import type { Connection, Libp2p, PeerId as Libp2pPeerId, PeerUpdate, Stream } from '@libp2p/interface'
import type { Ping } from '@libp2p/ping'
import { peerIdFromString } from '@libp2p/peer-id'
import { ConfigError } from '../../protocol/errors.ts'
import { frameBytesMax as protocolFrameBytesMax, frameBytesMin } from '../../protocol/limits.ts'
import type { LinkHandler, Logger, PeerId, Transport } from '../../protocol/ports.ts'
import { lengthPrefixBytesMax } from './frame-codec.ts'
import { FrameStream } from './frame-stream.ts'
import { LatencyReports, linkInfo, type DeclaredLink } from './link-info.ts'
import { LivenessWatch, type LivenessLimits } from './liveness.ts'
import { Pacer } from './pacer.ts'
import { SlowLinkRoutes } from './route-check.ts'
import type { PeerBackoff } from './backoff.ts'
export type { DeclaredLink } from './link-info.ts'
import * as limits from './limits.ts'

export const syncProtocol = '/ddil/sync/1.0.0'

export interface FrameTransportOptions {
  /** Largest frame either way on this host's links (default and ceiling: protocol `frameBytesMax`). */
  frameBytesMax?: number
  writeQueueBytesMax?: number
  inboundStreamsPerConnectionMax?: number
  outboundStreamsPerConnectionMax?: number
  streamOpenTimeoutMs?: number
  closeTimeoutMs?: number
  /** How often each link's round trip is read for `linkMeasured`, ms. */
  measureEveryMs?: number
  /** When a silent link is declared dead (liveness.ts); default limits.ts. */
  liveness?: LivenessLimits
  /** What the operator declared about the link to a peer (config `peers.links`): its bandwidth, and latency until measured. */
  declaredLink?: (peer: PeerId) => DeclaredLink | undefined
  /** The peer broke the framing rules (oversized frame) or its frame made the engine throw a DdilError; its stream was reset. */
  onPeerMisbehaved?: (peer: PeerId, reason: string) => void
  /** Where a peer the engine disconnects is kept away for a while; the host's (createHost `backoff`), so it is neither redialled nor let back in. */
  backoff?: Pick<PeerBackoff, 'penalise'>
  logger?: Logger
}

export interface FrameTransport extends Transport {
  readonly protocol: string
  /** Resolves once the protocol handler is registered with the host. */
  readonly ready: Promise<void>
  /** Peers with a link up. */
  peers (): PeerId[]
  /** Bytes queued towards `peer` (ours plus the stream's), 0 when down. */
  bufferedBytes (peer: PeerId): number
  /** Unregister, report every link down, close streams (reset after `closeTimeoutMs`). */
  close (): Promise<void>
}

interface Settings {
  frameBytesMax: number
  writeQueueBytesMax: number
  inboundStreams: number
  outboundStreams: number
  openTimeoutMs: number
  closeTimeoutMs: number
  measureEveryMs: number
}

function settingsFrom (options: FrameTransportOptions): Settings {
  const s: Settings = {
    frameBytesMax: options.frameBytesMax ?? protocolFrameBytesMax,
    writeQueueBytesMax: options.writeQueueBytesMax ?? limits.linkWriteQueueBytesMax,
    inboundStreams: options.inboundStreamsPerConnectionMax ?? limits.syncInboundStreamsPerConnectionMax,
    outboundStreams: options.outboundStreamsPerConnectionMax ?? limits.syncOutboundStreamsPerConnectionMax,
    openTimeoutMs: options.streamOpenTimeoutMs ?? limits.syncStreamOpenTimeoutMs,
    closeTimeoutMs: options.closeTimeoutMs ?? limits.syncStreamCloseTimeoutMs,
    measureEveryMs: options.measureEveryMs ?? limits.linkMeasureEveryMs,
  }
  if (s.frameBytesMax < frameBytesMin || s.frameBytesMax > protocolFrameBytesMax) {
    throw new ConfigError(`frameBytesMax ${s.frameBytesMax} must be within [${frameBytesMin}, ${protocolFrameBytesMax}]`)
  }
  if (s.writeQueueBytesMax < s.frameBytesMax + lengthPrefixBytesMax) {
    throw new ConfigError(`writeQueueBytesMax ${s.writeQueueBytesMax} must hold at least one full frame (${s.frameBytesMax + lengthPrefixBytesMax} bytes)`)
  }
  return s
}

export function attachFrameTransport (host: Libp2p, handler: LinkHandler, options: FrameTransportOptions = {}): FrameTransport {
  const settings = settingsFrom(options)
  if (host.getProtocols().includes(syncProtocol)) throw new ConfigError(`${syncProtocol} already has a handler on this host`)
  const local = host.peerId.toString()
  const links = new Map<PeerId, FrameStream>()
  const opening = new Set<PeerId>()
  const latency = new LatencyReports(handler)
  const liveness = new LivenessWatch({
    limits: options.liveness,
    logger: options.logger,
    onSilent: (peer, connection, quietMs, silenceMsMax) => {
      options.logger?.info({ peer, quietMs: Math.round(quietMs), silenceMsMax: Math.round(silenceMsMax) }, 'nothing arrived on the link: connection cut')
      connection.abort(new Error(`link silent for ${Math.round(quietMs)} ms`))
    },
  })
  const slowRoutes = new SlowLinkRoutes(options.logger)
  let closed = false

  /** The tie-break: the peer whose id string sorts first opens the stream. */
  const weOpen = (peer: PeerId): boolean => local < peer

  const adopt = (peer: PeerId, stream: Stream, connection: Connection): void => {
    const declared = options.declaredLink?.(peer)
    const pacer = declared === undefined ? undefined : new Pacer(declared.bandwidthBitsPerSecond * limits.linkPaceShare, limits.linkPaceAheadMs, limits.linkFrameOverheadBytes)
    const fs: FrameStream = new FrameStream(stream, { ...settings, pacer }, {
      onFrame: (frame) => { if (links.get(peer) === fs) handler.receive(peer, frame) },
      onDrain: () => { if (links.get(peer) === fs) handler.drain?.(peer) },
      onViolation: (reason) => { options.onPeerMisbehaved?.(peer, reason) },
      onClose: () => {
        if (links.get(peer) !== fs) return
        links.delete(peer)
        latency.forget(peer)
        liveness.remove(peer)
        handler.linkDown(peer)
        // Reopen only if this stream died with its connection and another connection survives;
        // a reset on a live connection is the remote's decision and is not retried here.
        if (connection.status !== 'open') openOn(connection.remotePeer)
      },
    })
    links.set(peer, fs)
    const measuredMs = latency.track(peer, connection)
    const info = linkInfo(settings.frameBytesMax, declared, measuredMs)
    // A probe may wait behind one whole frame at the paced rate.
    const frameMs = pacer === undefined ? 0 : (info.frameBytesMax ?? settings.frameBytesMax) * 8000 / pacer.bitsPerSecond
    liveness.add(peer, connection, { heardAtMs: () => fs.receivedAtMs, frameMs, rttMs: info.latencyMs === undefined ? undefined : 2 * info.latencyMs })
    handler.linkUp(peer, info)
    fs.start()
    if (declared !== undefined) void slowRoutes.check(peer, connection.remoteAddr.toString(), declared.bandwidthBitsPerSecond)
    if (measuredMs === undefined) pingNow(peer, fs, connection)
  }

  /** A link with no round trip yet: measure one now rather than at the monitor's next round. */
  const pingNow = (peer: PeerId, fs: FrameStream, connection: Connection): void => {
    const pinger = (host.services as { ping?: Ping }).ping
    pinger?.ping(connection.remotePeer, { signal: AbortSignal.timeout(settings.openTimeoutMs) }).then((rttMs) => {
      if (links.get(peer) === fs) latency.measured(peer, rttMs)
    }, (e: unknown) => {
      options.logger?.debug({ peer, err: (e as Error).message }, 'link ping failed; the connection monitor measures it later')
    })
  }
  const measureTimer = setInterval(() => { for (const peer of links.keys()) latency.remeasure(peer) }, settings.measureEveryMs)
  measureTimer.unref()

  const openOn = (peerId: Libp2pPeerId, preferred?: Connection): void => {
    const peer = peerId.toString()
    if (closed || !weOpen(peer) || links.has(peer) || opening.has(peer)) return
    const connection = preferred?.status === 'open' ? preferred : host.getConnections(peerId).find((c) => c.status === 'open')
    if (connection === undefined) return
    opening.add(peer)
    connection.newStream(syncProtocol, { signal: AbortSignal.timeout(settings.openTimeoutMs), maxOutboundStreams: settings.outboundStreams }).then((stream) => {
      opening.delete(peer)
      if (closed || links.has(peer)) stream.abort(new Error('sync stream no longer needed'))
      else adopt(peer, stream, connection)
    }, (e: unknown) => {
      opening.delete(peer)
      options.logger?.debug({ peer, err: (e as Error).message }, 'cannot open sync stream')
    })
  }

  const onInbound = (stream: Stream, connection: Connection): void => {
    const peer = connection.remotePeer.toString()
    if (closed) { stream.abort(new Error('sync transport closed')); return }
    if (weOpen(peer)) {
      stream.abort(new Error('tie-break: the peer with the smaller id opens the sync stream'))
      openOn(connection.remotePeer, connection)
      return
    }
    const old = links.get(peer)
    if (old !== undefined) {
      links.delete(peer)
      latency.forget(peer)
      liveness.remove(peer)
      old.abort('replaced by a newer sync stream')
      handler.linkDown(peer)
    }
    adopt(peer, stream, connection)
  }

  /** Identify push can reveal the protocol after identify ran (the peer attached its handler late). */
  const onPeerUpdate = (evt: CustomEvent<PeerUpdate>): void => {
    const { peer, previous } = evt.detail
    if (peer.protocols.includes(syncProtocol) && previous?.protocols.includes(syncProtocol) !== true) openOn(peer.id)
  }

  const ready = (async () => {
    await host.handle(syncProtocol, onInbound, { maxInboundStreams: settings.inboundStreams, maxOutboundStreams: settings.outboundStreams })
    return await host.register(syncProtocol, { onConnect: (peerId, connection) => { openOn(peerId, connection) } })
  })()
  host.addEventListener('peer:update', onPeerUpdate)
  openToConnectedPeers(host, (peerId) => { openOn(peerId) })

  return {
    protocol: syncProtocol,
    ready: ready.then(() => undefined),
    peers: () => [...links.keys()],
    bufferedBytes: (peer) => links.get(peer)?.bufferedBytes ?? 0,
    send: (peer, frame) => links.get(peer)?.send(frame) ?? false,
    disconnect: (peer, reason) => {
      const awayMs = options.backoff?.penalise(peer)
      if (awayMs !== undefined) options.logger?.info({ peer, reason, awayMs }, 'peer disconnected and kept away for a while')
      links.get(peer)?.abort(`disconnected: ${reason}`)
      host.hangUp(peerIdFromString(peer)).catch((e: unknown) => {
        options.logger?.debug({ peer, err: (e as Error).message }, 'hang up failed')
      })
    },
    close: async () => {
      if (closed) return
      closed = true
      clearInterval(measureTimer)
      liveness.close()
      host.removeEventListener('peer:update', onPeerUpdate)
      host.unregister(await ready)
      await host.unhandle(syncProtocol)
      const streams = [...links]
      links.clear()
      for (const [peer, fs] of streams) { handler.linkDown(peer); fs.shutdown() }
      await closeWithin(streams.map(([, fs]) => fs), settings.closeTimeoutMs)
    },
  }
}

/** Peers already connected when we attach (and already identified) get their stream too. */
function openToConnectedPeers (host: Libp2p, open: (peer: Libp2pPeerId) => void): void {
  for (const connection of host.getConnections()) {
    host.peerStore.get(connection.remotePeer).then((peer) => {
      if (peer.protocols.includes(syncProtocol)) open(peer.id)
    }, () => { /* not identified yet: the topology will tell us once it is */ })
  }
}

/** Wait for graceful closes, then reset whatever is still open. */
async function closeWithin (streams: FrameStream[], timeoutMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs) })
  await Promise.race([Promise.all(streams.map((fs) => fs.whenClosed)), timeout])
  clearTimeout(timer)
  for (const fs of streams) if (!fs.closed) fs.abort('sync transport closed')
}
