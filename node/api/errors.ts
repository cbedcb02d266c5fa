/**
 * Error codes on the client API's wire. The codes of `protocol/errors.ts` travel as they
 * are; the API adds three of its own for conditions that belong to the connection, not to
 * the protocol. The client maps every code back to a DdilError class, so callers branch on
 * `code` exactly as they do for local errors.
 *
 * @example
 * wireCode(new QuotaError('full'))                 // 'ERR_QUOTA'
 * const e = errorFromWire('ERR_RATE', 'slow down')  // a LimitError
 * wireCodeOf(e)                                   // 'ERR_RATE'
 */
import {
  AuditError, ClockSkewError, ConfigError, CryptoError, DecodeError, ErrorCodes, ExpiredError, isDdilError, LimitError,
  ProtocolError, QuotaError, SignatureError, StorageError, UnauthorisedError, UsageError, type DdilError, type ErrorCode,
} from '../../protocol/errors.ts'

export const ApiErrorCodes = {
  /** Not authenticated: a request before auth, or a failed auth (bad key, bad signature, unlisted user). */
  auth: 'ERR_AUTH',
  /** The connection's request rate is over its token bucket. */
  rate: 'ERR_RATE',
  /** The node failed in a way it did not classify (a bug); logged at error level on the node. */
  internal: 'ERR_INTERNAL',
} as const

export type WireErrorCode = ErrorCode | (typeof ApiErrorCodes)[keyof typeof ApiErrorCodes]

const allCodes = new Set<string>([...Object.values(ErrorCodes), ...Object.values(ApiErrorCodes)])

export function isWireErrorCode (code: string): code is WireErrorCode {
  return allCodes.has(code)
}

/** The code a thrown value travels under: its own for DdilErrors, ERR_INTERNAL otherwise. */
export function wireCode (e: unknown): WireErrorCode {
  return isDdilError(e) ? e.code : ApiErrorCodes.internal
}

const classes: Record<ErrorCode, new (message: string, options?: ErrorOptions) => DdilError> = {
  ERR_DECODE: DecodeError,
  ERR_LIMIT: LimitError,
  ERR_SIGNATURE: SignatureError,
  ERR_EXPIRED: ExpiredError,
  ERR_CLOCK_SKEW: ClockSkewError,
  ERR_UNAUTHORISED: UnauthorisedError,
  ERR_CRYPTO: CryptoError,
  ERR_PROTOCOL: ProtocolError,
  ERR_QUOTA: QuotaError,
  ERR_STORAGE: StorageError,
  ERR_CONFIG: ConfigError,
  ERR_USAGE: UsageError,
  ERR_AUDIT: AuditError,
}

/** Carried as the `cause` of every error the client raises for an `error` reply. */
export interface WireCause {
  wireCode: WireErrorCode
}

/**
 * The DdilError for an `error` reply. API-only codes map to the nearest class (ERR_AUTH to
 * UnauthorisedError, ERR_RATE to LimitError, ERR_INTERNAL to ProtocolError); the exact wire
 * code is kept in `cause.wireCode` (see `wireCodeOf`).
 */
export function errorFromWire (code: WireErrorCode, message: string): DdilError {
  const options = { cause: { wireCode: code } satisfies WireCause }
  switch (code) {
    case ApiErrorCodes.auth: return new UnauthorisedError(message, options)
    case ApiErrorCodes.rate: return new LimitError(message, options)
    case ApiErrorCodes.internal: return new ProtocolError(message, options)
    default: return new classes[code](message, options)
  }
}

/** The wire code an error travelled under: ERR_AUTH, ERR_RATE and ERR_INTERNAL are recovered from `cause`. */
export function wireCodeOf (e: DdilError): WireErrorCode {
  const cause = e.cause as Partial<WireCause> | undefined
  return typeof cause?.wireCode === 'string' && isWireErrorCode(cause.wireCode) ? cause.wireCode : e.code
}
