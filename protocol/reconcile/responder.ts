/**
 * The responding side: answers HELLO with EQUAL when symbol 0 and the sketch
 * match, otherwise streams its coded symbols in batches the initiator sizes, and
 * finally resolves the keys the initiator sends back into whole ids. RANGE is HELLO
 * for one range of the key space. When the estimated difference is over the
 * session's bound it answers SPLIT, naming the depth at which each range's
 * difference should fit; a limit reached in honest progress is answered with ABORT.
 *
 * Equality is judged on 96 bits of XOR (keys and checksums), the count modulo 256
 * and 64 sketch counters: honest sets that differ pass with probability < 2^-96.
 * XOR is linear, so a member who mints a few hundred envelopes could choose a
 * subset whose keys, checksums and signs cancel, and place it so two nodes look
 * equal; that hides only their own minted envelopes from this session (eager push
 * and later sessions still move them), so it is accepted rather than salted, which
 * would cost the incremental symbol cache.
 *
 * @example
 * const session = accept(set, { frameBytesMax: 2048 })
 * const { reply, have, need } = reconcile(session, hello)
 */
import { LimitError, ProtocolError } from '../errors.ts'
import { estimateDifference, firstTarget, wireSketch } from './estimate.ts'
import { type KeyRange, RangeSource, wholeRange } from './range.ts'
import { type ReconcileOptions, type ReconcileStep, type SessionLimits, abort, overRounds, receive, suffixesThatFit, sessionOptions, step, symbolsThatFit } from './session.ts'
import type { ReconcileSet } from './set.ts'
import { SymbolSource, type Symbols } from './source.ts'
import { AbortReason, encodeMessage, keyBytes, type Message, MessageType, rangeDepthMax, suffixBytes } from './wire.ts'

export class ResponderSession {
  readonly role = 'responder'
  readonly limits: SessionLimits
  range: KeyRange = wholeRange
  source: Symbols
  rounds = 0
  done = false
  #state: 'hello' | 'streaming' | 'lists' = 'hello'
  #frame: number
  #sent = 0
  #estimate = 0
  #listsLast = false
  #keysSeen = 0
  readonly #outbox: Uint8Array[] = []
  /** Keys the initiator may ask about: each names one of our items, so never more than we held. */
  #keysMax: number

  constructor (set: ReconcileSet, options: ReconcileOptions) {
    this.limits = sessionOptions(options)
    this.source = new SymbolSource(set, this.limits.symbolsMax)
    this.#frame = this.limits.frameBytesMax
    this.#keysMax = set.size
  }

  reconcile (bytes: Uint8Array): ReconcileStep {
    if (this.done) throw new ProtocolError('reconcile: message after the session ended')
    const m = receive(this, bytes)
    if (m.type === MessageType.abort) { this.done = true; return step(null, true) }
    if (overRounds(this)) return abort(this, AbortReason.limit)
    if (m.type === MessageType.hello && this.#state === 'hello') return this.#hello(m, wholeRange)
    if (m.type === MessageType.range && this.#state === 'hello') return this.#hello(m, { depth: m.depth, index: m.index })
    if (m.type === MessageType.more && this.#state === 'streaming') return this.#symbols(m.n)
    if (m.type === MessageType.lists && this.#state !== 'hello') return this.#lists(m)
    throw new ProtocolError(`reconcile: unexpected message type ${m.type}`)
  }

  #hello (m: Extract<Message, { type: typeof MessageType.hello | typeof MessageType.range }>, range: KeyRange): ReconcileStep {
    this.#frame = Math.min(this.#frame, m.frameBytesMax)
    if (range.depth > 0) {
      this.range = range
      this.source = new RangeSource(this.source.set, range, this.limits.symbolsMax)
      this.#keysMax = this.source.size
    }
    if (this.source.stale) return abort(this, AbortReason.setChanged)
    const ours = this.source.words(0, 1)
    const sketch = wireSketch(this.source.sketch)
    const same = m.symbol0.every((w, i) => i === 3 ? (w & 0xff) === (ours[3] & 0xff) : w === ours[i]) && m.sketch.every((c, j) => c === sketch[j])
    if (same) { this.done = true; return step(encodeMessage({ type: MessageType.equal }), true) }
    this.#estimate = Math.min(Math.round(estimateDifference(m.sketch, this.source.sketch)), this.limits.symbolsMax)
    if (this.#estimate > this.limits.differenceMax && range.depth < rangeDepthMax) return this.#split(range.depth)
    this.#state = 'streaming'
    return this.#symbols(firstTarget(this.#estimate))
  }

  /** Too large a difference for one session: the depth at which each range's estimate fits the bound. */
  #split (depth: number): ReconcileStep {
    const levels = Math.max(1, Math.ceil(Math.log2(this.#estimate / this.limits.differenceMax)))
    this.done = true
    return step(encodeMessage({ type: MessageType.split, depth: Math.min(rangeDepthMax, depth + levels) }), true)
  }

  #symbols (wanted: number): ReconcileStep {
    // An initiator with a higher limit than ours may honestly ask for more: we stop, it retries smaller.
    if (this.#sent >= this.limits.symbolsMax) return abort(this, AbortReason.limit)
    if (this.source.stale) return abort(this, AbortReason.setChanged)
    const n = Math.min(wanted, symbolsThatFit(this.#frame), this.limits.symbolsMax - this.#sent)
    const words = this.source.words(this.#sent, this.#sent + n)
    const message = encodeMessage({ type: MessageType.symbols, start: this.#sent, estimate: this.#estimate, words })
    this.#sent += n
    return step(message, false)
  }

  #lists (m: Extract<Message, { type: typeof MessageType.lists }>): ReconcileStep {
    this.#state = 'lists'
    if (this.#listsLast && (m.ids.length > 0 || m.keys.length > 0)) throw new ProtocolError('reconcile: lists after the last chunk')
    const set = this.source.set
    // Every id the initiator found us lacking, though one may have reached us since: it
    // pushes them all, and the engine tells it which it need not (`have`).
    const need = m.ids
    const have: Uint8Array[] = []
    if (this.#keysSeen + m.keys.length > this.#keysMax) throw new LimitError(`reconcile: asked about more keys than the ${this.#keysMax} items we hold`)
    for (const [k0, k1] of m.keys) {
      this.#keysSeen++
      const id = set.lookup(k0, k1)
      if (id !== undefined) have.push(id)
      // Answer every key in order; zeros say we no longer hold it (purged since, or never had it).
      this.#outbox.push(id === undefined ? new Uint8Array(suffixBytes) : id.subarray(keyBytes))
    }
    this.#listsLast ||= m.last
    if (this.#listsLast && this.#keysSeen === 0) { this.done = true; return step(null, true, have, need) }
    const suffixes = this.#outbox.splice(0, suffixesThatFit(this.#frame))
    const fin = this.#listsLast && this.#outbox.length === 0
    if (fin) this.done = true
    return step(encodeMessage({ type: MessageType.ids, fin, suffixes }), fin, have, need)
  }
}

/** Starts a session on the responding side (call it when the first message arrives). */
export function accept (set: ReconcileSet, options: ReconcileOptions = {}): ResponderSession {
  return new ResponderSession(set, options)
}
