/**
 * A running hash over the ordered event trace (every event's time, every frame sent
 * and stored envelope), so that two runs of one scenario and seed can be compared
 * with one string: madsim's determinism check. Two independent 32-bit lanes of a
 * multiply-xorshift mix: not cryptographic (nothing here is adversarial), but any
 * difference in order, timing or content changes it, and it costs a few
 * nanoseconds per value where hashing text would dominate a city-scale run.
 *
 * @example
 * const trace = new TraceHash()
 * trace.add(timeMs); trace.add(nodeIndex); trace.add(frame.length)
 * trace.hex()  // '3f9c…' (16 hex digits)
 */

export class TraceHash {
  #h1 = 0x9e3779b9 | 0
  #h2 = 0x85ebca6b | 0
  /** Values mixed in. */
  count = 0

  /** Mixes one number (times at microsecond resolution; integers exactly). */
  add (value: number): void {
    const x = Math.round(value * 1000)
    const lo = x | 0
    const hi = Math.floor(x / 4294967296) | 0
    this.#h1 = Math.imul(this.#h1 ^ lo, 0x85ebca6b) ^ (this.#h1 >>> 13)
    this.#h1 = Math.imul(this.#h1 ^ hi, 0xc2b2ae35) ^ (this.#h1 >>> 16)
    this.#h2 = Math.imul(this.#h2 ^ hi, 0x27d4eb2f) ^ (this.#h2 >>> 15)
    this.#h2 = Math.imul(this.#h2 ^ lo, 0x165667b1) ^ (this.#h2 >>> 13)
    this.count++
  }

  hex (): string {
    let a = this.#h1 ^ Math.imul(this.count, 0x9e3779b9)
    let b = this.#h2 ^ this.count
    a = Math.imul(a ^ (a >>> 16), 0x85ebca6b); a ^= a >>> 13
    b = Math.imul(b ^ (b >>> 16), 0xc2b2ae35); b ^= b >>> 16
    return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0')
  }
}
