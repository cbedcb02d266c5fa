/**
 * Ranges of the key space, for reconciling a set part by part when the difference
 * is too large for one session. A range is the keys whose key word 0 has `index` in
 * its top `depth` bits (depth 0: every key); ids are SHA-256 outputs, so an honest
 * range at depth k holds about 1/2^k of the set and of the difference.
 *
 * A range session reads a snapshot of its range's keys, taken by one pass over the
 * set as it starts (O(N), like computing symbols past the cache), and computes the
 * sketch and symbols from the snapshot, as far as the session asks (doubling). The
 * snapshot does not change, so unlike a whole-set session it needs no journal.
 *
 * @example
 * const source = new RangeSource(set, { depth: 3, index: 5 }, symbolsMax)  // one eighth of the key space
 * source.words(0, 10)
 */
import { LimitError } from '../errors.ts'
import { applyKey, type ReconcileSet, sketchKey, sketchWidth, symbolWords } from './set.ts'
import type { Symbols } from './source.ts'
import { rangeDepthMax } from './wire.ts'

export interface KeyRange {
  /** Leading bits of key word 0 that select the range (0 … 32). */
  depth: number
  /** Their value (0 … 2^depth − 1). */
  index: number
}

export const wholeRange: KeyRange = { depth: 0, index: 0 }

/** Throws LimitError unless `range` names a range. */
export function checkRange (range: KeyRange): void {
  const { depth, index } = range
  if (!Number.isInteger(depth) || depth < 0 || depth > rangeDepthMax || !Number.isInteger(index) || index < 0 || index >= 2 ** depth) {
    throw new LimitError(`reconcile: no range ${index} at depth ${depth}`)
  }
}

/** Whether a key (by its word 0) falls in the range. */
export function inRange (k0: number, range: KeyRange): boolean {
  return range.depth === 0 || Math.floor(k0 / 2 ** (32 - range.depth)) === range.index
}

/** The ranges of depth `depth` (deeper than `range`'s) that make up `range`, in order. */
export function subranges (range: KeyRange, depth: number): KeyRange[] {
  const n = 2 ** (depth - range.depth)
  return Array.from({ length: n }, (_, i) => ({ depth, index: range.index * n + i }))
}

export class RangeSource implements Symbols {
  readonly set: ReconcileSet
  readonly sketch = new Int32Array(sketchWidth)
  readonly size: number
  readonly stale = false
  /** The range's keys: word 0 and word 1 of each. */
  readonly #keys: Uint32Array
  readonly #symbolsMax: number
  #symbols = new Int32Array(0)
  #end = 0

  constructor (set: ReconcileSet, range: KeyRange, symbolsMax: number) {
    checkRange(range)
    this.set = set
    this.#symbolsMax = symbolsMax
    const keys: number[] = []
    set.forEachKey((k0, k1) => { if (inRange(k0, range)) keys.push(k0, k1) })
    this.#keys = Uint32Array.from(keys)
    this.size = keys.length / 2
    for (let o = 0; o < keys.length; o += 2) sketchKey(this.sketch, keys[o], keys[o + 1], 1)
  }

  words (from: number, to: number): Int32Array {
    if (to > this.#symbolsMax) throw new LimitError(`symbol ${to} is past the session limit ${this.#symbolsMax}`)
    if (to > this.#end) this.#extend(to)
    return this.#symbols.slice(from * symbolWords, to * symbolWords)
  }

  /** Computes symbols up to at least `to`, doubling (a long session makes O(log) passes over the snapshot). */
  #extend (to: number): void {
    const begin = this.#end
    const end = Math.min(this.#symbolsMax, Math.max(to, 2 * begin, 64))
    const all = new Int32Array(end * symbolWords)
    all.set(this.#symbols)
    const more = all.subarray(begin * symbolWords)
    const keys = this.#keys
    for (let o = 0; o < keys.length; o += 2) applyKey(more, begin, end, keys[o], keys[o + 1], 1)
    this.#symbols = all
    this.#end = end
  }
}
