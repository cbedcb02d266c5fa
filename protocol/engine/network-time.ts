/**
 * Network time: our wall clock corrected by the median clock offset of ourselves and
 * our ready peers. Pure functions, and `NetworkClock`, which caches the median until a
 * peer comes, goes or is re-measured.
 *
 * Every figure here is a whole number of milliseconds by construction: network time
 * feeds the hybrid logical clock, whose stamps the envelope and client API codecs carry
 * as integers. A link's latency is half a measured round trip, so it is often fractional
 * (a 3 ms round trip is 1.5 ms one way); the offset it yields is rounded where it is
 * made, and everything after that adds and picks integers only.
 *
 * @example
 * const skew = helloSkewMs(hello.nowMs, clock.nowMs())       // the peer's clock minus ours
 * const offset = clockOffsetMs(skew, 1.5)                    // whole ms
 * const nowMs = clock.nowMs() + medianOffsetMs([offset, …])  // whole ms
 */
import { clockSkewMsMax } from '../limits.ts'
import type { Clock } from '../ports.ts'

/**
 * A peer's clock minus ours as its hello arrived, ms: whole, because both readings are
 * (the hello's field is an unsigned integer; `Clock.nowMs` reads whole ms, floored here
 * so a host that breaks that promise cannot make it fractional).
 */
export function helloSkewMs (peerNowMs: number, ourNowMs: number): number {
  return Math.floor(peerNowMs) - Math.floor(ourNowMs)
}

/**
 * A peer's clock offset: its hello was stamped one link latency before it arrived, so
 * its clock read `skew + latency` more than ours. Rounded to whole ms (half a round
 * trip is often a half millisecond; halves round up, the same way on every relay).
 */
export function clockOffsetMs (helloSkewMs: number, latencyMs: number): number {
  return Math.round(helloSkewMs + latencyMs)
}

/**
 * The median of our own offset (0) and our ready peers' offsets: with an even count,
 * the middle value nearer our own clock (never their mean, which could be a half). Clamped to the
 * skew allowance, so no majority can move us further than an honest clock may be off.
 */
export function medianOffsetMs (peerOffsetsMs: Iterable<number>): number {
  const offsets = [0]
  for (const o of peerOffsetsMs) offsets.push(Math.round(o))
  offsets.sort((a, b) => a - b)
  const mid = offsets.length >> 1
  const median = offsets.length % 2 === 1 ? offsets[mid] : (Math.abs(offsets[mid - 1]) <= Math.abs(offsets[mid]) ? offsets[mid - 1] : offsets[mid])
  return Math.max(-clockSkewMsMax, Math.min(clockSkewMsMax, median))
}

/** Network time from a wall clock reading and the median offset, whole ms. */
export function networkNowMs (wallMs: number, medianOffsetMs: number): number {
  return Math.floor(wallMs) + medianOffsetMs
}

export interface NetworkClockDeps {
  clock: Pick<Clock, 'nowMs'>
  /** The clock offsets of our ready peers (PeerLink.clockOffsetMs), ms. */
  peerOffsetsMs (): Iterable<number>
}

/**
 * Network time, whole ms: our wall clock corrected by the median offset of ourselves (0)
 * and our ready peers, ties going to the value nearer our own clock, clamped to the skew
 * allowance. A relay whose clock is a day off still agrees with its neighbours about what
 * has expired and what is far in the future; a relay with one peer trusts itself.
 */
export class NetworkClock {
  readonly #deps: NetworkClockDeps
  /** The median offset, ms; undefined until next needed. */
  #offsetMs: number | undefined

  constructor (deps: NetworkClockDeps) { this.#deps = deps }

  nowMs (): number {
    this.#offsetMs ??= medianOffsetMs(this.#deps.peerOffsetsMs())
    return networkNowMs(this.#deps.clock.nowMs(), this.#offsetMs)
  }

  /** A peer became ready, went away or was re-measured: the median is recomputed on next use. */
  peersChanged (): void { this.#offsetMs = undefined }
}
