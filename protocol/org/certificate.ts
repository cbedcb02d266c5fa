/**
 * Organisation certificates and revocations (#29), version 1: an organisation's offline
 * Ed25519 key vouches for one of its relays or users for a stated time, and can take that
 * back. Each is canonical CBOR (protocol/cbor.ts), an array whose last item is the signature:
 *
 *   certificate = [1, kind, org, subject, name, serial, notBeforeMs, notAfterMs, signature]
 *     kind      = 0 relay (subject: the relay's 32-byte Ed25519 node key, its libp2p identity)
 *               | 1 user  (subject: the user's Ed25519 key ‖ X25519 key, 64 bytes)
 *     org       = the organisation's 32-byte Ed25519 public key
 *     name      = what the organisation calls the subject, a display name (1..64 characters)
 *     serial    = 1..2^53−1, unique per organisation (what a revocation names)
 *     notBeforeMs < notAfterMs, at most `orgCertificateLifetimeMsMax` apart (Unix ms)
 *   revocation  = [1, org, serial, issuedMs, signature]
 *   signature   = Ed25519 by org over label ‖ the canonical CBOR of the array without it
 *     label     = "ddil/v1/org/certificate\n" or "ddil/v1/org/revocation\n"
 *
 * The labels keep a signature over one from verifying as the other, or as an envelope or a
 * bundle. Decoders are strict (size before parsing, exact shapes, canonical bytes) and check
 * no signature; `verifyCertificate` and `verifyRevocation` do, and whether the signer is
 * trusted is decided by trust.ts.
 *
 * @example
 * const bytes = signCertificate({ kind: 'relay', org, subject: nodeKey, name: 'pump-station-3', serial: 7, notBeforeMs, notAfterMs }, crypto, orgPrivateKey)
 * const cert = decodeCertificate(bytes)   // throws DecodeError | LimitError
 * verifyCertificate(cert, crypto)         // throws SignatureError
 */
import { asArray, asBytes, asText, asUint, decodeStrict, encodeCanonical, type CborValue } from '../cbor.ts'
import { concatBytes, utf8 } from '../bytes.ts'
import { displayNameProblem } from '../channel/profile.ts'
import { DecodeError, LimitError, SignatureError } from '../errors.ts'
import { orgCertificateLifetimeMsMax, orgDocumentBytesMax } from '../limits.ts'
import type { Crypto } from '../ports.ts'

export const orgFormatVersion = 1
export const certificateLabel = utf8('ddil/v1/org/certificate\n')
export const revocationLabel = utf8('ddil/v1/org/revocation\n')

export const orgKeyBytes = 32
const signatureBytes = 64
/** Subject length by kind: a relay's node key; a user's signing and key-agreement keys. */
export const subjectBytes = { relay: 32, user: 64 } as const
export type CertificateKind = keyof typeof subjectBytes
const kindCodes: readonly CertificateKind[] = ['relay', 'user']

export interface CertificateFields {
  kind: CertificateKind
  org: Uint8Array
  subject: Uint8Array
  name: string
  serial: number
  notBeforeMs: number
  notAfterMs: number
}

export interface Certificate extends CertificateFields {
  signature: Uint8Array
  /** The certificate's exact bytes (what was signed can be rebuilt from them). */
  bytes: Uint8Array
}

export interface RevocationFields { org: Uint8Array, serial: number, issuedMs: number }
export interface Revocation extends RevocationFields { signature: Uint8Array, bytes: Uint8Array }

// ---- Certificates ----------------------------------------------------------------

function certificateBody (f: CertificateFields): CborValue[] {
  return [orgFormatVersion, kindCodes.indexOf(f.kind), f.org, f.subject, f.name, f.serial, f.notBeforeMs, f.notAfterMs]
}

function checkCertificate (f: CertificateFields): void {
  if (!kindCodes.includes(f.kind)) throw new DecodeError(`certificate kind must be relay or user, got ${String(f.kind)}`)
  if (f.org.length !== orgKeyBytes) throw new DecodeError(`certificate org key must be ${orgKeyBytes} bytes`)
  if (f.subject.length !== subjectBytes[f.kind]) throw new DecodeError(`a ${f.kind} certificate's subject must be ${subjectBytes[f.kind]} bytes`)
  const problem = displayNameProblem(f.name)
  if (problem !== undefined) throw new DecodeError(`certificate name ${problem}`)
  if (!Number.isSafeInteger(f.serial) || f.serial < 1) throw new DecodeError('certificate serial must be a positive integer')
  if (!Number.isSafeInteger(f.notBeforeMs) || f.notBeforeMs < 0 || !Number.isSafeInteger(f.notAfterMs)) throw new DecodeError('certificate validity must be non-negative integer ms')
  if (f.notAfterMs <= f.notBeforeMs) throw new DecodeError('certificate validity ends before it begins')
  if (f.notAfterMs - f.notBeforeMs > orgCertificateLifetimeMsMax) throw new LimitError(`certificate validity is ${f.notAfterMs - f.notBeforeMs} ms; at most ${orgCertificateLifetimeMsMax} (five years)`)
}

/** Signs a certificate with the organisation's private key (whose public half must be `fields.org`). */
export function signCertificate (fields: CertificateFields, crypto: Pick<Crypto, 'ed25519Sign'>, orgPrivateKey: Uint8Array): Uint8Array {
  checkCertificate(fields)
  const body = certificateBody(fields)
  const signature = crypto.ed25519Sign(orgPrivateKey, concatBytes([certificateLabel, encodeCanonical(body)]))
  const bytes = encodeCanonical([...body, signature])
  decodeCertificate(bytes) // one definition of validity: never issue what a reader would refuse
  return bytes
}

export function decodeCertificate (bytes: Uint8Array): Certificate {
  if (bytes.length > orgDocumentBytesMax) throw new LimitError(`certificate is ${bytes.length} bytes; at most ${orgDocumentBytesMax}`)
  const a = asArray(decodeStrict(bytes), 'certificate', 9)
  if (asUint(a[0], 'certificate version') !== orgFormatVersion) throw new DecodeError(`certificate version ${String(a[0])} is not ${orgFormatVersion}`)
  const kind = kindCodes[asUint(a[1], 'certificate kind', kindCodes.length - 1)]
  const fields: CertificateFields = {
    kind,
    org: asBytes(a[2], 'certificate org', orgKeyBytes),
    subject: asBytes(a[3], 'certificate subject', subjectBytes[kind]),
    name: asText(a[4], 'certificate name'),
    serial: asUint(a[5], 'certificate serial'),
    notBeforeMs: asUint(a[6], 'certificate notBefore'),
    notAfterMs: asUint(a[7], 'certificate notAfter'),
  }
  checkCertificate(fields)
  return { ...fields, signature: asBytes(a[8], 'certificate signature', signatureBytes), bytes }
}

/** Throws SignatureError unless `cert.org` signed it. Says nothing of whether that org is trusted (trust.ts). */
export function verifyCertificate (cert: Certificate, crypto: Pick<Crypto, 'ed25519Verify'>): void {
  const signed = concatBytes([certificateLabel, encodeCanonical(certificateBody(cert))])
  if (!crypto.ed25519Verify(cert.org, signed, cert.signature)) throw new SignatureError(`certificate ${cert.serial} ("${cert.name}") is not signed by the organisation it names`)
}

// ---- Revocations -----------------------------------------------------------------

function revocationBody (f: RevocationFields): CborValue[] {
  return [orgFormatVersion, f.org, f.serial, f.issuedMs]
}

function checkRevocation (f: RevocationFields): void {
  if (f.org.length !== orgKeyBytes) throw new DecodeError(`revocation org key must be ${orgKeyBytes} bytes`)
  if (!Number.isSafeInteger(f.serial) || f.serial < 1) throw new DecodeError('revocation serial must be a positive integer')
  if (!Number.isSafeInteger(f.issuedMs) || f.issuedMs < 0) throw new DecodeError('revocation time must be non-negative integer ms')
}

export function signRevocation (fields: RevocationFields, crypto: Pick<Crypto, 'ed25519Sign'>, orgPrivateKey: Uint8Array): Uint8Array {
  checkRevocation(fields)
  const body = revocationBody(fields)
  const signature = crypto.ed25519Sign(orgPrivateKey, concatBytes([revocationLabel, encodeCanonical(body)]))
  const bytes = encodeCanonical([...body, signature])
  decodeRevocation(bytes)
  return bytes
}

export function decodeRevocation (bytes: Uint8Array): Revocation {
  if (bytes.length > orgDocumentBytesMax) throw new LimitError(`revocation is ${bytes.length} bytes; at most ${orgDocumentBytesMax}`)
  const a = asArray(decodeStrict(bytes), 'revocation', 5)
  if (asUint(a[0], 'revocation version') !== orgFormatVersion) throw new DecodeError(`revocation version ${String(a[0])} is not ${orgFormatVersion}`)
  const fields: RevocationFields = { org: asBytes(a[1], 'revocation org', orgKeyBytes), serial: asUint(a[2], 'revocation serial'), issuedMs: asUint(a[3], 'revocation time') }
  checkRevocation(fields)
  return { ...fields, signature: asBytes(a[4], 'revocation signature', signatureBytes), bytes }
}

export function verifyRevocation (r: Revocation, crypto: Pick<Crypto, 'ed25519Verify'>): void {
  const signed = concatBytes([revocationLabel, encodeCanonical(revocationBody(r))])
  if (!crypto.ed25519Verify(r.org, signed, r.signature)) throw new SignatureError(`revocation of certificate ${r.serial} is not signed by the organisation it names`)
}

/** What a document is, from its first bytes, without decoding it whole: a certificate array has 9 items, a revocation 5. */
export function orgDocumentKind (bytes: Uint8Array): 'certificate' | 'revocation' | 'revocation-envelope' | undefined {
  if (bytes[0] === 0x89) return 'certificate'
  if (bytes[0] === 0x85) return 'revocation'
  // An envelope's head byte: version 1 (top three bits), kind 6 `revocation` (next three).
  if (bytes.length > 0 && bytes[0] >> 5 === 1 && ((bytes[0] >> 2) & 7) === 6) return 'revocation-envelope'
  return undefined
}
