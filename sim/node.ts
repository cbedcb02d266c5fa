/**
 * One simulated relay: the real engine over a simulated disk, clock and transport,
 * with one local user (an Ed25519 author key derived from the run seed and node id).
 * A crash closes the engine, retires its clock (its timers never fire) and loses the
 * disk batches not yet durable; a restart opens a fresh engine on the same disk.
 * Counters of every incarnation are summed, so a crash does not erase its traffic.
 *
 * @example
 * const node = new SimNode({ id: 'hq', index: 0, … })
 * await node.start()
 * const env = node.sign({ channel, precedence, ttlSeconds, body })
 * if (env !== undefined && await node.submit(env)) acknowledged(env)
 * const pieces = node.signPieces({ channel, precedence, ttlSeconds, bodies: pieceBodies(content) })   // a large post (sim/files.ts)
 * if (pieces !== undefined && await node.submitAll(pieces)) acknowledged(pieces[0])
 * node.crash()
 */
import { createEngine, type Engine } from '../protocol/engine/engine.ts'
import { newCounters, type Authoriser, type Counters, type EngineConfig, type EngineEvents, type BoundaryPolicy, type PeerAdmission } from '../protocol/engine/types.ts'
import { authorRef, Kind, signEnvelope, type Envelope, type Precedence } from '../protocol/envelope.ts'
import type { Crypto, KeyPair, Logger, Transport } from '../protocol/ports.ts'
import { NodeClock, type ClockFault } from './clock.ts'
import type { Scheduler } from './scheduler.ts'
import { type StringPool, SimDisk } from './sim-disk.ts'
import { SimStore, type Wake } from './sim-store.ts'

export interface SimNodeDeps {
  id: string
  index: number
  scheduler: Scheduler
  epochMs: number
  clockFault: ClockFault
  crypto: Crypto
  /** Envelope decoding shared by the fleet (see sharedDecoder); the engine's own otherwise. */
  decode?: (bytes: Uint8Array) => Envelope
  user: KeyPair
  authoriser: Authoriser
  /** Who may link (#29: organisations); absent: everyone. */
  admission?: PeerAdmission
  /** What a gateway lets cross to and from the other organisations (#29); absent: no boundary. */
  boundary?: BoundaryPolicy
  transport: Transport
  logger: Logger
  wake: Wake
  storeWriteMs: number
  /** Key strings shared with the rest of the fleet's disks (see SimDisk). */
  stringPool?: StringPool
  engineConfig: Partial<EngineConfig>
  /** Engine events of the current incarnation (the node filters out a dead one's). */
  events: EngineEvents
  /** Called once a (re)started engine is open and may be linked. */
  onUp: () => void
}

export interface PostSpec {
  channel: Uint8Array
  precedence: Precedence
  ttlSeconds: number
  body: Uint8Array
}

export interface PiecesSpec {
  channel: Uint8Array
  precedence: Precedence
  ttlSeconds: number
  /** Piece bodies, manifest first (sim/files.ts `pieceBodies`). */
  bodies: Uint8Array[]
}

export class SimNode {
  readonly deps: SimNodeDeps
  readonly disk: SimDisk
  readonly totals: Counters = newCounters()
  engine: Engine | undefined
  /** True from the moment the engine is open until it crashes. */
  running = false
  incarnation = 0
  #store: SimStore | undefined
  #clock: NodeClock | undefined
  readonly #seqs = new Map<string, number>()

  constructor (deps: SimNodeDeps) {
    this.deps = deps
    this.disk = new SimDisk(deps.stringPool)
  }

  get id (): string { return this.deps.id }

  /** Opens a fresh engine on the surviving disk; resolves once it is running and linked. */
  async start (): Promise<void> {
    const d = this.deps
    const incarnation = ++this.incarnation
    const live = (): boolean => this.incarnation === incarnation && this.running
    this.#store = new SimStore(this.disk, d.scheduler, d.storeWriteMs, d.wake)
    this.#clock = new NodeClock(d.scheduler, d.epochMs, d.clockFault)
    const events = wrapEvents(d.events, live)
    const engine = createEngine({
      clock: this.#clock, crypto: d.crypto, decode: d.decode, store: this.#store, transport: d.transport, logger: d.logger, authoriser: d.authoriser, events,
      ...(d.admission !== undefined ? { admission: d.admission } : {}),
      ...(d.boundary !== undefined ? { boundary: d.boundary } : {}),
    }, { ...d.engineConfig, nodeId: d.id })
    d.wake.pending = true
    await engine.open()
    if (this.incarnation !== incarnation) return // crashed while opening
    this.engine = engine
    this.running = true
    d.onUp()
  }

  crash (): void {
    const engine = this.engine
    this.running = false
    this.engine = undefined
    this.incarnation++
    this.#clock?.retire()
    this.#store?.crash()
    if (engine !== undefined) {
      engine.close()
      addCounters(this.totals, engine.counters)
    }
  }

  /** Counters of all incarnations so far, including the running one. */
  counters (): Counters {
    const sum = newCounters()
    addCounters(sum, this.totals)
    if (this.engine !== undefined) addCounters(sum, this.engine.counters)
    return sum
  }

  /** Signs a message as this node's user, with the engine's HLC stamp and the next sequence of its stream. Undefined while down. */
  sign (spec: PostSpec): Envelope | undefined {
    const engine = this.engine
    if (engine === undefined) return undefined // the user's relay is down: nothing to post through
    const seq = this.#reserve(spec.channel, 1)
    return signEnvelope(this.deps.crypto, {
      kind: Kind.message, precedence: spec.precedence, channel: spec.channel, author: authorRef(this.deps.user.publicKey),
      seq, hlc: engine.stamp(), ttlSeconds: spec.ttlSeconds, epoch: 1, deps: [], body: spec.body,
    }, this.deps.user.privateKey)
  }

  /**
   * Signs a large post's pieces as `sealPieces` does (protocol/files/send.ts): kind file,
   * consecutive sequence numbers from the manifest's, one stamp and time to live for all,
   * and the manifest's id as every chunk's one dependency. Undefined while down.
   */
  signPieces (spec: PiecesSpec): Envelope[] | undefined {
    const engine = this.engine
    if (engine === undefined) return undefined
    const firstSeq = this.#reserve(spec.channel, spec.bodies.length)
    const hlc = engine.stamp()
    const author = authorRef(this.deps.user.publicKey)
    const out: Envelope[] = []
    for (const [index, body] of spec.bodies.entries()) {
      out.push(signEnvelope(this.deps.crypto, {
        kind: Kind.file, precedence: spec.precedence, channel: spec.channel, author, seq: firstSeq + index,
        hlc, ttlSeconds: spec.ttlSeconds, epoch: 1, deps: index === 0 ? [] : [out[0].id], body,
      }, this.deps.user.privateKey))
    }
    return out
  }

  /** Reserves `count` consecutive sequence numbers of the stream `channel`; returns the first. */
  #reserve (channel: Uint8Array, count: number): number {
    const streamKey = String.fromCharCode.apply(null, channel as unknown as number[])
    const first = (this.#seqs.get(streamKey) ?? 0) + 1
    this.#seqs.set(streamKey, first + count - 1)
    return first
  }

  /** Submits a signed envelope; resolves true once the node holds it durably, false if it crashed first. */
  async submit (env: Envelope): Promise<boolean> {
    const engine = this.engine
    if (engine === undefined) return false
    const incarnation = this.incarnation
    this.deps.wake.pending = true
    await engine.submit(env.bytes)
    return this.incarnation === incarnation
  }

  /** Submits envelopes one after the other, as a client submits a file's pieces; true once all are durable, false if it crashed first. */
  async submitAll (envs: readonly Envelope[]): Promise<boolean> {
    for (const env of envs) if (!await this.submit(env)) return false
    return true
  }
}

/** Forwards events only while the incarnation that emits them is alive. */
function wrapEvents (events: EngineEvents, live: () => boolean): EngineEvents {
  const out: EngineEvents = {}
  for (const [name, fn] of Object.entries(events) as Array<[keyof EngineEvents, (...args: unknown[]) => void]>) {
    (out as Record<string, unknown>)[name] = (...args: unknown[]) => { if (live()) fn(...args) }
  }
  return out
}

function addCounters (into: Counters, from: Counters): void {
  for (const key of Object.keys(into) as Array<keyof Counters>) {
    const a = into[key]
    const b = from[key]
    if (Array.isArray(a) && Array.isArray(b)) b.forEach((v, i) => { a[i] += v })
    else (into as unknown as Record<string, number>)[key] = (a as number) + (b as number)
  }
}
