/**
 * Security-relevant changes wait for the audit log (brief §7, docs/AUDIT.md *Writing*): while
 * the log is in its failed state (a full disk, an unwritable directory), channel governance
 * submitted through the client API (membership and policy changes) and bundle imports and
 * exports are refused with AuditError, before anything is stored or written, because the log
 * could not record them. The log retries by itself; the first append that succeeds ends the
 * refusals, with no restart. Enrolment needs no gate: it appends its entry before it takes
 * effect (client-registry.ts). Not gated, on purpose: revocation (withdrawing access must not
 * wait on the log) and channel key envelopes, which carry out a membership change already
 * made: holding back the new epoch key after a removal would leave the removed member reading.
 *
 * @example
 * const gate = auditGate(auditLog, crypto.sha256)
 * gate.require('a bundle import')          // throws AuditError while the log is failed
 * gate.submission(envelopeBytes)           // the same, for governance envelopes only
 */
import { AuditError } from '../protocol/errors.ts'
import { decodeEnvelope, Kind } from '../protocol/envelope.ts'

export interface AuditGate {
  /** Throws AuditError when the log cannot record `action` now. */
  require: (action: string) => void
  /** Throws AuditError for a governance envelope while the log cannot record it; other envelopes pass. */
  submission: (bytes: Uint8Array) => void
}

export function auditGate (log: { readonly failure: AuditError | undefined }, sha256: (b: Uint8Array) => Uint8Array): AuditGate {
  const require = (action: string): void => {
    const failure = log.failure
    if (failure === undefined) return
    throw new AuditError(`${action} is refused while the audit log cannot record it (it retries by itself; try again shortly): ${failure.message}`, { cause: failure })
  }
  return {
    require,
    submission: (bytes) => {
      if (log.failure === undefined) return // the healthy path decodes nothing twice
      let kind: number
      try {
        kind = decodeEnvelope(bytes, sha256).kind
      } catch {
        return // junk is the engine's to refuse, with its own error
      }
      if (kind === Kind.governance) require('a channel governance change')
    },
  }
}
