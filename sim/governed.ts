/**
 * Governed mode of a run (`governance: true`): the scenario's channels become real
 * governed, end-to-end encrypted channels. Every node's engine authorises with a
 * RelayChannelPolicy (creators: the scenario's users) and every node hosts a
 * ChannelClient for its user, fed with every envelope its engine stores. At setup each
 * channel's first member creates it and adds the others; governance and keys then
 * travel like any envelope. Channel posts are sent with `sendText`; a post the client
 * cannot send (no key yet, removed, refused by its own relay) is refused at source. A
 * `remove` event makes the owner's client issue the removal.
 *
 * It records, per post, which nodes' clients decrypted it and whether its sender knew
 * of every removal so far; `finish` then turns "delivered" into "decrypted at the
 * recipient's client" and marks a removed member's posts above the governance cut as
 * expected nowhere (strong removal cuts at the last sequence the owner had seen).
 *
 * @example
 * const fleet = new GovernedFleet({ scenario, crypto, seed, identities, nodes, ledger, … })
 * createEngine({ authoriser: fleet.authoriser(i), events: { stored: env => fleet.stored(i, env) } })
 * s.at(setupAtMs, () => fleet.setup())
 */
import { ChannelClient, type Received } from '../protocol/channel/client.ts'
import type { UserKeys } from '../protocol/channel/builders.ts'
import { RelayChannelPolicy, type PolicyEngine } from '../protocol/channel/relay.ts'
import { concatBytes, toHex } from '../protocol/bytes.ts'
import { authorRef, decodeEnvelope, Kind, type Envelope } from '../protocol/envelope.ts'
import { isDdilError, StorageError } from '../protocol/errors.ts'
import type { Authoriser } from '../protocol/engine/types.ts'
import type { Crypto } from '../protocol/ports.ts'
import { simEpochMs } from './clock.ts'
import type { SimIdentities } from './identities.ts'
import type { Ledger, MessageRecord } from './ledger.ts'
import type { Membership, MembershipHooks } from './membership.ts'
import type { SimNode } from './node.ts'
import type { Scenario } from './scenario-types.ts'
import type { Scheduler } from './scheduler.ts'
import type { Wake } from './sim-store.ts'
import type { Post } from './workload.ts'

/** When the channel owners create their channels, virtual ms (engines open at about 0.25 ms). */
export const governedSetupAtMs = 1_000
/** Undecryptable envelopes remembered per node for re-delivery once keys arrive. */
const heldPerNodeMax = 4096

export interface Removal {
  channel: string
  member: string
  atMs: number
  /** The cut the owner's signed removal carries (undefined until it is issued). */
  cutSeq: number | undefined
  channelRef: Uint8Array
  /** The removed member's author reference. */
  author: Uint8Array
}

export interface GovernedOutcome {
  /** Governed channel name → channel reference (hex), for channels whose creation was published. */
  channels: Record<string, string>
  /** Message record index → node index → virtual ms its client first decrypted it. */
  decrypted: Map<number, Map<number, number>>
  /** Message record index → the sender's client knew of every removal in that channel issued before it posted. */
  senderKnew: Map<number, boolean>
  /** Message record index → envelope sequence number. */
  seqs: Map<number, number>
  removals: Removal[]
  /** Channel posts a client could not send (no key yet, removed, refused by its own relay), by reason. */
  refusedAtSource: Record<string, number>
  /** Refusals by any relay of a removed member's envelopes in the channel it was removed from. */
  removedRefused: number
  /** Envelopes discarded from stores by strong removal, summed over nodes. */
  discarded: number
}

export interface GovernedDeps {
  scenario: Scenario
  crypto: Crypto
  seed: number
  identities: SimIdentities
  nodes: readonly SimNode[]
  ledger: Ledger
  scheduler: Scheduler
  wake: Wake
  fail: (e: unknown) => void
}

const encoder = new TextEncoder()

export class GovernedFleet {
  readonly #d: GovernedDeps
  readonly #index: Map<string, number>
  readonly #users: UserKeys[]
  readonly #policies: RelayChannelPolicy[]
  readonly #clients: ChannelClient[]
  readonly #held: Array<Map<string, Uint8Array>>
  readonly #direct = new Set<string>()
  /** Channel name → reference bytes, once its owner published the creation. */
  readonly #refs = new Map<string, Uint8Array>()
  readonly #names = new Map<string, string>()
  /** The post each node's client is sending right now (registered in the ledger at submit). */
  readonly #posting = new Map<number, { post: Post, expected: number[], nonMember: boolean, knew: boolean }>()
  readonly out: GovernedOutcome = { channels: {}, decrypted: new Map(), senderKnew: new Map(), seqs: new Map(), removals: [], refusedAtSource: {}, removedRefused: 0, discarded: 0 }

  constructor (deps: GovernedDeps) {
    this.#d = deps
    const ids = deps.scenario.nodes.map(n => n.id)
    this.#index = new Map(ids.map((id, i) => [id, i]))
    this.#users = ids.map(id => ({
      ed25519: deps.identities.user(id),
      x25519: deps.crypto.x25519KeyPair(deps.crypto.sha256(encoder.encode(`ddil/sim/user-x25519\n${deps.seed}\n${id}`))),
    }))
    const creators = new Set(this.#users.map(u => toHex(authorRef(u.ed25519.publicKey))))
    this.#policies = ids.map(() => new RelayChannelPolicy(deps.crypto, ref => creators.has(ref)))
    this.#clients = ids.map((id, i) => this.#client(id, i))
    this.#held = ids.map(() => new Map())
    for (const a of ids) for (const b of ids) if (a < b) this.#direct.add(toHex(deps.identities.directRef(a, b)))
  }

  policy (i: number): RelayChannelPolicy { return this.#policies[i] }

  /** Node i's authoriser: direct-message streams as in ungoverned runs (any scenario user), channels by their governance. */
  authoriser (i: number): Authoriser {
    return { authorise: env => this.#direct.has(toHex(env.channel)) ? this.#d.identities.authoriser.authorise(env) : this.#policies[i].authorise(env) }
  }

  client (i: number): ChannelClient { return this.#clients[i] }

  channelRef (name: string): Uint8Array | undefined { return this.#refs.get(name) }

  #client (id: string, i: number): ChannelClient {
    const { crypto, seed, scheduler } = this.#d
    const seqs = new Map<string, number>()
    let draws = 0
    return new ChannelClient({
      crypto,
      nowMs: () => simEpochMs + Math.floor(scheduler.now), // whole ms, as envelope timestamps
      deviceSeed: crypto.sha256(encoder.encode(`ddil/sim/device\n${seed}\n${id}`)).slice(0, 16),
      randomBytes: (length) => {
        const chunks: Uint8Array[] = []
        for (let got = 0; got < length; got += 32) chunks.push(crypto.sha256(encoder.encode(`ddil/sim/random\n${seed}\n${id}\n${++draws}`)))
        return concatBytes(chunks).slice(0, length)
      },
      // In memory, and it survives crashes: the simulated client's sequence store is durable.
      reserveSeq: async (ch, count = 1) => { const next = (seqs.get(ch) ?? 0) + 1; seqs.set(ch, next + count - 1); return next },
      node: {
        stamp: async () => this.#engine(i).stamp(),
        submit: async (bytes) => {
          const engine = this.#engine(i)
          const rec = this.#register(i, bytes)
          this.#d.wake.pending = true
          const { id } = await engine.submit(bytes)
          if (rec !== undefined) rec.acked = this.#d.nodes[i].running
          return { id }
        },
      },
    }, this.#users[i])
  }

  #engine (i: number): NonNullable<SimNode['engine']> {
    const engine = this.#d.nodes[i].engine
    if (engine === undefined) throw new StorageError(`node ${this.#d.nodes[i].id} is down`)
    return engine
  }

  /** Registers the message a workload post is submitting, before its relay stores it. */
  #register (i: number, bytes: Uint8Array): MessageRecord | undefined {
    const posting = this.#posting.get(i)
    if (posting === undefined) return undefined
    const env = decodeEnvelope(bytes, b => this.#d.crypto.sha256(b))
    if (env.kind !== Kind.message) return undefined
    this.#posting.delete(i)
    const rec = this.#d.ledger.register(posting.post, env, i, posting.expected, posting.nonMember, this.#d.scheduler.now)
    this.out.seqs.set(rec.index, env.seq)
    this.out.senderKnew.set(rec.index, posting.knew)
    return rec
  }

  /** At setup time: each channel's first member creates it and adds every other member. */
  setup (): void {
    this.#d.wake.pending = true
    for (const ch of this.#d.scenario.channels) this.#create(ch.name, ch.members).catch(this.#d.fail)
  }

  async #create (name: string, members: readonly string[]): Promise<void> {
    const owner = this.#clients[this.#at(members[0])]
    const { channel } = await owner.createChannel({ name })
    this.#refs.set(name, channel)
    this.#names.set(toHex(channel), name)
    this.out.channels[name] = toHex(channel)
    for (const m of members.slice(1)) {
      const u = this.#users[this.#at(m)]
      await owner.addMember(channel, { ed: u.ed25519.publicKey, x: u.x25519.publicKey }, 'member')
    }
  }

  #at (node: string): number { return this.#index.get(node) as number }

  /** A workload channel post. Returns false when the sender's relay is down (skipped, as in ungoverned runs). */
  post (p: Post, membership: Membership, sizeText: (p: Post) => string): boolean {
    if (p.target.kind !== 'channel') throw new StorageError('governed posts are channel posts')
    const i = this.#at(p.sender)
    if (!this.#d.nodes[i].running) return false
    const channel = this.#refs.get(p.target.channel)
    const { expected, nonMember } = membership.expected(p)
    const client = this.#clients[i]
    const removed = channel === undefined ? undefined : client.state(channel)?.removed
    const knew = membership.removals.filter(r => r.channel === (p.target as { channel: string }).channel)
      .every(r => removed?.has(toHex(authorRef(this.#users[this.#at(r.member)].ed25519.publicKey))) === true)
    if (channel === undefined) { this.#refuse('channel not created yet'); return true }
    this.#posting.set(i, { post: p, expected: expected.map(id => this.#at(id)), nonMember, knew })
    this.#d.wake.pending = true
    client.sendText(channel, sizeText(p), { precedence: p.precedence, ttlSeconds: Math.round(p.ttlMs / 1000) }).then(
      () => { this.#posting.delete(i) },
      (e: unknown) => {
        this.#posting.delete(i)
        if (!isDdilError(e)) { this.#d.fail(e); return }
        this.#refuse(e.code)
      })
    return true
  }

  #refuse (reason: string): void { this.out.refusedAtSource[reason] = (this.out.refusedAtSource[reason] ?? 0) + 1 }

  /** Membership hook: the channel owner's client issues the removal. */
  readonly hooks: MembershipHooks = {
    remove: ({ channel, member, atMs }) => {
      const owner = this.#scenarioChannel(channel).members[0]
      const ref = this.#refs.get(channel)
      if (ref === undefined) throw new StorageError(`channel ${channel} was not created before the removal of ${member}`)
      const ed = this.#users[this.#at(member)].ed25519.publicKey
      const client = this.#clients[this.#at(owner)]
      const removal: Removal = { channel, member, atMs, cutSeq: undefined, channelRef: ref, author: authorRef(ed) }
      this.out.removals.push(removal)
      this.#d.wake.pending = true
      client.removeMember(ref, ed).then(() => {
        removal.cutSeq = client.state(ref)?.removed.get(toHex(authorRef(ed)))?.cutSeq
      }, this.#d.fail)
    },
  }

  #scenarioChannel (name: string): Scenario['channels'][number] {
    return this.#d.scenario.channels.find(c => c.name === name) as Scenario['channels'][number]
  }

  /** Engine `stored` event of node i: the relay policy, then the node's client. */
  stored (i: number, env: Envelope): void {
    const engine = this.#d.nodes[i].engine
    if (engine !== undefined) {
      const counting: PolicyEngine = {
        retryPending: () => engine.retryPending(),
        discardStream: async (channel, author, afterSeq) => { const n = await engine.discardStream(channel, author, afterSeq); this.out.discarded += n; return n },
      }
      this.#d.wake.pending = true
      this.#policies[i].stored(counting, env).catch(this.#d.fail)
    }
    if (this.#direct.has(toHex(env.channel))) return
    const r = this.#clients[i].receive(env.bytes)
    this.#noteReceived(i, r, env.bytes)
    if (r.type === 'keys' || r.type === 'governance') this.#retryHeld(i)
  }

  #noteReceived (i: number, r: Received, bytes: Uint8Array): void {
    const key = toHex(r.id)
    if (r.type === 'held') {
      const held = this.#held[i]
      held.set(key, bytes)
      if (held.size > heldPerNodeMax) held.delete(held.keys().next().value as string)
      return
    }
    this.#held[i].delete(key)
    if (r.type !== 'text') return
    const rec = this.#d.ledger.byEnvelopeId(r.id)
    if (rec === undefined) return
    let at = this.out.decrypted.get(rec.index)
    if (at === undefined) { at = new Map(); this.out.decrypted.set(rec.index, at) }
    if (!at.has(i)) at.set(i, this.#d.scheduler.now)
  }

  /** The client retries its own held envelopes but does not return what they became: ask again. */
  #retryHeld (i: number): void {
    for (const [, bytes] of [...this.#held[i]]) this.#noteReceived(i, this.#clients[i].receive(bytes), bytes)
  }

  /** Engine `refused` event: counts refusals of a removed member's envelopes. */
  refused (env: Envelope | undefined): void {
    if (env === undefined) return
    const name = this.#names.get(toHex(env.channel))
    if (name === undefined) return
    const author = toHex(env.author)
    if (this.out.removals.some(r => r.channel === name && toHex(r.author) === author)) this.out.removedRefused++
  }

  /** Engine `restored` event: the relay rebuilds its governance. */
  restored (i: number, env: Envelope): void { this.#policies[i].restored(env) }

  /**
   * After the run: a removed member's posts above the cut are expected nowhere, and for
   * governed channel posts a recipient counts as delivered only once its client decrypted
   * the post (at the later of storage and decryption).
   */
  finish (): GovernedOutcome {
    const { ledger } = this.#d
    for (const rec of ledger.records) {
      if (rec.post.target.kind !== 'channel') continue
      const channel = rec.post.target.channel
      const removal = this.out.removals.find(r => r.channel === channel && this.#at(r.member) === rec.sender)
      if (removal !== undefined && removal.cutSeq !== undefined && (this.out.seqs.get(rec.index) ?? 0) > removal.cutSeq) rec.expected = []
      const decrypted = this.out.decrypted.get(rec.index)
      for (const node of rec.expected) {
        const at = decrypted?.get(node)
        const stored = rec.arrivedAt[node]
        rec.arrivedAt[node] = at === undefined ? NaN : Number.isNaN(stored) ? at : Math.max(at, stored)
      }
    }
    return this.out
  }
}
