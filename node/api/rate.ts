/**
 * A token bucket on an injected monotonic clock: `capacity` tokens, refilled at
 * `ratePerSecond`; each request takes one. Tests drive the clock by hand, so rate
 * limiting needs no sleeps.
 *
 * @example
 * const bucket = new TokenBucket(50, 100, () => clock.monotonicMs())
 * if (!bucket.take()) reply({ code: 'ERR_RATE' })
 */
export class TokenBucket {
  readonly #ratePerMs: number
  readonly #capacity: number
  readonly #nowMs: () => number
  #tokens: number
  #lastMs: number

  constructor (ratePerSecond: number, capacity: number, nowMs: () => number) {
    this.#ratePerMs = ratePerSecond / 1000
    this.#capacity = capacity
    this.#nowMs = nowMs
    this.#tokens = capacity
    this.#lastMs = nowMs()
  }

  /** Takes one token if there is one. */
  take (): boolean {
    this.#refill()
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }

  /** Ms until a token is there to take (0: now). */
  waitMs (): number {
    this.#refill()
    return this.#tokens >= 1 ? 0 : Math.ceil((1 - this.#tokens) / this.#ratePerMs)
  }

  #refill (): void {
    const now = this.#nowMs()
    // A monotonic clock never goes back; max() keeps a misbehaving one from draining the bucket.
    const elapsed = Math.max(0, now - this.#lastMs)
    this.#lastMs = Math.max(this.#lastMs, now)
    this.#tokens = Math.min(this.#capacity, this.#tokens + elapsed * this.#ratePerMs)
  }
}
