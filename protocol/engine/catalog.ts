/**
 * The engine's in-memory view of what this node holds: every stored envelope's
 * metadata (never its bytes), tombstones for evicted, discarded and purged ids, per-(channel, author)
 * sequences for gap and equivocation detection, and the orders used to purge
 * (expiry) and evict (lowest precedence, then oldest), and which file each held file piece
 * belongs to (#23), so that a file is evicted and expired whole. Rebuilt from the store on start.
 * Entries are held as columns (entry-columns.ts), so a million of them are not a
 * million objects for the collector; `get`, `expired` and `evictionCandidate` hand out
 * fresh `Entry` objects.
 *
 * @example
 * const c = new Catalog(); c.add(entry); c.has(idKey(id)); c.expired(nowMs, 100)
 */
import { EntryColumns, type Entry } from './entry-columns.ts'
import { Heap } from './heap.ts'
import { streamAuthorKey } from './stream-key.ts'
import { isLasting, Kind } from '../envelope.ts'

/** A map key for an id (one char per byte, cheaper than hex); `idFromKey` is its inverse. */
export { binaryString as idKey, fromBinaryString as idFromKey } from '../bytes.ts'
import { fromBinaryString as idFromKey } from '../bytes.ts'

export type { Entry } from './entry-columns.ts'

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

/**
 * Whether quota pressure may take an entry: not one in our custody (acknowledged, not yet
 * handed on), and not a lasting kind (governance and keys: a channel cannot be read or
 * verified without them; they are few and bounded per channel).
 */
function evictable (e: Pick<Entry, 'custody' | 'kind'>): boolean {
  return !e.custody && !isLasting(e.kind)
}

/** Stale heap items (of removed entries) tolerated beyond the live ones before a heap is rebuilt. */
const staleItemsSlack = 1024

/**
 * A heap of entry slots with lazy deletion: removed entries' slots stay until they
 * surface or, once they outnumber the live ones, the heap is rebuilt without them (else
 * a relay that only purges would keep every evictable slot it ever had). Every slot it
 * holds is referenced in the columns, so none is reused under it.
 */
class SlotHeap {
  heap: Heap<number>
  stale = 0
  readonly #compare: (a: number, b: number) => number
  readonly #cols: EntryColumns

  constructor (cols: EntryColumns, compare: (a: number, b: number) => number) {
    this.#cols = cols
    this.#compare = compare
    this.heap = new Heap(compare)
  }

  push (slot: number): void {
    this.#cols.ref(slot)
    this.heap.push(slot)
  }

  /** The live slot on top, dropping dead ones on the way. */
  top (): number | undefined {
    for (;;) {
      const slot = this.heap.peek()
      if (slot === undefined || this.#cols.live(slot)) return slot
      this.pop()
      this.stale--
    }
  }

  pop (): void { this.#cols.unref(this.heap.pop() as number) }

  /** One of its slots died. */
  staled (): void {
    if (++this.stale <= this.heap.size - this.stale + staleItemsSlack) return
    const rebuilt = new Heap(this.#compare)
    for (const slot of this.heap.items) {
      if (this.#cols.live(slot)) rebuilt.push(slot)
      else this.#cols.unref(slot)
    }
    this.heap = rebuilt
    this.stale = 0
  }
}

export class Catalog {
  /** id key → its entry's slot in the columns. */
  readonly #byId = new Map<string, number>()
  readonly #cols = new EntryColumns()
  readonly tombstones = new Map<string, number>()
  readonly streams = new Map<string, Stream>()
  /** Authors (ref keys) with a stream here: whose envelopes we hold or held (never shrinks, like `streams`). */
  readonly authors = new Set<string>()
  readonly #expiry: SlotHeap
  readonly #tombExpiry = new Heap<{ key: string, expiresAtMs: number }>((a, b) => a.expiresAtMs - b.expiresAtMs)
  /** Eviction candidates per precedence, oldest first (custody entries are never candidates). */
  readonly #evictable: SlotHeap[]
  /** Bytes of the eviction candidates per precedence: what evicting could free. */
  readonly #evictableBytes = [0, 0, 0, 0]
  /** File pieces held (#23): piece id key → its file's id key. Only file pieces pay for it. */
  readonly #fileOf = new Map<string, string>()
  /** File id key → the id keys of its pieces held here (never empty: a file with none held leaves). */
  readonly #files = new Map<string, Set<string>>()
  /** File id key → its author's stream and the sequence numbers its pieces take (while any is held). */
  readonly #fileSpans = new Map<string, { stream: string, firstSeq: number, count: number }>()
  bytesUsed = 0

  constructor () {
    const c = this.#cols
    this.#expiry = new SlotHeap(c, (a, b) => c.expiresAt(a) - c.expiresAt(b))
    const byAge = (x: number, y: number): number => c.hlcMsAt(x) - c.hlcMsAt(y) || c.hlcCAt(x) - c.hlcCAt(y) || (c.keyAt(x) < c.keyAt(y) ? -1 : 1)
    this.#evictable = [0, 1, 2, 3].map(() => new SlotHeap(c, byAge))
  }

  get size (): number { return this.#byId.size }

  /** Slots queued in the expiry and eviction orders, live or stale (bounded by about twice the live ones). */
  get queuedSlots (): number { return [this.#expiry, ...this.#evictable].reduce((n, h) => n + h.heap.size, 0) }

  has (key: string): boolean { return this.#byId.has(key) }
  known (key: string): boolean { return this.#byId.has(key) || this.tombstones.has(key) }

  get (key: string): Entry | undefined {
    const h = this.#byId.get(key)
    return h === undefined ? undefined : this.#entry(h)
  }

  /** A fresh Entry for a live slot, with its file if it is a file piece. */
  #entry (slot: number): Entry {
    const e = this.#cols.entry(slot)
    if (e.kind !== Kind.file) return e
    const file = this.#fileOf.get(e.key)
    if (file === undefined) return e
    e.file = file
    const span = this.#fileSpans.get(file)
    if (span !== undefined) e.fileSpan = { firstSeq: span.firstSeq, count: span.count } // so an entry put back keeps it
    return e
  }

  /**
   * Files held in part (some pieces, not all), at most `max`: each with its author's stream and
   * the sequence numbers its pieces take, so the missing ones can be asked for by number.
   */
  incompleteFiles (max: number): Array<{ stream: string, firstSeq: number, count: number }> {
    const out: Array<{ stream: string, firstSeq: number, count: number }> = []
    for (const [file, span] of this.#fileSpans) {
      if (out.length >= max) break
      if ((this.#files.get(file)?.size ?? 0) < span.count) out.push(span)
    }
    return out
  }

  /** Files of which some piece is held. */
  get fileCount (): number { return this.#files.size }

  /** Whether some piece of this file (id key) is held. */
  holdsFile (file: string): boolean { return this.#files.has(file) }

  /** The id keys of a file's pieces held here (a copy: removing them while iterating is safe). */
  piecesOf (file: string): string[] {
    const held = this.#files.get(file)
    return held === undefined ? [] : [...held]
  }

  /** Bytes that evicting for a newcomer of `precedence` could free: every eviction candidate not more urgent than it. */
  evictableBytes (precedence: number): number {
    let sum = 0
    for (let p = 3; p >= precedence; p--) sum += this.#evictableBytes[p]
    return sum
  }

  /**
   * For each cut-off time, the held entries stamped at or after it that have not expired
   * by `nowMs`: their count per precedence and the oldest stamp. One pass over the columns,
   * no Entry objects (status asks it about the peers that are away).
   */
  stampedSince (sinceMs: number[], nowMs: number): Array<{ byPrecedence: number[], oldestMs: number | undefined }> {
    const out = sinceMs.map(() => ({ byPrecedence: [0, 0, 0, 0], oldestMs: undefined as number | undefined }))
    if (sinceMs.length === 0) return out
    const c = this.#cols
    for (const slot of this.#byId.values()) {
      if (c.expiresAt(slot) <= nowMs) continue
      const stamped = c.hlcMsAt(slot)
      for (let i = 0; i < sinceMs.length; i++) {
        if (stamped < sinceMs[i]) continue
        out[i].byPrecedence[c.precedenceAt(slot)]++
        if (out[i].oldestMs === undefined || stamped < (out[i].oldestMs as number)) out[i].oldestMs = stamped
      }
    }
    return out
  }

  /** Keys of every held entry. */
  keys (): IterableIterator<string> { return this.#byId.keys() }

  add (e: Entry): void {
    let s = this.streams.get(e.stream)
    if (s === undefined) {
      s = { key: e.stream, highest: 0, bySeq: new Map() }
      this.streams.set(e.stream, s)
      this.authors.add(streamAuthorKey(e.stream))
    }
    const h = this.#cols.add(e, s.key)
    this.#byId.set(e.key, h)
    this.bytesUsed += e.size
    this.#expiry.push(h)
    if (evictable(e)) { this.#evictable[e.precedence].push(h); this.#evictableBytes[e.precedence] += e.size }
    if (e.file !== undefined) {
      this.#fileOf.set(e.key, e.file)
      const pieces = this.#files.get(e.file)
      if (pieces === undefined) this.#files.set(e.file, new Set([e.key]))
      else pieces.add(e.key)
      if (e.fileSpan !== undefined && !this.#fileSpans.has(e.file)) this.#fileSpans.set(e.file, { stream: e.stream, ...e.fileSpan })
    }
    const held = s.bySeq.get(e.seq)
    s.bySeq.set(e.seq, held === undefined ? e.key : [...idsAt(s, e.seq), e.key])
    if (e.seq > s.highest) s.highest = e.seq
  }

  remove (key: string): Entry | undefined {
    const h = this.#byId.get(key)
    if (h === undefined) return undefined
    const e = this.#entry(h)
    this.#byId.delete(key)
    this.#cols.retire(h)
    if (this.#cols.expiryQueued(h)) this.#expiry.staled()
    if (evictable(e)) { this.#evictable[e.precedence].staled(); this.#evictableBytes[e.precedence] -= e.size }
    this.bytesUsed -= e.size
    if (e.file !== undefined) {
      this.#fileOf.delete(key)
      const pieces = this.#files.get(e.file)
      pieces?.delete(key)
      if (pieces?.size === 0) { this.#files.delete(e.file); this.#fileSpans.delete(e.file) }
    }
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

  /**
   * Held entries whose expiry is at or before `nowMs`, earliest first (at most `max`).
   * They leave the expiry order now: the caller removes them.
   */
  expired (nowMs: number, max: number): Entry[] {
    const out: Entry[] = []
    const c = this.#cols
    while (out.length < max) {
      const h = this.#expiry.top()
      if (h === undefined || c.expiresAt(h) > nowMs) break
      out.push(this.#entry(h))
      c.setExpiryQueued(h, false)
      this.#expiry.pop()
    }
    return out
  }
  /** Tombstones whose envelope expired at or before `nowMs` (the caller picks a time no clock it may adopt would still accept them at). */
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
      const h = this.#evictable[p].top()
      if (h !== undefined) return this.#entry(h)
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
