/**
 * Keeps the host connected to its static peers: dials each at start, and when
 * one drops (or a dial fails) dials it again after a delay that starts at
 * `delayMsMin`, grows by `backoffFactor` per failure up to `delayMsMax`, with a
 * little jitter. Unlike libp2p's own reconnect queue it never gives up: a relay
 * must find its peer again after a partition of any length. A peer the engine
 * disconnected is not redialled before its backoff ends (backoff.ts).
 *
 * A peer connected within `recentForMs` (a link just cut for silence, #26) is redialled
 * every `recentDelayMs` instead, without backoff, while it cannot be reached (a dial that
 * reaches it and then fails, a refusal, backs off as before); and a dial whose TCP connection is not
 * up within `connectWaitMs` is abandoned and started afresh rather than left to the
 * kernel's SYN backoff (1 s, 3 s, 7 s…): the link is back within about a second of
 * packets flowing again.
 *
 * @example
 * const redialer = startRedialer(host, [{ peer, addrs }], { delayMsMin: 1000, delayMsMax: 60_000, backoffFactor: 2, jitterFraction: 0.2,
 *   recentForMs: 120_000, recentDelayMs: 500, connectWaitMs: 2000, dialTimeoutMs: 10_000 })
 * // host 'stop' cancels every pending redial
 */
import type { Libp2p, PeerId as Libp2pPeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Logger } from '../../protocol/ports.ts'

export interface StaticPeer {
  peer: Libp2pPeerId
  addrs: Multiaddr[]
}

export interface RedialOptions {
  delayMsMin: number
  delayMsMax: number
  backoffFactor: number
  jitterFraction: number
  /** A peer connected within this long, ms, is redialled every `recentDelayMs`, without backoff. */
  recentForMs: number
  recentDelayMs: number
  /** A dial whose TCP (or WebSocket) connection is not up within this, ms, is abandoned for a fresh one. */
  connectWaitMs: number
  /** A whole dial, handshakes included, gives up after this, ms. */
  dialTimeoutMs: number
  /** Monotonic ms (default performance.now). */
  nowMs?: () => number
  /** How long a peer the engine disconnected is still kept away, ms. */
  backoff?: { remainingMs (peer: string): number }
  logger?: Logger
}

interface PeerState {
  target: StaticPeer
  delayMs: number
  timer?: ReturnType<typeof setTimeout>
  dialling: boolean
  /** When the peer was last seen connected (connect or disconnect), ms; -Infinity: never. */
  aliveAtMs: number
  /** The last dial reached the peer and failed after (a handshake, a refusal): it is back off as before. */
  reachedAndFailed: boolean
}

export interface Redialer {
  stop (): void
}

export function startRedialer (host: Libp2p, targets: readonly StaticPeer[], options: RedialOptions): Redialer {
  const states = new Map<string, PeerState>()
  for (const target of targets) states.set(target.peer.toString(), { target, delayMs: options.delayMsMin, dialling: false, aliveAtMs: Number.NEGATIVE_INFINITY, reachedAndFailed: false })
  let stopped = false
  const nowMs = options.nowMs ?? (() => performance.now())
  /** Redial quickly: connected lately, and not refused since (a peer that refuses us would take a handshake every half second). */
  const quick = (state: PeerState): boolean => nowMs() - state.aliveAtMs < options.recentForMs && !state.reachedAndFailed

  const running = (): boolean => !stopped && host.status === 'started'

  const awayMs = (state: PeerState): number => options.backoff?.remainingMs(state.target.peer.toString()) ?? 0

  const schedule = (state: PeerState): void => {
    if (!running() || state.timer !== undefined || state.dialling) return
    const spread = 1 + options.jitterFraction * (2 * Math.random() - 1)
    const delayMs = quick(state) ? Math.min(options.recentDelayMs, state.delayMs) : state.delayMs
    state.timer = setTimeout(() => { state.timer = undefined; dial(state) }, Math.max(Math.round(delayMs * spread), awayMs(state)))
  }

  const dial = (state: PeerState): void => {
    if (!running() || state.dialling || host.getConnections(state.target.peer).length > 0) return
    if (awayMs(state) > 0) { schedule(state); return }
    state.dialling = true
    // Abandoned unless the transport connected (the upgrader's first step) within connectWaitMs.
    const abandon = new AbortController()
    const connectWait = setTimeout(() => { abandon.abort(new Error(`no connection within ${options.connectWaitMs} ms`)) }, options.connectWaitMs)
    const signal = AbortSignal.any([abandon.signal, AbortSignal.timeout(options.dialTimeoutMs)])
    let reached = false
    const onProgress = (evt: { type: string }): void => { if (evt.type.startsWith('upgrader:')) { reached = true; clearTimeout(connectWait) } }
    host.dial(state.target.addrs, { signal, onProgress }).then(() => {
      clearTimeout(connectWait)
      state.dialling = false
      state.delayMs = options.delayMsMin
    }, (e: unknown) => {
      clearTimeout(connectWait)
      state.dialling = false
      options.logger?.debug({ peer: state.target.peer.toString(), delayMs: state.delayMs, err: (e as Error).message }, 'static peer dial failed')
      state.reachedAndFailed = reached
      if (!quick(state)) state.delayMs = Math.min(options.delayMsMax, state.delayMs * options.backoffFactor)
      schedule(state)
    })
  }

  const onDisconnect = (evt: CustomEvent<Libp2pPeerId>): void => {
    const state = states.get(evt.detail.toString())
    if (state === undefined) return
    state.aliveAtMs = nowMs()
    state.reachedAndFailed = false
    schedule(state)
  }
  const onConnect = (evt: CustomEvent<Libp2pPeerId>): void => {
    const state = states.get(evt.detail.toString())
    if (state === undefined) return
    state.delayMs = options.delayMsMin
    state.aliveAtMs = nowMs()
    clearTimeout(state.timer)
    state.timer = undefined
  }
  const onStart = (): void => { for (const state of states.values()) dial(state) }
  const stop = (): void => {
    stopped = true
    for (const state of states.values()) { clearTimeout(state.timer); state.timer = undefined }
    host.removeEventListener('peer:disconnect', onDisconnect)
    host.removeEventListener('peer:connect', onConnect)
    host.removeEventListener('start', onStart)
    host.removeEventListener('stop', stop)
  }

  host.addEventListener('peer:disconnect', onDisconnect)
  host.addEventListener('peer:connect', onConnect)
  host.addEventListener('start', onStart)
  host.addEventListener('stop', stop)
  if (host.status === 'started') onStart()
  return { stop }
}
