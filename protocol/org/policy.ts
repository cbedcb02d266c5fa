/**
 * What an organisation lets cross its boundary with one partner (#29), as its gateways judge
 * each envelope, in both directions: which precedences, how large a message, which channel
 * creators' channels, how many messages a minute, and how long what crosses may live. Each
 * side sets its own policy for each partner and enforces it at its own gateways; neither can
 * change the other's.
 *
 * The decision here is pure: the facts of one envelope (`crossingFacts`) against the static
 * rules. The rate is a token bucket the host keeps per partner and direction, judged after.
 *
 * @example
 * const why = judgeCrossing(policy, crossingFacts(env, creatorOf), 'out', { ours: 'Water utility', partner: 'County EM' })
 * if (why !== undefined) withhold(env, why)
 */
import { toHex } from '../bytes.ts'
import { authorRefBytes, isLasting, Kind, precedenceNames, type Envelope } from '../envelope.ts'
import { contentBytesBound, decodePiece } from '../files/piece.ts'
import { formatBytes, formatDuration } from '../units.ts'

/** One partner's rules; an absent rule lets everything through on that count. */
export interface PartnerPolicy {
  /** Precedences that may cross (0 flash … 3 routine); absent: all four. */
  precedences?: number[]
  /** Largest message that may cross, bytes (a long message or file counted by its pieces). */
  messageBytesMax?: number
  /** Author references (hex of the first 8 bytes of the creator's key) whose channels may cross; absent: any creator's. */
  creators?: string[]
  /** Messages that may cross each way per minute (a long message or file counts once). */
  messagesPerMinuteMax?: number
  /** Longest lifetime (ttl) an expiring envelope may have to cross, ms: how long the other side may keep it. */
  retentionMsMax?: number
}

/** What the rules look at in one envelope. */
export interface CrossingFacts {
  kind: number
  precedence: number
  /** A message's size, bytes: its body, or for a long message or file its pieces at full chunks (at most one chunk over). */
  messageBytes: number
  /** The channel creator's author reference (hex); undefined when this relay does not know the channel's genesis. */
  creator: string | undefined
  /** How long the envelope lives, ms; undefined for governance, keys and revocations, which never expire at relays. */
  lifetimeMs: number | undefined
  /** It starts a message: a text message, or a long message's or file's manifest (what the rate counts). */
  startsMessage: boolean
}

export type Direction = 'in' | 'out'

/** Whose policy and across which boundary, for the sentence the sender reads. */
export interface BoundaryNames { ours: string, partner: string }

/**
 * The facts of `env`. `creatorOf`: the creator of a channel this relay carries (its genesis
 * envelope's author), undefined when unknown; a genesis envelope names its own creator.
 */
export function crossingFacts (env: Envelope, creatorOf: (channel: Uint8Array) => string | undefined): CrossingFacts {
  const isMessage = env.kind === Kind.message || env.kind === Kind.file
  let messageBytes = env.body.length
  let startsMessage = env.kind === Kind.message
  if (env.kind === Kind.file) {
    try {
      const head = decodePiece(env.body).head
      messageBytes = contentBytesBound(head.count)
      startsMessage = head.index === 0
    } catch { /* an undecodable piece is refused by the authoriser; judged by its body alone */ }
  }
  const genesis = env.kind === Kind.governance && env.deps.length === 0
  return {
    kind: env.kind,
    precedence: env.precedence,
    messageBytes: isMessage ? messageBytes : 0,
    creator: genesis ? toHex(env.author.subarray(0, authorRefBytes)) : creatorOf(env.channel),
    lifetimeMs: isLasting(env.kind) ? undefined : env.expiresAtMs - env.hlc.ms,
    startsMessage,
  }
}

function crossWord (direction: Direction, names: BoundaryNames): string {
  return direction === 'in' ? `in from ${names.partner}` : `out to ${names.partner}`
}

function listed (items: string[]): string {
  return items.length <= 1 ? (items[0] ?? 'none') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`
}

/**
 * Why `facts` may not cross `direction` under `policy`, as the sender should read it; undefined
 * when it may (the rate aside). Channel-wide rules (creators) bind every kind, so nothing of a
 * channel the policy keeps out crosses, not even its governance; message rules (precedence,
 * size) bind messages and files; the lifetime binds what expires.
 */
export function judgeCrossing (policy: PartnerPolicy, facts: CrossingFacts, direction: Direction, names: BoundaryNames): string | undefined {
  const across = crossWord(direction, names)
  // An organisation's revocation belongs to no channel: every relay that trusts the organisation needs it.
  if (facts.kind === Kind.revocation) return undefined
  if (policy.creators !== undefined && (facts.creator === undefined || !policy.creators.includes(facts.creator))) {
    return facts.creator === undefined
      ? `${names.ours} lets only channels of listed creators cross ${across}, and this relay does not know who created this channel yet`
      : `${names.ours} does not let channels created by ${facts.creator} cross ${across}`
  }
  const message = facts.kind === Kind.message || facts.kind === Kind.file
  if (message && policy.precedences !== undefined && !policy.precedences.includes(facts.precedence)) {
    const allowed = precedenceNames.filter((_, p) => policy.precedences?.includes(p) === true)
    return `${names.ours} lets ${allowed.length === 0 ? 'no' : `only ${listed(allowed)}`} messages cross ${across}; this one is ${precedenceNames[facts.precedence]}`
  }
  if (message && policy.messageBytesMax !== undefined && facts.messageBytes > policy.messageBytesMax) {
    return `${names.ours} lets messages of at most ${formatBytes(policy.messageBytesMax)} cross ${across}; this one is ${formatBytes(facts.messageBytes)}`
  }
  if (facts.lifetimeMs !== undefined && policy.retentionMsMax !== undefined && facts.lifetimeMs > policy.retentionMsMax) {
    return `${names.ours} lets only what expires within ${formatDuration(policy.retentionMsMax)} cross ${across}; this lives ${formatDuration(facts.lifetimeMs)} (the channel's retention)`
  }
  return undefined
}

/** Why a message over the rate waits (it is offered again at the next reconciliation: paced, not refused). */
export function overRate (policy: PartnerPolicy, direction: Direction, names: BoundaryNames): string {
  return `${names.ours} lets at most ${policy.messagesPerMinuteMax ?? 0} messages a minute cross ${crossWord(direction, names)}; this one waits for the next reconciliation`
}

/** The policy in words, one rule per item (for `ddil org show` and the audit of trust changes); empty: everything crosses. */
export function describePolicy (policy: PartnerPolicy | undefined): string[] {
  if (policy === undefined) return []
  const out: string[] = []
  if (policy.precedences !== undefined) out.push(`precedences ${policy.precedences.length === 0 ? 'none' : policy.precedences.map(p => precedenceNames[p]).join(',')}`)
  if (policy.messageBytesMax !== undefined) out.push(`messages up to ${formatBytes(policy.messageBytesMax)}`)
  if (policy.creators !== undefined) out.push(`channels created by ${policy.creators.length === 0 ? 'nobody' : policy.creators.join(',')}`)
  if (policy.messagesPerMinuteMax !== undefined) out.push(`${policy.messagesPerMinuteMax} messages a minute each way`)
  if (policy.retentionMsMax !== undefined) out.push(`kept at most ${formatDuration(policy.retentionMsMax)}`)
  return out
}
