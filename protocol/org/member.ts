/**
 * Whose organisation vouches for a channel member (#29), as a reader shows it beside their
 * name: the user certificate their `create` or `add` carried (protocol/channel/governance.ts),
 * judged against the organisations the reader's relay accepts, at the time given. A relay
 * judges the same certificate when the change arrives (node/org/member-check.ts); a device
 * judges it again to show it, with the organisation names its relay tells it.
 *
 * @example
 * memberOrganisation(cert, ed || x, trust, nowMs, crypto)   // { name: 'County EM', ok: true }
 */
import type { Crypto } from '../ports.ts'
import { formatDuration } from '../units.ts'
import { judgeCertificate, orgRef, type TrustState } from './trust.ts'
import { fromHex } from '../bytes.ts'
import { DecodeError } from '../errors.ts'
import { decodeCertificate, type Certificate } from './certificate.ts'

/** An organisation as a relay's status lists it (`orgs`, docs/CLIENT-API.md). */
export interface RelayOrg { ref: string, name: string, role: 'own' | 'partner', cutOffMs?: number }

/**
 * The trust state a device judges members' certificates against: the organisations its relay
 * accepts. No revocations: the relay refuses the add of a revoked member; a device holds none.
 */
export function trustOfRelay (orgs: readonly RelayOrg[]): TrustState {
  return {
    orgs: new Map(orgs.map(o => [o.ref, { key: fromHex(o.ref), name: o.name, role: o.role, ...(o.cutOffMs !== undefined ? { distrustedAtMs: o.cutOffMs } : {}) }])),
    revoked: new Set(),
  }
}

/** A user certificate as a file or paste gives it: decoded, and a user's (else a DecodeError saying what it is). */
export function userCertificateKeys (bytes: Uint8Array): Certificate {
  const c = decodeCertificate(bytes)
  if (c.kind !== 'user') throw new DecodeError(`this certificate is a ${c.kind}'s, not a user's`)
  return c
}

/** What shows beside a member's name: the organisation's name, and whether its certificate holds now (else why not). */
export interface MemberOrganisation {
  name: string
  ok: boolean
  problem?: string
  /** Set when the reader's relay cut that organisation off: its users should leave our channels (remove them; a new key epoch excludes them). */
  cutOff?: true
}

export function memberOrganisation (certificate: Uint8Array | undefined, subject: Uint8Array, trust: TrustState, nowMs: number, crypto: Pick<Crypto, 'ed25519Verify'>): MemberOrganisation | undefined {
  if (certificate === undefined) return undefined
  const v = judgeCertificate(certificate, { kind: 'user', subject }, trust, nowMs, crypto)
  if (v.ok) return { name: v.org.name, ok: true }
  if (v.code === 'untrusted-org' || v.code === 'decode') return { name: 'an organisation this relay does not know', ok: false, problem: v.reason }
  const c = decodeCertificate(certificate) // it decoded in the judgement
  const name = trust.orgs.get(orgRef(c.org))?.name ?? 'an unknown organisation'
  if (v.code === 'distrusted-org') return { name, ok: false, problem: 'cut off by this relay\'s operator', cutOff: true }
  return { name, ok: false, problem: v.code === 'expired' ? `certificate expired ${formatDuration(nowMs - c.notAfterMs)} ago` : v.reason }
}
