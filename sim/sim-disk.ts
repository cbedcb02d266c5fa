/**
 * A simulated node's disk: an ordered key-value `Store` tuned for what the engine
 * does in a long run: many small batches, point reads, and ordered ranges only when
 * a node (re)starts. Values live in a `Map` keyed by the key's binary string (one char
 * per byte, so string order is bytewise order); the sorted key list is built lazily
 * on the first range after a key was added or removed. Writes cost O(1), a range after
 * writes O(n log n) once: at a city scale that is what keeps storage off the profile
 * (the general-purpose MemoryStore keeps keys sorted on every insert).
 *
 * Memory is what limits a 200-node run (every node stores every envelope, under two
 * keys), so values are kept as binary strings too (one heap object each, no
 * separate backing store for the collector to track), and disks of one fleet may share
 * a `StringPool`: the index keys of an envelope are the same bytes on every node, so the
 * fleet keeps one copy of each key string instead of one per node.
 *
 * Same semantics as every Store (it passes test/store-acceptance.ts): all-or-nothing
 * batches validated first, values copied in and out, ranges are snapshots, closed
 * stores fail with StorageError.
 *
 * @example
 * const disk = new SimDisk()
 * disk.batchSync([{ type: 'put', key, value }])
 * const copy = disk.clone()
 */
import { Buffer } from 'node:buffer'
import { StorageError } from '../protocol/errors.ts'
import { validateBatch, validateKey, validateRange } from '../protocol/memory-store.ts'
import type { RangeOptions, Store, StoreOp } from '../protocol/ports.ts'

/**
 * Bytes as a string of one char per byte (Latin-1). Long values go through Node's native
 * codec (several times faster than a JS loop at 300 B); short ones (keys) use
 * `fromCharCode`, because asking a small, on-heap Uint8Array for its `.buffer` makes V8
 * move it to a new off-heap ArrayBuffer, and two keys per stored envelope add up.
 */
function toBinary (bytes: Uint8Array): string {
  if (bytes.length <= onHeapBytesMax) return String.fromCharCode.apply(null, bytes as unknown as number[])
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1')
}

/** V8 keeps typed arrays up to this size on its own heap (its typed_array_max_size_in_heap). */
const onHeapBytesMax = 64

/** The inverse: a fresh Uint8Array (not a pooled Buffer, whose `slice` would share memory). */
function fromBinary (s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  if (s.length <= onHeapBytesMax) for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  else Buffer.from(out.buffer, out.byteOffset, out.length).write(s, 'latin1')
  return out
}

/** First index whose key is >= k. */
function lowerBound (keys: readonly string[], k: string): number {
  let lo = 0
  let hi = keys.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (keys[mid] < k) lo = mid + 1
    else hi = mid
  }
  return lo
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

export class SimDisk implements Store {
  /** Keys with non-empty values; keys held with empty values live in the pool's bit sets. */
  #values = new Map<string, string>()
  #emptyCount = 0
  #sorted: string[] | undefined = []
  #closed = false
  readonly #pool: StringPool
  readonly #id: number

  constructor (pool: StringPool = new StringPool()) {
    this.#pool = pool
    this.#id = pool.register()
  }

  get size (): number { return this.#values.size + this.#emptyCount }

  async get (key: Uint8Array): Promise<Uint8Array | undefined> { return this.getSync(key) }

  getSync (key: Uint8Array): Uint8Array | undefined {
    this.#checkOpen()
    validateKey(key)
    const k = toBinary(key)
    const v = this.#values.get(k)
    if (v !== undefined) return fromBinary(v)
    return this.#pool.holdsEmpty(this.#id, k) ? new Uint8Array(0) : undefined
  }

  async batch (ops: StoreOp[]): Promise<void> { this.batchSync(ops) }

  batchSync (ops: readonly StoreOp[]): void {
    this.#checkOpen()
    validateBatch(ops)
    this.applyValidated(ops)
  }

  /** Applies ops already checked by `validateBatch` (the simulated store validates when a batch is issued). */
  applyValidated (ops: readonly StoreOp[]): void {
    const values = this.#values
    const pool = this.#pool
    for (const op of ops) {
      const k = toBinary(op.key)
      let added = false
      let removed = false
      if (op.type === 'del') {
        removed = values.delete(k)
        if (pool.clearEmpty(this.#id, k)) { this.#emptyCount--; removed = true }
      } else if (op.value.length === 0) {
        const wasValue = values.delete(k)
        if (pool.setEmpty(this.#id, k)) { this.#emptyCount++; added = !wasValue }
      } else {
        const wasEmpty = pool.clearEmpty(this.#id, k)
        if (wasEmpty) this.#emptyCount--
        const ik = pool.intern(k)
        added = !wasEmpty && !values.has(ik)
        values.set(ik, this.#valueString(op.value))
      }
      if (added || removed) this.#sorted = undefined
    }
  }

  range (options: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]> {
    let entries: Array<[Uint8Array, Uint8Array]> = []
    let failure: unknown
    try { entries = this.rangeSync(options) } catch (e) { failure = e }
    return (async function * () {
      if (failure !== undefined) throw failure
      yield * entries
    })()
  }

  /** The entries in range, in key order (copies). */
  rangeSync (options: RangeOptions = {}): Array<[Uint8Array, Uint8Array]> {
    this.#checkOpen()
    validateRange(options)
    this.#sorted ??= [...this.#values.keys(), ...this.#pool.emptyKeysOf(this.#id)].sort()
    const keys = this.#sorted
    const from = options.gte === undefined ? 0 : lowerBound(keys, toBinary(options.gte))
    const to = options.lt === undefined ? keys.length : lowerBound(keys, toBinary(options.lt))
    const limit = options.limit ?? Infinity
    const out: Array<[Uint8Array, Uint8Array]> = []
    if (options.reverse === true) {
      for (let i = to - 1; i >= from && out.length < limit; i--) out.push(this.#entry(keys[i]))
    } else {
      for (let i = from; i < to && out.length < limit; i++) out.push(this.#entry(keys[i]))
    }
    return out
  }

  async close (): Promise<void> { this.#closed = true }

  /** An independent open copy (values are immutable strings, so they are shared). */
  clone (): SimDisk {
    const copy = new SimDisk(this.#pool)
    copy.#values = new Map(this.#values)
    for (const k of this.#pool.emptyKeysOf(this.#id)) this.#pool.setEmpty(copy.#id, k)
    copy.#emptyCount = this.#emptyCount
    copy.#sorted = this.#sorted?.slice()
    return copy
  }

  #entry (k: string): [Uint8Array, Uint8Array] {
    return [fromBinary(k), fromBinary(this.#values.get(k) ?? '')]
  }

  #valueString (v: Uint8Array): string {
    if (v.length < valuePooledBytesMin) return toBinary(v)
    return toBinary(v.subarray(0, valueHeadBytes)) + this.#pool.intern(toBinary(v.subarray(valueHeadBytes)))
  }

  #checkOpen (): void {
    if (this.#closed) throw new StorageError('store is closed')
  }
}
