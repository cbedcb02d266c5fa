/**
 * The engine's in-memory view of what this node holds: every stored envelope's
 * metadata (never its bytes), tombstones for evicted ids, per-(channel, author)
 * sequences for gap and equivocation detection, and the orders used to purge
 * (expiry) and evict (lowest precedence, then oldest). Rebuilt from the store on start.
 *
 * @example
 * const c = new Catalog(); c.add(entry); c.has(idKey(id)); c.nextExpired(nowMs)
 */
import { Heap } from './heap.ts'

/** A map key for an id (one char per byte, cheaper than hex); `idFromKey` is its inverse. */
export { binaryString as idKey, fromBinaryString as idFromKey } from '../bytes.ts'
import { fromBinaryString as idFromKey } from '../bytes.ts'

/**
 * One held envelope's metadata. Kept lean because a relay holds one per envelope (a
 * simulated city holds 200 × 21,000): the id lives only as `key` (`entryId` turns it
 * back into bytes) and `stream` is the catalog's own copy of the stream key.
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
}

export function entryId (e: Entry): Uint8Array { return idFromKey(e.key) }

export interface Stream {
  /** The stream key (entries share this string). */
  key: string
  highest: number
  /** seq → the id held, or the ids held when an author equivocated (a list only then: one per envelope adds up). */
  bySeq: Map<number, string | string[]>
}

/** The ids a stream holds at one sequence number. */
export function idsAt (s: Stream | undefined, seq: number): string[] {
  const held = s?.bySeq.get(seq)
  return held === undefined ? [] : typeof held === 'string' ? [held] : held
}

/**
 * Bytes charged per stored envelope beyond its own size: its two keys and record header
 * (about 100 B) and the backing store's own per-key overhead. Deliberately generous: the
 * quota is a promise about disk use, so it errs towards the disk.
 */
export const entryOverheadBytes = 200

export class Catalog {
  readonly byId = new Map<string, Entry>()
  readonly tombstones = new Map<string, number>()
  readonly streams = new Map<string, Stream>()
  readonly #expiry = new Heap<Entry>((a, b) => a.expiresAtMs - b.expiresAtMs)
  readonly #tombExpiry = new Heap<{ key: string, expiresAtMs: number }>((a, b) => a.expiresAtMs - b.expiresAtMs)
  /** Eviction candidates per precedence, oldest first. */
  readonly #evictable = [0, 1, 2, 3].map(() => new Heap<Entry>((a, b) => a.hlcMs - b.hlcMs || a.hlcC - b.hlcC || (a.key < b.key ? -1 : 1)))
  bytesUsed = 0

  get size (): number { return this.byId.size }

  has (key: string): boolean { return this.byId.has(key) }
  known (key: string): boolean { return this.byId.has(key) || this.tombstones.has(key) }
  get (key: string): Entry | undefined { return this.byId.get(key) }

  add (e: Entry): void {
    this.byId.set(e.key, e)
    this.bytesUsed += e.size
    this.#expiry.push(e)
    if (!e.custody) this.#evictable[e.precedence].push(e)
    let s = this.streams.get(e.stream)
    if (s === undefined) { s = { key: e.stream, highest: 0, bySeq: new Map() }; this.streams.set(e.stream, s) } else e.stream = s.key
    const held = s.bySeq.get(e.seq)
    s.bySeq.set(e.seq, held === undefined ? e.key : [...idsAt(s, e.seq), e.key])
    if (e.seq > s.highest) s.highest = e.seq
  }

  remove (key: string): Entry | undefined {
    const e = this.byId.get(key)
    if (e === undefined) return undefined
    this.byId.delete(key)
    this.bytesUsed -= e.size
    const s = this.streams.get(e.stream)
    if (s !== undefined && s.bySeq.has(e.seq)) {
      const rest = idsAt(s, e.seq).filter(k => k !== key)
      if (rest.length > 1) s.bySeq.set(e.seq, rest)
      else if (rest.length === 1) s.bySeq.set(e.seq, rest[0])
      else s.bySeq.delete(e.seq)
      // `highest` stays: a purged sequence is not a gap to chase.
    }
    return e
  }

  addTombstone (key: string, expiresAtMs: number): void {
    this.tombstones.set(key, expiresAtMs)
    this.#tombExpiry.push({ key, expiresAtMs })
  }

  /** Held entries whose expiry is at or before `nowMs`, earliest first (at most `max`). */
  expired (nowMs: number, max: number): Entry[] {
    const out: Entry[] = []
    while (out.length < max) {
      const top = this.#expiry.peek()
      if (top === undefined || top.expiresAtMs > nowMs) break
      this.#expiry.pop()
      if (this.byId.get(top.key) === top) out.push(top)
    }
    return out
  }

  /** Tombstones past their envelope's expiry: no peer can send that envelope any more. */
  expiredTombstones (nowMs: number): string[] {
    const out: string[] = []
    for (;;) {
      const top = this.#tombExpiry.peek()
      if (top === undefined || top.expiresAtMs > nowMs) break
      this.#tombExpiry.pop()
      if (this.tombstones.get(top.key) === top.expiresAtMs) { this.tombstones.delete(top.key); out.push(top.key) }
    }
    return out
  }

  /**
   * The next eviction victim for an incoming envelope of `precedence`: the oldest
   * envelope of the lowest precedence that is not more urgent than the newcomer and
   * not in our custody. Undefined when none qualifies (then custody is refused).
   */
  evictionCandidate (precedence: number): Entry | undefined {
    for (let p = 3; p >= precedence; p--) {
      const heap = this.#evictable[p]
      for (;;) {
        const top = heap.peek()
        if (top === undefined) break
        if (this.byId.get(top.key) === top && !top.custody) return top
        heap.pop()
      }
    }
    return undefined
  }

  /** Sequence numbers in [from, to] that we hold no envelope for, up to `max`. */
  missingSeqs (stream: string, from: number, to: number, max: number): number[] {
    const s = this.streams.get(stream)
    const out: number[] = []
    for (let q = from; q <= to && out.length < max; q++) if (s?.bySeq.has(q) !== true) out.push(q)
    return out
  }

  /** Ids held for sequence numbers in [from, to]. */
  idsInSeqRange (stream: string, from: number, to: number): string[] {
    const s = this.streams.get(stream)
    if (s === undefined) return []
    const out: string[] = []
    for (let q = from; q <= to; q++) for (const k of idsAt(s, q)) out.push(k)
    return out
  }
}
