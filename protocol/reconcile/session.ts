/**
 * Session plumbing shared by both sides: options (with their limits), the step
 * result the engine consumes, the per-message checks (round and frame bounds,
 * strict decoding) and frame-fitting arithmetic.
 *
 * @example
 * const options = sessionOptions({ frameBytesMax: 2048 })
 */
import { LimitError } from '../errors.ts'
import { frameBytesMax, frameBytesMin, reconcileRoundsMax, reconcileSymbolsMax } from '../limits.ts'
import { idBytes } from './set.ts'
import { decodeMessage, keyBytes, type Message, suffixBytes, symbolBytes } from './wire.ts'

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
}

export interface SessionLimits {
  frameBytesMax: number
  symbolsMax: number
  roundsMax: number
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
  }
}

/** Counts a received message against the round limit and decodes it under the frame limit. */
export function receive (state: { rounds: number, limits: SessionLimits }, bytes: Uint8Array): Message {
  state.rounds++
  if (state.rounds > state.limits.roundsMax) throw new LimitError(`reconcile: more than ${state.limits.roundsMax} messages in one session`)
  if (bytes.length > state.limits.frameBytesMax) throw new LimitError(`reconcile: ${bytes.length}-byte message over the ${state.limits.frameBytesMax}-byte frame limit`)
  return decodeMessage(bytes, { symbolsMax: state.limits.symbolsMax })
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

export function step (reply: Uint8Array | null, done: boolean, have: Uint8Array[] = [], need: Uint8Array[] = []): ReconcileStep {
  return { reply, have, need, done }
}
