/**
 * A tiny deterministic network for engine tests: a manual clock, engines on
 * in-memory stores, and links with latency and optional bandwidth (one frame on
 * the wire per direction; `send` returns false while busy, then `drain`).
 * No real timers: `run(ms)` advances virtual time and settles promises between events.
 *
 * @example
 * const net = new TestNet(); const a = await net.node('a'); const b = await net.node('b')
 * net.connect('a', 'b', { latencyMs: 10 }); await net.run(1000)
 */
import { createEngine, type Engine } from '../../protocol/engine/engine.ts'
import type { Authoriser, EngineConfig, EngineEvents } from '../../protocol/engine/types.ts'
import { MemoryStore } from '../../protocol/memory-store.ts'
import type { Clock, Crypto, Logger, PeerId, Store, Transport } from '../../protocol/ports.ts'
import { authorRef, signEnvelope, type EnvelopeFields, type Envelope, Kind, Precedence } from '../../protocol/envelope.ts'
import { toHex } from '../../protocol/bytes.ts'
import { idFromKey } from '../../protocol/engine/catalog.ts'
import { encodeFrame, FrameType, linkVersion } from '../../protocol/frames.ts'
import { crypto } from './fixtures.ts'

export class ManualClock implements Clock {
  now = 1795348800000
  #seq = 0
  readonly #queue: Array<{ at: number, seq: number, fn: () => void, live: boolean }> = []
  /** Whole milliseconds, as the Clock port promises (serialisation delays make `now` fractional). */
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

interface Link { up: boolean, latencyMs: number, bandwidthBps?: number, busyUntil: Map<string, number>, tamper?: (from: string, frame: Uint8Array) => Uint8Array | null }

export class TestNet {
  readonly clock = new ManualClock()
  readonly engines = new Map<PeerId, Engine>()
  /** Each node's store, where it is an in-memory one (most tests). */
  readonly stores = new Map<PeerId, MemoryStore>()
  readonly #storeOf = new Map<PeerId, Store>()
  readonly keys = new Map<string, Uint8Array>()
  readonly delivered = new Map<PeerId, Envelope[]>()
  /** Every store event: which node, which envelope (hex id), when, and from whom. */
  readonly arrivals: Array<{ node: PeerId, id: string, at: number, from: PeerId | 'local' }> = []
  readonly links = new Map<string, Link>()
  readonly disconnects: Array<{ from: PeerId, peer: PeerId, reason: string }> = []
  /** Per-node listeners for newly stored envelopes (clients, channel policies). */
  readonly listeners = new Map<PeerId, Array<(env: Envelope) => void>>()
  readonly config: Partial<EngineConfig>
  readonly events: Partial<EngineEvents>
  /** Whether `delivered` and `arrivals` keep every stored envelope (a million-envelope benchmark turns it off). */
  readonly record: boolean
  /** The engines' crypto port (node:crypto unless a test passes its own). */
  readonly crypto: Crypto

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

  async node (id: PeerId, config: Partial<EngineConfig> = {}, store: Store = new MemoryStore(), authoriser: Authoriser = this.authoriser): Promise<Engine> {
    this.#storeOf.set(id, store)
    if (store instanceof MemoryStore) this.stores.set(id, store)
    const transport: Transport = {
      send: (peer, frame) => this.#send(id, peer, frame),
      disconnect: (peer, reason) => { this.disconnects.push({ from: id, peer, reason }); this.cut(id, peer) },
    }
    const delivered: Envelope[] = this.delivered.get(id) ?? []
    this.delivered.set(id, delivered)
    const engine = createEngine({
      clock: this.clock, crypto: this.crypto, store, transport, logger: silentLogger, authoriser,
      events: {
        ...this.events,
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
    return engine
  }

  /**
   * A bare endpoint with no engine, on the same link model: what it sends crosses links as
   * an engine's frames do, and the link calls its `receive` and `drain`. A benchmark's
   * baseline (frames back to back) uses one.
   */
  endpoint (id: PeerId, handler: { receive (from: PeerId, frame: Uint8Array): void, drain (peer: PeerId): void }): Transport {
    this.engines.set(id, { linkUp () {}, linkDown () {}, ...handler } as unknown as Engine)
    return { send: (peer, frame) => this.#send(id, peer, frame), disconnect: () => {} }
  }

  listen (node: PeerId, fn: (env: Envelope) => void): void {
    const list = this.listeners.get(node) ?? []
    list.push(fn)
    this.listeners.set(node, list)
  }

  /** Stops a node (as a crash: its store survives) and brings its links down. */
  crash (id: PeerId): Store {
    const engine = this.engines.get(id)
    engine?.close()
    for (const key of this.links.keys()) {
      const [a, b] = key.split('|')
      if (a === id || b === id) this.cut(a, b)
    }
    this.engines.delete(id)
    return this.#storeOf.get(id) as Store
  }

  /** Links two nodes; `untold` hides the link's latency and bandwidth from the engines, as libp2p's hosts do at link-up. */
  connect (a: PeerId, b: PeerId, opts: { latencyMs?: number, bandwidthBps?: number, untold?: boolean } = {}): void {
    const key = [a, b].sort().join('|')
    this.links.set(key, { up: true, latencyMs: opts.latencyMs ?? 1, bandwidthBps: opts.bandwidthBps, busyUntil: new Map() })
    const info = opts.untold === true ? {} : { latencyMs: opts.latencyMs ?? 1, bandwidthBitsPerSecond: opts.bandwidthBps }
    this.engines.get(a)?.linkUp(b, info)
    this.engines.get(b)?.linkUp(a, info)
  }

  cut (a: PeerId, b: PeerId): void {
    const key = [a, b].sort().join('|')
    const link = this.links.get(key)
    if (link === undefined || !link.up) return
    link.up = false
    this.links.delete(key)
    this.engines.get(a)?.linkDown(b)
    this.engines.get(b)?.linkDown(a)
  }

  link (a: PeerId, b: PeerId): Link | undefined { return this.links.get([a, b].sort().join('|')) }

  #send (from: PeerId, to: PeerId, frame: Uint8Array): boolean {
    const link = this.link(from, to)
    if (link === undefined || !link.up) return false
    const now = this.clock.now
    const busy = link.busyUntil.get(from) ?? 0
    if (link.bandwidthBps !== undefined && busy > now) return false
    const serialiseMs = link.bandwidthBps !== undefined ? frame.length * 8000 / link.bandwidthBps : 0
    if (link.bandwidthBps !== undefined) {
      link.busyUntil.set(from, now + serialiseMs)
      this.clock.schedule(serialiseMs, () => { if (link.up) this.engines.get(from)?.drain(to) })
    }
    const copy = frame.slice()
    this.clock.schedule(serialiseMs + link.latencyMs, () => {
      if (!link.up) return
      const out = link.tamper !== undefined ? link.tamper(from, copy) : copy
      if (out !== null) this.engines.get(to)?.receive(from, out)
    })
    return true
  }

  /** Runs virtual time forward by `ms`, settling async work between events. */
  async run (ms: number): Promise<void> {
    const until = this.clock.now + ms
    await settle()
    for (;;) {
      const fn = this.clock.next(until)
      if (fn === undefined) break
      fn()
      await settle()
    }
    this.clock.now = until
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
    return [...(this.engines.get(node)?.catalog.keys() ?? [])].map(k => toHex(idFromKey(k))).sort()
  }
}

/**
 * Replaces an engine's hello-only peers (ids `clock-1`…) with one per offset: each links up
 * with `latencyMs` and says hello with its clock reading `nowMs + offset − latency` as sent,
 * so the engine sees it `offset` ms ahead once the latency is counted. The way to give an
 * engine peers with given clocks (a link's offset is derived, never written).
 */
export function clockPeers (engine: Engine, nowMs: number, offsetsMs: number[], latencyMs = 0): string[] {
  for (const id of [...engine.peers.keys()]) if (id.startsWith('clock-')) engine.linkDown(id)
  return offsetsMs.map((offset, i) => {
    const id = `clock-${i + 1}`
    engine.linkUp(id, { latencyMs })
    engine.receive(id, encodeFrame({ type: FrameType.hello, versionMin: linkVersion, versionMax: linkVersion, frameBytesMax: 65_536, nowMs: Math.round(nowMs + offset - latencyMs) }))
    return id
  })
}
