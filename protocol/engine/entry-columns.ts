/**
 * The catalog's entries as columns (struct of arrays): one slot per held envelope,
 * its numbers in typed arrays and its two keys as shared strings. A relay holds one
 * entry per envelope, and a simulated city 200 × 21,000; as objects, each entry was an
 * object plus two boxed doubles (V8 keeps a double field in its own heap object) for the
 * collector to trace, and the collector became the largest cost of a long run. Here an
 * entry costs about 50 bytes and no heap object of its own.
 *
 * The catalog's heaps (expiry, eviction) hold slot numbers and read their order from
 * the columns, so a slot must not be reused while a heap still holds it: each slot
 * counts the heap items naming it, and a removed entry's slot is reused only once the
 * last of them has been dropped. A heap recognises such a slot as dead and skips it.
 *
 * @example
 * const cols = new EntryColumns()
 * const slot = cols.add(entry, entry.stream)
 * cols.ref(slot)          // a heap holds it
 * cols.entry(slot).seq    // a fresh Entry object
 * cols.retire(slot)       // dead: cols.live(slot) === false, reused after cols.unref(slot)
 */
import type { Entry } from './catalog.ts'
import { LimitError } from '../errors.ts'
import { catalogEntriesMax } from '../limits.ts'

const slotsInitial = 1024
const custodyBit = 0x20
const expiryQueuedBit = 0x40

export class EntryColumns {
  keys: string[] = []
  streams: string[] = []
  expiresAtMs = new Float64Array(0)
  hlcMs = new Float64Array(0)
  hlcC = new Float64Array(0)
  seq = new Float64Array(0)
  size = new Float64Array(0)
  /** precedence (bits 0–1), kind (bits 2–4), custody (bit 5), in the expiry order (bit 6). */
  meta = new Uint8Array(0)
  /** Heap items naming the slot (at most one per heap). */
  refs = new Uint8Array(0)
  readonly #free: number[] = []
  #used = 0

  /** Stores an entry's fields in a free slot, with `stream` (the catalog's copy of its key); returns its slot. */
  add (e: Entry, stream: string): number {
    const slot = this.#free.pop() ?? this.#grow()
    this.keys[slot] = e.key
    this.streams[slot] = stream
    this.expiresAtMs[slot] = e.expiresAtMs
    this.hlcMs[slot] = e.hlcMs
    this.hlcC[slot] = e.hlcC
    this.seq[slot] = e.seq
    this.size[slot] = e.size
    this.meta[slot] = e.precedence | (e.kind << 2) | (e.custody ? custodyBit : 0) | expiryQueuedBit
    return slot
  }

  /** Whether the slot holds an entry (a retired one is dead until reused). */
  live (slot: number): boolean { return this.keys[slot] !== '' }

  ref (slot: number): void { this.refs[slot]++ }

  /** A heap dropped the slot; a dead slot nobody names any more is free for reuse. */
  unref (slot: number): void {
    if (--this.refs[slot] === 0 && this.keys[slot] === '') this.#free.push(slot)
  }

  custody (slot: number): boolean { return (this.meta[slot] & custodyBit) !== 0 }

  /** Whether the catalog's expiry heap still holds the slot. */
  expiryQueued (slot: number): boolean { return (this.meta[slot] & expiryQueuedBit) !== 0 }
  setExpiryQueued (slot: number, queued: boolean): void { this.meta[slot] = queued ? this.meta[slot] | expiryQueuedBit : this.meta[slot] & ~expiryQueuedBit }

  /** A fresh Entry with a live slot's fields. */
  entry (slot: number): Entry {
    const m = this.meta[slot]
    return {
      key: this.keys[slot], expiresAtMs: this.expiresAtMs[slot], precedence: m & 3, kind: (m >> 2) & 7, hlcMs: this.hlcMs[slot], hlcC: this.hlcC[slot],
      size: this.size[slot], stream: this.streams[slot], seq: this.seq[slot], custody: (m & custodyBit) !== 0,
    }
  }

  /** The entry is removed: its slot is dead, and free once no heap names it. */
  retire (slot: number): void {
    this.keys[slot] = ''
    this.streams[slot] = ''
    if (this.refs[slot] === 0) this.#free.push(slot)
  }

  #grow (): number {
    const slot = this.#used++
    if (slot >= catalogEntriesMax) throw new LimitError(`catalog full: ${catalogEntriesMax} entries`)
    if (slot >= this.meta.length) {
      const capacity = Math.min(catalogEntriesMax, Math.max(slotsInitial, this.meta.length * 2))
      this.expiresAtMs = grown(this.expiresAtMs, new Float64Array(capacity))
      this.hlcMs = grown(this.hlcMs, new Float64Array(capacity))
      this.hlcC = grown(this.hlcC, new Float64Array(capacity))
      this.seq = grown(this.seq, new Float64Array(capacity))
      this.size = grown(this.size, new Float64Array(capacity))
      this.meta = grown(this.meta, new Uint8Array(capacity))
      this.refs = grown(this.refs, new Uint8Array(capacity))
    }
    this.keys.push('')
    this.streams.push('')
    return slot
  }
}

function grown<T extends Float64Array | Uint8Array> (old: T, into: T): T {
  into.set(old)
  return into
}
