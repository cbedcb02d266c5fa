/**
 * A token bucket over an injected time (pure: the caller passes the monotonic time): up
 * to `capacity` tokens, refilled at `ratePerSecond`. Bounds how fast a peer may make us
 * do something, with room for an honest burst.
 *
 * @example
 * const bucket = new TokenBucket(4096, 8192, clock.monotonicMs())
 * if (!bucket.take(ids.length, clock.monotonicMs())) return // over the rate
 */
export class TokenBucket {
  readonly #ratePerMs: number
  readonly #capacity: number
  #tokens: number
  #lastMs: number

  constructor (ratePerSecond: number, capacity: number, nowMs: number) {
    this.#ratePerMs = ratePerSecond / 1000
    this.#capacity = capacity
    this.#tokens = capacity
    this.#lastMs = nowMs
  }

  /** Takes `count` tokens if there are that many; else takes none. */
  take (count: number, nowMs: number): boolean {
    // A monotonic clock never goes back; max() keeps a misbehaving one from draining the bucket.
    const elapsed = Math.max(0, nowMs - this.#lastMs)
    this.#lastMs = Math.max(this.#lastMs, nowMs)
    this.#tokens = Math.min(this.#capacity, this.#tokens + elapsed * this.#ratePerMs)
    if (this.#tokens < count) return false
    this.#tokens -= count
    return true
  }
}
