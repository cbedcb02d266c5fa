/**
 * Whether an envelope may be stored here, as a value: in time by network time, authorised
 * by channel state (or not decidable yet), signed by its author. And what a refusal costs
 * the peer that sent it. Pure but for the authoriser it is given.
 *
 * @example
 * const v = validate(env, { crypto, authoriser, networkNowMs })
 * if (!v.ok && v.reason === 'pending') held.hold(env, from)
 * else if (!v.ok) charge(peer, senderCharge(v))
 */
import { checkTimely, verifySignature, type Envelope } from '../envelope.ts'
import { ClockSkewError, DecodeError, ExpiredError, isDdilError, LimitError, QuotaError, SignatureError, StorageError, UnauthorisedError, type DdilError } from '../errors.ts'
import type { Crypto } from '../ports.ts'
import type { Authoriser, Refusal, RefusalReason, Verdict } from './types.ts'

export interface ValidateDeps {
  crypto: Crypto
  authoriser: Authoriser
  /** Expiry and the far-future bound are judged by network time (network-time.ts). */
  networkNowMs (): number
}

export function validate (env: Envelope, deps: ValidateDeps): Verdict {
  try {
    checkTimely(env, deps.networkNowMs())
    const auth = deps.authoriser.authorise(env)
    if (!auth.ok) {
      const reason = 'pending' in auth ? 'pending' : auth.carried === false ? 'not-carried' : 'unauthorised'
      return { ok: false, reason, message: auth.reason, ...('wholeChannel' in auth && auth.wholeChannel === true ? { wholeChannel: true } : {}) }
    }
    verifySignature(deps.crypto, env, auth.publicKey)
    // No sequence window: a relay that was away lacks whatever its peers stored meanwhile, so a
    // far jump is normal for it. What a jump can cost is bounded where the gap is chased (gaps.ts).
    return { ok: true }
  } catch (e) {
    // The envelope checks (envelope.ts) throw their errors (ExpiredError, ClockSkewError,
    // SignatureError): values from here on. Anything else is a bug, and stays an exception.
    if (!isDdilError(e)) throw e
    return { ok: false, reason: reasonOf(e), message: e.message }
  }
}

/** The reason a refusal is reported under (events, audit): one not carried, or not yet decidable, is unauthorised. */
export function refusalReason (r: Refusal): RefusalReason {
  return r.reason === 'pending' || r.reason === 'not-carried' ? 'unauthorised' : r.reason
}

/**
 * What a refused envelope costs the peer that sent it. What our own policy refuses (a channel
 * we do not carry) is nobody's fault. What an honest peer can send (it judged the envelope by
 * its own clock or its own view of the channel, which a partition can leave behind ours: a
 * removed member's posts) costs a point, once per envelope. What it cannot send honestly (a
 * forgery, junk) costs ten.
 */
export function senderCharge (r: Refusal): 'none' | 'untimely' | 'bad' {
  if (r.reason === 'not-carried' || r.reason === 'pending') return 'none'
  const reason = refusalReason(r)
  return reason === 'expired' || reason === 'clock-skew' || reason === 'unauthorised' ? 'untimely' : 'bad'
}

/** The error a local client is given for a refusal (the client API reports its code). */
export function refusalError (r: Refusal): DdilError {
  switch (r.reason) {
    case 'pending': return new UnauthorisedError(`not yet authorised: ${r.message}`)
    case 'not-carried':
    case 'unauthorised': return new UnauthorisedError(r.message)
    case 'expired': return new ExpiredError(r.message)
    case 'clock-skew': return new ClockSkewError(r.message)
    case 'signature': return new SignatureError(r.message)
    case 'decode': return new DecodeError(r.message)
    case 'limit': return new LimitError(r.message)
    case 'quota': return new QuotaError(r.message)
    case 'storage': return new StorageError(r.message)
  }
}

/** The refusal reason for an error thrown by a check or a store write (anything not ours is a storage fault). */
export function reasonOf (e: unknown): RefusalReason {
  if (!isDdilError(e)) return 'storage'
  switch (e.code) {
    case 'ERR_EXPIRED': return 'expired'
    case 'ERR_CLOCK_SKEW': return 'clock-skew'
    case 'ERR_SIGNATURE': return 'signature'
    case 'ERR_UNAUTHORISED': return 'unauthorised'
    case 'ERR_LIMIT': return 'limit'
    case 'ERR_QUOTA': return 'quota'
    case 'ERR_DECODE': return 'decode'
    default: return 'storage'
  }
}
