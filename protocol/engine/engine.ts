/**
 * The store-and-forward engine: sans-I/O, driven by its host. The host calls
 * `linkUp`, `linkDown`, `receive` and `drain`; local clients call `submit`. The
 * engine validates, stores durably (one atomic batch per envelope, group-committed),
 * pushes new envelopes to peers that need them (skipping those its sender reaches
 * directly), reconciles on link-up and periodically, purges on expiry, evicts by
 * precedence under quota, repairs sequence gaps and scores misbehaving peers.
 *
 * This file composes the parts, each of which names what it needs: the store path
 * (intake.ts, validate.ts, held.ts, retention.ts, group-commit.ts), the links (links.ts,
 * peer.ts, outbound.ts), the conversation with peers (sync.ts and its parts), network
 * time (network-time.ts) and the timers (timers.ts), which stay at this edge.
 *
 * @example
 * const engine = createEngine({ clock, crypto, store, transport, logger, authoriser }, { nodeId: 'relay-a' })
 * await engine.open()
 * transportHost.onLinkUp(peer => engine.linkUp(peer, {}))
 * await engine.submit(envelopeBytes)   // resolves once durable
 */
import { Boundary } from './boundary.ts'
import { Catalog, idKey } from './catalog.ts'
import { GroupCommit } from './group-commit.ts'
import { HeldPool } from './held.ts'
import { Intake } from './intake.ts'
import { Links } from './links.ts'
import { MessageLog } from './log.ts'
import { NetworkClock } from './network-time.ts'
import { Outbound } from './outbound.ts'
import { PeerLink, type OutEnvelope } from './peer.ts'
import { Retention } from './retention.ts'
import { ScopedSet } from './scoped-set.ts'
import { SyncHandlers } from './sync.ts'
import { Timers } from './timers.ts'
import { newCounters, defaultEngineConfig, type AwayPeer, type EngineConfig, type EngineDeps, type EngineStatus, type Refuse, type Verdict } from './types.ts'
import { validate } from './validate.ts'
import { decodeEnvelope, type Envelope } from '../envelope.ts'
import { decodeFrame, FrameType, linkVersion, peerRefBytes, type Frame } from '../frames.ts'
import { HybridClock, type Hlc } from '../hlc.ts'
import { lazyAuthorsPerPeerMax, peerPenaltyBadFrame, peerPenaltyWasteful, peerScoreDisconnectBelow, peerScorePerHourRecovered } from '../limits.ts'
import type { LinkHandler, LinkInfo, PeerId, StoreOp } from '../ports.ts'

export function createEngine (deps: EngineDeps, config: Partial<EngineConfig> & { nodeId: PeerId }): Engine {
  return new Engine(deps, { ...defaultEngineConfig, ...config })
}

/** The catalog as the probe shows it: what is held, never a way to change it. */
export type CatalogView = Pick<Catalog, 'has' | 'get' | 'keys' | 'size' | 'bytesUsed' | 'tombstones' | 'streams' | 'fileCount' | 'piecesOf'>

/**
 * Read-only views of an engine's state for the simulator's checkers and for tests (hosts
 * use `status` and `awayPeers`). `penalise` is its one lever: it charges a peer as a
 * misbehaviour would, for tests of scoring.
 */
export interface EngineProbe {
  readonly config: Readonly<EngineConfig>
  readonly catalog: CatalogView
  /** What reconciliation offers peers: held ids and tombstones not yet retired; `forPeer`, less what must not go to that peer. */
  readonly set: Pick<ScopedSet, 'has' | 'size' | 'forPeer'>
  /** The current link per peer. */
  readonly links: Pick<Links, 'get' | 'has' | 'keys' | 'values' | 'size'>
  /** Network time, ms (network-time.ts). */
  networkNowMs (): number
  /** Authors a peer asked us to announce rather than push, kept across its links (and on disk). */
  lazyAuthors (peer: PeerId): ReadonlySet<string>
  penalise (peer: PeerId, points: number, reason: string): void
}

export class Engine implements LinkHandler {
  /** What this engine did, for metrics and reports. */
  readonly counters = newCounters()
  /** See EngineProbe: for the simulator's checkers and tests, not for hosts. */
  readonly probe: EngineProbe
  readonly #deps: EngineDeps
  readonly #config: EngineConfig
  readonly #catalog = new Catalog()
  readonly #set = new ScopedSet()
  readonly #log: MessageLog
  readonly #links: Links
  readonly #hlc: HybridClock
  /**
   * The latest stamp this node issued to its clients, ms. Their envelopes are judged at no
   * earlier a time than this (intake's `validateOwn`): network time can move back when the
   * peers that set it change, and a stamp our own clock gave out must stay acceptable to us.
   */
  #issuedMs = 0
  readonly #time: NetworkClock
  readonly #timers: Timers
  readonly #commit: GroupCommit
  readonly #out: Outbound
  readonly #sync: SyncHandlers
  readonly #retention: Retention
  readonly #held: HeldPool
  readonly #intake: Intake
  readonly #boundary: Boundary | undefined

  constructor (deps: EngineDeps, config: EngineConfig) {
    this.#deps = deps
    this.#config = config
    const { clock, crypto, logger, transport, events } = deps
    const counters = this.counters
    const catalog = this.#catalog
    const set = this.#set
    const log = this.#log = new MessageLog(deps.store, (b) => crypto.sha256(b))
    const time = this.#time = new NetworkClock({ clock, peerOffsetsMs: () => this.#readyOffsets() })
    const networkNowMs = (): number => time.nowMs()
    // Stamps and the far-future check on what we observe follow network time, as expiry does: a relay whose
    // clock is a day slow would otherwise stamp envelopes that its neighbours find expired on creation,
    // and could never observe a fleet whose clocks a fast relay moved ahead (clock-skew, seed 3).
    const hlc = this.#hlc = new HybridClock(networkNowMs)
    const links = this.#links = new Links({ networkNowMs, peersChanged: () => { time.peersChanged() } })
    const timers = this.#timers = new Timers({ clock })
    const schedule = (ms: number, fn: () => void): void => { timers.schedule(ms, fn) }
    const commit = this.#commit = new GroupCommit({ store: deps.store })
    const write = (ops: StoreOp[]): Promise<void> => commit.write(ops)
    const refuse: Refuse = (reason, detail, peer, env) => {
      counters.refused++
      events?.refused?.(reason, detail, peer, env)
    }
    const checks = { crypto, authoriser: deps.authoriser, networkNowMs }
    const validateEnvelope = (env: Envelope): Verdict => validate(env, checks)
    const ownChecks = { ...checks, networkNowMs: () => Math.max(networkNowMs(), this.#issuedMs) }
    const validateOwn = (env: Envelope): Verdict => validate(env, ownChecks)
    const holds = (key: string): boolean => this.#intake.holds(key)
    const decode = deps.decode ?? ((b: Uint8Array) => decodeEnvelope(b, (x) => crypto.sha256(x)))
    // Built before Outbound, which asks it before sending; it pumps through Outbound once that exists.
    const boundary = this.#boundary = deps.boundary === undefined ? undefined : new Boundary({ policy: deps.boundary, decode, counters, events, links, output: { pump: link => { out.pump(link) } }, holds: key => this.#intake.holds(key), scope: set })
    const out = this.#out = new Outbound({
      transport, clock, counters, events, logger, networkNowMs, links, refill: link => { this.#sync.refill(link) },
      ...(boundary !== undefined ? { withholds: (link: PeerLink, item: OutEnvelope) => boundary.withholds(link, item) } : {}),
    })
    const sync = this.#sync = new SyncHandlers({
      config, refKey: this.#peerRef(config.nodeId), clock, networkNowMs, peersChanged: () => { time.peersChanged() },
      counters, logger, transport, links, catalog, log, set, holds, write, output: out, schedule, ...(deps.admission !== undefined ? { admission: deps.admission } : {}),
      ...(boundary !== undefined ? { boundary } : {}),
    })
    const onHold = deps.authoriser.onHold?.bind(deps.authoriser) ?? (() => false)
    const retention = this.#retention = new Retention({ catalog, set, log, storageBytesMax: config.storageBytesMax, clock, networkNowMs, write, counters, events, onHold })
    const held = this.#held = new HeldPool({
      counters,
      validate: validateEnvelope,
      // A partner's envelope held for its channel is judged at the boundary once it verifies, as on arrival.
      accept: (env, from) => from !== 'local' && boundary?.receives(env, from) === false ? Promise.resolve() : this.#intake.accept(env, from, false),
      refuse,
      crowdedBy: (peer) => {
        const link = links.get(peer)
        if (link !== undefined) out.penalise(link, peerPenaltyWasteful, 'its envelopes of unknown channels or authors fill the pending pool')
      },
    })
    this.#intake = new Intake({
      clock, counters, events, decode, validate: validateEnvelope, validateOwn, refuse,
      held, catalog, set, log, hlc, write, retention, sync, links, output: out, ...(boundary !== undefined ? { boundary } : {}),
    })
    this.probe = {
      config,
      catalog,
      set,
      links,
      networkNowMs,
      lazyAuthors: (peer) => links.lazyAuthorsOf(peer),
      penalise: (peer, points, reason) => { const link = links.get(peer); if (link !== undefined) out.penalise(link, points, reason) },
    }
  }

  /** The 8-byte reference for a peer id that neighbour lists carry. */
  #peerRef (peer: PeerId): string {
    return idKey(this.#deps.crypto.sha256(new TextEncoder().encode(peer)).subarray(0, peerRefBytes))
  }

  * #readyOffsets (): Iterable<number> {
    for (const p of this.#links.ready()) yield p.clockOffsetMs
  }

  /** Loads the catalog from the store and starts the purge and reconcile schedules. */
  async open (): Promise<void> {
    const log = this.#log
    await log.open()
    const corrupt: StoreOp[] = []
    for await (const rec of log.loadAll()) {
      if ('corrupt' in rec) {
        corrupt.push(log.recordDeleteOp(rec.corrupt))
        this.#deps.logger.warn({ id: rec.corrupt, reason: rec.reason }, 'corrupt envelope record dropped; reconciliation will fetch it again')
        continue
      }
      this.#intake.index(rec.envelope, rec.custody)
      this.#deps.events?.restored?.(rec.envelope)
    }
    for await (const t of log.loadTombstones()) {
      const key = idKey(t.id)
      this.#catalog.addTombstone(key, t.expiresAtMs)
      if (!t.retired) this.#set.add(key)
    }
    for await (const { peer, author } of log.loadLazy()) {
      const lazy = this.#links.memoryOf(peer).lazyAuthors
      if (lazy.size < lazyAuthorsPerPeerMax) lazy.add(idKey(author)) // records past the bound, written before it existed, are ignored
    }
    if (corrupt.length > 0) await this.#deps.store.batch(corrupt)
    this.#timers.every(this.#config.purgeIntervalMs, () => { void this.purge() })
    this.#timers.every(this.#config.reconcileIntervalMs, () => { this.#sync.reconcileAll() })
  }

  close (): void { this.#timers.close() }

  // ---- Client operations ---------------------------------------------------------

  /** A timestamp for a new local envelope, after everything this node has seen (remembered as issued). */
  stamp (): Hlc {
    const stamp = this.#hlc.now()
    this.#issuedMs = Math.max(this.#issuedMs, stamp.ms)
    return stamp
  }

  /** Validates and stores a client's envelope; resolves once it is durable (custody acknowledged). */
  submit (bytes: Uint8Array): Promise<Envelope> { return this.#intake.submit(bytes) }

  /** Whether this node holds (or is storing, or holds pending, or removed and remembers) the envelope with this id. */
  holds (id: Uint8Array): boolean { return this.#intake.holds(idKey(id)) }

  /** Validates and stores an envelope from an air-gap bundle, as a peer's (not in custody); resolves once durable. */
  importEnvelope (bytes: Uint8Array): Promise<Envelope> { return this.#intake.imported(bytes) }

  /** A stored envelope by id. */
  async get (id: Uint8Array): Promise<Envelope | undefined> {
    if (!this.#catalog.has(idKey(id))) return undefined
    return (await this.#log.get(id))?.envelope
  }

  /** The newest `limit` stored envelopes of one kind in a channel (ids and stamps), oldest first. */
  history (channel: Uint8Array, kind: number, limit: number): Promise<Array<{ id: Uint8Array, hlc: Hlc }>> {
    return this.#log.byChannel(channel, kind, limit)
  }

  /** One id per stamp among the newest `limit` stamps of a kind: the newest files, one piece each (#23). */
  newestStamps (channel: Uint8Array, kind: number, limit: number): Promise<Array<{ id: Uint8Array, hlc: Hlc }>> {
    return this.#log.newestStamps(channel, kind, limit)
  }

  /** Ids of a kind in a channel stamped exactly `hlc` (a file's pieces held here), after `after`, at most `limit`. */
  atStamp (channel: Uint8Array, kind: number, hlc: Hlc, after: Uint8Array | undefined, limit: number): Promise<Uint8Array[]> {
    return this.#log.atStamp(channel, kind, hlc, after, limit)
  }

  /**
   * Asks the authoriser again about every held envelope (call after channel state changed).
   * Newly decidable ones are stored or refused; the rest stay held.
   */
  retryPending (): void { this.#held.retry() }

  /** Removes expired envelopes and spent tombstones. */
  purge (): Promise<number> { return this.#retention.purge() }

  /** Strong removal of one author's stream in a channel above `afterSeq` (see Retention). */
  discardStream (channel: Uint8Array, author: Uint8Array, afterSeq: number): Promise<number> {
    return this.#retention.discardStream(channel, author, afterSeq)
  }

  // ---- Links (called by the host) ------------------------------------------

  linkUp (peer: PeerId, info: LinkInfo): void {
    if (this.#timers.closed) return
    const link = new PeerLink(peer, this.#peerRef(peer), info, this.#config.peerQueueBytesMax, this.#links.memoryOf(peer))
    this.#links.add(link)
    // A peer cut for its score is not let back in by reconnecting: its score is remembered, and recovers only with time.
    const score = link.scoreAt(this.#deps.clock.monotonicMs())
    if (score < peerScoreDisconnectBelow) { this.#out.cut(link, `score ${Math.floor(score)} is still below ${peerScoreDisconnectBelow} (it recovers ${peerScorePerHourRecovered} points an hour)`); return }
    const credentials = this.#deps.admission?.credentials()
    link.control({ type: FrameType.hello, versionMin: linkVersion, versionMax: linkVersion, frameBytesMax: link.frameBytesMax, nowMs: this.#deps.clock.nowMs(), ...(credentials !== undefined ? { credentials } : {}) })
    this.#out.pump(link)
  }

  /**
   * The host measured a link that is up (libp2p's ping round trip, say): its latency
   * and cost change, its clock offset is corrected by the latency difference, and our
   * neighbours hear the new cost if its rounded value changed. Unknown or invalid
   * values leave the old ones; `frameBytesMax` is fixed for the link's life.
   */
  linkMeasured (peer: PeerId, info: LinkInfo): void {
    const link = this.#links.get(peer)
    if (link === undefined || this.#timers.closed) return
    const advertisedBefore = Math.round(link.costMs)
    link.measured(info) // the link's clock offset follows (PeerLink.clockOffsetMs)
    if (link.ready) this.#time.peersChanged()
    if (link.ready && Math.round(link.costMs) !== advertisedBefore) this.#sync.advertiseNeighbours()
  }

  linkDown (peer: PeerId): void {
    if (!this.#links.remove(peer)) return
    this.#sync.advertiseNeighbours()
  }

  /**
   * The host's boundary policy changed (#29: an operator edited a partner's rules): what it
   * refused or kept from partners is judged again when next offered, so an envelope a looser
   * policy lets cross now crosses at the next reconciliation.
   */
  boundaryChanged (): void { this.#boundary?.forgetVerdicts() }

  drain (peer: PeerId): void {
    const link = this.#links.get(peer)
    if (link === undefined) return
    link.drained()
    this.#out.pump(link)
  }

  receive (peer: PeerId, bytes: Uint8Array): void {
    const link = this.#links.get(peer)
    if (link === undefined || this.#timers.closed) return
    const counters = this.counters
    if (bytes.length > 0 && bytes[0] < counters.framesReceived.length) {
      counters.framesReceived[bytes[0]]++
      counters.bytesReceived[bytes[0]] += bytes.length
    }
    let frame: Frame
    try {
      frame = decodeFrame(bytes)
    } catch (e) {
      this.#out.penalise(link, peerPenaltyBadFrame, `bad frame: ${(e as Error).message}`)
      return
    }
    if (!link.ready && frame.type !== FrameType.hello) {
      this.#out.penalise(link, peerPenaltyBadFrame, `${frame.type} frame before hello`)
      return
    }
    if (frame.type === FrameType.envelope) this.#intake.ingest(frame.envelope, link)
    else this.#sync.handle(link, frame)
  }

  // ---- Status --------------------------------------------------------------------

  /** Peers that went away, most recently gone last, with what waits for them (a pass over the catalog: for status, not metrics). */
  awayPeers (): AwayPeer[] {
    const away = this.#links.away()
    const nowMs = this.#time.nowMs()
    const tallies = this.#catalog.stampedSince(away.map(([, since]) => since), nowMs)
    return away.map(([id, sinceMs], i) => {
      const { byPrecedence, oldestMs } = tallies[i]
      return { id, sinceMs, waiting: byPrecedence, oldestWaitingMs: oldestMs === undefined ? null : Math.max(0, nowMs - oldestMs) }
    })
  }

  status (): EngineStatus {
    const queued = [0, 0, 0, 0]
    const peers = [...this.#links.values()].map(p => {
      const depths = p.queue.depths()
      depths.forEach((d, i) => { queued[i] += d })
      return { id: p.id, ready: p.ready, score: Math.floor(p.scoreAt(this.#deps.clock.monotonicMs())), queued: depths, latencyMs: p.latencyKnown ? p.latencyMs : null, costMs: Math.round(p.costMs) }
    })
    return {
      nodeId: this.#config.nodeId, peers, envelopes: this.#catalog.size, storeBytes: this.#catalog.bytesUsed,
      storageBytesMax: this.#config.storageBytesMax, queuedByPrecedence: queued, counters: this.counters,
    }
  }
}
