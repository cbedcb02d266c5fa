/**
 * The initiating side: sends HELLO (symbol 0 and the estimator sketch), decodes
 * the responder's symbol stream against its own, asks for more until the
 * difference decodes, then sends the lists: whole ids of ours the responder lacks,
 * and 8-byte keys of the responder's items we lack (the responder answers those
 * with whole ids). Work per session is O(symbols + difference), not O(N), unless
 * the difference outgrows the set's symbol cache.
 *
 * With `range`, the session covers one range of the key space (RANGE instead of
 * HELLO). A session that cannot find its range's whole difference (the responder's
 * SPLIT, a limit reached, the peer's ABORT) ends without an error and says in
 * `splitDepth` how to reconcile that range next.
 *
 * @example
 * const { session, message } = initiate(set, { frameBytesMax: 2048 })
 */
import { ProtocolError } from '../errors.ts'
import { PeelingDecoder } from './decoder.ts'
import { firstTarget, nextTarget, wireSketch } from './estimate.ts'
import { type KeyRange, RangeSource } from './range.ts'
import { type ReconcileOptions, type ReconcileStep, type SessionLimits, abort, deeper, idsThatFit, keysThatFit, overRounds, receive, sessionOptions, sessionRange, step } from './session.ts'
import type { ReconcileSet } from './set.ts'
import { SymbolSource, type Symbols } from './source.ts'
import { AbortReason, encodeMessage, type Key, keyBytes, type Message, MessageType } from './wire.ts'

export class InitiatorSession {
  readonly role = 'initiator'
  readonly limits: SessionLimits
  readonly range: KeyRange
  readonly source: Symbols
  rounds = 0
  done = false
  readonly #decoder = new PeelingDecoder()
  #target = 0
  #ids: Uint8Array[] = []
  #keys: Key[] = []
  #listsSent = false
  #askedAny = false
  /** Keys sent and not yet answered, in the order sent (answers come in that order). */
  readonly #pending: Key[] = []

  constructor (set: ReconcileSet, options: ReconcileOptions) {
    this.limits = sessionOptions(options)
    this.range = sessionRange(options)
    this.source = this.range.depth === 0 ? new SymbolSource(set, this.limits.symbolsMax) : new RangeSource(set, this.range, this.limits.symbolsMax)
  }

  hello (): Uint8Array {
    const fields = { frameBytesMax: this.limits.frameBytesMax, symbol0: this.source.words(0, 1), sketch: wireSketch(this.source.sketch) }
    if (this.range.depth === 0) return encodeMessage({ type: MessageType.hello, ...fields })
    return encodeMessage({ type: MessageType.range, depth: this.range.depth, index: this.range.index, ...fields })
  }

  reconcile (bytes: Uint8Array): ReconcileStep {
    if (this.done) throw new ProtocolError('reconcile: message after the session ended')
    const m = receive(this, bytes)
    if (m.type === MessageType.abort) { this.done = true; return step(null, true, [], [], deeper(this.range)) }
    if (overRounds(this)) return abort(this, AbortReason.limit, deeper(this.range))
    const first = this.#decoder.received === 0 && !this.#listsSent
    if (m.type === MessageType.equal && first) { this.done = true; return step(null, true) }
    if (m.type === MessageType.split && first) return this.#split(m.depth)
    if (m.type === MessageType.symbols && !this.#decoder.complete) return this.#symbols(m)
    if (m.type === MessageType.ids && this.#listsSent) return this.#answer(m)
    throw new ProtocolError(`reconcile: unexpected message type ${m.type}`)
  }

  #split (depth: number): ReconcileStep {
    if (depth <= this.range.depth) throw new ProtocolError(`reconcile: split to depth ${depth}, not below the session's ${this.range.depth}`)
    this.done = true
    return step(null, true, [], [], depth)
  }

  #symbols (m: Extract<Message, { type: typeof MessageType.symbols }>): ReconcileStep {
    const dec = this.#decoder
    if (m.start !== dec.received) throw new ProtocolError(`reconcile: symbols start at ${m.start}, expected ${dec.received}`)
    const n = m.words.length / 4
    if (dec.received === 0) this.#target = firstTarget(m.estimate) // what the responder meant to send, had the frame allowed
    if (this.source.stale) return abort(this, AbortReason.setChanged, deeper(this.range))
    dec.add(m.words, this.source.words(m.start, m.start + n))
    if (dec.complete) return this.#startLists()
    // Not the peer's fault: an honest difference can outgrow the limit (or the estimate was far off).
    if (dec.received >= this.limits.symbolsMax) return abort(this, AbortReason.noDecode, deeper(this.range))
    if (dec.received >= this.#target) this.#target = nextTarget(dec.received)
    const more = Math.min(this.#target, this.limits.symbolsMax) - dec.received
    return step(encodeMessage({ type: MessageType.more, n: more }), false)
  }

  #startLists (): ReconcileStep {
    const set = this.source.set
    const have: Uint8Array[] = []
    for (const [k0, k1] of this.#decoder.ours) {
      const id = set.lookup(k0, k1)
      if (id !== undefined) have.push(id) // else purged since the session started
    }
    for (const [k0, k1] of this.#decoder.theirs) {
      if (set.lookup(k0, k1) === undefined) this.#keys.push([k0, k1]) // else received since the session started
    }
    this.#ids = have.slice()
    const s = this.#nextLists()
    s.have = have
    return s
  }

  #nextLists (): ReconcileStep {
    const frame = this.limits.frameBytesMax
    const ids = this.#ids.splice(0, idsThatFit(frame))
    const keys = this.#keys.splice(0, keysThatFit(frame, ids.length))
    this.#pending.push(...keys)
    if (keys.length > 0) this.#askedAny = true
    const last = this.#ids.length === 0 && this.#keys.length === 0
    this.#listsSent = true
    // The responder answers a last chunk only if we ever sent it a key to resolve.
    if (last && !this.#askedAny) this.done = true
    return step(encodeMessage({ type: MessageType.lists, last, ids, keys }), this.done)
  }

  #answer (m: Extract<Message, { type: typeof MessageType.ids }>): ReconcileStep {
    const need: Uint8Array[] = []
    if (m.suffixes.length > this.#pending.length) throw new ProtocolError('reconcile: more ids than keys asked for')
    for (const [k0, k1] of this.#pending.splice(0, m.suffixes.length)) {
      const suffix = m.suffixes.shift() as Uint8Array
      if (suffix.every(b => b === 0)) continue // the responder purged it meanwhile
      need.push(joinId(k0, k1, suffix))
    }
    if (this.#ids.length + this.#keys.length > 0) { const s = this.#nextLists(); s.need = need; return s }
    if (m.fin || !this.#askedAny) { this.done = true; return step(null, true, [], need) }
    return step(encodeMessage({ type: MessageType.lists, last: true, ids: [], keys: [] }), false, [], need)
  }
}

function joinId (k0: number, k1: number, suffix: Uint8Array): Uint8Array {
  const id = new Uint8Array(keyBytes + suffix.length)
  for (let i = 0; i < 4; i++) { id[i] = (k0 >>> (8 * i)) & 0xff; id[4 + i] = (k1 >>> (8 * i)) & 0xff }
  id.set(suffix, keyBytes)
  return id
}

/** Starts a session on the initiating side. */
export function initiate (set: ReconcileSet, options: ReconcileOptions = {}): { session: InitiatorSession, message: Uint8Array } {
  const session = new InitiatorSession(set, options)
  return { session, message: session.hello() }
}
