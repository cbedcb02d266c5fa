/**
 * The app's line to its relay, kept up: connects, and when the connection drops tries
 * again (quickly at first, then every 10 s) until it is back. It knows whether the app is
 * online, offline and since when, or refused for good: a revoked device (close 1008
 * "revoked") or a key the relay does not let in (ERR_AUTH) stops trying and says why,
 * instead of knocking every few seconds. Whoever uses it hears `online(api)` for each new
 * connection and `changed()` for every change of state.
 *
 * @example
 * const link = new RelayLink({ url, open: url => ApiConnection.open(url, opts), nowMs: Date.now, online: api => sync(api), changed: render })
 * link.start()
 */
import { isDdilError } from '../../protocol/errors.ts'
import { wireCodeOf } from '../../node/api/errors.ts'
import type { ApiConnection } from './api.ts'
import { reconnectDelaysMs } from './limits.ts'

export type LinkState =
  | { state: 'connecting', sinceMs: number }
  | { state: 'online', sinceMs: number, nodeId: string }
  | { state: 'offline', sinceMs: number, reason: string }
  | { state: 'refused', sinceMs: number, reason: string }

export interface LinkDeps {
  url: string
  open: (url: string) => Promise<ApiConnection>
  nowMs: () => number
  online: (api: ApiConnection) => void
  changed: () => void
}

/** Close code the relay uses when it ends a revoked device's sessions (with reason "revoked"). */
const closePolicy = 1008

export class RelayLink {
  readonly #d: LinkDeps
  #state: LinkState
  #api: ApiConnection | undefined
  #attempt = 0
  #timer: ReturnType<typeof setTimeout> | undefined
  #stopped = false

  constructor (deps: LinkDeps) {
    this.#d = deps
    this.#state = { state: 'connecting', sinceMs: deps.nowMs() }
  }

  get state (): LinkState { return this.#state }
  get api (): ApiConnection | undefined { return this.#api?.open === true ? this.#api : undefined }

  /** Starts connecting; `first` is a connection already open (the one enrolment used). */
  start (first?: ApiConnection): void {
    if (first !== undefined) this.#adopt(first)
    else void this.#connect()
  }

  stop (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    this.#api?.close()
  }

  /** Try now instead of waiting out the back-off (the user pressed "retry", or the browser came online). */
  retry (): void {
    if (this.#stopped || this.#state.state === 'online' || this.#state.state === 'refused') return
    clearTimeout(this.#timer)
    this.#attempt = 0
    void this.#connect()
  }

  #set (s: LinkState): void {
    this.#state = s
    this.#d.changed()
  }

  async #connect (): Promise<void> {
    if (this.#stopped) return
    try {
      this.#adopt(await this.#d.open(this.#d.url))
    } catch (e) {
      if (isDdilError(e) && wireCodeOf(e) === 'ERR_AUTH') {
        this.#set({ state: 'refused', sinceMs: this.#d.nowMs(), reason: 'This relay does not let this device in: its key was revoked, or it was enrolled on another relay. Ask the operator for a new enrolment code.' })
        return
      }
      this.#down((e as Error).message)
    }
  }

  #adopt (api: ApiConnection): void {
    if (this.#stopped) { api.close(); return }
    this.#api = api
    this.#attempt = 0
    this.#set({ state: 'online', sinceMs: this.#d.nowMs(), nodeId: api.nodeId })
    void api.closed.then(({ code, reason }) => {
      if (this.#api !== api) return
      this.#api = undefined
      if (code === closePolicy && reason === 'revoked') {
        this.#set({ state: 'refused', sinceMs: this.#d.nowMs(), reason: 'The operator revoked this device: it can no longer reach the relay. Messages on it stay readable here.' })
        return
      }
      this.#down(`the connection ended (${code}${reason === '' ? '' : ` ${reason}`})`)
    })
    this.#d.online(api)
  }

  /** Offline: keeps the time it first went offline until it is back, and tries again later. */
  #down (reason: string): void {
    if (this.#stopped) return
    const sinceMs = this.#state.state === 'offline' ? this.#state.sinceMs : this.#d.nowMs()
    this.#set({ state: 'offline', sinceMs, reason })
    const delay = reconnectDelaysMs[Math.min(this.#attempt, reconnectDelaysMs.length - 1)]
    this.#attempt++
    this.#timer = setTimeout(() => { void this.#connect() }, delay)
  }
}
