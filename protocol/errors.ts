/**
 * The closed set of errors ddil-relay raises. Callers branch on `code`, never on
 * message text. Network conditions (a link that cannot take a frame) are return
 * values, not errors; junk from a peer is a `DecodeError` that ends that session,
 * never the process.
 *
 * @example
 * try { decodeEnvelope(bytes) } catch (e) { if (isDdilError(e) && e.code === 'ERR_DECODE') penalise(peer) }
 */

export const ErrorCodes = {
  decode: 'ERR_DECODE',
  limit: 'ERR_LIMIT',
  signature: 'ERR_SIGNATURE',
  expired: 'ERR_EXPIRED',
  clockSkew: 'ERR_CLOCK_SKEW',
  unauthorised: 'ERR_UNAUTHORISED',
  crypto: 'ERR_CRYPTO',
  protocol: 'ERR_PROTOCOL',
  quota: 'ERR_QUOTA',
  storage: 'ERR_STORAGE',
  config: 'ERR_CONFIG',
  usage: 'ERR_USAGE',
  audit: 'ERR_AUDIT',
} as const

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes]

/** Base class: every error we throw on purpose is one of the subclasses below. */
export abstract class DdilError extends Error {
  abstract readonly code: ErrorCode
}

/** Bytes that do not parse under our strict grammar (malformed, non-canonical, trailing bytes, unknown tags). */
export class DecodeError extends DdilError {
  override readonly name = 'DecodeError'
  readonly code = ErrorCodes.decode
}

/** A declared or actual size, count, depth or rate beyond one of `limits.ts`. */
export class LimitError extends DdilError {
  override readonly name = 'LimitError'
  readonly code = ErrorCodes.limit
}

/** A signature that does not verify for the claimed author and kind. */
export class SignatureError extends DdilError {
  override readonly name = 'SignatureError'
  readonly code = ErrorCodes.signature
}

/** An envelope whose expiry has passed (on arrival, or when asked to forward it). */
export class ExpiredError extends DdilError {
  override readonly name = 'ExpiredError'
  readonly code = ErrorCodes.expired
}

/** A timestamp further in the future than the skew allowance. */
export class ClockSkewError extends DdilError {
  override readonly name = 'ClockSkewError'
  readonly code = ErrorCodes.clockSkew
}

/** An author, peer or client that is not allowed to do what it asked. */
export class UnauthorisedError extends DdilError {
  override readonly name = 'UnauthorisedError'
  readonly code = ErrorCodes.unauthorised
}

/** A cryptographic operation failed (AEAD open, bad key length). */
export class CryptoError extends DdilError {
  override readonly name = 'CryptoError'
  readonly code = ErrorCodes.crypto
}

/** A well-formed frame that breaks the conversation's rules (wrong version, unexpected state). */
export class ProtocolError extends DdilError {
  override readonly name = 'ProtocolError'
  readonly code = ErrorCodes.protocol
}

/** The node refuses new custody because its storage quota is full of messages it must keep. */
export class QuotaError extends DdilError {
  override readonly name = 'QuotaError'
  readonly code = ErrorCodes.quota
}

/** The store failed, is locked by another process, or holds corrupt data. */
export class StorageError extends DdilError {
  override readonly name = 'StorageError'
  readonly code = ErrorCodes.storage
}

/** A configuration or scenario value that is invalid; the message names the key and the fix. */
export class ConfigError extends DdilError {
  override readonly name = 'ConfigError'
  readonly code = ErrorCodes.config
}

/** A command-line invocation that is malformed (exit status 2). */
export class UsageError extends DdilError {
  override readonly name = 'UsageError'
  readonly code = ErrorCodes.usage
}

/** The audit log failed to write, or failed verification. */
export class AuditError extends DdilError {
  override readonly name = 'AuditError'
  readonly code = ErrorCodes.audit
}

export function isDdilError (e: unknown): e is DdilError {
  return e instanceof DdilError
}
