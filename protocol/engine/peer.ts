/**
 * One link to one peer, as the engine sees it: handshake state, score, the
 * peer's advertised neighbours, reconciliation sessions, and the outbound path —
 * control frames first, then envelopes by precedence — paced by the transport's
 * back-pressure (`send` returning false until the host calls `drain`).
 */
import { PrecedenceQueue } from './queue.ts'
import { encodeFrame, FrameType, type Frame } from '../frames.ts'
import { peerScoreInitial } from '../limits.ts'
import type { PeerId, Transport } from '../ports.ts'
import type { ReconcileSession } from '../reconcile/index.ts'
import type { Counters } from './types.ts'

export interface OutEnvelope {
  id: Uint8Array
  bytes: Uint8Array
}

/** Per-peer push-tree state that outlives a link: a flapping link should not relearn it. */
export interface PruneState {
  lazyAuthors: Set<string>
  prunedByUs: Set<string>
}

export class PeerLink {
  readonly id: PeerId
  readonly refKey: string
  readonly queue: PrecedenceQueue<OutEnvelope>
  readonly #control: Uint8Array[] = []
  ready = false
  blocked = false
  score = peerScoreInitial
  frameBytesMax: number
  /** Our estimated one-hop cost to this peer (latency plus serialisation of a typical envelope), ms. */
  costMs: number
  /** What the peer advertised: its neighbours (by ref key) and its cost to each. */
  neighbours = new Map<string, number>()
  /** Authors (ref keys) whose envelopes this peer asked us to announce rather than push. Kept across reconnects. */
  readonly lazyAuthors: Set<string>
  /** Authors we already asked this peer to stop pushing (so one prune per author per link). Kept across reconnects. */
  readonly prunedByUs: Set<string>
  /** Ids to announce to this peer in the next `have` frame. */
  pendingHaves: Uint8Array[] = []
  haveFlushScheduled = false
  initiator?: { id: number, session: ReconcileSession }
  responder?: { id: number, session: ReconcileSession }
  lastReconcileMs = -Infinity

  constructor (id: PeerId, refKey: string, frameBytesMax: number, costMs: number, queueBytesMax: number, prune: PruneState) {
    this.id = id
    this.lazyAuthors = prune.lazyAuthors
    this.prunedByUs = prune.prunedByUs
    this.refKey = refKey
    this.frameBytesMax = frameBytesMax
    this.costMs = costMs
    this.queue = new PrecedenceQueue(queueBytesMax)
  }

  control (frame: Frame): void {
    this.#control.push(encodeFrame(frame))
  }

  /** Hands frames to the transport until it pushes back. Returns the envelopes sent. */
  pump (transport: Transport, counters: Counters): OutEnvelope[] {
    const sent: OutEnvelope[] = []
    if (this.blocked) return sent
    while (this.#control.length > 0) {
      const frame = this.#control[0]
      if (!transport.send(this.id, frame)) { this.blocked = true; return sent }
      this.#control.shift()
      count(counters, frame)
    }
    for (;;) {
      const item = this.queue.peek()
      if (item === undefined) break
      const frame = encodeFrame({ type: FrameType.envelope, envelope: item.bytes })
      if (!transport.send(this.id, frame)) { this.blocked = true; break }
      this.queue.shift()
      count(counters, frame)
      counters.payloadBytesSent += item.bytes.length
      sent.push(item)
    }
    return sent
  }
}

function count (counters: Counters, frame: Uint8Array): void {
  counters.framesSent[frame[0]]++
  counters.bytesSent[frame[0]] += frame.length
}
