/**
 * Set reconciliation for ddil-relay: rateless invertible Bloom lookup tables
 * (Yang, Gilad, Alizadeh, "Practical Rateless Set Reconciliation", SIGCOMM 2024)
 * over 8-byte keys of envelope ids, with a tug-of-war estimator to size the first
 * batch. Sans-I/O: bytes in, bytes out, no clock and no randomness. Grammar and
 * conversation: wire.ts.
 *
 * @example
 * const { session: a, message } = initiate(setA, { frameBytesMax: 2048 })
 * const b = accept(setB, { frameBytesMax: 2048 })
 * let msg: Uint8Array | null = message, side = b
 * while (msg !== null) { const s = reconcile(side, msg); use(s.have, s.need); msg = s.reply; side = side === b ? a : b }
 */
import { InitiatorSession } from './initiator.ts'
import { ResponderSession } from './responder.ts'
import type { ReconcileStep } from './session.ts'

export { ReconcileSet, type ReconcileSetOptions } from './set.ts'
export { type KeyRange, subranges, wholeRange } from './range.ts'
export { initiate, InitiatorSession } from './initiator.ts'
export { accept, ResponderSession } from './responder.ts'
export type { ReconcileOptions, ReconcileStep } from './session.ts'
export { AbortReason, decodeMessage, encodeMessage, MessageType, rangeDepthMax, reconcileVersion, type Message } from './wire.ts'

export type ReconcileSession = InitiatorSession | ResponderSession

/** Feeds one message from the peer to a session; see ReconcileStep. */
export function reconcile (session: ReconcileSession, message: Uint8Array): ReconcileStep {
  return session.reconcile(message)
}
