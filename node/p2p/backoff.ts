/**
 * Keeps a peer the engine disconnected (its score fell below `peerScoreDisconnectBelow`, or
 * it speaks no common link version) away for a while: the host neither redials it nor lets
 * it back in until its delay has passed. The delay grows with each disconnect (from
 * `delayMsMin` by `factor` up to `delayMsMax`) and the count is forgotten only after
 * `forgetMs` without one, so reconnecting resets nothing: a peer that misbehaves again as
 * soon as it is back is kept away longer each time.
 *
 * @example
 * const backoff = new PeerBackoff(defaultPeerBackoffLimits, () => performance.now())
 * backoff.penalise(peer)         // → 30000: away for 30 s
 * backoff.remainingMs(peer)      // > 0: the gater refuses it, the redialer waits
 */
import * as limits from './limits.ts'

export interface PeerBackoffLimits {
  delayMsMin: number
  delayMsMax: number
  factor: number
  /** A peer's disconnects are forgotten after this long without another, ms. */
  forgetMs: number
  /** Peers remembered (most recently penalised kept). */
  peersMax: number
}

export const defaultPeerBackoffLimits: Readonly<PeerBackoffLimits> = {
  delayMsMin: limits.peerBackoffDelayMsMin,
  delayMsMax: limits.peerBackoffDelayMsMax,
  factor: limits.peerBackoffFactor,
  forgetMs: limits.peerBackoffForgetMs,
  peersMax: limits.peerBackoffPeersMax,
}

interface Strikes { count: number, lastMs: number, untilMs: number }

export class PeerBackoff {
  readonly #limits: PeerBackoffLimits
  readonly #nowMs: () => number
  readonly #peers = new Map<string, Strikes>()

  constructor (limits: PeerBackoffLimits = defaultPeerBackoffLimits, nowMs: () => number = () => performance.now()) {
    this.#limits = limits
    this.#nowMs = nowMs
  }

  /** `peer` was disconnected: keeps it away, longer than last time unless that was `forgetMs` ago. Returns the delay, ms. */
  penalise (peer: string): number {
    const now = this.#nowMs()
    const before = this.#peers.get(peer)
    const count = before !== undefined && now - before.lastMs < this.#limits.forgetMs ? before.count + 1 : 1
    const delayMs = Math.min(this.#limits.delayMsMax, this.#limits.delayMsMin * this.#limits.factor ** (count - 1))
    this.#peers.delete(peer) // re-inserted last: the map's order is oldest penalty first
    this.#peers.set(peer, { count, lastMs: now, untilMs: now + delayMs })
    if (this.#peers.size > this.#limits.peersMax) this.#peers.delete(this.#peers.keys().next().value as string)
    return delayMs
  }

  /** How long `peer` is still kept away, ms (0: it may connect). */
  remainingMs (peer: string): number {
    const strikes = this.#peers.get(peer)
    return strikes === undefined ? 0 : Math.max(0, strikes.untilMs - this.#nowMs())
  }
}
