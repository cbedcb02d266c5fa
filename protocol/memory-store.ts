/**
 * In-memory ordered key-value store implementing the `Store` port, for the simulator
 * (hundreds of nodes, tens of thousands of keys each) and for unit tests. Pure: no I/O.
 *
 * Layout: a `Map` from the key's binary string (one char per byte, so JS string order
 * is bytewise order) to its value gives O(1) point reads and overwrites; a sorted list
 * of bounded chunks of those strings gives ordered ranges, with O(log n) search and
 * insertion or removal costing one splice inside a chunk of at most `chunkKeysMax`.
 *
 * Semantics shared with the LevelDB adapter (both pass test/store-acceptance.ts):
 * - batches are validated whole before anything is applied (all or nothing);
 * - values are copied on the way in and on the way out, so callers cannot alias them;
 * - `range` takes a snapshot when it is called: writes made while iterating are not seen;
 * - after `close`, every call throws or rejects with StorageError.
 *
 * @example
 * const store = new MemoryStore()
 * await store.batch([{ type: 'put', key: encodeKey(['a', 1]), value: bytes }])
 * for await (const [key, value] of store.range(prefixRange(['a']))) { … }
 * const survivor = store.clone()   // a crashed node's disk, kept for its restart
 */
import type { RangeOptions, Store, StoreOp } from './ports.ts'
import { StorageError } from './errors.ts'

/** Chunk size: big enough that the chunk list stays short, small enough that a splice is cheap. */
const chunkKeysMax = 512

/** Throws StorageError unless every op is well formed; checks all ops before any is applied. */
export function validateBatch (ops: readonly StoreOp[]): void {
  if (!Array.isArray(ops)) throw new StorageError('batch ops must be an array')
  ops.forEach((op, i) => {
    if (op === null || typeof op !== 'object') throw new StorageError(`batch op ${i} is not an object`)
    if (!(op.key instanceof Uint8Array)) throw new StorageError(`batch op ${i} key is not a Uint8Array`)
    if (op.type === 'put') {
      if (!(op.value instanceof Uint8Array)) throw new StorageError(`batch op ${i} value is not a Uint8Array`)
    } else if (op.type !== 'del') {
      throw new StorageError(`batch op ${i} has unknown type ${String((op as { type: unknown }).type)}`)
    }
  })
}

/** Throws StorageError unless the bounds are Uint8Arrays and the limit a non-negative integer. */
export function validateRange (options: RangeOptions): void {
  if (options === null || typeof options !== 'object') throw new StorageError('range options must be an object')
  const { gte, lt, limit } = options
  if (gte !== undefined && !(gte instanceof Uint8Array)) throw new StorageError('range gte is not a Uint8Array')
  if (lt !== undefined && !(lt instanceof Uint8Array)) throw new StorageError('range lt is not a Uint8Array')
  if (limit !== undefined && !(Number.isSafeInteger(limit) && limit >= 0)) {
    throw new StorageError(`range limit ${limit} is not a non-negative integer`)
  }
}

export function validateKey (key: Uint8Array): void {
  if (!(key instanceof Uint8Array)) throw new StorageError('key is not a Uint8Array')
}

/** One char per byte; String.fromCharCode takes at most ~64k arguments, hence the slices. */
function toBinary (bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode.apply(null, bytes.subarray(i, i + 8192) as unknown as number[])
  }
  return s
}

function fromBinary (s: string): Uint8Array {
  const bytes = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i)
  return bytes
}

/** First index in the sorted `arr` whose element is >= k (or > k when `after`). */
function bound (arr: readonly string[], k: string, after: boolean): number {
  let lo = 0
  let hi = arr.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (arr[mid] < k || (after && arr[mid] === k)) lo = mid + 1
    else hi = mid
  }
  return lo
}

export class MemoryStore implements Store {
  #values = new Map<string, Uint8Array>()
  /** Sorted, non-empty chunks (except a lone empty one when the store is empty). */
  #chunks: string[][] = [[]]
  #bytes = 0
  #closed = false

  /** Number of keys held. */
  get size (): number { return this.#values.size }

  /** Sum of key and value lengths, bytes: what a quota or a status report counts. */
  get bytes (): number { return this.#bytes }

  async get (key: Uint8Array): Promise<Uint8Array | undefined> {
    return this.getSync(key)
  }

  /** Synchronous `get` for hot paths in the simulator. */
  getSync (key: Uint8Array): Uint8Array | undefined {
    this.#checkOpen()
    validateKey(key)
    const value = this.#values.get(toBinary(key))
    return value === undefined ? undefined : value.slice()
  }

  async batch (ops: StoreOp[]): Promise<void> {
    this.batchSync(ops)
  }

  /** Synchronous `batch`: validates every op, then applies them all. */
  batchSync (ops: readonly StoreOp[]): void {
    this.#checkOpen()
    validateBatch(ops)
    for (const op of ops) {
      if (op.type === 'put') this.#put(toBinary(op.key), op.value.slice())
      else this.#del(toBinary(op.key))
    }
  }

  /**
   * Snapshot taken now, when range() is called (references only: stored values are never
   * mutated in place, puts replace them); each entry is copied as it is yielded, so a
   * consumer that stops early pays only for what it read. Errors surface from `next()`.
   */
  range (options: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]> {
    let entries: Array<[string, Uint8Array]> = []
    let failure: unknown
    try {
      entries = this.#select(options)
    } catch (e) {
      failure = e
    }
    return (async function * () {
      if (failure !== undefined) throw failure
      for (const [k, v] of entries) yield [fromBinary(k), v.slice()] as [Uint8Array, Uint8Array]
    })()
  }

  /** Synchronous `range`, returning the entries (copies) in order. */
  rangeSync (options: RangeOptions = {}): Array<[Uint8Array, Uint8Array]> {
    return this.#select(options).map(([k, v]) => [fromBinary(k), v.slice()])
  }

  async close (): Promise<void> {
    this.#closed = true
  }

  /**
   * An independent open copy with the same contents, even of a closed store: how the
   * simulator keeps a node's disk across a crash and reopens it. O(n) references; values
   * are shared safely because they are never mutated in place.
   */
  clone (): MemoryStore {
    const copy = new MemoryStore()
    copy.#values = new Map(this.#values)
    copy.#chunks = this.#chunks.map(chunk => chunk.slice())
    copy.#bytes = this.#bytes
    return copy
  }

  #select (options: RangeOptions): Array<[string, Uint8Array]> {
    this.#checkOpen()
    validateRange(options)
    const lo = options.gte === undefined ? undefined : toBinary(options.gte)
    const hi = options.lt === undefined ? undefined : toBinary(options.lt)
    const limit = options.limit ?? Number.POSITIVE_INFINITY
    const keys = options.reverse === true ? this.#keysDown(lo, hi, limit) : this.#keysUp(lo, hi, limit)
    return keys.map(k => [k, this.#values.get(k) as Uint8Array])
  }

  #checkOpen (): void {
    if (this.#closed) throw new StorageError('store is closed')
  }

  #put (k: string, value: Uint8Array): void {
    const old = this.#values.get(k)
    if (old === undefined) {
      this.#insertKey(k)
      this.#bytes += k.length
    } else {
      this.#bytes -= old.length
    }
    this.#values.set(k, value)
    this.#bytes += value.length
  }

  #del (k: string): void {
    const old = this.#values.get(k)
    if (old === undefined) return
    this.#values.delete(k)
    this.#bytes -= k.length + old.length
    const c = this.#chunkFor(k)
    const chunk = this.#chunks[c]
    chunk.splice(bound(chunk, k, false), 1)
    if (chunk.length === 0 && this.#chunks.length > 1) this.#chunks.splice(c, 1)
  }

  /** Index of the chunk that holds, or should hold, `k`: the first whose last key >= k. */
  #chunkFor (k: string): number {
    let lo = 0
    let hi = this.#chunks.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      const chunk = this.#chunks[mid]
      if (chunk[chunk.length - 1] < k) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  #insertKey (k: string): void {
    const c = this.#chunkFor(k)
    const chunk = this.#chunks[c]
    chunk.splice(bound(chunk, k, false), 0, k)
    if (chunk.length > chunkKeysMax) {
      this.#chunks.splice(c + 1, 0, chunk.splice(chunk.length >>> 1))
    }
  }

  #keysUp (lo: string | undefined, hi: string | undefined, limit: number): string[] {
    const out: string[] = []
    let c = lo === undefined ? 0 : this.#chunkFor(lo)
    let i = lo === undefined ? 0 : bound(this.#chunks[c], lo, false)
    for (; c < this.#chunks.length && out.length < limit; c++, i = 0) {
      const chunk = this.#chunks[c]
      for (; i < chunk.length && out.length < limit; i++) {
        if (hi !== undefined && chunk[i] >= hi) return out
        out.push(chunk[i])
      }
    }
    return out
  }

  #keysDown (lo: string | undefined, hi: string | undefined, limit: number): string[] {
    const out: string[] = []
    let c = hi === undefined ? this.#chunks.length - 1 : this.#chunkFor(hi)
    let i = hi === undefined ? this.#chunks[c].length - 1 : bound(this.#chunks[c], hi, false) - 1
    for (; c >= 0 && out.length < limit; c--, i = c >= 0 ? this.#chunks[c].length - 1 : -1) {
      const chunk = this.#chunks[c]
      for (; i >= 0 && out.length < limit; i--) {
        if (lo !== undefined && chunk[i] < lo) return out
        out.push(chunk[i])
      }
    }
    return out
  }
}
