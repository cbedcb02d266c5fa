/**
 * The catalog's entries in flat arrays: one slot per held envelope, its numbers side
 * by side in one Float64Array (an entry is one or two cache lines, however many nodes a
 * simulation runs) and its two keys as shared strings. A relay holds one
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
import { LimitError } from '../errors.ts'
import { catalogEntriesMax } from '../limits.ts'

/**
 * One held envelope's metadata, as the catalog hands it out (a snapshot: changing it
 * changes nothing held). The id is `key` (`entryId` turns it back into bytes).
 */
export interface Entry {
  key: string
  expiresAtMs: number
  precedence: number
  kind: number
  hlcMs: number
  /** The HLC counter (envelopes of one millisecond order by it). */
  hlcC: number
  /** Bytes charged against the quota: envelope plus index overhead. */
  size: number
  stream: string
  seq: number
  /** Acknowledged to a local client: never evicted, only expired. */
  custody: boolean
  /**
   * For a file piece (kind file, #23): the id key of its file (its manifest's id). Kept by the
   * catalog's file index, not in these columns, so only file pieces pay for it.
   */
  file?: string
  /** With `file`: the sequence numbers its pieces take (manifest first), from the piece's head. */
  fileSpan?: { firstSeq: number, count: number }
}

const slotsInitial = 1024
const custodyBit = 0x20
const expiryQueuedBit = 0x40
/** Numbers per slot, side by side so that one entry is one or two cache lines: */
const numsPerSlot = 6
const expiresAtField = 0
const hlcMsField = 1
const hlcCField = 2
const seqField = 3
const sizeField = 4
/** precedence (bits 0–1), kind (bits 2–4), custody (bit 5), in the expiry order (bit 6); heap references from bit 8. */
const flagsField = 5
const refUnit = 0x100

export class EntryColumns {
  /** `numsPerSlot` numbers per slot. */
  #nums = new Float64Array(0)
  /** Two strings per slot: the id key ('' when the slot is dead or free) and the stream key. */
  #strs: string[] = []
  readonly #free: number[] = []
  #used = 0

  /** Stores an entry's fields in a free slot, with `stream` (the catalog's copy of its key); returns its slot. */
  add (e: Entry, stream: string): number {
    const slot = this.#free.pop() ?? this.#grow()
    const n = this.#nums
    const o = slot * numsPerSlot
    this.#strs[2 * slot] = e.key
    this.#strs[2 * slot + 1] = stream
    n[o + expiresAtField] = e.expiresAtMs
    n[o + hlcMsField] = e.hlcMs
    n[o + hlcCField] = e.hlcC
    n[o + seqField] = e.seq
    n[o + sizeField] = e.size
    n[o + flagsField] = e.precedence | (e.kind << 2) | (e.custody ? custodyBit : 0) | expiryQueuedBit // no heap references yet
    return slot
  }

  keyAt (slot: number): string { return this.#strs[2 * slot] }
  expiresAt (slot: number): number { return this.#nums[slot * numsPerSlot + expiresAtField] }
  hlcMsAt (slot: number): number { return this.#nums[slot * numsPerSlot + hlcMsField] }
  hlcCAt (slot: number): number { return this.#nums[slot * numsPerSlot + hlcCField] }
  precedenceAt (slot: number): number { return this.#flags(slot) & 3 }

  /** Whether the slot holds an entry (a retired one is dead until reused). */
  live (slot: number): boolean { return this.#strs[2 * slot] !== '' }

  ref (slot: number): void { this.#nums[slot * numsPerSlot + flagsField] += refUnit }

  /** A heap dropped the slot; a dead slot nobody names any more is free for reuse. */
  unref (slot: number): void {
    const o = slot * numsPerSlot + flagsField
    this.#nums[o] -= refUnit
    if (this.#nums[o] < refUnit && !this.live(slot)) this.#free.push(slot)
  }

  custody (slot: number): boolean { return (this.#flags(slot) & custodyBit) !== 0 }

  /** Whether the catalog's expiry heap still holds the slot. */
  expiryQueued (slot: number): boolean { return (this.#flags(slot) & expiryQueuedBit) !== 0 }
  setExpiryQueued (slot: number, queued: boolean): void {
    const o = slot * numsPerSlot + flagsField
    const f = this.#nums[o] % refUnit
    this.#nums[o] += (queued ? f | expiryQueuedBit : f & ~expiryQueuedBit) - f // the reference count above is kept
  }

  /** A fresh Entry with a live slot's fields. */
  entry (slot: number): Entry {
    const n = this.#nums
    const o = slot * numsPerSlot
    const m = n[o + flagsField] & 0xff
    return {
      key: this.#strs[2 * slot], expiresAtMs: n[o + expiresAtField], precedence: m & 3, kind: (m >> 2) & 7, hlcMs: n[o + hlcMsField], hlcC: n[o + hlcCField],
      size: n[o + sizeField], stream: this.#strs[2 * slot + 1], seq: n[o + seqField], custody: (m & custodyBit) !== 0,
    }
  }

  /** The entry is removed: its slot is dead, and free once no heap names it. */
  retire (slot: number): void {
    this.#strs[2 * slot] = ''
    this.#strs[2 * slot + 1] = ''
    if (this.#nums[slot * numsPerSlot + flagsField] < refUnit) this.#free.push(slot)
  }

  /** Flags with the reference count (bits 8 up) left out, as a small integer. */
  #flags (slot: number): number { return this.#nums[slot * numsPerSlot + flagsField] % refUnit }

  #grow (): number {
    const slot = this.#used++
    if (slot >= catalogEntriesMax) throw new LimitError(`catalog full: ${catalogEntriesMax} entries`)
    const capacity = this.#nums.length / numsPerSlot
    if (slot >= capacity) {
      const more = Math.min(catalogEntriesMax, Math.max(slotsInitial, capacity * 2))
      const nums = new Float64Array(more * numsPerSlot)
      nums.set(this.#nums)
      this.#nums = nums
      const strs = new Array<string>(more * 2).fill('')
      for (let i = 0; i < this.#strs.length; i++) strs[i] = this.#strs[i]
      this.#strs = strs
    }
    return slot
  }
}
