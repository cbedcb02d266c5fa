/**
 * Whether a relay trusts an organisation certificate (#29): a pure decision over what its
 * operator accepted. A relay trusts its own organisation and the partners its operator
 * accepted (`ddil org trust`), nothing else; a partner its operator cut off (`ddil org
 * distrust`) is refused by name, so the refusal says why. Checks run cheapest first and
 * the signature before anything the certificate claims is believed:
 *
 *   decode → organisation accepted → not distrusted → signature → kind → subject →
 *   validity window → not revoked
 *
 * A certificate not yet valid is accepted up to `clockSkewMsMax` early, as a timestamp is:
 * relays in the field run on clocks that may be a day off. Expiry is not stretched.
 *
 * @example
 * const v = judgeCertificate(bytes, { kind: 'relay', subject: peerKey }, trust, nowMs, crypto)
 * if (!v.ok) refuse(v.code, v.reason)
 */
import { bytesEqual, toHex } from '../bytes.ts'
import { isDdilError } from '../errors.ts'
import { clockSkewMsMax } from '../limits.ts'
import type { Crypto } from '../ports.ts'
import { formatDuration } from '../units.ts'
import { decodeCertificate, verifyCertificate, type Certificate, type CertificateKind } from './certificate.ts'

export interface AcceptedOrg {
  key: Uint8Array
  name: string
  /** This relay's own organisation, or a partner its operator accepted. */
  role: 'own' | 'partner'
  /** Set once its operator cut it off: its certificates are refused as `distrusted-org`. */
  distrustedAtMs?: number
}

export interface TrustState {
  /** Accepted organisations by hex key (orgRef). */
  orgs: ReadonlyMap<string, AcceptedOrg>
  /** Revoked certificates, as `revokedRef(org, serial)`. */
  revoked: ReadonlySet<string>
}

export type CertificateRefusal = 'decode' | 'untrusted-org' | 'distrusted-org' | 'signature' | 'wrong-kind' | 'wrong-subject' | 'not-yet-valid' | 'expired' | 'revoked'

export type CertificateVerdict =
  | { ok: true, certificate: Certificate, org: AcceptedOrg }
  | { ok: false, code: CertificateRefusal, reason: string }

export interface Expected {
  kind: CertificateKind
  /** The key the certificate must name (the peer's node key, a user's keys); absent: any. */
  subject?: Uint8Array
}

export function orgRef (key: Uint8Array): string { return toHex(key) }
export function revokedRef (org: Uint8Array, serial: number): string { return `${toHex(org)}:${serial}` }

export function judgeCertificate (cert: Uint8Array | Certificate, expected: Expected, trust: TrustState, nowMs: number, crypto: Pick<Crypto, 'ed25519Verify'>): CertificateVerdict {
  let c: Certificate
  try {
    c = cert instanceof Uint8Array ? decodeCertificate(cert) : cert
  } catch (e) {
    if (!isDdilError(e)) throw e
    return { ok: false, code: 'decode', reason: `not a certificate: ${e.message}` }
  }
  const org = trust.orgs.get(orgRef(c.org))
  const who = `certificate ${c.serial} ("${c.name}")`
  if (org === undefined) return { ok: false, code: 'untrusted-org', reason: `${who} is from an organisation this relay has not accepted (${orgRef(c.org).slice(0, 16)}…)` }
  if (org.distrustedAtMs !== undefined) return { ok: false, code: 'distrusted-org', reason: `${who} is from ${org.name}, which this relay's operator no longer trusts` }
  try {
    verifyCertificate(c, crypto)
  } catch (e) {
    if (!isDdilError(e)) throw e
    return { ok: false, code: 'signature', reason: `${who} claims ${org.name} but its signature does not verify (forged or damaged)` }
  }
  if (c.kind !== expected.kind) return { ok: false, code: 'wrong-kind', reason: `${who} certifies a ${c.kind}, not a ${expected.kind}` }
  if (expected.subject !== undefined && !bytesEqual(c.subject, expected.subject)) return { ok: false, code: 'wrong-subject', reason: `${who} certifies another ${c.kind}'s key` }
  if (nowMs + clockSkewMsMax < c.notBeforeMs) return { ok: false, code: 'not-yet-valid', reason: `${who} becomes valid in ${formatDuration(Math.ceil((c.notBeforeMs - nowMs) / 1000) * 1000)} (more than the ${formatDuration(clockSkewMsMax)} clocks may disagree by)` }
  if (nowMs >= c.notAfterMs) return { ok: false, code: 'expired', reason: `${who} expired ${formatDuration(Math.ceil((nowMs - c.notAfterMs) / 1000) * 1000)} ago` }
  if (trust.revoked.has(revokedRef(c.org, c.serial))) return { ok: false, code: 'revoked', reason: `${who} was revoked by ${org.name}` }
  return { ok: true, certificate: c, org }
}
