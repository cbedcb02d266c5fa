/**
 * What a libp2p sync link tells the engine about itself: at `linkUp`, the frame size,
 * and the bandwidth and latency the operator declared (config `peers.links`) or the
 * connection monitor already measured; later, `linkMeasured` when the measured round
 * trip moved enough to matter.
 *
 * @example
 * handler.linkUp(peer, linkInfo(frameBytesMax, { bandwidthBitsPerSecond: 9600 }, undefined)) // frames of 1200 B
 * const reports = new LatencyReports(handler); reports.track(peer, connection); reports.remeasure(peer)
 */
import type { Connection } from '@libp2p/interface'
import { frameBytesMin } from '../../protocol/limits.ts'
import type { LinkHandler, LinkInfo, PeerId } from '../../protocol/ports.ts'
import * as limits from './limits.ts'

/** What the operator declared about a link (config `peers.links`). */
export interface DeclaredLink {
  bandwidthBitsPerSecond: number
  /** One-way, ms: used until the link is measured. */
  latencyMs?: number
}

/**
 * What `linkUp` says: on a declared link, frames of about `linkFrameTargetMs` of its
 * bandwidth (within the protocol's bounds and ours) and its bandwidth; the latency
 * measured if known, else the declared one.
 */
export function linkInfo (frameBytesMax: number, declared: DeclaredLink | undefined, measuredMs: number | undefined): LinkInfo {
  const latencyMs = measuredMs ?? declared?.latencyMs
  const info: LinkInfo = { frameBytesMax }
  if (declared !== undefined) {
    info.frameBytesMax = Math.max(frameBytesMin, Math.min(frameBytesMax, Math.round(declared.bandwidthBitsPerSecond / 8 * limits.linkFrameTargetMs / 1000)))
    info.bandwidthBitsPerSecond = declared.bandwidthBitsPerSecond
  }
  if (latencyMs !== undefined) info.latencyMs = latencyMs
  return info
}

/**
 * What the engine was told of each link's one-way latency (half the round trip), and the
 * connection whose monitor keeps measuring it. A new figure is passed on only when it
 * moved enough to matter (limits.ts), so the engine does not re-advertise its
 * neighbours for every millisecond of jitter.
 */
export class LatencyReports {
  readonly #handler: LinkHandler
  readonly #links = new Map<PeerId, { connection: Connection, toldMs: number | undefined }>()

  constructor (handler: LinkHandler) { this.#handler = handler }

  /** A link came up on `connection`: its one-way latency if the monitor already measured it. */
  track (peer: PeerId, connection: Connection): number | undefined {
    const rtt = connection.rtt
    const toldMs = rtt !== undefined && Number.isFinite(rtt) && rtt >= 0 ? rtt / 2 : undefined
    this.#links.set(peer, { connection, toldMs })
    return toldMs
  }

  forget (peer: PeerId): void { this.#links.delete(peer) }

  /** Reads the connection monitor's latest round trip. */
  remeasure (peer: PeerId): void {
    const rtt = this.#links.get(peer)?.connection.rtt
    if (rtt !== undefined) this.measured(peer, rtt)
  }

  measured (peer: PeerId, rttMs: number): void {
    const link = this.#links.get(peer)
    if (link === undefined || !Number.isFinite(rttMs) || rttMs < 0) return
    const oneWayMs = rttMs / 2
    if (link.toldMs !== undefined && !latencyMoved(link.toldMs, oneWayMs)) return
    link.toldMs = oneWayMs
    this.#handler.linkMeasured?.(peer, { latencyMs: oneWayMs })
  }
}

function latencyMoved (toldMs: number, nowMs: number): boolean {
  const change = Math.abs(nowMs - toldMs)
  return change > limits.linkLatencyChangeMsMin && change > toldMs * limits.linkLatencyChangeFractionMin
}
