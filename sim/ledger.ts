/**
 * What happened to every message: who was expected to receive it, when each node
 * first stored it, over how many hops, and how long its copies sat in relays' stores
 * versus travelling. Fed by the engines' `stored` and `removed` events and by frame
 * deliveries; read by the checkers and the report. Arrays are per node index, so the
 * city-scale case (20,000 messages × 200 nodes) stays a few tens of megabytes.
 *
 * Buffer time of a delivered copy = latency minus the time its frames spent on links
 * along the path it took (each hop: from the frame's first transmission to storage at
 * the next node); hop count = number of such hops.
 *
 * A large post travels as file pieces (#23, sim/files.ts) and is still one record: it
 * reaches a node when the last of its pieces is stored there (its arrival time), and is
 * relayed there once. Its hop count and buffer time are those of the piece that completed
 * it; its sizes are its pieces' summed.
 *
 * @example
 * const rec = ledger.register(post, env, senderIndex, expected, nowMs)
 * ledger.stored(nodeIndex, env, fromIndex, nowMs)
 * rec.arrivedAt[nodeIndex]   // NaN until stored there
 */
import { idKey } from '../protocol/engine/catalog.ts'
import type { Envelope } from '../protocol/envelope.ts'
import type { CrossingFacts } from '../protocol/org/policy.ts'
import type { Post } from './workload.ts'

export interface MessageRecord {
  index: number
  /** The envelope id as a catalog key (`idKey`). */
  key: string
  post: Post
  /** Node index of the sender. */
  sender: number
  createdAtMs: number
  /** Frame size on the wire (envelope plus frame type byte), bytes. */
  frameBytes: number
  envelopeBytes: number
  /** Node indices expected to receive it (members at creation, minus the sender; or the recipient). */
  expected: number[]
  /** The sender hosted no member of the channel when it posted (accepted by relays in an ungoverned run). */
  nonMember: boolean
  /** The sender's node acknowledged custody (the submit became durable). */
  acked: boolean
  /** Evicted or refused for quota at some node: its delivery was not storage-adequate. */
  quotaHit: boolean
  /** Virtual time it was first stored at each node; NaN where never. */
  arrivedAt: Float64Array
  hops: Uint8Array
  /** Time on links along the path to each node, ms. */
  transit: Float32Array
  /** When the first frame carrying it to each node started transmission, ms after creation. */
  firstSent: Float32Array
  /** A post sent as file pieces; absent for a post that fits one envelope. */
  file?: FilePieces
  /** What a gateway's policy judges of it (#29): kept only in scenarios whose gateways have one. */
  crossing?: CrossingFacts
}

/** The pieces of one large post (manifest first) and how many of them each node holds. */
export interface FilePieces {
  /** Piece envelope ids as catalog keys, manifest first. */
  keys: string[]
  /** Smallest piece frame, bytes (the oracle's bound on the last piece's hop). */
  frameBytesMin: number
  /** Pieces stored at each node. */
  held: Uint32Array
  /** Piece `i` stored at node `n`: bit `n × count + i`. */
  seen: Uint8Array
  /** When the latest piece frame to reach each node started transmission, ms after creation. */
  lastSent: Float32Array
}

function sigKey (bytes: Uint8Array, end: number): string {
  return String.fromCharCode.apply(null, bytes.subarray(end - 16, end) as unknown as number[])
}

/** Messages whose per-node arrays share one allocation: thousands of small typed arrays cost more in GC than their bytes. */
const blockMessages = 1024

interface Block { arrivedAt: Float64Array, hops: Uint8Array, transit: Float32Array, firstSent: Float32Array }

function newBlock (nodes: number): Block {
  const size = nodes * blockMessages
  return { arrivedAt: new Float64Array(size).fill(NaN), hops: new Uint8Array(size), transit: new Float32Array(size), firstSent: new Float32Array(size).fill(NaN) }
}

export class Ledger {
  readonly records: MessageRecord[] = []
  readonly #byId = new Map<string, MessageRecord>()
  readonly #bySig = new Map<string, MessageRecord>()
  /** Piece id key → its post's record and its index (posts sent as file pieces only). */
  readonly #pieces = new Map<string, { rec: MessageRecord, index: number }>()
  readonly #nodeCount: number
  #block: Block = newBlock(0)
  /** `stored` events for an envelope the node had already stored: must stay 0. */
  duplicateDeliveries = 0
  duplicateExamples: Array<{ node: number, message: number }> = []
  /** Successful relay transfers: envelopes stored that came from a peer. */
  relayed = 0

  readonly #crossingFacts: ((env: Envelope) => CrossingFacts) | undefined

  /** `crossingFacts`: record what a gateway's policy judges of each post (its first envelope: a file's manifest). */
  constructor (nodeCount: number, crossingFacts?: (env: Envelope) => CrossingFacts) {
    this.#nodeCount = nodeCount
    this.#crossingFacts = crossingFacts
  }

  /** Registers a post: its envelope, or its file pieces (manifest first). */
  register (post: Post, envOrPieces: Envelope | readonly Envelope[], sender: number, expected: number[], nonMember: boolean, nowMs: number): MessageRecord {
    if (!Array.isArray(envOrPieces)) return this.#register(post, envOrPieces as Envelope, sender, expected, nonMember, nowMs)
    const pieces = envOrPieces as readonly Envelope[]
    const rec = this.#register(post, pieces[0], sender, expected, nonMember, nowMs)
    // The record is found through its pieces, not as a message: a manifest alone is not the post.
    this.#byId.delete(rec.key)
    const n = this.#nodeCount
    let frameBytes = 0
    let frameBytesMin = Infinity
    for (const [index, env] of pieces.entries()) {
      this.#pieces.set(env.key, { rec, index })
      this.#bySig.set(sigKey(env.bytes, env.bytes.length), rec)
      frameBytes += env.bytes.length + 1
      frameBytesMin = Math.min(frameBytesMin, env.bytes.length + 1)
    }
    rec.frameBytes = frameBytes
    rec.envelopeBytes = frameBytes - pieces.length
    rec.file = { keys: pieces.map(env => env.key), frameBytesMin, held: new Uint32Array(n), seen: new Uint8Array(n * pieces.length), lastSent: new Float32Array(n).fill(NaN) }
    return rec
  }

  #register (post: Post, env: Envelope, sender: number, expected: number[], nonMember: boolean, nowMs: number): MessageRecord {
    const n = this.#nodeCount
    const key = env.key
    const slot = this.records.length % blockMessages
    if (slot === 0) this.#block = newBlock(n)
    const b = this.#block
    const rec: MessageRecord = {
      index: this.records.length, key, post, sender, createdAtMs: nowMs, frameBytes: env.bytes.length + 1, envelopeBytes: env.bytes.length,
      expected, nonMember, acked: false, quotaHit: false, ...(this.#crossingFacts !== undefined ? { crossing: this.#crossingFacts(env) } : {}),
      arrivedAt: b.arrivedAt.subarray(slot * n, (slot + 1) * n),
      hops: b.hops.subarray(slot * n, (slot + 1) * n),
      transit: b.transit.subarray(slot * n, (slot + 1) * n),
      firstSent: b.firstSent.subarray(slot * n, (slot + 1) * n),
    }
    this.records.push(rec)
    this.#byId.set(key, rec)
    this.#bySig.set(sigKey(env.bytes, env.bytes.length), rec)
    return rec
  }

  /** The record of a message, or of the post a file piece belongs to. */
  byEnvelopeId (id: Uint8Array): MessageRecord | undefined {
    const key = idKey(id)
    return this.#byId.get(key) ?? this.#pieces.get(key)?.rec
  }

  /** An envelope frame reached `node`: remember when the first copy left its sender (and, for file pieces, the latest). */
  frameDelivered (node: number, frame: Uint8Array, sentAtMs: number): void {
    const rec = this.#bySig.get(sigKey(frame, frame.length))
    if (rec === undefined) return
    if (Number.isNaN(rec.firstSent[node])) rec.firstSent[node] = sentAtMs - rec.createdAtMs
    if (rec.file !== undefined) rec.file.lastSent[node] = sentAtMs - rec.createdAtMs
  }

  stored (node: number, env: Envelope, from: number | 'local', nowMs: number): void {
    const rec = this.#byId.get(env.key)
    if (rec === undefined) {
      const piece = this.#pieces.get(env.key)
      if (piece !== undefined) this.#storedPiece(node, piece.rec, piece.index, from, nowMs)
      return
    }
    if (!Number.isNaN(rec.arrivedAt[node])) {
      this.#duplicate(node, rec)
      return
    }
    this.#arrived(node, rec, from, nowMs, rec.firstSent[node])
  }

  #storedPiece (node: number, rec: MessageRecord, index: number, from: number | 'local', nowMs: number): void {
    const file = rec.file as FilePieces
    const bit = node * file.keys.length + index
    if (file.seen[bit] === 1) {
      this.#duplicate(node, rec)
      return
    }
    file.seen[bit] = 1
    if (++file.held[node] === file.keys.length) this.#arrived(node, rec, from, nowMs, file.lastSent[node])
  }

  #duplicate (node: number, rec: MessageRecord): void {
    this.duplicateDeliveries++
    if (this.duplicateExamples.length < 5) this.duplicateExamples.push({ node, message: rec.index })
  }

  /** The whole post is now stored at `node`; `sentMs`: when the frame that completed it started transmission (NaN: unknown). */
  #arrived (node: number, rec: MessageRecord, from: number | 'local', nowMs: number, sentMs: number): void {
    rec.arrivedAt[node] = nowMs
    if (from === 'local') return
    this.relayed++
    rec.hops[node] = Math.min(255, rec.hops[from] + 1)
    const sent = Number.isNaN(sentMs) ? nowMs - rec.createdAtMs : sentMs
    rec.transit[node] = rec.transit[from] + (nowMs - rec.createdAtMs - sent)
  }

  /** Evicted, or refused for quota, somewhere. */
  quota (id: Uint8Array): void {
    const rec = this.byEnvelopeId(id)
    if (rec !== undefined) rec.quotaHit = true
  }
}
