/**
 * Session plumbing shared by both sides: options (with their limits), the step
 * result the engine consumes, the per-message checks (round and frame bounds,
 * strict decoding) and frame-fitting arithmetic.
 *
 * @example
 * const options = sessionOptions({ frameBytesMax: 2048 })
 */
import { LimitError } from '../errors.ts'
import { frameBytesMax, frameBytesMin, reconcileRoundsMax, reconcileSessionDifferenceMax, reconcileSymbolsMax } from '../limits.ts'
import { checkRange, type KeyRange, wholeRange } from './range.ts'
import { idBytes } from './set.ts'
import { type AbortReason, decodeMessage, encodeMessage, keyBytes, type Message, MessageType, rangeDepthMax, suffixBytes, symbolBytes } from './wire.ts'

export interface ReconcileOptions {
  /**
   * Largest message this side sends or accepts (default: the largest frame). Give both
   * sides the link's negotiated value: the responder sends within the smaller of its own
   * and the initiator's (HELLO carries it), but refuses anything over its own.
   */
  frameBytesMax?: number
  /** Most symbols per session (default and ceiling from limits). */
  symbolsMax?: number
  /** Most messages this side handles per session (default and ceiling from limits). */
  roundsMax?: number
  /** Responder: largest estimated difference to take on before answering SPLIT (default from limits; at most symbolsMax). */
  differenceMax?: number
  /** Initiator: the range of the key space to reconcile (default: all of it). */
  range?: KeyRange
}

export interface SessionLimits {
  frameBytesMax: number
  symbolsMax: number
  roundsMax: number
  differenceMax: number
}

/** What one call to `reconcile` yields. `have` and `need` hold only ids learnt in this call. */
export interface ReconcileStep {
  /** The message to send to the peer, or null: nothing more to send. */
  reply: Uint8Array | null
  /** Our ids the peer lacks. */
  have: Uint8Array[]
  /** The peer's ids it found us lacking (it pushes them; one may have reached us since the session began). */
  need: Uint8Array[]
  /** True once this side has finished (no more messages expected). */
  done: boolean
  /**
   * Initiator, when the session ended without the whole difference of its range
   * (SPLIT or ABORT): reconcile that range next as the ranges of this depth
   * (`subranges`). 0 otherwise. What `have` and `need` held is still right.
   */
  splitDepth: number
}

function bounded (value: number | undefined, fallback: number, min: number, max: number, what: string): number {
  const v = value ?? fallback
  if (!Number.isInteger(v) || v < min || v > max) throw new LimitError(`reconcile: ${what} ${v} outside [${min}, ${max}]`)
  return v
}

export function sessionOptions (options: ReconcileOptions = {}): SessionLimits {
  return {
    frameBytesMax: bounded(options.frameBytesMax, frameBytesMax, frameBytesMin, frameBytesMax, 'frameBytesMax'),
    symbolsMax: bounded(options.symbolsMax, reconcileSymbolsMax, 1, reconcileSymbolsMax, 'symbolsMax'),
    roundsMax: bounded(options.roundsMax, reconcileRoundsMax, 1, reconcileRoundsMax, 'roundsMax'),
    differenceMax: bounded(options.differenceMax, reconcileSessionDifferenceMax, 1, reconcileSymbolsMax, 'differenceMax'),
  }
}

/** The session's range (checked), whole by default. */
export function sessionRange (options: ReconcileOptions): KeyRange {
  const range = options.range ?? wholeRange
  checkRange(range)
  return range
}

/** One level deeper than `range` (capped: a range at the deepest level is retried as it is). */
export function deeper (range: KeyRange): number {
  return Math.min(rangeDepthMax, range.depth + 1)
}

/** Ends a session early without anyone's fault: the ABORT message to send. */
export function abort (state: { done: boolean }, reason: AbortReason, splitDepth = 0): ReconcileStep {
  state.done = true
  return step(encodeMessage({ type: MessageType.abort, reason }), true, [], [], splitDepth)
}

/** Counts a received message (see `overRounds`) and decodes it under the frame limit. */
export function receive (state: { rounds: number, limits: SessionLimits }, bytes: Uint8Array): Message {
  state.rounds++
  if (bytes.length > state.limits.frameBytesMax) throw new LimitError(`reconcile: ${bytes.length}-byte message over the ${state.limits.frameBytesMax}-byte frame limit`)
  return decodeMessage(bytes, { symbolsMax: state.limits.symbolsMax })
}

/** Whether the message just received is past the session's round limit (it is answered with ABORT, not handled). */
export function overRounds (state: { rounds: number, limits: SessionLimits }): boolean {
  return state.rounds > state.limits.roundsMax
}

/** Symbols that fit one SYMBOLS message (varints sized for the worst case). */
export function symbolsThatFit (frame: number): number {
  return Math.floor((frame - 2 - 3 * 4) / symbolBytes)
}

/** Whole ids that fit one LISTS message besides its header. */
export function idsThatFit (frame: number): number {
  return Math.floor((frame - 3 - 2 * 4) / idBytes)
}

/** Id suffixes that fit one IDS message. */
export function suffixesThatFit (frame: number): number {
  return Math.floor((frame - 3 - 4) / suffixBytes)
}

/** Keys that fit in what is left of a LISTS message after `ids` ids. */
export function keysThatFit (frame: number, ids: number): number {
  return Math.floor((frame - 3 - 2 * 4 - ids * idBytes) / keyBytes)
}

export function step (reply: Uint8Array | null, done: boolean, have: Uint8Array[] = [], need: Uint8Array[] = [], splitDepth = 0): ReconcileStep {
  return { reply, have, need, done, splitDepth }
}
