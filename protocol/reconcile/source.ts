/**
 * One session's view of a ReconcileSet's coded symbols as they were when the
 * session started, so the engine may keep adding and purging ids while it runs.
 * Nothing is copied up front: a range of cached symbols is read from the live
 * cache and the changes made since the start are undone on that range alone
 * (from the set's change journal). A session between equal sets reads symbol 0
 * and the sketch, so it costs O(1), not a copy of the whole cache. Symbols past
 * the cache are computed on demand by one pass over the set's keys, then
 * corrected back to the session's start the same way.
 *
 * @example
 * const source = new SymbolSource(set, symbolsMax)
 * const words = source.words(0, 10)   // 10 symbols × 4 words
 */
import { LimitError } from '../errors.ts'
import { applyKey, type ReconcileSet, sketchWidth, symbolWords } from './set.ts'

/** What a session reads its own side from, as it was when the session started. */
export interface Symbols {
  /** The live set (for looking up whole ids by key). */
  readonly set: ReconcileSet
  readonly sketch: Int32Array
  /** Keys taking part. */
  readonly size: number
  /** True once the set changed more than its journal holds: symbols past the cache can no longer be read. */
  readonly stale: boolean
  /** Symbols [from, to) as `symbolWords` words each (a copy the caller may keep). */
  words (from: number, to: number): Int32Array
}

/** The whole set's symbols: the live cache, and past it one pass over the set (see the header). */
export class SymbolSource implements Symbols {
  readonly set: ReconcileSet
  readonly sketch: Int32Array
  readonly size: number
  readonly #cachedSymbols: number
  readonly #generation: number
  readonly #symbolsMax: number
  #extension = new Int32Array(0)
  #extensionEnd: number

  constructor (set: ReconcileSet, symbolsMax: number) {
    this.set = set
    this.sketch = set.sketch.slice(0, sketchWidth)
    this.size = set.size
    this.#cachedSymbols = set.cachedSymbols
    this.#generation = set.generation
    this.#symbolsMax = symbolsMax
    this.#extensionEnd = set.cachedSymbols
  }

  get stale (): boolean { return !this.set.canUndoSince(this.#generation) }

  words (from: number, to: number): Int32Array {
    if (to > this.#symbolsMax) throw new LimitError(`symbol ${to} is past the session limit ${this.#symbolsMax}`)
    const out = new Int32Array((to - from) * symbolWords)
    const cachedEnd = Math.min(to, this.#cachedSymbols)
    if (from < cachedEnd) this.#cached(out, from, cachedEnd)
    if (to > this.#cachedSymbols) {
      this.#extend(to)
      const start = Math.max(from, this.#cachedSymbols)
      out.set(this.#extension.subarray((start - this.#cachedSymbols) * symbolWords, (to - this.#cachedSymbols) * symbolWords), (start - from) * symbolWords)
    }
    return out
  }

  /** Cached symbols [from, end) as of the session's start, into the head of `out`. */
  #cached (out: Int32Array, from: number, end: number): void {
    out.set(this.set.symbols.subarray(from * symbolWords, end * symbolWords), 0)
    if (this.set.generation === this.#generation) return
    const view = out.subarray(0, (end - from) * symbolWords)
    this.set.changesSince(this.#generation, (k0, k1, delta) => { applyKey(view, from, end, k0, k1, -delta) })
  }

  /** Compute symbols up to at least `to` (doubling, so a long session makes O(log) passes). */
  #extend (to: number): void {
    if (to <= this.#extensionEnd) return
    const base = this.#cachedSymbols
    const end = Math.min(this.#symbolsMax, Math.max(to, base + 2 * (this.#extensionEnd - base), base * 2))
    const ext = new Int32Array((end - base) * symbolWords)
    this.set.forEachKey((k0, k1) => { applyKey(ext, base, end, k0, k1, 1) })
    this.set.changesSince(this.#generation, (k0, k1, delta) => { applyKey(ext, base, end, k0, k1, -delta) })
    this.#extension = ext
    this.#extensionEnd = end
  }
}
