/**
 * Relay enforcement: what a relay can decide about an envelope from header fields and
 * the channel's governance state alone, without reading content
 * (docs/CHANNELS.md "Relay enforcement").
 *
 *   governance  added to the store: genesis rule and signature (the key from the change
 *               itself for a genesis, from the change's causal past otherwise), then the
 *               static verdict; unknown parents → pending.
 *   message, state   a current member who may post under the policy, or a removed member
 *               with seq ≤ cutSeq who could post when removed; precedence allowed.
 *   file        as a message, and its piece head within the policy's size limits
 *               (protocol/files/piece.ts): a file too large is refused at every piece.
 *   receipt     any current member (readers too), or removed with seq ≤ cutSeq; precedence allowed.
 *   keys        a current owner or admin, or one removed with seq ≤ cutSeq.
 *   lifetime    (#25) no TTL beyond what the policy retains for the kind; no post stamped
 *               after the channel was closed.
 *   unknown channel or author → pending (the governance that names them may be on its way).
 *
 * For kinds other than governance the signature is NOT checked here: the caller verifies
 * it with the returned key (`verifySignature`), which also binds the kind (domain label).
 *
 * @example
 * const r = authoriseEnvelope(store, env, crypto)
 * if (r.ok) verifySignature(crypto, env, r.publicKey)
 * else if (r.pending) hold(env) else refuse(env, r.reason)
 */
import { toHex } from '../bytes.ts'
import { isLasting, Kind, kindNames, type Envelope } from '../envelope.ts'
import { stateTtlSecondsMin } from '../limits.ts'
import { pieceProblem } from '../files/piece.ts'
import type { Crypto } from '../ports.ts'
import { policySizeLimits, retentionFor, type Policy } from './governance.ts'
import { mayDistributeKeys, mayPost, type Role } from './roles.ts'
import type { GovernanceStore } from './store.ts'
import type { GovernanceState } from './state.ts'

export type Authorisation =
  | { ok: true, publicKey: Uint8Array }
  | { ok: false, pending?: false, reason: string }
  | { ok: false, pending: true, reason: string }

function allowedFor (kind: Kind, role: Role, state: GovernanceState): boolean {
  if (kind === Kind.keys) return mayDistributeKeys(role)
  if (kind === Kind.receipt) return true
  return mayPost(role, state.policy.whoMayPost)
}

/**
 * Authorise one envelope against `store`. Governance envelopes are authorised by adding
 * them to the store (idempotent: adding the same id again gives the same answer), so
 * the relay's governance view and what it forwards cannot drift apart. `crypto` is the
 * store's; the parameter keeps the call self-describing.
 */
export function authoriseEnvelope (store: GovernanceStore, env: Envelope, _crypto?: Crypto): Authorisation {
  if (env.kind === Kind.governance) {
    const r = store.add(env)
    if (r.status === 'accepted') return { ok: true, publicKey: r.publicKey }
    if (r.status === 'pending') return { ok: false, pending: true, reason: 'governance change with unknown parent' }
    return { ok: false, reason: `governance change refused: ${r.reason} (${r.detail})` }
  }
  const state = store.state(env.channel)
  if (state === undefined) return { ok: false, pending: true, reason: 'unknown channel' }
  const ref = toHex(env.author)
  const member = state.members.get(ref)
  const removed = state.removed.get(ref)
  if (member === undefined && removed === undefined) return { ok: false, pending: true, reason: 'unknown author' }
  if (member === undefined && removed !== undefined && env.seq > removed.cutSeq) {
    return { ok: false, reason: `author was removed: seq ${env.seq} is after the cut at ${removed.cutSeq}` }
  }
  const who = (member ?? removed) as { ed: Uint8Array, role: Role }
  if (!allowedFor(env.kind, who.role, state)) return { ok: false, reason: `a ${who.role} may not send ${kindNames[env.kind]} envelopes in this channel` }
  if (env.kind !== Kind.keys && !state.policy.allowedPrecedence.includes(env.precedence)) {
    return { ok: false, reason: `precedence ${env.precedence} is not allowed by the channel policy` }
  }
  if (env.kind === Kind.file) {
    const problem = pieceProblem(env, policySizeLimits(state.policy))
    if (problem !== undefined) return { ok: false, reason: problem }
  }
  const problem = lifetimeProblem(env, state.policy)
  if (problem !== undefined) return { ok: false, reason: problem }
  return { ok: true, publicKey: who.ed }
}

/** Kinds a closed channel no longer takes: posts. Receipts (reading what is kept) and keys still go. */
const postKinds = new Set<number>([Kind.message, Kind.state, Kind.file])

/**
 * What the channel's retention and closure (#25) say of an envelope: one that asks to live
 * longer than the channel keeps its kind is refused (board updates may live `stateTtlSecondsMin`),
 * and so is a post stamped after the channel was closed. Lasting kinds are kept for the
 * channel's life and are not judged here. Stamps decide closure, so every relay agrees.
 */
function lifetimeProblem (env: Envelope, policy: Policy): string | undefined {
  if (policy.closedAtMs !== undefined && postKinds.has(env.kind) && env.hlc.ms > policy.closedAtMs) {
    return `the channel was closed (archived) at ${policy.closedAtMs} ms and takes no post stamped later (this one: ${env.hlc.ms} ms)`
  }
  if (isLasting(env.kind)) return undefined
  const kept = env.kind === Kind.state ? Math.max(policy.retentionSeconds, stateTtlSecondsMin) : retentionFor(policy, env.kind === Kind.file)
  if (env.ttlSeconds > kept) return `a time to live of ${env.ttlSeconds} s exceeds the channel's retention of ${kept} s`
  return undefined
}

