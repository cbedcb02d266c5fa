/**
 * How the simulated disks of a fleet hold their bytes: binary strings (one char per
 * byte, so string order is bytewise order), a `StringPool` shared by the fleet, and
 * `ValueSlots`, one disk's values with no heap object per value. A 200-node city stores
 * every envelope on every node; what the collector must trace per stored copy decides
 * how long such a run takes, so a copy costs a map slot, a pointer to the fleet's one
 * copy of the bytes, and 16 bytes in a typed array.
 *
 * @example
 * const pool = new StringPool()
 * const values = new ValueSlots(pool)
 * values.set(toBinary(key), record)   // true: a new key
 * values.get(toBinary(key))           // a fresh copy of record
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

/**
 * What the disks of one simulated fleet share: canonical copies of strings (keys and
 * value tails), and, for keys whose value is empty (index entries), which disks hold
 * them, one bit per disk. An index key is the same bytes on every node, so the fleet
 * keeps one entry per key instead of one per key per node.
 */
export class StringPool {
  readonly #strings = new Map<string, string>()
  /** Key → bit set of the disks holding it with an empty value. */
  readonly #emptyHolders = new Map<string, Uint32Array>()
  #disks = 0

  get size (): number { return this.#strings.size }

  intern (k: string): string {
    const held = this.#strings.get(k)
    if (held !== undefined) return held
    this.#strings.set(k, k)
    return k
  }

  /** A number for a new disk (its bit in the empty-key sets). */
  register (): number { return this.#disks++ }

  holdsEmpty (disk: number, k: string): boolean {
    const bits = this.#emptyHolders.get(k)
    return bits !== undefined && disk >>> 5 < bits.length && ((bits[disk >>> 5] >>> (disk & 31)) & 1) === 1
  }

  /** Marks `k` held empty by `disk`; true if it was not. */
  setEmpty (disk: number, k: string): boolean {
    let bits = this.#emptyHolders.get(k)
    const word = disk >>> 5
    if (bits === undefined || word >= bits.length) {
      const grown = new Uint32Array(Math.max(word + 1, (this.#disks + 31) >>> 5))
      if (bits !== undefined) grown.set(bits)
      bits = grown
      this.#emptyHolders.set(k, bits)
    }
    const mask = 1 << (disk & 31)
    if ((bits[word] & mask) !== 0) return false
    bits[word] |= mask
    return true
  }

  /** Clears `disk`'s empty hold on `k`; true if it had one. */
  clearEmpty (disk: number, k: string): boolean {
    const bits = this.#emptyHolders.get(k)
    const word = disk >>> 5
    if (bits === undefined || word >= bits.length) return false
    const mask = 1 << (disk & 31)
    if ((bits[word] & mask) === 0) return false
    bits[word] &= ~mask
    if (bits.every(w => w === 0)) this.#emptyHolders.delete(k)
    return true
  }

  /** Every key `disk` holds empty (O(keys in the fleet): for ranges after a restart, not per write). */
  emptyKeysOf (disk: number): string[] {
    const out: string[] = []
    for (const k of this.#emptyHolders.keys()) if (this.holdsEmpty(disk, k)) out.push(k)
    return out
  }
}

/** Bytes of a value kept per disk; the rest is pooled (a log record's header is 8 bytes). */
const valueHeadBytes = 16
/** Values shorter than this are kept whole (pooling them would save little). */
const valuePooledBytesMin = 64
/** Slots allocated when a disk first stores a value (the arena doubles as needed). */
const slotsInitial = 1024

/**
 * One disk's non-empty values by key. A long value is split: its first `valueHeadBytes`
 * (what differs between nodes: a record's receive time and flags) go into a typed-array
 * arena, the rest is the pool's shared string. A short value is kept whole as its own
 * string. Freed slots are reused.
 */
export class ValueSlots {
  readonly #pool: StringPool
  #slots = new Map<string, number>()
  /** Slot → the value's pooled tail, or the whole value when its head length is 0. */
  #tails: string[] = []
  #heads = new Uint8Array(0)
  #headLengths = new Uint8Array(0)
  #free: number[] = []

  constructor (pool: StringPool) { this.#pool = pool }

  get size (): number { return this.#slots.size }
  has (k: string): boolean { return this.#slots.has(k) }
  keys (): IterableIterator<string> { return this.#slots.keys() }

  /** A fresh copy of the value, or undefined. */
  get (k: string): Uint8Array | undefined {
    const slot = this.#slots.get(k)
    if (slot === undefined) return undefined
    const head = this.#headLengths[slot]
    const tail = this.#tails[slot]
    if (head === 0) return fromBinary(tail)
    const out = new Uint8Array(head + tail.length)
    out.set(this.#heads.subarray(slot * valueHeadBytes, slot * valueHeadBytes + head))
    Buffer.from(out.buffer, out.byteOffset + head, tail.length).write(tail, 'latin1')
    return out
  }

  /** Stores a copy of `v` under the (pooled) key `k`; true if the key is new. */
  set (k: string, v: Uint8Array): boolean {
    let slot = this.#slots.get(k)
    const added = slot === undefined
    if (slot === undefined) {
      slot = this.#free.pop() ?? this.#grow()
      this.#slots.set(k, slot)
    }
    if (v.length < valuePooledBytesMin) {
      this.#headLengths[slot] = 0
      this.#tails[slot] = toBinary(v)
    } else {
      this.#heads.set(v.subarray(0, valueHeadBytes), slot * valueHeadBytes)
      this.#headLengths[slot] = valueHeadBytes
      this.#tails[slot] = this.#pool.intern(toBinary(v.subarray(valueHeadBytes)))
    }
    return added
  }

  delete (k: string): boolean {
    const slot = this.#slots.get(k)
    if (slot === undefined) return false
    this.#slots.delete(k)
    this.#tails[slot] = ''
    this.#free.push(slot)
    return true
  }

  /** An independent copy (tails are immutable strings, so they are shared). */
  clone (): ValueSlots {
    const copy = new ValueSlots(this.#pool)
    copy.#slots = new Map(this.#slots)
    copy.#tails = this.#tails.slice()
    copy.#heads = this.#heads.slice()
    copy.#headLengths = this.#headLengths.slice()
    copy.#free = this.#free.slice()
    return copy
  }

  /** A new slot number, doubling the arena when it is full. */
  #grow (): number {
    const slot = this.#tails.length
    if (slot >= this.#headLengths.length) {
      const capacity = Math.max(slotsInitial, this.#headLengths.length * 2)
      const heads = new Uint8Array(capacity * valueHeadBytes)
      heads.set(this.#heads)
      const lengths = new Uint8Array(capacity)
      lengths.set(this.#headLengths)
      this.#heads = heads
      this.#headLengths = lengths
    }
    this.#tails.push('')
    return slot
  }
}
