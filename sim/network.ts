/**
 * Simulated links: the `Transport` each engine sends through, and the host side that
 * tells engines when links come and go. Per direction, one frame is on the wire at a
 * time: `send` starts serialising (size·8/bandwidth) and returns true, or returns
 * false while the wire is busy and calls `drain` when it frees, so queueing happens
 * in the engine's precedence queues (a flash frame never waits behind routine bytes
 * that have not started). After serialisation a frame propagates for `latency` plus
 * up to `jitter` (jitter delays, it never reorders: the link stands in for a stream).
 *
 * Faults, per frame and direction, each drawn from the direction's own seeded stream:
 * - loss: the attempt is lost and the stream retransmits it after a timeout (doubling
 *   per retry), so loss costs bandwidth and latency, never a frame, as on TCP/QUIC;
 * - clog (the timeline's one-way down): frames vanish silently, the sender never knows;
 * - duplicate: a delivered frame is delivered a second time;
 * - reorder: a frame is held back and delivered after the next one (or after a short hold).
 * A link is connected while either direction is up and both nodes run; connecting costs
 * a handshake of two round trips; going down loses every frame in flight. A peer an engine
 * disconnects is down at once, the engines hear `linkDown` in the next event (never from
 * inside `disconnect`), and it is redialled after 10 s. As on libp2p, a frame of 0 bytes or
 * over the protocol's `frameBytesMax` is refused with a LimitError (test/transport-acceptance.ts).
 *
 * Tests (test/helpers/net.ts) also set, per link, what scenarios never need: a `tamper`
 * hook that sees (and may replace or drop) each frame as it arrives, links that tell the
 * engines nothing at link-up (`untold`, as libp2p's hosts), and how long a link the engine
 * disconnected stays down (`redialMs`, Infinity: for good). An infinite bandwidth is a
 * wire that frees at once (still one frame at a time).
 *
 * @example
 * const net = new SimNetwork(scheduler, rng.fork('net'), host, observer)
 * net.addLink('hq', 'relay-a'); net.setState('hq', 'relay-a', state); net.setState('relay-a', 'hq', state)
 * engine = createEngine({ transport: net.transport('hq'), … })
 */
import { LimitError } from '../protocol/errors.ts'
import { frameBytesMax, frameBytesMin } from '../protocol/limits.ts'
import type { LinkHandler, LinkInfo, PeerId, Transport } from '../protocol/ports.ts'
import type { Rng } from './rng.ts'
import type { Scheduler } from './scheduler.ts'
import type { LinkState } from './timeline.ts'

/** Round trips a new connection spends before the engines hear of it (TCP + Noise + muxer, roughly). */
const handshakeRoundTrips = 2
/** Smallest retransmission timeout (Linux TCP's floor), ms. */
const rtoMsMin = 200
/** Largest retransmission timeout after repeated losses, ms. */
const rtoMsMax = 60_000
/** How long a frame picked for reordering waits for a successor before it is released anyway, ms. */
const reorderHoldMsMin = 10
/** A link the engine asked to drop is redialled after this, ms (node/p2p redials with backoff from 1 s). */
export const redialMs = 10_000
/** Frames are sized to about this much link time, so a slow link is not blocked by one huge frame, ms. */
const frameTargetMs = 1000

export interface NetworkHost {
  /** The running engine of `node`, or undefined while it is down or still opening. */
  handler (node: string): LinkHandler | undefined
}

/** Accounting and trace hooks; all optional. */
export interface NetworkObserver {
  sent? (from: string, to: string, frame: Uint8Array): void
  delivered? (from: string, to: string, frame: Uint8Array, sentAtMs: number): void
  lost? (from: string, to: string, frame: Uint8Array, why: 'down' | 'clog' | 'retransmit'): void
  connected? (a: string, b: string, up: boolean): void
  disconnected? (by: string, peer: string, reason: string): void
}

interface Direction {
  from: string
  to: string
  state: LinkState
  busy: boolean
  wantsDrain: boolean
  lastArrivalMs: number
  held: { frame: Uint8Array, sentAtMs: number } | undefined
  rng: Rng
}

/** What a test may set on a link (the simulator leaves the defaults). */
export interface SimLinkOptions {
  /** Sees each frame as it arrives, before the receiver: returns it, another frame, or null to drop it. */
  tamper: ((from: string, frame: Uint8Array) => Uint8Array | null) | undefined
  /** At link-up, tell the engines only the frame size, as libp2p's hosts do before they measure. */
  untold: boolean
  /** After an engine disconnects its peer, the link redials after this, ms (Infinity: it stays down). */
  redialMs: number
}

interface LinkRuntime extends SimLinkOptions {
  a: string
  b: string
  ab: Direction
  ba: Direction
  connected: boolean
  /** Bumped on every connect and disconnect: events of an older epoch are void. */
  epoch: number
  connecting: boolean
  suspendedUntilMs: number
}

const downState: LinkState = { up: false, bandwidthBitsPerSecond: 1, latencyMs: 0, loss: 0, jitterMs: 0, duplicate: 0, reorder: 0 }

/** What the engine is told about a link when it comes up (`untold`: only what libp2p's hosts tell before measuring). */
export function linkInfoFor (state: LinkState, untold = false): LinkInfo {
  if (untold) return { frameBytesMax }
  if (state.bandwidthBitsPerSecond === Infinity) return { frameBytesMax, latencyMs: state.latencyMs }
  const budget = Math.round(state.bandwidthBitsPerSecond / 8 * frameTargetMs / 1000)
  return {
    frameBytesMax: Math.max(frameBytesMin, Math.min(frameBytesMax, budget)),
    bandwidthBitsPerSecond: state.bandwidthBitsPerSecond,
    latencyMs: state.latencyMs,
  }
}

export class SimNetwork {
  readonly #s: Scheduler
  readonly #rng: Rng
  readonly #host: NetworkHost
  readonly #obs: NetworkObserver
  /** from → to → that direction (two small maps keyed by node ids: no key string built per frame). */
  readonly #dirs = new Map<string, Map<string, { dir: Direction, link: LinkRuntime }>>()
  readonly #byNode = new Map<string, LinkRuntime[]>()
  readonly links: LinkRuntime[] = []

  constructor (scheduler: Scheduler, rng: Rng, host: NetworkHost, observer: NetworkObserver = {}) {
    this.#s = scheduler
    this.#rng = rng
    this.#host = host
    this.#obs = observer
  }

  addLink (a: string, b: string): SimLinkOptions {
    const dir = (from: string, to: string): Direction => ({
      from, to, state: downState, busy: false, wantsDrain: false, lastArrivalMs: 0, held: undefined, rng: this.#rng.fork(`${from}>${to}`),
    })
    const link: LinkRuntime = {
      a, b, ab: dir(a, b), ba: dir(b, a), connected: false, epoch: 0, connecting: false, suspendedUntilMs: 0, tamper: undefined, untold: false, redialMs,
    }
    this.links.push(link)
    for (const [from, to, dir] of [[a, b, link.ab], [b, a, link.ba]] as const) {
      const mine = this.#dirs.get(from) ?? new Map<string, { dir: Direction, link: LinkRuntime }>()
      mine.set(to, { dir, link })
      this.#dirs.set(from, mine)
    }
    for (const n of [a, b]) this.#byNode.set(n, [...(this.#byNode.get(n) ?? []), link])
    return link
  }

  /** The link between `a` and `b` (either order), to set its test options; undefined if never added. */
  link (a: string, b: string): SimLinkOptions | undefined {
    return this.#dirs.get(a)?.get(b)?.link
  }

  /** The transport a node's engine sends through. */
  transport (node: string): Transport {
    return {
      send: (peer, frame) => this.#send(node, peer, frame),
      disconnect: (peer, reason) => this.#engineDisconnect(node, peer, reason),
    }
  }

  /** A timeline change for one direction. */
  setState (from: string, to: string, state: LinkState): void {
    const entry = this.#dirs.get(from)?.get(to)
    if (entry === undefined) return
    entry.dir.state = state
    this.#refresh(entry.link)
  }

  /** A node crashed, or finished starting: re-evaluate its links. */
  nodeChanged (node: string): void {
    for (const link of this.#byNode.get(node) ?? []) this.#refresh(link)
  }

  isConnected (a: string, b: string): boolean {
    return this.#dirs.get(a)?.get(b)?.link.connected ?? false
  }

  #wanted (link: LinkRuntime): boolean {
    return (link.ab.state.up || link.ba.state.up) && this.#s.now >= link.suspendedUntilMs &&
      this.#host.handler(link.a) !== undefined && this.#host.handler(link.b) !== undefined
  }

  #refresh (link: LinkRuntime): void {
    const want = this.#wanted(link)
    if (!want && link.connected) this.#disconnect(link)
    if (!want || link.connected || link.connecting) return
    link.connecting = true
    const epoch = link.epoch
    const state = link.ab.state.up ? link.ab.state : link.ba.state
    this.#s.after(2 * handshakeRoundTrips * state.latencyMs, () => {
      link.connecting = false
      if (link.epoch === epoch && !link.connected && this.#wanted(link)) this.#connect(link)
    })
  }

  #reset (link: LinkRuntime): void {
    link.epoch++
    for (const d of [link.ab, link.ba]) {
      d.busy = false
      d.wantsDrain = false
      d.held = undefined
      d.lastArrivalMs = this.#s.now
    }
  }

  #connect (link: LinkRuntime): void {
    this.#reset(link)
    link.connected = true
    this.#obs.connected?.(link.a, link.b, true)
    const info = linkInfoFor(link.ab.state.up ? link.ab.state : link.ba.state, link.untold)
    this.#host.handler(link.a)?.linkUp(link.b, info)
    if (link.connected) this.#host.handler(link.b)?.linkUp(link.a, info)
  }

  #disconnect (link: LinkRuntime): void {
    this.#drop(link)
    this.#linkDown(link)
  }

  /** Down: nothing more is sent or delivered (the engines are told by the caller). */
  #drop (link: LinkRuntime): void {
    this.#reset(link)
    link.connected = false
    this.#obs.connected?.(link.a, link.b, false)
  }

  #linkDown (link: LinkRuntime): void {
    this.#host.handler(link.a)?.linkDown(link.b)
    this.#host.handler(link.b)?.linkDown(link.a)
  }

  #engineDisconnect (node: string, peer: string, reason: string): void {
    const entry = this.#dirs.get(node)?.get(peer)
    if (entry === undefined || !entry.link.connected) return
    this.#obs.disconnected?.(node, peer, reason)
    const link = entry.link
    link.suspendedUntilMs = this.#s.now + link.redialMs
    // Down at once, but the engines hear of it in an event of its own, as from libp2p:
    // a host never calls the engine from inside its `disconnect`.
    this.#drop(link)
    const epoch = link.epoch
    this.#s.after(0, () => { if (link.epoch === epoch) this.#linkDown(link) })
    if (link.redialMs !== Infinity) this.#s.after(link.redialMs, () => this.#refresh(link))
  }

  #send (from: PeerId, to: PeerId, frame: Uint8Array): boolean {
    const entry = this.#dirs.get(from)?.get(to)
    if (entry === undefined || !entry.link.connected) return false
    // As node/p2p/frame-stream.ts: a frame no link may carry is the caller's bug (the length prefix cannot say 0).
    if (frame.length === 0 || frame.length > frameBytesMax) throw new LimitError(`frame of ${frame.length} bytes is outside 1..${frameBytesMax}`)
    const { dir, link } = entry
    if (dir.busy) { dir.wantsDrain = true; return false }
    dir.busy = true
    this.#obs.sent?.(from, to, frame)
    this.#transmit(dir, link, link.epoch, frame, this.#s.now, 0)
    return true
  }

  #transmit (dir: Direction, link: LinkRuntime, epoch: number, frame: Uint8Array, sentAtMs: number, retries: number): void {
    const serialiseMs = frame.length * 8000 / dir.state.bandwidthBitsPerSecond
    this.#s.after(serialiseMs, () => {
      if (link.epoch !== epoch) return
      const st = dir.state
      if (st.up && st.loss > 0 && dir.rng.float() < st.loss) {
        this.#obs.lost?.(dir.from, dir.to, frame, 'retransmit')
        const rto = Math.min(rtoMsMax, Math.max(rtoMsMin, 4 * st.latencyMs) * 2 ** retries)
        this.#s.after(rto, () => { if (link.epoch === epoch) this.#transmit(dir, link, epoch, frame, sentAtMs, retries + 1) })
        return
      }
      if (!st.up) this.#obs.lost?.(dir.from, dir.to, frame, 'clog')
      else this.#propagate(dir, link, epoch, frame, sentAtMs)
      dir.busy = false
      if (dir.wantsDrain) {
        dir.wantsDrain = false
        this.#host.handler(dir.from)?.drain?.(dir.to)
      }
    })
  }

  #propagate (dir: Direction, link: LinkRuntime, epoch: number, frame: Uint8Array, sentAtMs: number): void {
    const st = dir.state
    const jitter = st.jitterMs > 0 ? dir.rng.float() * st.jitterMs : 0
    const at = Math.max(this.#s.now + st.latencyMs + jitter, dir.lastArrivalMs)
    dir.lastArrivalMs = at
    this.#s.at(at, () => this.#arrive(dir, link, epoch, frame, sentAtMs))
  }

  #arrive (dir: Direction, link: LinkRuntime, epoch: number, sent: Uint8Array, sentAtMs: number): void {
    if (link.epoch !== epoch) { this.#obs.lost?.(dir.from, dir.to, sent, 'down'); return }
    const frame = link.tamper === undefined ? sent : link.tamper(dir.from, sent)
    if (frame === null) return
    const st = dir.state
    if (dir.held === undefined && st.reorder > 0 && dir.rng.float() < st.reorder) {
      const held = { frame, sentAtMs }
      dir.held = held
      this.#s.after(Math.max(reorderHoldMsMin, st.latencyMs), () => {
        if (link.epoch === epoch && dir.held === held) { dir.held = undefined; this.#deliver(dir, frame, sentAtMs) }
      })
      return
    }
    this.#deliver(dir, frame, sentAtMs)
    if (st.duplicate > 0 && dir.rng.float() < st.duplicate && link.epoch === epoch) this.#deliver(dir, frame, sentAtMs)
    const held = dir.held
    if (held !== undefined && link.epoch === epoch) {
      dir.held = undefined
      this.#deliver(dir, held.frame, held.sentAtMs)
    }
  }

  #deliver (dir: Direction, frame: Uint8Array, sentAtMs: number): void {
    const h = this.#host.handler(dir.to)
    if (h === undefined) return
    this.#obs.delivered?.(dir.from, dir.to, frame, sentAtMs)
    h.receive(dir.from, frame)
  }
}
