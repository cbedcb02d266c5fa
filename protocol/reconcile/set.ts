/**
 * The reconciling node's set of unexpired envelope ids, kept ready to answer a
 * session in time proportional to the difference rather than to the set: the
 * first `cachedSymbols` rateless-IBLT coded symbols and the tug-of-war sketch are
 * updated on every add and delete (about 16 small XORs and 64 additions each), so
 * a session only copies them. A bounded journal of recent changes lets a session
 * that must compute symbols past the cache (a very large difference) rebuild them
 * exactly as they were when it started, even if the engine kept adding and
 * purging meanwhile.
 *
 * Items are ids alone: rateless IBLT symbols need no order, so unlike negentropy
 * no timestamps are kept (the engine fetches envelopes by id).
 *
 * Two ids that share their first 8 bytes (the key) cannot both take part: the
 * smaller id is reconciled, the other is kept aside and takes over if the first is
 * deleted. Honest ids collide with probability N²/2^65; a forger must grind about
 * 2^32 signed envelopes to make such a pair, and it only hides their own pair.
 *
 * @example
 * const set = new ReconcileSet()
 * set.add(id)      // true if new
 * set.delete(id)   // true if it was there
 */
import { compareBytes } from '../bytes.ts'
import { DecodeError, LimitError } from '../errors.ts'
import { reconcileCachedSymbols, reconcileJournalEntriesMax, reconcileSymbolsMax } from '../limits.ts'
import { checksum, keyString, keyWord0, keyWord1, mapDraw, mapSeed, mapStep, nextIndex, signs } from './hash.ts'

/** Words per coded symbol: key word 0, key word 1, checksum, count. */
export const symbolWords = 4
/** Tug-of-war counters in the estimator sketch. */
export const sketchWidth = 64
/** Bytes in an id (SHA-256). */
export const idBytes = 32

export interface ReconcileSetOptions {
  /** Coded symbols kept up to date incrementally (default from limits). */
  cachedSymbols?: number
  /** Changes remembered for sessions that outgrow the cache (default from limits). */
  journalEntries?: number
}

/** XOR key (k0, k1) into every cached symbol its index sequence hits below `end`, and add `delta` to the counts. */
export function applyKey (symbols: Int32Array, begin: number, end: number, k0: number, k1: number, delta: number): void {
  const chk = checksum(k0, k1)
  let i = 0
  let s = mapSeed(k0, k1)
  while (i < end) {
    if (i >= begin) {
      const o = (i - begin) * symbolWords
      symbols[o] ^= k0
      symbols[o + 1] ^= k1
      symbols[o + 2] ^= chk
      symbols[o + 3] += delta
    }
    s = mapStep(s)
    i = nextIndex(i, mapDraw(s))
  }
}

export class ReconcileSet {
  readonly cachedSymbols: number
  /** `cachedSymbols` coded symbols of the current set, `symbolWords` words each. */
  readonly symbols: Int32Array
  /** Tug-of-war counters: sum of ±1 over the items, one sign per counter. */
  readonly sketch: Int32Array
  /** Count of changes to the reconciled keys so far. */
  generation = 0
  readonly #items = new Map<string, Uint8Array>()
  readonly #aside = new Map<string, Uint8Array[]>()
  readonly #journal: Int32Array
  readonly #journalEntries: number

  constructor (options: ReconcileSetOptions = {}) {
    this.cachedSymbols = options.cachedSymbols ?? reconcileCachedSymbols
    this.#journalEntries = options.journalEntries ?? reconcileJournalEntriesMax
    if (!Number.isInteger(this.cachedSymbols) || this.cachedSymbols < 1 || this.cachedSymbols > reconcileSymbolsMax) throw new LimitError(`cachedSymbols out of range: ${this.cachedSymbols}`)
    if (!Number.isInteger(this.#journalEntries) || this.#journalEntries < 1) throw new LimitError(`journalEntries out of range: ${this.#journalEntries}`)
    this.symbols = new Int32Array(this.cachedSymbols * symbolWords)
    this.sketch = new Int32Array(sketchWidth)
    this.#journal = new Int32Array(this.#journalEntries * 3)
  }

  /** Items taking part in reconciliation. */
  get size (): number { return this.#items.size }

  has (id: Uint8Array): boolean {
    checkId(id)
    const key = keyString(keyWord0(id), keyWord1(id))
    const held = this.#items.get(key)
    if (held === undefined) return false
    return compareBytes(held, id) === 0 || (this.#aside.get(key)?.some(x => compareBytes(x, id) === 0) ?? false)
  }

  /** Adds an id (kept by reference: do not mutate it). Returns false if already present. */
  add (id: Uint8Array): boolean {
    checkId(id)
    const k0 = keyWord0(id)
    const k1 = keyWord1(id)
    const key = keyString(k0, k1)
    const held = this.#items.get(key)
    if (held === undefined) {
      this.#items.set(key, id)
      this.#change(k0, k1, 1)
      return true
    }
    if (compareBytes(held, id) === 0) return false
    const aside = this.#aside.get(key) ?? []
    if (aside.some(x => compareBytes(x, id) === 0)) return false
    // Same key, different id: the smaller id takes part; the symbols do not change (they depend on the key only).
    if (compareBytes(id, held) < 0) { aside.push(held); this.#items.set(key, id) } else aside.push(id)
    this.#aside.set(key, aside)
    return true
  }

  /** Removes an id. Returns false if it was not present. */
  delete (id: Uint8Array): boolean {
    checkId(id)
    const k0 = keyWord0(id)
    const k1 = keyWord1(id)
    const key = keyString(k0, k1)
    const held = this.#items.get(key)
    if (held === undefined) return false
    const aside = this.#aside.get(key)
    if (compareBytes(held, id) !== 0) {
      const at = aside?.findIndex(x => compareBytes(x, id) === 0) ?? -1
      if (aside === undefined || at < 0) return false
      aside.splice(at, 1)
      if (aside.length === 0) this.#aside.delete(key)
      return true
    }
    if (aside !== undefined) {
      aside.sort(compareBytes)
      this.#items.set(key, aside.shift() as Uint8Array)
      if (aside.length === 0) this.#aside.delete(key)
      return true
    }
    this.#items.delete(key)
    this.#change(k0, k1, -1)
    return true
  }

  /** The reconciled id with this 64-bit key, if any. */
  lookup (k0: number, k1: number): Uint8Array | undefined {
    return this.#items.get(keyString(k0, k1))
  }

  /** Calls `fn` with every reconciled key (for symbols past the cache: O(N)). */
  forEachKey (fn: (k0: number, k1: number) => void): void {
    for (const id of this.#items.values()) fn(keyWord0(id), keyWord1(id))
  }

  /**
   * Replays, newest first, every key change made since generation `since` (for
   * undoing them). Throws LimitError if the journal no longer reaches that far.
   */
  changesSince (since: number, fn: (k0: number, k1: number, delta: number) => void): void {
    if (this.generation - since > this.#journalEntries) throw new LimitError(`set changed ${this.generation - since} times during the session; the journal holds ${this.#journalEntries}`)
    for (let g = this.generation - 1; g >= since; g--) {
      const o = (g % this.#journalEntries) * 3
      fn(this.#journal[o], this.#journal[o + 1], this.#journal[o + 2])
    }
  }

  #change (k0: number, k1: number, delta: number): void {
    applyKey(this.symbols, 0, this.cachedSymbols, k0, k1, delta)
    const lo = signs(k0, k1, 0)
    const hi = signs(k0, k1, 0x55555555)
    for (let j = 0; j < 32; j++) {
      this.sketch[j] += ((lo >>> j) & 1) * 2 * delta - delta
      this.sketch[j + 32] += ((hi >>> j) & 1) * 2 * delta - delta
    }
    const o = (this.generation % this.#journalEntries) * 3
    this.#journal[o] = k0
    this.#journal[o + 1] = k1
    this.#journal[o + 2] = delta
    this.generation++
  }
}

function checkId (id: Uint8Array): void {
  if (!(id instanceof Uint8Array) || id.length !== idBytes) throw new DecodeError(`an id is ${idBytes} bytes, got ${(id as Uint8Array)?.length}`)
}
