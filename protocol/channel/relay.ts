/**
 * What a relay enforces for governed channels, through the engine's authoriser hook,
 * without reading any content: a channel may be created only by a user the operator
 * allows (`creators`); everything else is judged by the channel's signed governance
 * (members, roles, policy, removals with their sequence cuts). Envelopes whose channel,
 * author or parent is not known yet are held by the engine and retried whenever
 * governance changes; when a removal takes effect, the removed member's envelopes beyond
 * the cut are discarded from the store (strong removal, also after a partition heals).
 *
 * @example
 * const policy = new RelayChannelPolicy(crypto, ref => allowedCreators.has(ref))
 * const engine = createEngine({ ..., authoriser: policy, events: { stored: env => policy.stored(engine, env) } }, config)
 */
import { authoriseEnvelope } from './authorise.ts'
import { certifiedMember, decodeChange, type Change } from './governance.ts'
import { GovernanceStore, type RemovalsToken } from './store.ts'
import { bytesEqual, concatBytes, toHex } from '../bytes.ts'
import { authorRef, authorRefBytes, Kind, type Envelope } from '../envelope.ts'
import type { Role } from './roles.ts'
import type { Authoriser, AuthoriseResult } from '../engine/types.ts'
import type { Crypto } from '../ports.ts'
import { notCarriedChannelsRememberedMax } from '../limits.ts'
import { decodeCertificate } from '../org/certificate.ts'

/** The engine surface the policy drives after governance changes. */
export interface PolicyEngine {
  retryPending (): void
  discardStream (channel: Uint8Array, author: Uint8Array, afterSeq: number): Promise<number>
}

/**
 * Judges the user certificate a `create` or `add` carries (#29, in `peers.mode: org`): why the
 * relay refuses that owner or member, or undefined. `subject`: the change's ed || x keys;
 * `creator`: the channel's creator (author ref hex), if known; `stampMs`: when the change was made.
 */
export type MemberCheck = (certificate: Uint8Array, subject: Uint8Array, channel: Uint8Array, creator: string | undefined, stampMs: number) => string | undefined

export class RelayChannelPolicy implements Authoriser {
  readonly store: GovernanceStore
  readonly #mayCreate: (authorRefHex: string) => boolean
  /** Channels whose creation this relay refused (its creator is not in authors.allow), oldest first (bounded). */
  readonly #notCarried = new Set<string>()
  /** Cuts already enforced, per channel then author reference, so each removal discards once. */
  readonly #enforced = new Map<string, Map<string, number>>()
  /** Channel (hex) → its creator's author reference (hex), from its genesis: what a gateway's partner policy asks (#29). */
  readonly #creatorOf = new Map<string, string>()
  /** Per channel, the removed members as last enforced: the store then names only what changed since. */
  readonly #removalsSeen = new Map<string, RemovalsToken>()

  /** Set by a relay in `peers.mode: org`: certificates on creates and adds are judged against its trust store. */
  memberCheck: MemberCheck | undefined
  /**
   * Set by a relay in `peers.mode: org`: the name of an organisation (hex key) its operator cut
   * off, else undefined. What members certified by it author is refused from then on (#29).
   */
  orgCutOff: ((orgRefHex: string) => string | undefined) | undefined
  /**
   * Set by a relay in `peers.mode: org`: judges an organisation's revocation envelope (#29),
   * which travels outside any channel's governance. Unset: such envelopes are not carried.
   */
  revocations: ((env: Envelope) => AuthoriseResult) | undefined
  /**
   * Set by a relay in `peers.mode: org`: its own organisation (hex key and name), and whether a
   * user (Ed25519 key) is one of this relay's own (the operator, clients.allow, enrolled devices).
   * A partner organisation's channel (its creator certified by another organisation) may add one
   * of this relay's users only with our organisation's certificate for them (#29).
   */
  ownUsers: { org (): { ref: string, name: string } | undefined, isLocal (ed: Uint8Array): boolean } | undefined
  /** Channel (hex) → member (author ref hex) → the organisation (hex key) whose certificate their create or add carried. */
  readonly #memberOrgs = new Map<string, Map<string, string>>()

  constructor (crypto: Crypto, creators: (authorRefHex: string) => boolean) {
    this.store = new GovernanceStore(crypto)
    this.#mayCreate = creators
  }

  authorise (env: Envelope): AuthoriseResult {
    if (env.kind === Kind.revocation) return this.revocations?.(env) ?? { ok: false, reason: 'this relay carries no organisation\'s revocations (it runs without organisations: peers.mode is not org)', carried: false, wholeChannel: true }
    const notCarried = 'this relay does not carry channels created by this user (authors.allow)'
    const channel = toHex(env.channel)
    // A channel whose creation we refused: its other envelopes are refused too, not held as "unknown channel".
    if (this.#notCarried.has(channel)) return { ok: false, reason: notCarried, carried: false, wholeChannel: true }
    const cutOff = this.#authorCutOff(channel, env)
    if (cutOff !== undefined) return { ok: false, reason: `its author is a user of ${cutOff}, which this relay's operator cut off`, carried: false }
    if (env.kind !== Kind.governance) return authoriseEnvelope(this.store, env)
    // Without organisations only a genesis is judged here (authors.allow); every change is the store's to judge.
    const genesisCandidate = env.deps.length === 0 && this.store.state(env.channel) === undefined
    if (!this.#judgesOrganisations && !genesisCandidate) return authoriseEnvelope(this.store, env)
    let change: Change
    try {
      change = decodeChange(env.body)
    } catch (e) {
      // A genesis is judged here before the channel exists; any other change by the store, as before.
      if (genesisCandidate) return { ok: false, reason: `undecodable governance change: ${(e as Error).message}` }
      return authoriseEnvelope(this.store, env)
    }
    const genesis = change.op === 'create' && env.deps.length === 0
    if (genesis && genesisCandidate && !this.#mayCreate(toHex(env.author))) {
      this.#notCarried.add(channel)
      if (this.#notCarried.size > notCarriedChannelsRememberedMax) this.#notCarried.delete(this.#notCarried.values().next().value as string)
      return { ok: false, reason: notCarried, carried: false, wholeChannel: true }
    }
    const refusal = this.#judgeCertificate(env, change, genesis) ?? this.#judgeOwnUser(env.channel, change)
    if (refusal !== undefined) return { ok: false, reason: refusal, carried: false }
    return authoriseEnvelope(this.store, env)
  }

  /** Whether this relay runs with organisations (#29): then governance changes carry certificates it judges and remembers. */
  get #judgesOrganisations (): boolean {
    return this.memberCheck !== undefined || this.orgCutOff !== undefined || this.ownUsers !== undefined
  }

  #judgeCertificate (env: Envelope, change: Change, genesis: boolean): string | undefined {
    const certified = certifiedMember(change)
    if (this.memberCheck === undefined || certified === undefined) return undefined
    const creator = genesis ? toHex(env.author) : this.creatorOf(env.channel)
    return this.memberCheck(certified.certificate, concatBytes([certified.ed, certified.x]), env.channel, creator, env.hlc.ms)
  }

  /** Why a partner's channel may not add one of this relay's own users this way: only with our organisation's certificate for them. */
  #judgeOwnUser (channel: Uint8Array, change: Change): string | undefined {
    if (change.op !== 'add' || this.ownUsers === undefined || !this.ownUsers.isLocal(change.memberEd)) return undefined
    const own = this.ownUsers.org()
    const creator = this.creatorOf(channel)
    const creatorOrg = creator === undefined ? undefined : this.#memberOrgs.get(toHex(channel))?.get(creator)
    if (own === undefined || creatorOrg === undefined || creatorOrg === own.ref) return undefined // not a partner's channel, as far as certificates tell
    const vouched = change.memberCertificate === undefined ? undefined : toHex(decodeCertificate(change.memberCertificate).org)
    if (vouched === own.ref) return undefined
    return `a partner organisation's channel may add this relay's own users only with ${own.name}'s certificate for them`
  }

  /** Whether the channel is under a legal hold (its policy says so): the engine's purge then keeps its expired envelopes. */
  onHold (channel: Uint8Array): boolean {
    return this.store.state(channel)?.policy.legalHold === true
  }

  /** Call when the engine has stored an envelope: governance may release held envelopes or enforce a removal. */
  async stored (engine: PolicyEngine, env: Envelope): Promise<void> {
    if (env.kind !== Kind.governance) return
    this.#noteGovernance(env)
    const channel = toHex(env.channel)
    const { changed, token } = this.store.removalsChanged(env.channel, this.#removalsSeen.get(channel))
    if (token !== undefined) this.#removalsSeen.set(channel, token)
    let enforced = this.#enforced.get(channel)
    if (enforced === undefined) this.#enforced.set(channel, enforced = new Map())
    for (const [ref, r] of changed) {
      if (enforced.get(ref) === r.cutSeq) continue
      enforced.set(ref, r.cutSeq)
      await engine.discardStream(env.channel, r.ed.slice(0, authorRefBytes), r.cutSeq)
    }
    engine.retryPending()
  }

  /**
   * The channels whose resolved governance lists `memberEd` as a current member, with its
   * role and the member count, in channel order: at most `max` of them.
   */
  memberships (memberEd: Uint8Array, max: number): Array<{ channel: Uint8Array, role: Role, members: number }> {
    const ref = toHex(authorRef(memberEd))
    const out: Array<{ channel: Uint8Array, role: Role, members: number }> = []
    for (const channel of this.store.channels()) {
      if (out.length >= max) break
      const state = this.store.state(channel)
      const member = state?.members.get(ref)
      if (state === undefined || member === undefined || !bytesEqual(member.ed, memberEd)) continue
      out.push({ channel, role: member.role, members: state.members.size })
    }
    return out
  }

  /** Rebuilds governance from the envelopes a restarted relay holds (engine `restored` event). */
  restored (env: Envelope): void {
    if (env.kind !== Kind.governance) return
    this.store.add(env)
    this.#noteGovernance(env)
  }

  /** Who created a channel this relay carries (author reference, hex), once its genesis is stored here. */
  creatorOf (channel: Uint8Array): string | undefined { return this.#creatorOf.get(toHex(channel)) }

  /** A stored governance change: the channel's creator (its genesis), and the organisation of a member a certificate vouches for. */
  #noteGovernance (env: Envelope): void {
    if (env.deps.length === 0) this.#creatorOf.set(toHex(env.channel), toHex(env.author))
    if (!this.#judgesOrganisations) return // no certificate is read without organisations: start-up stays one decode per change
    let change: Change
    try { change = decodeChange(env.body) } catch { return } // stored, so it decoded when it was judged
    const certified = certifiedMember(change)
    if (certified === undefined) return
    const channel = toHex(env.channel)
    let members = this.#memberOrgs.get(channel)
    if (members === undefined) this.#memberOrgs.set(channel, members = new Map())
    members.set(toHex(authorRef(certified.ed)), toHex(decodeCertificate(certified.certificate).org))
  }

  /** The cut-off organisation whose certificate vouched for this envelope's author, if any. */
  #authorCutOff (channel: string, env: Envelope): string | undefined {
    if (this.orgCutOff === undefined) return undefined
    const org = this.#memberOrgs.get(channel)?.get(toHex(env.author))
    return org === undefined ? undefined : this.orgCutOff(org)
  }
}
