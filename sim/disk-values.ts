/**
 * How the simulated disks of a fleet hold their bytes: binary strings (one char per
 * byte, so string order is bytewise order), a `StringPool` shared by the fleet, and
 * `ValueSlots`, one disk's values by slot number. A 200-node city stores every envelope
 * on every node, so the fleet keeps one entry per key, saying which disks hold it and
 * where (`KeyHolders`), rather than one map per disk: storing a copy costs a lookup in
 * the fleet's map, a slot number, a pointer to the fleet's one copy of the bytes and 16
 * bytes in a typed array, and no heap object of its own.
 *
 * @example
 * const pool = new StringPool()
 * const disk = pool.register()
 * const values = new ValueSlots(pool)
 * pool.holdersFor(toBinary(key)).slots   // per disk: value slot + 1, or 0
 * const slot = values.add(record, pool.holdersFor(toBinary(key)))
 * values.read(slot)                      // a fresh copy of record
 */
import { Buffer } from 'node:buffer'

/**
 * Bytes as a string of one char per byte (Latin-1). Long values go through Node's native
 * codec (several times faster than a JS loop at 300 B); short ones (keys) use
 * `fromCharCode`, because asking a small, on-heap Uint8Array for its `.buffer` makes V8
 * move it to a new off-heap ArrayBuffer, and two keys per stored envelope add up.
 */
export function toBinary (bytes: Uint8Array): string {
  if (bytes.length <= onHeapBytesMax) return String.fromCharCode.apply(null, bytes as unknown as number[])
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1')
}

/** V8 keeps typed arrays up to this size on its own heap (its typed_array_max_size_in_heap). */
const onHeapBytesMax = 64

/** The inverse: a fresh Uint8Array (not a pooled Buffer, whose `slice` would share memory). */
export function fromBinary (s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  if (s.length <= onHeapBytesMax) for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  else Buffer.from(out.buffer, out.byteOffset, out.length).write(s, 'latin1')
  return out
}

/** Byte equality through Node's native comparison (a stored copy compares a few hundred bytes). */
export function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  if (a.length <= onHeapBytesMax) { // see toBinary
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
    return true
  }
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length))
}

/**
 * Which disks hold one key, and how: `empty` has a bit per disk holding it with an empty
 * value (index entries), `slots` each disk's value slot plus one (0: no value), `tail`
 * the fleet's copy of the tail of the first long value stored under the key (every node
 * stores an envelope's record under the same key, with the same bytes after its head).
 */
export interface KeyHolders {
  empty: Uint32Array | undefined
  slots: Int32Array | undefined
  tail: Uint8Array | undefined
}

/**
 * What the disks of one simulated fleet share: for every key any disk holds, its
 * `KeyHolders`, with the canonical copy of its value tail. A key is the same bytes on
 * every node, so the fleet keeps one entry per key instead of one per key per disk.
 * Tails are pooled by key, not by content: finding a tail by content meant hashing a few
 * hundred bytes per stored copy; by key it is one comparison, and a tail is forgotten
 * with the last disk holding its key.
 */
export class StringPool {
  readonly #keys = new Map<string, KeyHolders>()
  #disks = 0

  /** Distinct keys held. */
  get size (): number { return this.#keys.size }

  /** The fleet's copy of `tail` (a value's bytes after its head) for the key: shared if equal, else a private copy. */
  tailFor (h: KeyHolders, tail: Uint8Array): Uint8Array {
    const held = h.tail
    if (held !== undefined && sameBytes(held, tail)) return held
    const copy = tail.slice()
    h.tail ??= copy
    return copy
  }

  /** A number for a new disk (its bit and slot in every KeyHolders). */
  register (): number { return this.#disks++ }

  holders (k: string): KeyHolders | undefined { return this.#keys.get(k) }

  holdersFor (k: string): KeyHolders {
    let h = this.#keys.get(k)
    if (h === undefined) { h = { empty: undefined, slots: undefined, tail: undefined }; this.#keys.set(k, h) }
    return h
  }

  /** Forgets a key no disk holds any more. */
  release (k: string, h: KeyHolders): void {
    if ((h.empty === undefined || h.empty.every(w => w === 0)) && (h.slots === undefined || h.slots.every(x => x === 0))) this.#keys.delete(k)
  }

  holdsEmpty (disk: number, h: KeyHolders | undefined): boolean {
    const bits = h?.empty
    return bits !== undefined && disk >>> 5 < bits.length && ((bits[disk >>> 5] >>> (disk & 31)) & 1) === 1
  }

  /** Sets or clears `disk`'s empty hold; true if that changed it. */
  setEmpty (disk: number, h: KeyHolders, held: boolean): boolean {
    if (this.holdsEmpty(disk, h) === held) return false
    const word = disk >>> 5
    if (h.empty === undefined || word >= h.empty.length) h.empty = grownTo(h.empty, new Uint32Array(Math.max(word + 1, (this.#disks + 31) >>> 5)))
    h.empty[word] ^= 1 << (disk & 31)
    return true
  }

  /** `disk`'s value slot for the key, or -1. */
  slotOf (disk: number, h: KeyHolders | undefined): number {
    const slots = h?.slots
    return slots !== undefined && disk < slots.length ? slots[disk] - 1 : -1
  }

  setSlot (disk: number, h: KeyHolders, slot: number): void {
    if (h.slots === undefined || disk >= h.slots.length) h.slots = grownTo(h.slots, new Int32Array(Math.max(disk + 1, this.#disks)))
    h.slots[disk] = slot + 1
  }

  /** Every key `disk` holds, either way (O(keys in the fleet): for ranges after a restart, not per write). */
  keysOf (disk: number): string[] {
    const out: string[] = []
    for (const [k, h] of this.#keys) if (this.holdsEmpty(disk, h) || this.slotOf(disk, h) >= 0) out.push(k)
    return out
  }
}

function grownTo<T extends Uint32Array | Int32Array> (old: T | undefined, into: T): T {
  if (old !== undefined) into.set(old)
  return into
}

/** Bytes of a value kept per disk; the rest is pooled (a log record's header is 8 bytes). */
const valueHeadBytes = 16
/** Values shorter than this are kept whole (pooling them would save little). */
const valuePooledBytesMin = 64
/** What a free slot holds. */
const noTail = new Uint8Array(0)
/** Slots allocated when a disk first stores a value (the arena doubles as needed). */
const slotsInitial = 1024

/**
 * One disk's non-empty values by slot. A long value is split: its first `valueHeadBytes`
 * (what differs between nodes: a record's receive time and flags) go into a typed-array
 * arena, the rest is the pool's shared tail for its key. A short value is kept whole as
 * its own copy. Freed slots are reused. Tails are never written to after they are stored.
 */
export class ValueSlots {
  readonly #pool: StringPool
  /** Slot → the value's pooled tail, or the whole value when its head length is 0. */
  #tails: Uint8Array[] = []
  #heads = new Uint8Array(0)
  #headLengths = new Uint8Array(0)
  #free: number[] = []
  #used = 0

  constructor (pool: StringPool) { this.#pool = pool }

  /** A fresh copy of the value in `slot`. */
  read (slot: number): Uint8Array {
    const head = this.#headLengths[slot]
    const tail = this.#tails[slot]
    if (head === 0) return tail.slice()
    const out = new Uint8Array(head + tail.length)
    out.set(this.#heads.subarray(slot * valueHeadBytes, slot * valueHeadBytes + head))
    out.set(tail, head)
    return out
  }

  /** Stores a copy of `v`, the value of the key `h` describes, in a free slot; returns the slot. */
  add (v: Uint8Array, h: KeyHolders): number {
    const slot = this.#free.pop() ?? this.#grow()
    this.write(slot, v, h)
    return slot
  }

  /** Replaces the value in `slot` with a copy of `v` (the value of the key `h` describes). */
  write (slot: number, v: Uint8Array, h: KeyHolders): void {
    if (v.length < valuePooledBytesMin) {
      this.#headLengths[slot] = 0
      this.#tails[slot] = v.slice()
    } else {
      this.#heads.set(v.subarray(0, valueHeadBytes), slot * valueHeadBytes)
      this.#headLengths[slot] = valueHeadBytes
      this.#tails[slot] = this.#pool.tailFor(h, v.subarray(valueHeadBytes))
    }
  }

  free (slot: number): void {
    this.#tails[slot] = noTail
    this.#free.push(slot)
  }

  /** An independent copy with the same slot numbers (tails are never written to, so they are shared). */
  clone (): ValueSlots {
    const copy = new ValueSlots(this.#pool)
    copy.#tails = this.#tails.slice()
    copy.#heads = this.#heads.slice()
    copy.#headLengths = this.#headLengths.slice()
    copy.#free = this.#free.slice()
    copy.#used = this.#used
    return copy
  }

  /** A new slot number, doubling the arena (and the tails, allocated with it) when it is full. */
  #grow (): number {
    const slot = this.#used++
    if (slot >= this.#headLengths.length) {
      const capacity = Math.max(slotsInitial, this.#headLengths.length * 2)
      const heads = new Uint8Array(capacity * valueHeadBytes)
      heads.set(this.#heads)
      const lengths = new Uint8Array(capacity)
      lengths.set(this.#headLengths)
      const tails = new Array<Uint8Array>(capacity).fill(noTail)
      for (let i = 0; i < slot; i++) tails[i] = this.#tails[i]
      this.#heads = heads
      this.#headLengths = lengths
      this.#tails = tails
    }
    return slot
  }
}
