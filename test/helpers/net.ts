/**
 * The engine tests' network: real engines on in-memory stores, on the simulator's own
 * scheduler, node clocks and links (sim/scheduler.ts, sim/clock.ts, sim/network.ts), so
 * that a test sees the links a scenario sees: a handshake of two round trips before
 * `linkUp`, one frame on the wire per direction (`send` returns false while it is busy,
 * then `drain`), frames lost with a link that goes down. A link has a latency (1 ms unless
 * given) and a bandwidth (none: the wire frees at once); `untold` hides both from the
 * engines, as libp2p's hosts do at link-up. A link the test cuts stays down until it
 * connects it again; a peer an engine disconnects is redialled after 10 s as in the
 * simulator, or never with `redial: false`.
 * No real timers: `run(ms)` advances virtual time and settles promises between events.
 *
 * @example
 * const net = new TestNet(); const a = await net.node('a'); const b = await net.node('b')
 * net.connect('a', 'b', { latencyMs: 10 }); await net.run(1000)
 */
import { createEngine, type Engine } from '../../protocol/engine/engine.ts'
import type { Authoriser, BoundaryPolicy, EngineConfig, EngineEvents, PeerAdmission } from '../../protocol/engine/types.ts'
import { MemoryStore } from '../../protocol/memory-store.ts'
import type { Clock, Crypto, LinkInfo, Logger, PeerId, Store, Transport } from '../../protocol/ports.ts'
import { authorRef, signEnvelope, type EnvelopeFields, type Envelope, Kind, Precedence } from '../../protocol/envelope.ts'
import { toHex } from '../../protocol/bytes.ts'
import { idFromKey } from '../../protocol/engine/catalog.ts'
import { encodeFrame, FrameType, linkVersion } from '../../protocol/frames.ts'
import { noClockFault, NodeClock, simEpochMs } from '../../sim/clock.ts'
import { redialMs as defaultRedialMs, SimNetwork, type SimLinkOptions } from '../../sim/network.ts'
import { Rng } from '../../sim/rng.ts'
import { Scheduler } from '../../sim/scheduler.ts'
import type { LinkState } from '../../sim/timeline.ts'
import { crypto } from './fixtures.ts'

/** A clock moved by hand, for tests of one part with no network (the client API, a lone engine); `now` may be set. */
export class ManualClock implements Clock {
  now = simEpochMs
  #seq = 0
  readonly #queue: Array<{ at: number, seq: number, fn: () => void, live: boolean }> = []
  /** Whole milliseconds, as the Clock port promises (a test may set `now` between them). */
  nowMs (): number { return Math.floor(this.now) }
  monotonicMs (): number { return this.now }
  schedule (delayMs: number, fn: () => void): () => void {
    const item = { at: this.now + Math.max(0, delayMs), seq: this.#seq++, fn, live: true }
    this.#queue.push(item)
    return () => { item.live = false }
  }

  /** Pops the next due item at or before `until`, in (time, sequence) order. */
  next (until: number): (() => void) | undefined {
    let best = -1
    for (let i = 0; i < this.#queue.length; i++) {
      const q = this.#queue[i]
      if (q.at > until) continue
      if (best < 0 || q.at < this.#queue[best].at || (q.at === this.#queue[best].at && q.seq < this.#queue[best].seq)) best = i
    }
    if (best < 0) return undefined
    const [item] = this.#queue.splice(best, 1)
    this.now = Math.max(this.now, item.at)
    return item.live ? item.fn : () => {}
  }
}

export const silentLogger: Logger = { debug () {}, info () {}, warn () {}, error () {} }

/** Settles promise chains (store writes) before the next virtual event. */
export async function settle (): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise(resolve => setImmediate(resolve))
}

/** A test's view of the shared virtual time: `now` is wall-clock milliseconds (fractional between whole ones). */
export class TestClock extends NodeClock {
  readonly #s: Scheduler
  constructor (scheduler: Scheduler) {
    super(scheduler, simEpochMs, noClockFault)
    this.#s = scheduler
  }

  get now (): number { return simEpochMs + this.#s.now }
}

export interface ConnectOptions {
  latencyMs?: number
  /** Bits per second; none: the wire frees as soon as a frame is on it. */
  bandwidthBps?: number
  /** Hide the latency and bandwidth from the engines, as libp2p's hosts do at link-up. */
  untold?: boolean
  /** false: a peer an engine disconnects stays cut (until the test connects it again). */
  redial?: boolean
}

const linkKey = (a: PeerId, b: PeerId): string => [a, b].sort().join('|')

export class TestNet {
  readonly scheduler = new Scheduler()
  readonly clock = new TestClock(this.scheduler)
  readonly engines = new Map<PeerId, Engine>()
  /** Each node's store, where it is an in-memory one (most tests). */
  readonly stores = new Map<PeerId, MemoryStore>()
  readonly #storeOf = new Map<PeerId, Store>()
  readonly keys = new Map<string, Uint8Array>()
  readonly delivered = new Map<PeerId, Envelope[]>()
  /** Every store event: which node, which envelope (hex id), when, and from whom. */
  readonly arrivals: Array<{ node: PeerId, id: string, at: number, from: PeerId | 'local' }> = []
  /** Every peer an engine asked to disconnect, linked or not. */
  readonly disconnects: Array<{ from: PeerId, peer: PeerId, reason: string }> = []
  /** Per-node listeners for newly stored envelopes (clients, channel policies). */
  readonly listeners = new Map<PeerId, Array<(env: Envelope) => void>>()
  readonly config: Partial<EngineConfig>
  readonly events: Partial<EngineEvents>
  /** Every node's `refusedBeyond` events (#29), in order. */
  readonly refusedBeyond: Array<{ node: PeerId, id: string, reason: string }> = []
  /** Whether `delivered` and `arrivals` keep every stored envelope (a million-envelope benchmark turns it off). */
  readonly record: boolean
  /** The engines' crypto port (node:crypto unless a test passes its own). */
  readonly crypto: Crypto
  readonly network = new SimNetwork(this.scheduler, Rng.from(1), { handler: (id) => this.engines.get(id) })
  /** Links the test connected and has not cut. */
  readonly #links = new Map<string, SimLinkOptions>()
  readonly #clocks = new Map<PeerId, NodeClock>()

  constructor (config: Partial<EngineConfig> = {}, events: Partial<EngineEvents> = {}, options: { record?: boolean, crypto?: Crypto } = {}) {
    this.config = config
    this.events = events
    this.record = options.record ?? true
    this.crypto = options.crypto ?? crypto
  }

  readonly authoriser: Authoriser = {
    authorise: (env) => {
      const key = this.keys.get(toHex(env.author))
      return key === undefined ? { ok: false, reason: 'unknown author' } : { ok: true, publicKey: key }
    },
  }

  author (seedByte: number): { publicKey: Uint8Array, privateKey: Uint8Array } {
    const keys = crypto.ed25519KeyPair(new Uint8Array(32).fill(seedByte))
    this.keys.set(toHex(authorRef(keys.publicKey)), keys.publicKey)
    return keys
  }

  /** Starts a node's engine (on `store`: a restart after `crash`); links already connected to it come up after their handshake. */
  async node (id: PeerId, config: Partial<EngineConfig> = {}, store: Store = new MemoryStore(), authoriser: Authoriser = this.authoriser, admission?: PeerAdmission, boundary?: BoundaryPolicy): Promise<Engine> {
    this.#storeOf.set(id, store)
    if (store instanceof MemoryStore) this.stores.set(id, store)
    const wire = this.network.transport(id)
    const transport: Transport = {
      send: wire.send,
      disconnect: (peer, reason) => { this.disconnects.push({ from: id, peer, reason }); wire.disconnect(peer, reason) },
    }
    const delivered: Envelope[] = this.delivered.get(id) ?? []
    this.delivered.set(id, delivered)
    const clock = new NodeClock(this.scheduler, simEpochMs, noClockFault)
    this.#clocks.set(id, clock)
    const engine = createEngine({
      clock, crypto: this.crypto, store, transport, logger: silentLogger, authoriser, ...(admission !== undefined ? { admission } : {}), ...(boundary !== undefined ? { boundary } : {}),
      events: {
        ...this.events,
        refusedBeyond: (envId, reason) => {
          this.refusedBeyond.push({ node: id, id: toHex(envId), reason })
          this.events.refusedBeyond?.(envId, reason)
        },
        stored: (env, from) => {
          if (this.record) {
            delivered.push(env)
            this.arrivals.push({ node: id, id: toHex(env.id), at: this.clock.now, from })
          }
          for (const l of this.listeners.get(id) ?? []) l(env)
          this.events.stored?.(env, from)
        },
      },
    }, { nodeId: id, ...this.config, ...config })
    await engine.open()
    this.engines.set(id, engine)
    this.network.nodeChanged(id)
    return engine
  }

  /**
   * A bare endpoint with no engine, on the same link model: what it sends crosses links as
   * an engine's frames do, and the link calls its `receive`, `drain` and `linkUp`. A benchmark's
   * baseline (frames back to back) uses one.
   */
  endpoint (id: PeerId, handler: { receive (from: PeerId, frame: Uint8Array): void, drain (peer: PeerId): void, linkUp? (peer: PeerId, info: LinkInfo): void }): Transport {
    this.engines.set(id, { linkUp () {}, linkDown () {}, ...handler } as unknown as Engine)
    this.network.nodeChanged(id)
    return { send: this.network.transport(id).send, disconnect: () => {} }
  }

  listen (node: PeerId, fn: (env: Envelope) => void): void {
    const list = this.listeners.get(node) ?? []
    list.push(fn)
    this.listeners.set(node, list)
  }

  /** Stops a node (as a crash: its store survives, its timers never fire) and cuts its links. */
  crash (id: PeerId): Store {
    this.engines.get(id)?.close()
    this.#clocks.get(id)?.retire()
    this.engines.delete(id)
    for (const key of [...this.#links.keys()]) {
      const [a, b] = key.split('|')
      if (a === id || b === id) this.cut(a, b)
    }
    this.network.nodeChanged(id)
    return this.#storeOf.get(id) as Store
  }

  /** Links two nodes (up after the handshake, two round trips); see `ConnectOptions`. */
  connect (a: PeerId, b: PeerId, opts: ConnectOptions = {}): void {
    const link = this.network.link(a, b) ?? this.network.addLink(a, b)
    link.tamper = undefined
    link.untold = opts.untold === true
    link.redialMs = opts.redial === false ? Infinity : defaultRedialMs
    this.#links.set(linkKey(a, b), link)
    const state: LinkState = { up: true, bandwidthBitsPerSecond: opts.bandwidthBps ?? Infinity, latencyMs: opts.latencyMs ?? 1, loss: 0, jitterMs: 0, duplicate: 0, reorder: 0 }
    this.network.setState(a, b, state)
    this.network.setState(b, a, state)
  }

  /** Takes a link down for good (frames in flight are lost), until `connect` again. */
  cut (a: PeerId, b: PeerId): void {
    if (!this.#links.delete(linkKey(a, b))) return
    const down: LinkState = { up: false, bandwidthBitsPerSecond: Infinity, latencyMs: 1, loss: 0, jitterMs: 0, duplicate: 0, reorder: 0 }
    this.network.setState(a, b, down)
    this.network.setState(b, a, down)
  }

  /** A link the test connected and has not cut: set its `tamper` hook here. */
  link (a: PeerId, b: PeerId): SimLinkOptions | undefined { return this.#links.get(linkKey(a, b)) }

  /** Runs virtual time forward by `ms`, settling async work between events. */
  async run (ms: number): Promise<void> {
    const s = this.scheduler
    const until = s.now + ms
    await settle()
    while (s.peekTime() <= until) {
      s.step(Infinity)
      await settle()
    }
    s.now = until
    await settle()
  }

  /** Signs a message envelope by `author` and submits it at `node`. */
  async post (node: PeerId, author: { publicKey: Uint8Array, privateKey: Uint8Array }, seq: number, overrides: Partial<EnvelopeFields> = {}): Promise<Envelope> {
    const engine = this.engines.get(node) as Engine
    const env = signEnvelope(crypto, {
      kind: Kind.message, precedence: Precedence.routine, channel: new Uint8Array(8).fill(9), author: authorRef(author.publicKey),
      seq, hlc: engine.stamp(), ttlSeconds: 3600, epoch: 1, deps: [], body: new Uint8Array(100).fill(seq % 256), ...overrides,
    }, author.privateKey)
    await engine.submit(env.bytes)
    return env
  }

  ids (node: PeerId): string[] {
    return [...(this.engines.get(node)?.probe.catalog.keys() ?? [])].map(k => toHex(idFromKey(k))).sort()
  }
}

/**
 * Replaces an engine's hello-only peers (ids `clock-1`…) with one per offset: each links up
 * with `latencyMs` and says hello with its clock reading `nowMs + offset − latency` as sent,
 * so the engine sees it `offset` ms ahead once the latency is counted. The way to give an
 * engine peers with given clocks (a link's offset is derived, never written).
 */
export function clockPeers (engine: Engine, nowMs: number, offsetsMs: number[], latencyMs = 0): string[] {
  for (const id of [...engine.probe.links.keys()]) if (id.startsWith('clock-')) engine.linkDown(id)
  return offsetsMs.map((offset, i) => {
    const id = `clock-${i + 1}`
    engine.linkUp(id, { latencyMs })
    engine.receive(id, encodeFrame({ type: FrameType.hello, versionMin: linkVersion, versionMax: linkVersion, frameBytesMax: 65_536, nowMs: Math.round(nowMs + offset - latencyMs) }))
    return id
  })
}
