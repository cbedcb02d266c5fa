/**
 * The emulation's users: one channel session per node's user, on that node's relay's
 * client API (the CLI's own code path). It creates the plan's channels (the first member
 * adds the others), waits until every member can post on each, posts the workload's
 * texts at their times and records when each envelope first reaches each member's
 * session: the relay pushes what it stores to its subscribers, so that is when the relay
 * has it. Posts by one user go one at a time (its sequence numbers are reserved in order).
 *
 * @example
 * const users = new Users(relays, plan); await users.setup(dir, [['a', 'b'], ['c']])
 * users.post(post, membership)   // at the post's time
 * users.arrivals                  // envelope id hex → node → ms after the start
 */
import { join } from 'node:path'
import { channelSession, type ChannelSession } from '../cli/channel-session.ts'
import { toHex } from '../../protocol/bytes.ts'
import { ProtocolError, isDdilError } from '../../protocol/errors.ts'
import { authorRef, decodeEnvelope, Kind, type Envelope } from '../../protocol/envelope.ts'
import { createNodeCrypto } from '../crypto.ts'
import { longTextBytesMaxDefault, ttlSecondsMin } from '../../protocol/limits.ts'
import { allPrecedences } from '../../protocol/bundle/format.ts'
import type { Membership } from '../../sim/membership.ts'
import type { Post } from '../../sim/workload.ts'
import type { EmulatedRelay } from './relays.ts'
import { directChannelName, type EmulationPlan } from './plan.ts'
import { emulateSetupMsMax } from './limits.ts'

/** A post sent: what the report needs of it. */
export interface Sent {
  post: Post
  /** Ms after the start when the send began (the oracle's creation time). */
  atMs: number
  /** The message, or a long post's manifest. */
  env: Envelope
  /** A post sent as file pieces: all of them, manifest first (it has arrived where all have). */
  pieces?: Envelope[]
  expected: string[]
  nonMember: boolean
  acked: boolean
}

const nodeCrypto = createNodeCrypto()

export class Users {
  readonly #relays: ReadonlyMap<string, EmulatedRelay>
  readonly #plan: EmulationPlan
  readonly #sessions = new Map<string, ChannelSession>()
  readonly #refs = new Map<string, Uint8Array>()
  /** Each node's channels (names), for resubscribing after a restart. */
  readonly #joined = new Map<string, string[]>()
  readonly #turns = new Map<string, Promise<void>>()
  /** Envelopes each user's client submits while one of its posts is being sent (a long post's manifest and chunks). */
  readonly #recording = new Map<string, Uint8Array[]>()
  /** Nodes whose user's session is open on a running relay. */
  readonly #connected = new Set<string>()
  /** Envelope id hex → node → first arrival, ms after `startedAt`. */
  readonly arrivals = new Map<string, Map<string, number>>()
  readonly sent: Sent[] = []
  readonly refusedAtSource: Record<string, number> = {}
  /** Removals issued, with the cut each carries: the removed member's posts above it are refused by every relay. */
  readonly removals: Array<{ channel: string, member: string, cutSeq: number | undefined }> = []
  postsSkipped = 0
  #startedAt = 0
  #onReceive: () => void = () => {}

  constructor (relays: ReadonlyMap<string, EmulatedRelay>, plan: EmulationPlan) {
    this.#relays = relays
    this.#plan = plan
    for (const id of relays.keys()) this.#joined.set(id, plan.channels.filter(c => c.members.includes(id)).map(c => c.name))
  }

  /** Ms since the start of the timed run (negative during set-up). */
  now (): number { return performance.now() - this.#startedAt }

  /** Connects every user, creates every channel, and resolves once every member can post on each. */
  async setup (dir: string, components: readonly string[][]): Promise<void> {
    this.#startedAt = Infinity // arrivals during set-up are not the run's
    for (const id of this.#relays.keys()) await this.connect(id)
    // At once: each channel's changes have their own sequence numbers, and the sessions keep each user's requests in order.
    await Promise.all(this.#plan.channels.map(async ch => { await this.#create(ch.name, ch.members) }))
    await this.#provision(dir, components)
    const pending = (): string[] => this.#plan.channels.flatMap(ch => ch.members.filter(m => !this.#canSend(m, ch.name)).map(m => `${m} on ${ch.name}`))
    const deadline = performance.now() + emulateSetupMsMax
    while (pending().length > 0) {
      if (performance.now() > deadline) throw new ProtocolError(`channel set-up did not reach every member within ${emulateSetupMsMax / 1000} s: ${pending().slice(0, 5).join(', ')} still cannot post`)
      await new Promise<void>(resolve => { this.#onReceive = resolve; setTimeout(resolve, 1000) })
    }
  }

  /**
   * Where the network starts in pieces (sites joined only by couriers or later contacts), the
   * channels are provisioned as an organisation does before deploying: each creator's relay
   * exports a bundle, which one relay of every other piece imports. Linked relays share the rest.
   */
  async #provision (dir: string, components: readonly string[][]): Promise<void> {
    if (components.length < 2) return
    const creators = [...new Set(this.#plan.channels.map(ch => ch.members[0]))]
    for (const creator of creators) {
      const path = join(dir, `provision-${creator}.ddilbundle`)
      await (this.#sessions.get(creator) as ChannelSession).client.bundleExport({ path, channels: [], precedences: allPrecedences, sinceMs: 0 })
      for (const piece of components) if (!piece.includes(creator)) await (this.#sessions.get(piece[0]) as ChannelSession).client.bundleImport(path)
    }
  }

  /** Starts the clock the run's times count from. */
  start (): void {
    this.arrivals.clear()
    this.#startedAt = performance.now()
  }

  /** (Re)connects `node`'s user and subscribes it to its channels; after a restart, the backlog brings what arrived meanwhile. */
  async connect (node: string): Promise<void> {
    this.#connected.delete(node)
    // The old session died with its relay (a restart) or is replaced: closing it can only fail, and nothing waits on it.
    await this.#sessions.get(node)?.close().catch(() => {})
    const session = await channelSession({ data: (this.#relays.get(node) as EmulatedRelay).dataDir }, { submitted: b => { this.#recording.get(node)?.push(b) } })
    this.#sessions.set(node, session)
    for (const name of this.#joined.get(node) ?? []) { const ref = this.#refs.get(name); if (ref !== undefined) await this.#subscribe(node, ref) }
    this.#connected.add(node)
  }

  /** `node`'s relay is going down: its session dies with it, until `connect` after the restart. */
  lost (node: string): void {
    this.#connected.delete(node)
  }

  async #subscribe (node: string, channel: Uint8Array): Promise<void> {
    const session = this.#sessions.get(node) as ChannelSession
    await session.client.subscribe(channel, { backlog: 1000 }, env => {
      const at = this.now()
      const key = toHex(env.id)
      let byNode = this.arrivals.get(key)
      if (byNode === undefined) { byNode = new Map(); this.arrivals.set(key, byNode) }
      if (!byNode.has(node)) byNode.set(node, at)
      session.cc.receiveAll(env.bytes)
      this.#onReceive()
    })
  }

  async #create (name: string, members: readonly string[]): Promise<void> {
    const owner = this.#sessions.get(members[0]) as ChannelSession
    const { channel } = await owner.cc.createChannel({ name })
    this.#refs.set(name, channel)
    for (const m of members.slice(1)) {
      const u = (this.#relays.get(m) as EmulatedRelay).user
      await owner.cc.addMember(channel, { ed: u.ed25519.publicKey, x: u.x25519.publicKey }, 'member')
    }
    for (const m of members) await this.#subscribe(m, channel)
  }

  #canSend (node: string, channel: string): boolean {
    const ref = this.#refs.get(channel)
    return ref !== undefined && (this.#sessions.get(node) as ChannelSession).cc.canSend(ref)
  }

  /** Sends a post now, after the sender's earlier posts; a sender whose relay is down skips it (as the simulator does). */
  post (p: Post, membership: Membership): void {
    const relay = this.#relays.get(p.sender) as EmulatedRelay
    if (!relay.running || !this.#connected.has(p.sender)) { this.postsSkipped++; return }
    const name = p.target.kind === 'channel' ? p.target.channel : directChannelName(p.sender, p.target.to)
    const { expected, nonMember } = membership.expected(p)
    const turn = (this.#turns.get(p.sender) ?? Promise.resolve()).then(async () => {
      const session = this.#sessions.get(p.sender) as ChannelSession
      const ref = this.#refs.get(name) as Uint8Array
      const atMs = this.now()
      const rec: Partial<Sent> = { post: p, atMs, expected, nonMember, acked: false }
      const submitted: Uint8Array[] = []
      this.#recording.set(p.sender, submitted)
      try {
        rec.env = await send(session, ref, p)
        rec.acked = true
        const pieces = this.#piecesOf(submitted, ref)
        if (pieces.length > 1) rec.pieces = pieces
      } catch (e) {
        // A relay killed mid-send closes the session: counted, as a refusal at the source is.
        const code = isDdilError(e) ? e.code : 'session lost'
        this.refusedAtSource[code] = (this.refusedAtSource[code] ?? 0) + 1
      }
      this.#recording.delete(p.sender)
      if (rec.env !== undefined) this.sent.push(rec as Sent)
    })
    this.#turns.set(p.sender, turn)
  }

  /** A long post's pieces among what its sender submitted meanwhile: the channel's file envelopes, manifest first (keys its client re-issued meanwhile are left out). */
  #piecesOf (submitted: readonly Uint8Array[], channel: Uint8Array): Envelope[] {
    return submitted.map(b => decodeEnvelope(b, bytes => nodeCrypto.sha256(bytes))).filter(env => env.kind === Kind.file && toHex(env.channel) === toHex(channel))
  }

  /** The channel owner removes `member` (a scenario `remove` event). */
  async remove (channel: string, member: string): Promise<void> {
    const ch = this.#plan.channels.find(c => c.name === channel)
    const ref = this.#refs.get(channel)
    if (ch === undefined || ref === undefined) throw new ProtocolError(`remove: unknown channel ${channel}`)
    const owner = this.#sessions.get(ch.members[0]) as ChannelSession
    const ed = (this.#relays.get(member) as EmulatedRelay).user.ed25519.publicKey
    await owner.cc.removeMember(ref, ed)
    this.removals.push({ channel, member, cutSeq: owner.cc.state(ref)?.removed.get(toHex(authorRef(ed)))?.cutSeq })
  }

  /** A courier leaves `from` with a bundle of everything its relay holds (`ddil bundle export`); resolves with the file, or undefined when the relay is down. */
  async exportBundle (from: string, path: string): Promise<string | undefined> {
    if (!(this.#relays.get(from) as EmulatedRelay).running || !this.#connected.has(from)) return undefined
    await (this.#sessions.get(from) as ChannelSession).client.bundleExport({ path, channels: [], precedences: allPrecedences, sinceMs: 0 })
    return path
  }

  /** The courier reaches `to`, whose relay imports the bundle (`ddil bundle import`), after its restart if it is down (as the simulator's courier waits); false if it is still down at `untilMs`. */
  async importBundle (to: string, path: string, untilMs: number): Promise<boolean> {
    const relay = this.#relays.get(to) as EmulatedRelay
    while (!relay.running || !this.#connected.has(to)) {
      if (this.now() >= untilMs) return false
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    await (this.#sessions.get(to) as ChannelSession).client.bundleImport(path)
    return true
  }

  /** Waits for every post in flight; then closes every session. */
  async close (): Promise<void> {
    await Promise.allSettled([...this.#turns.values()])
    await Promise.allSettled([...this.#sessions.values()].map(s => s.close()))
    this.#sessions.clear()
  }
}

/**
 * Posts as a user would: a text (a long one goes as pieces), or beyond what a channel takes as
 * text (`longTextBytesMaxDefault`), a file of that size. Returns the message or the manifest.
 */
async function send (session: ChannelSession, channel: Uint8Array, p: Post): Promise<Envelope> {
  const options = { precedence: p.precedence, ttlSeconds: Math.max(ttlSecondsMin, Math.round(p.ttlMs / 1000)) }
  if (p.sizeBytes <= longTextBytesMaxDefault) return await session.cc.sendText(channel, bodyText(p.sizeBytes), options)
  return (await session.cc.sendFile(channel, { name: `post-${p.sender}-${Math.round(p.atMs)}.bin`, mediaType: 'application/octet-stream', content: new Uint8Array(p.sizeBytes) }, options)).manifest
}

/** A text of exactly `bytes` bytes: ASCII, so one byte a character. */
function bodyText (bytes: number): string {
  return 'x'.repeat(bytes)
}
