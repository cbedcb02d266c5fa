/**
 * Link liveness (#26): a link is judged by what arrives on it, not by one ping's round trip.
 * A loaded link keeps delivering bytes; a link that silently stopped carrying packets (a
 * radio out of range) delivers none. Once nothing has arrived for a third of the link's
 * silence limit it is probed (a yamux ping: one 12-byte frame each way, answered by the remote's
 * muxer); once nothing at all has arrived for the whole limit it is dead, and its connection is
 * cut so that the redialer takes over (redial.ts).
 *
 * The limit is `silenceMsMin`, or `roundTrips` × (round trip + 2 frame times) where that is
 * longer: a probe may wait behind one frame on each side of a declared (paced) link, and the
 * round trip is the largest lately measured (queueing included, so a loaded link's limit grows).
 *
 * `LinkLiveness` is the rule, with time passed in; `LivenessWatch` runs it for a host's links.
 *
 * @example
 * const watch = new LivenessWatch({ limits: defaultLivenessLimits, nowMs: () => performance.now(), onSilent })
 * watch.add(peer, connection, { heardAtMs: () => fs.receivedAtMs, frameMs: 0, rttMs: undefined })
 * watch.remove(peer) // the link went down
 */
import type { Connection } from '@libp2p/interface'
import type { Logger, PeerId } from '../../protocol/ports.ts'
import * as limits from './limits.ts'

export interface LivenessLimits {
  /** A link is never declared dead sooner than this after the last thing arrived on it, ms. */
  silenceMsMin: number
  /** ...nor sooner than this many of its round trips (each plus two frame times). */
  roundTrips: number
  /** How often every link is looked at, ms. */
  checkEveryMs: number
}

export const defaultLivenessLimits: Readonly<LivenessLimits> = {
  silenceMsMin: limits.linkSilenceMsMin,
  roundTrips: limits.linkSilenceRoundTrips,
  checkEveryMs: limits.linkLivenessCheckEveryMs,
}

export type Verdict = 'ok' | 'probe' | 'dead'

/** One link's rule: what arrived when, how long it may stay quiet. */
export class LinkLiveness {
  readonly #limits: LivenessLimits
  readonly #frameMs: number
  #heardAtMs: number
  #rttMs: number

  /** `frameMs`: one frame's time on the wire at the declared rate (0 when undeclared); `rttMs`: a round trip already known. */
  constructor (limits: LivenessLimits, nowMs: number, frameMs: number, rttMs = 0) {
    this.#limits = limits
    this.#frameMs = frameMs
    this.#heardAtMs = nowMs
    this.#rttMs = Math.max(0, rttMs)
  }

  /** Something arrived at `nowMs`. */
  heard (nowMs: number): void { if (nowMs > this.#heardAtMs) this.#heardAtMs = nowMs }

  /** A round trip was measured: taken at once when larger, forgotten slowly when smaller (a loaded link's queue comes and goes). */
  measured (rttMs: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return
    this.#rttMs = rttMs >= this.#rttMs ? rttMs : this.#rttMs + (rttMs - this.#rttMs) / 8
  }

  /** How long the link may stay quiet, ms. */
  get silenceMsMax (): number {
    return Math.max(this.#limits.silenceMsMin, this.#limits.roundTrips * (this.#rttMs + 2 * this.#frameMs))
  }

  quietMs (nowMs: number): number { return Math.max(0, nowMs - this.#heardAtMs) }

  /** 'probe': quiet for a third of the limit, ask; 'dead': quiet for all of it. */
  verdict (nowMs: number): Verdict {
    const quiet = this.quietMs(nowMs)
    const max = this.silenceMsMax
    return quiet >= max ? 'dead' : quiet >= max / 3 ? 'probe' : 'ok'
  }
}

/** What `LivenessWatch.add` needs of a link. */
export interface WatchedLink {
  /** When the link's own stream last received bytes (performance.now() ms; -Infinity: never). */
  heardAtMs: () => number
  frameMs: number
  rttMs: number | undefined
}

export interface LivenessWatchOptions {
  limits?: LivenessLimits
  nowMs?: () => number
  /** The link to `peer` was quiet for `quietMs` (its limit `silenceMsMax`); the watch already forgot it. */
  onSilent: (peer: PeerId, connection: Connection, quietMs: number, silenceMsMax: number) => void
  logger?: Logger
}

/** yamux's ping, on the connection's muxer: not part of libp2p's public `Connection`, so looked up and checked. */
type MuxerPing = (options: { signal: AbortSignal }) => Promise<number>

export function muxerPing (connection: Connection): MuxerPing | undefined {
  const muxer = (connection as unknown as { muxer?: { ping?: unknown } }).muxer
  const ping = muxer?.ping
  return typeof ping === 'function' ? (options) => (ping as MuxerPing).call(muxer, options) : undefined
}

interface Entry { connection: Connection, link: WatchedLink, rule: LinkLiveness, ping: MuxerPing, probing: boolean }

/** Runs `LinkLiveness` for each link on one timer; probes quiet links and reports dead ones. */
export class LivenessWatch {
  readonly #limits: LivenessLimits
  readonly #nowMs: () => number
  readonly #options: LivenessWatchOptions
  readonly #links = new Map<PeerId, Entry>()
  readonly #timer: ReturnType<typeof setInterval>
  #lastCheckMs: number

  constructor (options: LivenessWatchOptions) {
    this.#options = options
    this.#limits = options.limits ?? defaultLivenessLimits
    this.#nowMs = options.nowMs ?? (() => performance.now())
    this.#lastCheckMs = this.#nowMs()
    this.#timer = setInterval(() => { this.#check() }, this.#limits.checkEveryMs)
    this.#timer.unref()
  }

  /** Watch the link to `peer` on `connection`; a connection whose muxer cannot ping is left to libp2p's connection monitor. */
  add (peer: PeerId, connection: Connection, link: WatchedLink): void {
    const ping = muxerPing(connection)
    if (ping === undefined) {
      this.#options.logger?.debug({ peer }, 'link liveness: the connection\'s muxer has no ping; left to the connection monitor')
      return
    }
    const rule = new LinkLiveness(this.#limits, this.#nowMs(), link.frameMs, link.rttMs)
    this.#links.set(peer, { connection, link, rule, ping, probing: false })
  }

  remove (peer: PeerId): void { this.#links.delete(peer) }

  close (): void {
    clearInterval(this.#timer)
    this.#links.clear()
  }

  #check (): void {
    const now = this.#nowMs()
    // Our own event loop was held up: bytes that arrived meanwhile are not read yet. Judge next time.
    const late = now - this.#lastCheckMs > 2 * this.#limits.checkEveryMs
    this.#lastCheckMs = now
    if (late) return
    for (const [peer, entry] of this.#links) {
      entry.rule.heard(entry.link.heardAtMs())
      const rtt = entry.connection.rtt
      if (rtt !== undefined) entry.rule.measured(rtt)
      const verdict = entry.rule.verdict(now)
      if (verdict === 'probe') this.#probe(entry, now)
      // Before cutting, let the poll phase read whatever is waiting in the socket.
      else if (verdict === 'dead') setImmediate(() => { this.#confirmDead(peer, entry) })
    }
  }

  #probe (entry: Entry, now: number): void {
    if (entry.probing) return
    entry.probing = true
    entry.ping({ signal: AbortSignal.timeout(Math.max(1, Math.ceil(entry.rule.silenceMsMax - entry.rule.quietMs(now)))) }).then((rttMs) => {
      entry.rule.heard(this.#nowMs())
      entry.rule.measured(rttMs)
    }, () => { /* unanswered: the verdict decides */ }).finally(() => { entry.probing = false })
  }

  #confirmDead (peer: PeerId, entry: Entry): void {
    if (this.#links.get(peer) !== entry) return
    entry.rule.heard(entry.link.heardAtMs())
    const now = this.#nowMs()
    if (entry.rule.verdict(now) !== 'dead') return
    this.#links.delete(peer)
    this.#options.onSilent(peer, entry.connection, entry.rule.quietMs(now), entry.rule.silenceMsMax)
  }
}
