/**
 * Revocations that travel (#29), on a relay in `peers.mode: org`: the authoriser's judgement of
 * an organisation's revocation envelope (an accepted organisation's channel, signed by it,
 * carrying its signed revocation), taking a stored one into the trust store, and putting the
 * ones the trust store holds into the relay's store, so that they are passed on. A revocation
 * imported at one relay (`ddil org import`) thus reaches every relay that trusts the
 * organisation; each takes it up when it next reads orgs.json (within 5 s), which cuts a
 * revoked relay's link and refuses a revoked member's add from then on.
 *
 * @example
 * channelPolicy.revocations = revocationCheck({ trust: () => admission.trust(), crypto })
 * hub.stored.add(env => { if (env.kind === Kind.revocation) imports.take(env.bytes) })
 */
import type { AuthoriseResult } from '../../protocol/engine/types.ts'
import type { Envelope } from '../../protocol/envelope.ts'
import type { TrustState } from '../../protocol/org/trust.ts'
import type { Crypto } from '../../protocol/ports.ts'
import { addRevocationEnvelope, judgeRevocationEnvelope } from './trust-store.ts'

/** The authoriser's hook: the organisation's key when the envelope is its valid revocation (the engine checks the envelope's signature under it). */
export function revocationCheck (d: { trust (): TrustState, crypto: Crypto }): (env: Envelope) => AuthoriseResult {
  return (env) => {
    const v = judgeRevocationEnvelope(env, d.trust(), d.crypto)
    if (v.ok) return { ok: true, publicKey: v.org.key }
    // An organisation this relay does not know is no fault of the peer that forwarded it; a bad revocation is.
    return v.unknownOrg ? { ok: false, reason: v.reason, carried: false } : { ok: false, reason: v.reason }
  }
}

/** Takes stored revocation envelopes into orgs.json one at a time (each is a read, a change and a whole-file write). */
export function revocationImports (d: { dataDir: string, crypto: Crypto, failed (e: Error): void }): { take (envelope: Uint8Array): void } {
  let chain = Promise.resolve()
  return {
    take (envelope) {
      chain = chain.then(async () => { await addRevocationEnvelope(d.dataDir, envelope, d.crypto) }).catch((e: Error) => { d.failed(e) })
    },
  }
}
