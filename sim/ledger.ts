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
 * @example
 * const rec = ledger.register(post, env, senderIndex, expected, nowMs)
 * ledger.stored(nodeIndex, env, fromIndex, nowMs)
 * rec.arrivedAt[nodeIndex]   // NaN until stored there
 */
import { idKey } from '../protocol/engine/catalog.ts'
import type { Envelope } from '../protocol/envelope.ts'
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
  readonly #nodeCount: number
  #block: Block = newBlock(0)
  /** `stored` events for an envelope the node had already stored: must stay 0. */
  duplicateDeliveries = 0
  duplicateExamples: Array<{ node: number, message: number }> = []
  /** Successful relay transfers: envelopes stored that came from a peer. */
  relayed = 0

  constructor (nodeCount: number) { this.#nodeCount = nodeCount }

  register (post: Post, env: Envelope, sender: number, expected: number[], nonMember: boolean, nowMs: number): MessageRecord {
    const n = this.#nodeCount
    const key = env.key
    const slot = this.records.length % blockMessages
    if (slot === 0) this.#block = newBlock(n)
    const b = this.#block
    const rec: MessageRecord = {
      index: this.records.length, key, post, sender, createdAtMs: nowMs, frameBytes: env.bytes.length + 1, envelopeBytes: env.bytes.length,
      expected, nonMember, acked: false, quotaHit: false,
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

  byEnvelopeId (id: Uint8Array): MessageRecord | undefined { return this.#byId.get(idKey(id)) }

  /** An envelope frame reached `node`: remember when the first copy left its sender. */
  frameDelivered (node: number, frame: Uint8Array, sentAtMs: number): void {
    const rec = this.#bySig.get(sigKey(frame, frame.length))
    if (rec !== undefined && Number.isNaN(rec.firstSent[node])) rec.firstSent[node] = sentAtMs - rec.createdAtMs
  }

  stored (node: number, env: Envelope, from: number | 'local', nowMs: number): void {
    const rec = this.#byId.get(env.key)
    if (rec === undefined) return
    if (!Number.isNaN(rec.arrivedAt[node])) {
      this.duplicateDeliveries++
      if (this.duplicateExamples.length < 5) this.duplicateExamples.push({ node, message: rec.index })
      return
    }
    rec.arrivedAt[node] = nowMs
    if (from === 'local') return
    this.relayed++
    rec.hops[node] = Math.min(255, rec.hops[from] + 1)
    const sent = Number.isNaN(rec.firstSent[node]) ? nowMs - rec.createdAtMs : rec.firstSent[node]
    rec.transit[node] = rec.transit[from] + (nowMs - rec.createdAtMs - sent)
  }

  /** Evicted, or refused for quota, somewhere. */
  quota (id: Uint8Array): void {
    const rec = this.#byId.get(idKey(id))
    if (rec !== undefined) rec.quotaHit = true
  }
}
