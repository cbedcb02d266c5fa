/**
 * Peeling decoder for rateless IBLT symbols. It subtracts our own symbols from
 * the peer's, then repeatedly takes a "pure" difference symbol (count ±1, the
 * checksum matches the key, and the key's index sequence hits that symbol),
 * records the key as ours-only (−1) or theirs-only (+1) and removes it from every
 * symbol it maps to. More symbols can be added at any time (the stream is
 * rateless); decoding is complete when symbol 0, which every item maps to, is
 * empty. Work is O(symbols + difference × log symbols), independent of N.
 *
 * A false peel needs an impure symbol to pass a 32-bit checksum and the index
 * test (≤ 2^-32 each; a session tests a few thousand symbols at most), and is
 * then caught by the final all-zero check. Junk from a malicious peer is bounded:
 * each honest peel empties a symbol for good, so more peels than symbols, a key
 * peeled twice, or a non-empty symbol left when symbol 0 empties is a ProtocolError.
 *
 * @example
 * const dec = new PeelingDecoder()
 * dec.add(theirWords, ourWords)     // both symbolWords × n, same indices
 * if (dec.complete) use(dec.ours, dec.theirs)
 */
import { ProtocolError } from '../errors.ts'
import { checksum, keyString, mapDraw, mapSalt, mapSeed, mapStep, mapsTo, nextIndex } from './hash.ts'
import { symbolWords } from './set.ts'

/** Sign-extend a count difference kept modulo 256 (one byte on the wire). */
function wrap8 (x: number): number { return (x << 24) >> 24 }

export class PeelingDecoder {
  /** Symbols received so far (the difference is known for indices below this). */
  received = 0
  complete = false
  /** Keys only we hold, as [k0, k1] pairs. */
  readonly ours: Array<[number, number]> = []
  /** Keys only the peer holds. */
  readonly theirs: Array<[number, number]> = []
  #diff = new Int32Array(64 * symbolWords)
  readonly #peeled = new Set<string>()
  // Per peeled key: words, sign, and where its index sequence resumes (index and generator state: moving word and salt).
  readonly #k0: number[] = []
  readonly #k1: number[] = []
  readonly #sign: number[] = []
  readonly #next: number[] = []
  readonly #state: number[] = []
  readonly #salt: number[] = []

  /** Adds the next symbols: the peer's and ours for the same indices (count fields modulo 256). */
  add (theirs: Int32Array, ours: Int32Array): void {
    const n = theirs.length / symbolWords
    const from = this.received
    const to = from + n
    this.#grow(to)
    const d = this.#diff
    for (let w = 0; w < n * symbolWords; w += symbolWords) {
      const o = from * symbolWords + w
      d[o] = theirs[w] ^ ours[w]
      d[o + 1] = theirs[w + 1] ^ ours[w + 1]
      d[o + 2] = theirs[w + 2] ^ ours[w + 2]
      d[o + 3] = wrap8(theirs[w + 3] - ours[w + 3])
    }
    this.received = to
    for (let p = 0; p < this.#k0.length; p++) this.#advance(p, to)
    const queue: number[] = []
    for (let i = from; i < to; i++) if (this.#pure(i)) queue.push(i)
    this.#drain(queue)
    this.#checkComplete()
  }

  #grow (to: number): void {
    if (to * symbolWords <= this.#diff.length) return
    const bigger = new Int32Array(Math.max(to, 2 * this.#diff.length / symbolWords) * symbolWords)
    bigger.set(this.#diff)
    this.#diff = bigger
  }

  /** Removes peeled key `p` from the new symbols up to `to`. */
  #advance (p: number, to: number): void {
    let i = this.#next[p]
    let s = this.#state[p]
    const salt = this.#salt[p]
    const d = this.#diff
    while (i < to) {
      const o = i * symbolWords
      d[o] ^= this.#k0[p]; d[o + 1] ^= this.#k1[p]; d[o + 2] ^= checksum(this.#k0[p] >>> 0, this.#k1[p] >>> 0)
      d[o + 3] = wrap8(d[o + 3] - this.#sign[p])
      s = mapStep(s)
      i = nextIndex(i, mapDraw(s, salt))
    }
    this.#next[p] = i
    this.#state[p] = s
  }

  #pure (i: number): boolean {
    const o = i * symbolWords
    const d = this.#diff
    const c = d[o + 3]
    if (c !== 1 && c !== -1) return false
    const k0 = d[o] >>> 0
    const k1 = d[o + 1] >>> 0
    return (d[o + 2] >>> 0) === checksum(k0, k1) && mapsTo(k0, k1, i)
  }

  #drain (queue: number[]): void {
    while (queue.length > 0) {
      const i = queue.pop() as number
      if (!this.#pure(i)) continue // changed since it was queued
      const o = i * symbolWords
      const k0 = this.#diff[o] >>> 0
      const k1 = this.#diff[o + 1] >>> 0
      const sign = this.#diff[o + 3]
      const key = keyString(k0, k1)
      if (this.#peeled.has(key)) throw new ProtocolError('reconcile: a key decoded twice (inconsistent symbols)')
      if (this.#peeled.size >= this.received) throw new ProtocolError('reconcile: more keys decoded than symbols received')
      this.#peeled.add(key)
      ;(sign === 1 ? this.theirs : this.ours).push([k0, k1])
      this.#remove(k0, k1, sign, queue)
    }
  }

  /** Removes a newly peeled key from all received symbols, queueing those that may have become pure. */
  #remove (k0: number, k1: number, sign: number, queue: number[]): void {
    const chk = checksum(k0, k1)
    const salt = mapSalt(k0, k1)
    const d = this.#diff
    let i = 0
    let s = mapSeed(k0, salt)
    while (i < this.received) {
      const o = i * symbolWords
      d[o] ^= k0; d[o + 1] ^= k1; d[o + 2] ^= chk
      d[o + 3] = wrap8(d[o + 3] - sign)
      if (d[o + 3] === 1 || d[o + 3] === -1) queue.push(i)
      s = mapStep(s)
      i = nextIndex(i, mapDraw(s, salt))
    }
    this.#k0.push(k0); this.#k1.push(k1); this.#sign.push(sign); this.#next.push(i); this.#state.push(s); this.#salt.push(salt)
  }

  #checkComplete (): void {
    const d = this.#diff
    if ((d[0] | d[1] | d[2] | d[3]) !== 0) return
    for (let w = 0; w < this.received * symbolWords; w++) {
      if (d[w] !== 0) throw new ProtocolError(`reconcile: symbol ${Math.floor(w / symbolWords)} not empty when symbol 0 is (inconsistent symbols)`)
    }
    this.complete = true
  }
}
