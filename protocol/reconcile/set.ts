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
 * Ids are held as binary strings (one char per byte), not byte arrays: a 32-char
 * string is a fifth of the memory of a small Uint8Array, and a relay holds one per
 * envelope. They are filed in buckets by the low 30 bits of the key's first word, a
 * small integer V8 keeps unboxed, so an item costs a map slot and no object of its own
 * (a bucket holds a list only in the rare case two ids share those bits).
 *
 * @example
 * const set = new ReconcileSet()
 * set.add(id)      // true if new
 * set.delete(id)   // true if it was there
 */
import { binaryString, fromBinaryString } from '../bytes.ts'
import { DecodeError, LimitError } from '../errors.ts'
import { reconcileCachedSymbols, reconcileJournalEntriesMax, reconcileSymbolsMax } from '../limits.ts'
import { checksum, mapDraw, mapSalt, mapSeed, mapStep, nextIndex, signs } from './hash.ts'

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
  const salt = mapSalt(k0, k1)
  let i = 0
  let s = mapSeed(k0, salt)
  while (i < end) {
    if (i >= begin) {
      const o = (i - begin) * symbolWords
      symbols[o] ^= k0
      symbols[o + 1] ^= k1
      symbols[o + 2] ^= chk
      symbols[o + 3] += delta
    }
    s = mapStep(s)
    i = nextIndex(i, mapDraw(s, salt))
  }
}

/** Adds `delta` times the key's 64 tug-of-war signs to a sketch. */
export function sketchKey (sketch: Int32Array, k0: number, k1: number, delta: number): void {
  const lo = signs(k0, k1, 0)
  const hi = signs(k0, k1, 0x55555555)
  for (let j = 0; j < 32; j++) {
    sketch[j] += ((lo >>> j) & 1) * 2 * delta - delta
    sketch[j + 32] += ((hi >>> j) & 1) * 2 * delta - delta
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
  /** Low 30 bits of key word 0 → the id (binary string) or, when several share them, the ids. */
  readonly #buckets = new Map<number, string | string[]>()
  /** Distinct 64-bit keys held: the items taking part. */
  #size = 0
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
  get size (): number { return this.#size }

  /** Whether the id is present (as bytes, or as its `binaryString`). */
  has (id: Uint8Array | string): boolean {
    const s = idString(id)
    const held = this.#buckets.get(bucketOf(s))
    return held !== undefined && (held === s || (typeof held !== 'string' && held.includes(s)))
  }

  /**
   * Adds an id, as bytes or as its `binaryString` (pass the string a caller already
   * holds and the set shares it: a relay keeps one per envelope). False if present.
   * Of several ids with one 64-bit key, the smallest takes part (binary strings order
   * as their bytes); the symbols depend on the key only, so they change only when a
   * key arrives or leaves.
   */
  add (id: Uint8Array | string): boolean {
    const s = idString(id)
    const b = bucketOf(s)
    const held = this.#buckets.get(b)
    if (held === undefined) {
      this.#buckets.set(b, s)
      this.#keyChange(s, 1)
      return true
    }
    const ids = typeof held === 'string' ? [held] : held
    if (ids.includes(s)) return false
    const keyIsNew = !ids.some(x => sameKey(x, s))
    this.#buckets.set(b, [...ids, s])
    if (keyIsNew) this.#keyChange(s, 1)
    return true
  }

  /** Removes an id (bytes or `binaryString`). Returns false if it was not present. */
  delete (id: Uint8Array | string): boolean {
    const s = idString(id)
    const b = bucketOf(s)
    const held = this.#buckets.get(b)
    if (held === undefined) return false
    if (held === s) {
      this.#buckets.delete(b)
      this.#keyChange(s, -1)
      return true
    }
    if (typeof held === 'string' || !held.includes(s)) return false
    const rest = held.filter(x => x !== s)
    this.#buckets.set(b, rest.length === 1 ? rest[0] : rest)
    if (!rest.some(x => sameKey(x, s))) this.#keyChange(s, -1)
    return true
  }

  /** The reconciled id with this 64-bit key, if any (a fresh copy). */
  lookup (k0: number, k1: number): Uint8Array | undefined {
    const held = this.#buckets.get(k0 & bucketMask)
    if (held === undefined) return undefined
    let best: string | undefined
    for (const x of typeof held === 'string' ? [held] : held) {
      if (stringWord(x, 0) === k0 && stringWord(x, 4) === k1 && (best === undefined || x < best)) best = x
    }
    return best === undefined ? undefined : fromBinaryString(best)
  }

  /** Every id held, as its binary string, those kept aside by a shared key included (O(N)). */
  * ids (): IterableIterator<string> {
    for (const held of this.#buckets.values()) {
      if (typeof held === 'string') yield held
      else yield * held
    }
  }

  /** Calls `fn` once with every reconciled key (for symbols past the cache: O(N)). */
  forEachKey (fn: (k0: number, k1: number) => void): void {
    for (const held of this.#buckets.values()) {
      if (typeof held === 'string') { fn(stringWord(held, 0), stringWord(held, 4)); continue }
      held.forEach((x, i) => { if (!held.slice(0, i).some(y => sameKey(x, y))) fn(stringWord(x, 0), stringWord(x, 4)) })
    }
  }

  /** Whether the journal still reaches back to generation `since` (see changesSince). */
  canUndoSince (since: number): boolean { return this.generation - since <= this.#journalEntries }

  /**
   * Replays, newest first, every key change made since generation `since` (for
   * undoing them). Throws LimitError if the journal no longer reaches that far.
   */
  changesSince (since: number, fn: (k0: number, k1: number, delta: number) => void): void {
    if (!this.canUndoSince(since)) throw new LimitError(`set changed ${this.generation - since} times during the session; the journal holds ${this.#journalEntries}`)
    for (let g = this.generation - 1; g >= since; g--) {
      const o = (g % this.#journalEntries) * 3
      fn(this.#journal[o], this.#journal[o + 1], this.#journal[o + 2])
    }
  }

  #keyChange (s: string, delta: number): void {
    this.#size += delta
    this.#change(stringWord(s, 0), stringWord(s, 4), delta)
  }

  #change (k0: number, k1: number, delta: number): void {
    applyKey(this.symbols, 0, this.cachedSymbols, k0, k1, delta)
    sketchKey(this.sketch, k0, k1, delta)
    const o = (this.generation % this.#journalEntries) * 3
    this.#journal[o] = k0
    this.#journal[o + 1] = k1
    this.#journal[o + 2] = delta
    this.generation++
  }
}

/** The id as a binary string, checked: 32 bytes, or a string of 32 chars below 256. */
function idString (id: Uint8Array | string): string {
  if (id instanceof Uint8Array) {
    if (id.length !== idBytes) throw new DecodeError(`an id is ${idBytes} bytes, got ${id.length}`)
    return binaryString(id)
  }
  if (typeof id !== 'string' || id.length !== idBytes) throw new DecodeError(`an id is ${idBytes} bytes, got ${(id as string)?.length}`)
  for (let i = 0; i < idBytes; i++) if (id.charCodeAt(i) > 0xff) throw new DecodeError('an id string has one char per byte')
  return id
}

/** Bucket numbers: the low 30 bits of key word 0 (a small integer, unboxed in a Map). */
const bucketMask = 0x3fffffff

function bucketOf (s: string): number { return stringWord(s, 0) & bucketMask }

/** Whether two ids share their 64-bit key (first 8 bytes). */
function sameKey (a: string, b: string): boolean { return stringWord(a, 0) === stringWord(b, 0) && stringWord(a, 4) === stringWord(b, 4) }

/** A key word (little-endian, like keyWord0) read from an id's binary string. */
function stringWord (s: string, offset: number): number {
  return (s.charCodeAt(offset) | (s.charCodeAt(offset + 1) << 8) | (s.charCodeAt(offset + 2) << 16) | (s.charCodeAt(offset + 3) << 24)) >>> 0
}
