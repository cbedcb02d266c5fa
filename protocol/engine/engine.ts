/**
 * The store-and-forward engine: sans-I/O, driven by its host. The host calls
 * `linkUp`, `linkDown`, `receive` and `drain`; local clients call `submit`. The
 * engine validates, stores durably (one atomic batch per envelope, group-committed),
 * pushes new envelopes to peers that need them (skipping those its sender reaches
 * directly), reconciles on link-up and periodically, purges on expiry, evicts by
 * precedence under quota, repairs sequence gaps and scores misbehaving peers.
 *
 * @example
 * const engine = createEngine({ clock, crypto, store, transport, logger, authoriser }, { nodeId: 'relay-a' })
 * await engine.open()
 * transportHost.onLinkUp(peer => engine.linkUp(peer, {}))
 * await engine.submit(envelopeBytes)   // resolves once durable
 */
import { Catalog, entryId, entryOverheadBytes, idFromKey, idKey, type Entry } from './catalog.ts'
import { MessageLog } from './log.ts'
import { medianOffsetMs, networkNowMs } from './network-time.ts'
import { Links } from './links.ts'
import { PeerLink, type OutEnvelope, type PeerMemory } from './peer.ts'
import { newCounters, defaultEngineConfig, type AwayPeer, type EngineConfig, type EngineDeps, type EngineStatus, type RefusalReason, type Sender, type Verdict } from './types.ts'
import { SyncHandlers } from './sync.ts'
import { entryFields, Retention } from './retention.ts'
import { HeldPool } from './held.ts'
import { reasonOf, refusalError, refusalReason, senderCharge, validate } from './validate.ts'
import { decodeEnvelope, type Envelope } from '../envelope.ts'
import { isDdilError, StorageError } from '../errors.ts'
import { decodeFrame, FrameType, linkVersion, peerRefBytes, type Frame } from '../frames.ts'
import { HybridClock, type Hlc } from '../hlc.ts'
import { controlQueueBytesMax, lazyAuthorsPerPeerMax, pendingBytesMax, pendingEnvelopesMax, peerPenaltyBadEnvelope, peerPenaltyBadFrame, peerPenaltyUnread, peerPenaltyUntimely, peerPenaltyWasteful, peerScoreDisconnectBelow, peerScorePerHourRecovered } from '../limits.ts'
import type { LinkHandler, LinkInfo, PeerId, StoreOp } from '../ports.ts'
import { ReconcileSet } from '../reconcile/index.ts'

export function createEngine (deps: EngineDeps, config: Partial<EngineConfig> & { nodeId: PeerId }): Engine {
  return new Engine(deps, { ...defaultEngineConfig, ...config })
}

export class Engine implements LinkHandler {
  readonly deps: EngineDeps
  readonly config: EngineConfig
  readonly counters = newCounters()
  readonly catalog = new Catalog()
  readonly set = new ReconcileSet()
  readonly log: MessageLog
  readonly peers: Links
  readonly hlc: HybridClock
  readonly refKey: string
  readonly #sync: SyncHandlers
  readonly #decode: (bytes: Uint8Array) => Envelope
  readonly #retention: Retention
  readonly #pending = new Map<string, Promise<void>>()
  readonly #held: HeldPool
  #writeOps: StoreOp[] = []
  #writeWaiters: Array<{ resolve: () => void, reject: (e: unknown) => void }> = []
  #writing = false
  readonly #cancels = new Set<() => void>()
  #closed = false
  /** Median clock offset of ourselves and our ready peers, ms; undefined until next needed. */
  #offsetMs: number | undefined

  constructor (deps: EngineDeps, config: EngineConfig) {
    this.deps = deps
    this.config = config
    this.log = new MessageLog(deps.store, (b) => deps.crypto.sha256(b))
    // Stamps and the far-future check on what we observe follow network time, as expiry does: a relay whose
    // clock is a day slow would otherwise stamp envelopes that its neighbours find expired on creation,
    // and could never observe a fleet whose clocks a fast relay moved ahead (clock-skew, seed 3).
    this.hlc = new HybridClock(() => this.networkNowMs())
    this.refKey = this.peerRef(config.nodeId)
    this.peers = new Links({ networkNowMs: () => this.networkNowMs(), peersChanged: () => { this.clockPeersChanged() } })
    this.#decode = deps.decode ?? ((b) => decodeEnvelope(b, (x) => deps.crypto.sha256(x)))
    this.#sync = new SyncHandlers(this)
    this.#retention = new Retention(this)
    this.#held = new HeldPool({
      counters: this.counters,
      validate: (env) => this.#validate(env),
      accept: (env, from) => this.#accept(env, from, false),
      refuse: (reason, detail, peer, env) => { this.#refused(reason, detail, peer, env) },
      crowdedBy: (peer) => {
        const link = this.peers.get(peer)
        if (link !== undefined) this.penalise(link, peerPenaltyWasteful, 'its envelopes of unknown channels or authors fill the pending pool')
      },
    })
  }

  /** The 8-byte reference for a peer id that neighbour lists carry. */
  peerRef (peer: PeerId): string {
    return idKey(this.deps.crypto.sha256(new TextEncoder().encode(peer)).subarray(0, peerRefBytes))
  }

  /** Loads the catalog from the store and starts the purge and reconcile schedules. */
  async open (): Promise<void> {
    await this.log.open()
    const corrupt: StoreOp[] = []
    for await (const rec of this.log.loadAll()) {
      if ('corrupt' in rec) {
        corrupt.push(this.log.recordDeleteOp(rec.corrupt))
        this.deps.logger.warn({ id: rec.corrupt, reason: rec.reason }, 'corrupt envelope record dropped; reconciliation will fetch it again')
        continue
      }
      this.#index(rec.envelope, rec.custody)
      this.deps.events?.restored?.(rec.envelope)
    }
    for await (const t of this.log.loadTombstones()) {
      const key = idKey(t.id)
      this.catalog.addTombstone(key, t.expiresAtMs)
      if (!t.retired) this.set.add(key)
    }
    for await (const { peer, author } of this.log.loadLazy()) {
      const lazy = this.peerMemory(peer).lazyAuthors
      if (lazy.size < lazyAuthorsPerPeerMax) lazy.add(idKey(author)) // records past the bound, written before it existed, are ignored
    }
    if (corrupt.length > 0) await this.deps.store.batch(corrupt)
    this.#every(this.config.purgeIntervalMs, () => { void this.purge() })
    this.#every(this.config.reconcileIntervalMs, () => { this.#sync.reconcileAll() })
  }

  close (): void {
    this.#closed = true
    for (const cancel of this.#cancels) cancel()
    this.#cancels.clear()
  }

  /** A timestamp for a new local envelope, after everything this node has seen. */
  stamp (): Hlc { return this.hlc.now() }

  // ---- Local submissions ----------------------------------------------------

  /** Validates and stores a client's envelope; resolves once it is durable (custody acknowledged). */
  async submit (bytes: Uint8Array): Promise<Envelope> {
    const env = this.#decode(bytes)
    const key = env.key
    if (this.catalog.has(key)) return env
    const pending = this.#pending.get(key)
    if (pending !== undefined) { await pending; return env }
    const verdict = this.#validate(env)
    if (!verdict.ok) {
      const err = refusalError(verdict)
      this.#refused(refusalReason(verdict), err.message, undefined, env)
      throw err
    }
    await this.#accept(env, 'local', true)
    this.counters.submitted++
    return env
  }

  /** Whether we hold (or are storing, or evicted) the envelope with this id key. */
  holds (key: string): boolean {
    return this.catalog.known(key) || this.#pending.has(key) || this.#held.has(key)
  }

  /** A stored envelope by id. */
  async get (id: Uint8Array): Promise<Envelope | undefined> {
    if (!this.catalog.has(idKey(id))) return undefined
    return (await this.log.get(id))?.envelope
  }

  // ---- Links (called by the host) ------------------------------------------

  linkUp (peer: PeerId, info: LinkInfo): void {
    if (this.#closed) return
    const link = new PeerLink(peer, this.peerRef(peer), info, this.config.peerQueueBytesMax, this.peerMemory(peer))
    this.peers.add(link)
    // A peer cut for its score is not let back in by reconnecting: its score is remembered, and recovers only with time.
    const score = link.scoreAt(this.deps.clock.monotonicMs())
    if (score < peerScoreDisconnectBelow) { this.#cut(link, `score ${Math.floor(score)} is still below ${peerScoreDisconnectBelow} (it recovers ${peerScorePerHourRecovered} points an hour)`); return }
    link.control({ type: FrameType.hello, versionMin: linkVersion, versionMax: linkVersion, frameBytesMax: link.frameBytesMax, nowMs: this.deps.clock.nowMs() })
    this.pump(link)
  }

  /**
   * The host measured a link that is up (libp2p's ping round trip, say): its latency
   * and cost change, its clock offset is corrected by the latency difference, and our
   * neighbours hear the new cost if its rounded value changed. Unknown or invalid
   * values leave the old ones; `frameBytesMax` is fixed for the link's life.
   */
  linkMeasured (peer: PeerId, info: LinkInfo): void {
    const link = this.peers.get(peer)
    if (link === undefined || this.#closed) return
    const advertisedBefore = Math.round(link.costMs)
    link.measured(info) // the link's clock offset follows (PeerLink.clockOffsetMs)
    if (link.ready) this.clockPeersChanged()
    if (link.ready && Math.round(link.costMs) !== advertisedBefore) this.#sync.advertiseNeighbours()
  }

  /**
   * What we remember of a peer across its links (its prunes also across our restarts). Past
   * `peersRememberedMax` the peer longest unseen and not linked now is forgotten.
   */
  peerMemory (peer: PeerId): PeerMemory { return this.peers.memoryOf(peer) }

  linkDown (peer: PeerId): void {
    if (!this.peers.remove(peer)) return
    this.#sync.advertiseNeighbours()
  }

  drain (peer: PeerId): void {
    const link = this.peers.get(peer)
    if (link === undefined) return
    link.drained()
    this.pump(link)
  }

  receive (peer: PeerId, bytes: Uint8Array): void {
    const link = this.peers.get(peer)
    if (link === undefined || this.#closed) return
    if (bytes.length > 0 && bytes[0] < this.counters.framesReceived.length) {
      this.counters.framesReceived[bytes[0]]++
      this.counters.bytesReceived[bytes[0]] += bytes.length
    }
    let frame: Frame
    try {
      frame = decodeFrame(bytes)
    } catch (e) {
      this.penalise(link, peerPenaltyBadFrame, `bad frame: ${(e as Error).message}`)
      return
    }
    if (!link.ready && frame.type !== FrameType.hello) {
      this.penalise(link, peerPenaltyBadFrame, `${frame.type} frame before hello`)
      return
    }
    if (frame.type === FrameType.envelope) this.#ingest(frame.envelope, link)
    else this.#sync.handle(link, frame)
  }

  // ---- Ingest ----------------------------------------------------------------

  /** Decodes, checks and stores an envelope from a peer (synchronous up to the store write, which #accept awaits). */
  #ingest (bytes: Uint8Array, link: PeerLink): void {
    let env: Envelope
    try {
      env = this.#decode(bytes)
    } catch (e) {
      this.#refused('decode', (e as Error).message, link.id)
      this.penalise(link, peerPenaltyBadEnvelope, `undecodable envelope: ${(e as Error).message}`)
      return
    }
    const key = env.key
    if (this.holds(key)) {
      this.counters.duplicatesReceived++
      this.counters.duplicatePayloadBytesReceived += bytes.length
      // Our copies crossed: it holds the envelope, so a copy still queued to it is cancelled.
      link.peerHolds(key, this.deps.clock.nowMs())
      // A copy of an id we no longer hold (evicted, discarded, purged) says nothing about redundant eager paths.
      if (!this.catalog.tombstones.has(key)) this.#sync.pruneAfterDuplicate(link, env.author, key)
      return
    }
    const verdict = this.#validate(env)
    if (!verdict.ok) {
      if (verdict.reason === 'pending') { this.#held.hold(env, link.id); return }
      const reason = refusalReason(verdict)
      this.#refused(reason, verdict.message, link.id, env)
      if (reason === 'expired') this.counters.expiredOnArrival++
      const charge = senderCharge(verdict)
      if (charge === 'untimely' && link.firstUntimely(key)) this.penalise(link, peerPenaltyUntimely, `${reason}: ${verdict.message}`)
      else if (charge === 'bad') this.penalise(link, peerPenaltyBadEnvelope, `${reason}: ${verdict.message}`)
      return
    }
    const repair = this.#sync.arrived(link, env)
    this.#accept(env, link.id, false, repair).catch((e: unknown) => {
      const reason = reasonOf(e)
      this.#refused(reason, (e as Error).message, link.id, env)
      if (reason === 'quota' && this.peers.isCurrent(link)) {
        link.control({ type: FrameType.refused, code: 'ERR_QUOTA', ids: [env.id] })
        this.pump(link)
      }
    })
  }

  /**
   * Asks the authoriser again about every held envelope (call after channel state changed).
   * Newly decidable ones are stored or refused; the rest stay held.
   */
  retryPending (): void { this.#held.retry() }

  /**
   * Network time (network-time.ts), whole ms: our wall clock corrected by the median offset
   * of ourselves (0) and our ready peers, ties going to the value nearer our own clock,
   * clamped to the skew allowance. A relay whose clock is a day off still agrees with its neighbours about
   * what has expired and what is far in the future; a relay with one peer trusts itself.
   */
  networkNowMs (): number {
    this.#offsetMs ??= medianOffsetMs(this.#readyOffsets())
    return networkNowMs(this.deps.clock.nowMs(), this.#offsetMs)
  }

  /** Call when a peer becomes ready or goes away: the median offset is recomputed on next use. */
  clockPeersChanged (): void { this.#offsetMs = undefined }

  * #readyOffsets (): Iterable<number> {
    for (const p of this.peers.ready()) yield p.clockOffsetMs
  }

  #validate (env: Envelope): Verdict {
    return validate(env, { crypto: this.deps.crypto, authoriser: this.deps.authoriser, networkNowMs: () => this.networkNowMs() })
  }

  /**
   * Stores an envelope (evicting by policy if needed), indexes it once durable, and
   * forwards it. A peer's envelope is forwarded while our write is in flight: a copy a
   * peer holds is safe whatever happens to ours (a crash before the write lands loses
   * only our copy, which reconciliation brings back), and waiting would add a sync write
   * to every hop. A local client's waits for the write: if it fails, the client is told
   * so and may sign again, and what it was told failed must not have gone out.
   */
  async #accept (env: Envelope, from: Sender, custody: boolean, repair = false): Promise<void> {
    const key = env.key
    const size = env.bytes.length + entryOverheadBytes
    const victims = this.#retention.makeRoom(size, env.precedence)
    const ops = this.log.appendOps(env, custody, this.deps.clock.nowMs())
    for (const v of victims) ops.push(...this.log.removeOps(entryFields(v), true))
    const written = this.write(ops)
    this.#pending.set(key, written) // a concurrent submit of the same envelope waits for (and fails with) this write
    this.#retention.pendingBytes += size
    if (from !== 'local') this.#sync.forward(env, from, repair)
    try {
      await written
    } catch (e) {
      for (const v of victims) this.catalog.add(v)
      throw isDdilError(e) ? e : new StorageError(`store write failed: ${(e as Error).message}`, { cause: e })
    } finally {
      this.#pending.delete(key)
      this.#retention.pendingBytes -= size
    }
    if (victims.length > 0) {
      for (const v of victims) this.catalog.addTombstone(v.key, v.expiresAtMs)
      this.counters.evicted += victims.length
      this.deps.events?.removed?.(victims.map(entryId), 'evicted')
    }
    const stream = this.catalog.streams.get(env.stream)
    const highestBefore = stream?.highest ?? 0
    const rivals = stream?.bySeq.get(env.seq) // another envelope of this author at this sequence: equivocation
    this.#index(env, custody)
    try { this.hlc.observe(env.hlc) } catch { /* far-future was refused in #validate; a racing wall-clock step cannot make it fail */ }
    this.counters.stored++
    if (rivals !== undefined) {
      this.counters.equivocations++
      this.deps.events?.equivocation?.(idFromKey(typeof rivals === 'string' ? rivals : rivals[0]), env)
    }
    this.deps.events?.stored?.(env, from)
    if (from === 'local') this.#sync.forward(env, from)
    if (highestBefore > 0 && env.seq > highestBefore + 1) this.#sync.scheduleGapCheck(env.stream, env.channel, env.author, highestBefore + 1, env.seq - 1, from)
  }

  #index (env: Envelope, custody: boolean): void {
    const entry: Entry = {
      key: env.key, expiresAtMs: env.expiresAtMs, precedence: env.precedence, kind: env.kind, hlcMs: env.hlc.ms, hlcC: env.hlc.c,
      size: env.bytes.length + entryOverheadBytes, stream: env.stream, seq: env.seq, custody,
    }
    this.catalog.add(entry)
    this.set.add(entry.key)
  }

  // ---- Retention (retention.ts) -----------------------------------------------

  /** Removes expired envelopes and spent tombstones. */
  purge (): Promise<number> { return this.#retention.purge() }

  /** Strong removal of one author's stream in a channel above `afterSeq` (see Retention). */
  discardStream (channel: Uint8Array, author: Uint8Array, afterSeq: number): Promise<number> {
    return this.#retention.discardStream(channel, author, afterSeq)
  }

  // ---- Shared plumbing (used by sync.ts and retention.ts) -------------------------

  /**
   * Group commit: with no batch in flight, `ops` go to the store at once (the caller
   * waits on the store's own promise); ops queued while one is in flight go out
   * together in the next batch, issued as soon as it lands.
   */
  write (ops: StoreOp[]): Promise<void> {
    if (!this.#writing) return this.#batch(ops)
    return new Promise((resolve, reject) => {
      this.#writeOps.push(...ops)
      this.#writeWaiters.push({ resolve, reject })
    })
  }

  #batch (ops: StoreOp[]): Promise<void> {
    this.#writing = true
    let landed: Promise<void>
    try {
      landed = this.deps.store.batch(ops)
    } catch (e) {
      landed = Promise.reject(e) // a store that throws rather than rejects
    }
    // Registered before the caller's await, so the next batch is issued before the caller resumes.
    landed.then(() => { this.#next() }, () => { this.#next() })
    return landed
  }

  /** The batch in flight landed: send what queued meanwhile, as one batch. */
  #next (): void {
    this.#writing = false
    if (this.#writeOps.length === 0) return
    const ops = this.#writeOps
    const waiters = this.#writeWaiters
    this.#writeOps = []
    this.#writeWaiters = []
    this.#batch(ops).then(() => { for (const w of waiters) w.resolve() }, (e: unknown) => { for (const w of waiters) w.reject(e) })
  }

  /**
   * Sends an envelope to a peer, unless it is queued there already or was just sent
   * (`force`: send anyway, the peer asked). On an idle link it goes straight out; else it
   * waits in the link's queue, by precedence.
   */
  offer (link: PeerLink, precedence: number, item: OutEnvelope, force: boolean): void {
    const nowMs = this.deps.clock.nowMs()
    // An idle link's queue is empty, and every id in its map of queued ids is in the queue: no need to ask that map.
    if (link.idle && (force || !link.sentRecently(item.key, nowMs))) {
      const outcome = link.sendNow(item, this.deps.transport, this.counters, nowMs, this.networkNowMs())
      if (outcome === 'sent') this.deps.events?.sent?.(item.id, link.id)
      if (outcome !== 'blocked') return
    }
    if (link.enqueue(precedence, item, force, nowMs)) this.pump(link)
  }

  pump (link: PeerLink): void {
    if (link.unread) { this.penalise(link, peerPenaltyUnread, `more than ${controlQueueBytesMax} bytes of control frames wait for it: it does not read`); return }
    for (const sent of link.pump(this.deps.transport, this.counters, this.deps.clock.nowMs(), this.networkNowMs())) this.deps.events?.sent?.(sent.id, link.id)
    if (link.backlog.size > 0) this.#sync.refill(link)
  }

  penalise (link: PeerLink, points: number, reason: string): void {
    const score = link.penalise(points, this.deps.clock.monotonicMs())
    this.deps.logger.debug({ peer: link.id, score, reason }, 'peer penalised')
    if (score < peerScoreDisconnectBelow) this.#cut(link, `score below ${peerScoreDisconnectBelow}: ${reason}`)
  }

  /** Drops a misbehaving peer's link and asks the host to disconnect it. */
  #cut (link: PeerLink, reason: string): void {
    if (!this.peers.isCurrent(link)) return
    this.counters.peersPenalised++
    this.peers.remove(link.id)
    this.deps.events?.penalised?.(link.id, reason)
    this.deps.transport.disconnect(link.id, reason)
  }

  #refused (reason: RefusalReason, detail: string, peer?: PeerId, env?: Envelope): void {
    this.counters.refused++
    this.deps.events?.refused?.(reason, detail, peer, env)
  }

  #every (ms: number, fn: () => void): void {
    this.schedule(ms, () => { fn(); this.#every(ms, fn) })
  }

  /** Runs `fn` after `ms` unless the engine closes first (a fired timer forgets its cancel). */
  schedule (ms: number, fn: () => void): void {
    const cancel = this.deps.clock.schedule(ms, () => {
      this.#cancels.delete(cancel)
      if (!this.#closed) fn()
    })
    this.#cancels.add(cancel)
  }


  /** Peers that went away, most recently gone last, with what waits for them (a pass over the catalog: for status, not metrics). */
  awayPeers (): AwayPeer[] {
    const away = this.peers.away()
    const nowMs = this.networkNowMs()
    const tallies = this.catalog.stampedSince(away.map(([, since]) => since), nowMs)
    return away.map(([id, sinceMs], i) => {
      const { byPrecedence, oldestMs } = tallies[i]
      return { id, sinceMs, waiting: byPrecedence, oldestWaitingMs: oldestMs === undefined ? null : Math.max(0, nowMs - oldestMs) }
    })
  }

  status (): EngineStatus {
    const queued = [0, 0, 0, 0]
    const peers = [...this.peers.values()].map(p => {
      const depths = p.queue.depths()
      depths.forEach((d, i) => { queued[i] += d })
      return { id: p.id, ready: p.ready, score: Math.floor(p.scoreAt(this.deps.clock.monotonicMs())), queued: depths, latencyMs: p.latencyKnown ? p.latencyMs : null, costMs: Math.round(p.costMs) }
    })
    return {
      nodeId: this.config.nodeId, peers, envelopes: this.catalog.size, storeBytes: this.catalog.bytesUsed,
      storageBytesMax: this.config.storageBytesMax, queuedByPrecedence: queued, counters: this.counters,
    }
  }
}
