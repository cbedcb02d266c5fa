/**
 * What a relay in `peers.mode: org` makes of the user certificate a channel's `create` or
 * `add` carries (#29): the relay's `MemberCheck` (protocol/channel/relay.ts). The certificate
 * must be from this relay's organisation or a partner it accepts and has not cut off, signed
 * by it, valid when the change was made, and not revoked; and a partner's user joins only
 * channels that partner's policy here lets cross (`ddil org policy --creators`). A change that
 * fails is refused like any governance change this relay will not carry: its member is not
 * one here, so nothing of theirs is carried and no key is sealed to them through this relay.
 *
 * @example
 * channelPolicy.memberCheck = createMemberCheck({ trust: () => ({ store: admission.store(), state: admission.trust() }), crypto })
 */
import type { MemberCheck } from '../../protocol/channel/relay.ts'
import { judgeCertificate, orgRef, type TrustState } from '../../protocol/org/trust.ts'
import type { Crypto } from '../../protocol/ports.ts'
import type { TrustStore } from './trust-store.ts'

export interface MemberCheckDeps {
  /** The trust store as last read, and its trust state (built once per read). */
  trust (): { store: TrustStore, state: TrustState }
  crypto: Pick<Crypto, 'ed25519Verify'>
}

export function createMemberCheck (d: MemberCheckDeps): MemberCheck {
  return (certificate, subject, _channel, creator, stampMs) => {
    const { store, state } = d.trust()
    const v = judgeCertificate(certificate, { kind: 'user', subject }, state, stampMs, d.crypto)
    if (!v.ok) return `this relay refuses the member's user ${v.reason}`
    if (v.org.role !== 'partner') return undefined
    const creators = store.partners.find(p => orgRef(p.key) === orgRef(v.org.key))?.policy?.creators
    if (creators === undefined || (creator !== undefined && creators.includes(creator))) return undefined
    return `${store.own?.name ?? 'this organisation'} lets ${v.org.name}'s users into channels created by the listed creators only (ddil org policy --creators), and this channel's creator ${creator ?? '(unknown here)'} is not one`
  }
}
