/**
 * A relay's boundary policy (#29): the engine's `BoundaryPolicy` port over the trust store.
 * On a link to a partner's relay (only gateways have such links), each envelope is judged
 * against what this relay's operator set for that partner (`ddil org policy`), read from the
 * trust store as it is now, so a changed policy applies within the 5 s the relay takes to read
 * orgs.json again. The static rules are protocol/org/policy.ts's; the rate is a token bucket per
 * partner and direction, holding one minute's messages, and pacing rather than refusing.
 *
 * @example
 * const boundary = createBoundaryPolicy({ partnerEntryOf: admission.partnerEntryOf, ownName, creatorOf, monotonicMs })
 * createEngine({ ..., boundary }, config)
 */
import type { BoundaryPolicy } from '../../protocol/engine/types.ts'
import { crossingFacts, judgeCrossing, overRate, type Direction } from '../../protocol/org/policy.ts'
import { orgRef } from '../../protocol/org/trust.ts'
import type { PeerId } from '../../protocol/ports.ts'
import { TokenBucket } from '../../protocol/token-bucket.ts'
import type { Partner } from './trust-store.ts'

export interface BoundaryPolicyDeps {
  /** The partner (with its policy, as the trust store now says) whose relay is at the other end of this link; undefined: not a partner's. */
  partnerEntryOf (peer: PeerId): Partner | undefined
  /** This relay's organisation, as the sender reads it. */
  ownName (): string
  /** Who created a channel this relay carries (author reference, hex); undefined if unknown here. */
  creatorOf (channel: Uint8Array): string | undefined
  monotonicMs (): number
}

export function createBoundaryPolicy (d: BoundaryPolicyDeps): BoundaryPolicy {
  /** Per partner, direction and rate (a changed rate starts a new bucket). */
  const buckets = new Map<string, TokenBucket>()
  const paced = (partner: Partner, direction: Direction, perMinute: number): boolean => {
    const key = `${orgRef(partner.key)} ${direction} ${perMinute}`
    let bucket = buckets.get(key)
    if (bucket === undefined) buckets.set(key, bucket = new TokenBucket(perMinute / 60, perMinute, d.monotonicMs()))
    return !bucket.take(1, d.monotonicMs())
  }
  return {
    partner: (peer) => d.partnerEntryOf(peer)?.name,
    judge (peer, env, direction) {
      const partner = d.partnerEntryOf(peer)
      const policy = partner?.policy
      if (partner === undefined || policy === undefined) return undefined
      const names = { ours: d.ownName(), partner: partner.name }
      const facts = crossingFacts(env, d.creatorOf)
      const reason = judgeCrossing(policy, facts, direction, names)
      if (reason !== undefined) return { reason, wait: false }
      const perMinute = policy.messagesPerMinuteMax
      if (perMinute !== undefined && facts.startsMessage && paced(partner, direction, perMinute)) return { reason: overRate(policy, direction, names), wait: true }
      return undefined
    },
  }
}
