/**
 * Revocations that travel (#29): the organisation's offline machine signs each revocation into
 * an envelope of kind `revocation`, in the organisation's own channel, authored by the
 * organisation key itself. A relay that accepts that organisation carries it like any envelope
 * (lasting: never purged, never evicted) and takes the revocation into its trust store, so a
 * revocation imported at one relay reaches every relay that trusts the organisation, over
 * whatever links, bundles or couriers join them.
 *
 *   channel = SHA-256("ddil/v1/org\n" || orgKey)[0..8]
 *   author  = orgKey[0..8]        seq = the revocation's rank in the organisation's ledger (1, 2, …)
 *   hlc     = (revokedMs, 0)      precedence flash, epoch 0, no deps
 *   body    = the revocation document (protocol/org/certificate.ts)
 *
 * @example
 * const env = revocationEnvelope(crypto, orgKeys, revocationBytes, 3)
 * revocationInEnvelope(env, orgKeys.publicKey)   // the Revocation, or throws saying why not
 */
import { bytesEqual, concatBytes, utf8 } from '../bytes.ts'
import { authorRef, Kind, Precedence, signEnvelope, type Envelope } from '../envelope.ts'
import { DecodeError } from '../errors.ts'
import { lastingTtlSeconds } from '../limits.ts'
import type { Crypto, KeyPair } from '../ports.ts'
import { decodeRevocation, type Revocation } from './certificate.ts'

const orgChannelLabel = utf8('ddil/v1/org\n')

/** The channel an organisation's revocations travel in. */
export function orgChannel (crypto: Pick<Crypto, 'sha256'>, orgKey: Uint8Array): Uint8Array {
  return crypto.sha256(concatBytes([orgChannelLabel, orgKey])).slice(0, 8)
}

/** Signs a revocation document (by this organisation) into its envelope; `seq`: its rank in the organisation's ledger, from 1. */
export function revocationEnvelope (crypto: Crypto, org: KeyPair, revocation: Uint8Array, seq: number): Envelope {
  const r = decodeRevocation(revocation)
  if (!bytesEqual(r.org, org.publicKey)) throw new DecodeError('that revocation is another organisation\'s')
  return signEnvelope(crypto, {
    kind: Kind.revocation, precedence: Precedence.flash, channel: orgChannel(crypto, org.publicKey), author: authorRef(org.publicKey),
    seq, hlc: { ms: r.issuedMs, c: 0 }, ttlSeconds: lastingTtlSeconds, epoch: 0, deps: [], body: revocation,
  }, org.privateKey)
}

/**
 * The revocation a `revocation` envelope carries, if the envelope is `orgKey`'s: its channel and
 * author are that organisation's, and its body is that organisation's revocation. The envelope's
 * signature (under `orgKey`) and the revocation's own are checked by the caller.
 */
export function revocationInEnvelope (crypto: Pick<Crypto, 'sha256'>, env: Envelope, orgKey: Uint8Array): Revocation {
  if (env.kind !== Kind.revocation) throw new DecodeError('not a revocation envelope')
  if (!bytesEqual(env.channel, orgChannel(crypto, orgKey)) || !bytesEqual(env.author, authorRef(orgKey))) throw new DecodeError('this revocation envelope is not in that organisation\'s channel, by that organisation')
  if (env.epoch !== 0 || env.deps.length > 0) throw new DecodeError('a revocation envelope has epoch 0 and no dependencies')
  const r = decodeRevocation(env.body)
  if (!bytesEqual(r.org, orgKey)) throw new DecodeError('the revocation inside is another organisation\'s')
  return r
}
