/**
 * Signing governance changes into envelopes, and the genesis rule that binds a
 * channel's reference to its creating change.
 *
 * Genesis: the channel reference in the envelope header is SHA-256(body)[0..8], the
 * author is the owner's key prefix, seq 1, no deps; `channelId` is the genesis id.
 * Every later change cites the governance heads its author has accepted (sorted, at
 * most `envelopeDepsMax`; beyond that the lowest ids are cited).
 *
 * Governance envelopes define membership for the channel's life: relays keep them whatever
 * their TTL (`isLasting`, #25; docs/CHANNELS.md "Lifetime"), which is `lastingTtlSeconds`.
 *
 * @example
 * const genesis = createChannel(crypto, owner, policy, random.bytes(16), hlc.now())
 * const store = new GovernanceStore(crypto); store.add(genesis)
 * const add = signChange(crypto, owner, store.state(genesis.channel)!, { op: 'add', memberEd, memberX, role: 'member' }, 2, hlc.now())
 */
import { compareBytes, bytesEqual } from '../bytes.ts'
import { authorRef, Kind, Precedence, signEnvelope, channelRefBytes, type Envelope } from '../envelope.ts'
import { ProtocolError } from '../errors.ts'
import type { Hlc } from '../hlc.ts'
import { envelopeDepsMax, lastingTtlSeconds } from '../limits.ts'
import type { Crypto, KeyPair } from '../ports.ts'
import { encodeChange, type Change, type CreateChange, type Policy } from './governance.ts'

/** A user: an Ed25519 signing key and an X25519 key-agreement key. */
export interface UserKeys { ed25519: KeyPair, x25519: KeyPair }

/** Governance is rare, small and security-critical (a removal must outrun the removed member's posts). */
export const governancePrecedence = Precedence.flash

/** The channel reference a genesis body defines. */
export function channelRefOf (crypto: Crypto, body: Uint8Array): Uint8Array {
  return crypto.sha256(body).slice(0, channelRefBytes)
}

/**
 * Sign a channel's genesis change. `nonce` is 16 random bytes from the Random port;
 * `ownerCertificate`: the owner's user certificate from their organisation (#29), if any.
 */
export function createChannel (crypto: Crypto, owner: UserKeys, policy: Policy, nonce: Uint8Array, hlc: Hlc, ttlSeconds: number = lastingTtlSeconds, ownerCertificate?: Uint8Array): Envelope {
  const change: CreateChange = { op: 'create', ownerEd: owner.ed25519.publicKey, ownerX: owner.x25519.publicKey, policy, nonce, ...(ownerCertificate !== undefined ? { ownerCertificate } : {}) }
  const body = encodeChange(change)
  return signEnvelope(crypto, {
    kind: Kind.governance,
    precedence: governancePrecedence,
    channel: channelRefOf(crypto, body),
    author: authorRef(owner.ed25519.publicKey),
    seq: 1,
    hlc,
    ttlSeconds,
    epoch: 0,
    deps: [],
    body,
  }, owner.ed25519.privateKey)
}

/** Where a change is made: the channel and the heads its author has accepted (a GovernanceState fits). */
export interface ChangeContext { channel: Uint8Array, heads: readonly Uint8Array[] }

/** The deps a change cites: heads sorted, unique, the lowest `envelopeDepsMax`. */
export function citedDeps (heads: readonly Uint8Array[]): Uint8Array[] {
  const sorted = [...heads].sort(compareBytes)
  const unique = sorted.filter((h, i) => i === 0 || !bytesEqual(h, sorted[i - 1]))
  return unique.slice(0, envelopeDepsMax)
}

/**
 * Sign a non-genesis change. `seq` is the author's next sequence number in this channel
 * (shared with every other kind the author sends there; the caller persists it first).
 */
export function signChange (crypto: Crypto, author: Pick<UserKeys, 'ed25519'>, at: ChangeContext, change: Change, seq: number, hlc: Hlc, ttlSeconds: number = lastingTtlSeconds): Envelope {
  if (change.op === 'create') throw new ProtocolError('a create change is only valid as a genesis: use createChannel')
  return signEnvelope(crypto, {
    kind: Kind.governance,
    precedence: governancePrecedence,
    channel: at.channel,
    author: authorRef(author.ed25519.publicKey),
    seq,
    hlc,
    ttlSeconds,
    epoch: 0,
    deps: citedDeps(at.heads),
    body: encodeChange(change),
  }, author.ed25519.privateKey)
}

/** Why `env` (carrying `change`) is not a valid genesis, or undefined when it is. Does not check the signature. */
export function genesisProblem (crypto: Crypto, env: Envelope, change: CreateChange): string | undefined {
  if (env.deps.length !== 0) return 'genesis must have no dependencies'
  if (env.seq !== 1) return 'genesis must have sequence 1'
  if (!bytesEqual(env.author, authorRef(change.ownerEd))) return 'genesis author must be the owner'
  if (!bytesEqual(env.channel, channelRefOf(crypto, env.body))) return 'channel reference must be SHA-256(genesis body)[0..8]'
  return undefined
}
