/**
 * One connection to the relay's client API from the browser (docs/CLIENT-API.md), over
 * the page's own origin: `ws(s)://<host>/api`. The codec is node/api/wire.ts itself (pure),
 * so the app and the relay read one grammar. `open` does the handshake: it answers the
 * challenge (refusing a version it does not speak), first spends an enrolment code when
 * given one, then authenticates with the user's key. Requests are promises matched by rid;
 * pushes (envelopes, message statuses) go to the handlers. A refused request rejects with
 * the DdilError of its wire code; a broken conversation closes the connection.
 *
 * @example
 * const api = await ApiConnection.open(apiUrl(location), { crypto, user, handlers })
 * const { id } = await api.submit(envelopeBytes)
 * const page = await api.filePage(channel, fileId)       // a file's pieces (#23): { pieces, more, after }
 * api.closed.then(({ code, reason }) => showOffline(code, reason))
 */
import { ProtocolError, type DdilError } from '../../protocol/errors.ts'
import type { Hlc } from '../../protocol/hlc.ts'
import type { Crypto, KeyPair } from '../../protocol/ports.ts'
import { signClientAuth } from '../../node/api/auth.ts'
import { errorFromWire } from '../../node/api/errors.ts'
import type { MessageStatus } from '../../node/api/facade.ts'
import { clientApiVersion, decodeServerMessage, encodeClientMessage, type ClientMessage, type ServerMessage } from '../../node/api/wire.ts'
import { connectTimeoutMs, requestTimeoutMs } from './limits.ts'

export interface ApiHandlers {
  envelope (channel: Uint8Array, id: Uint8Array, bytes: Uint8Array): void
  status (id: Uint8Array, status: MessageStatus): void
}

export interface Enrolment { code: string, name: string, xPublicKey: Uint8Array }

export interface OpenOptions {
  crypto: Crypto
  user: KeyPair
  /** Pushes before any subscription are none; a caller without handlers yet attaches them later. */
  handlers?: ApiHandlers
  /** Spend this enrolment code for the user's key before authenticating. */
  enrol?: Enrolment
  timeoutMs?: number
}

type Reply = Exclude<ServerMessage, { type: 'challenge' | 'envelope' | 'status' }>
type Without<T> = T extends unknown ? Omit<T, 'rid'> : never
type Request = Without<ClientMessage>

const ignoring: ApiHandlers = { envelope () {}, status () {} }

/** The API's URL for a page served by the relay: same host and port, `/api`, wss under https. */
export function apiUrl (loc: { protocol: string, host: string }): string {
  return `${loc.protocol === 'https:' ? 'wss' : 'ws'}://${loc.host}/api`
}

interface Pending { expect: string, resolve: (m: Reply) => void, reject: (e: DdilError) => void, timer: ReturnType<typeof setTimeout> }

export class ApiConnection {
  readonly nodeId: string
  /** Settles when the connection ends. */
  readonly closed: Promise<{ code: number, reason: string }>
  readonly #ws: WebSocket
  #handlers: ApiHandlers
  readonly #pending = new Map<number, Pending>()
  #nextRid = 1
  #failure: DdilError | undefined

  private constructor (ws: WebSocket, nodeId: string, handlers: ApiHandlers, nextRid: number) {
    this.#ws = ws
    this.nodeId = nodeId
    this.#handlers = handlers
    this.#nextRid = nextRid
    this.closed = new Promise(resolve => {
      ws.addEventListener('close', ev => {
        this.#rejectAll(this.#failure ?? new ProtocolError(`the relay closed the connection (${ev.code}${ev.reason === '' ? '' : ` ${ev.reason}`})`))
        resolve({ code: ev.code, reason: ev.reason })
      })
    })
    ws.addEventListener('message', ev => { this.#receive(ev.data) })
  }

  static async open (url: string, o: OpenOptions): Promise<ApiConnection> {
    const ws = new WebSocket(url)
    const timeoutMs = o.timeoutMs ?? connectTimeoutMs
    try {
      return await new Promise<ApiConnection>((resolve, reject) => {
        let nodeId: string | undefined
        let step: 'challenge' | 'enrolled' | 'authed' = 'challenge'
        const timer = setTimeout(() => { reject(new ProtocolError(`the relay did not answer within ${Math.round(timeoutMs / 1000)} s`)) }, timeoutMs)
        const fail = (e: DdilError): void => { clearTimeout(timer); ws.removeEventListener('message', onMessage); reject(e) }
        const auth = (nonce: Uint8Array, id: string): void => {
          step = 'authed'
          ws.send(encodeClientMessage({ type: 'auth', rid: 0, publicKey: o.user.publicKey, signature: signClientAuth(o.crypto, o.user.privateKey, nonce, id) }))
        }
        let nonce: Uint8Array = new Uint8Array()
        const onMessage = (ev: MessageEvent): void => {
          try {
            if (typeof ev.data !== 'string') throw new ProtocolError('the relay sent a binary frame')
            const msg = decodeServerMessage(ev.data)
            if (msg.type === 'error') { fail(errorFromWire(msg.code, msg.message)); return }
            if (step === 'challenge') {
              if (msg.type !== 'challenge') throw new ProtocolError(`expected a challenge, the relay sent ${msg.type}`)
              if (msg.v !== clientApiVersion) throw new ProtocolError(`the relay speaks client API v${msg.v} and this app v${clientApiVersion}: reload the page to get the relay's own app`)
              nodeId = msg.nodeId
              nonce = msg.nonce
              if (o.enrol === undefined) { auth(nonce, nodeId); return }
              step = 'enrolled'
              ws.send(encodeClientMessage({ type: 'enrol', rid: 0, code: o.enrol.code, publicKey: o.user.publicKey, xPublicKey: o.enrol.xPublicKey, name: o.enrol.name }))
              return
            }
            if (step === 'enrolled') {
              if (msg.type !== 'enrolled') throw new ProtocolError(`expected enrolled, the relay sent ${msg.type}`)
              auth(nonce, nodeId as string)
              return
            }
            if (msg.type !== 'authed') throw new ProtocolError(`expected authed, the relay sent ${msg.type}`)
            clearTimeout(timer)
            ws.removeEventListener('message', onMessage)
            ws.removeEventListener('close', onClose)
            resolve(new ApiConnection(ws, nodeId as string, o.handlers ?? ignoring, 1))
          } catch (e) {
            fail(e as DdilError)
          }
        }
        const onClose = (ev: CloseEvent): void => { fail(new ProtocolError(`cannot reach the relay (${ev.code}${ev.reason === '' ? '' : ` ${ev.reason}`})`)) }
        ws.addEventListener('message', onMessage)
        ws.addEventListener('close', onClose)
      })
    } catch (e) {
      ws.close()
      throw e
    }
  }

  /** Who hears pushes from now on (the session takes over enrolment's connection). */
  attach (handlers: ApiHandlers): void { this.#handlers = handlers }

  get open (): boolean { return this.#failure === undefined && this.#ws.readyState === WebSocket.OPEN }

  async submit (envelope: Uint8Array): Promise<{ id: Uint8Array }> {
    return { id: (await this.#request({ type: 'submit', envelope }, 'submitted')).id }
  }

  /** Up to `submitBatchEnvelopesMax` envelopes in one request (a file's chunks); resolves once the relay holds all of them durably. */
  async submitBatch (envelopes: Uint8Array[]): Promise<void> {
    await this.#request({ type: 'submitBatch', envelopes: envelopes.map(envelope => ({ envelope })) }, 'submittedBatch')
  }

  /**
   * One page of a file's pieces held by the relay (#23), named by its manifest's id: ask again
   * with the reply's `after` while `more` is true.
   */
  async filePage (channel: Uint8Array, id: Uint8Array, after?: Uint8Array): Promise<{ pieces: Uint8Array[], more: boolean, after?: Uint8Array }> {
    const page = await this.#request({ type: 'filePage', channel, id, ...(after === undefined ? {} : { after }) }, 'filePieces')
    return { pieces: page.pieces.map(p => p.envelope), more: page.more === 1 && page.after !== undefined, ...(page.after === undefined ? {} : { after: page.after }) }
  }

  async subscribe (channel: Uint8Array, backlog: number): Promise<number> {
    return (await this.#request({ type: 'subscribe', channel, backlog }, 'subscribed')).backlog
  }

  async unsubscribe (channel: Uint8Array): Promise<void> {
    await this.#request({ type: 'unsubscribe', channel }, 'unsubscribed')
  }

  async stamp (): Promise<Hlc> {
    const r = await this.#request({ type: 'stamp' }, 'stamped')
    return { ms: r.ms, c: r.c }
  }

  async status (): Promise<Record<string, unknown>> {
    return (await this.#request({ type: 'status' }, 'nodeStatus')).status
  }

  async channels (): Promise<Extract<Reply, { type: 'channelList' }>['channels']> {
    return (await this.#request({ type: 'channels' }, 'channelList')).channels
  }

  close (): void {
    if (this.#ws.readyState === WebSocket.OPEN || this.#ws.readyState === WebSocket.CONNECTING) this.#ws.close(1000, 'client done')
  }

  #request<T extends Reply['type']> (req: Request, expect: T): Promise<Extract<Reply, { type: T }>> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure)
    if (this.#ws.readyState !== WebSocket.OPEN) return Promise.reject(new ProtocolError('not connected to the relay'))
    const rid = this.#nextRid++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(rid)
        reject(new ProtocolError(`the relay did not answer ${req.type} within ${requestTimeoutMs / 1000} s`))
      }, requestTimeoutMs)
      this.#pending.set(rid, { expect, resolve: resolve as (m: Reply) => void, reject, timer })
      this.#ws.send(encodeClientMessage({ ...req, rid } as ClientMessage))
    })
  }

  #receive (data: unknown): void {
    let msg: ServerMessage
    try {
      if (typeof data !== 'string') throw new ProtocolError('the relay sent a binary frame')
      msg = decodeServerMessage(data)
    } catch (e) {
      this.#breakOff(e as DdilError)
      return
    }
    if (msg.type === 'envelope') { this.#handlers.envelope(msg.channel, msg.id, msg.envelope); return }
    if (msg.type === 'status') { const { type, id, ...status } = msg; this.#handlers.status(id, status); return }
    if (msg.type === 'challenge') { this.#breakOff(new ProtocolError('the relay sent a second challenge')); return }
    if (msg.type === 'error' && msg.rid === null) { this.#breakOff(errorFromWire(msg.code, msg.message)); return }
    const pending = typeof msg.rid === 'number' ? this.#pending.get(msg.rid) : undefined
    if (pending === undefined) { this.#breakOff(new ProtocolError(`the relay replied ${msg.type} to a request never made`)); return }
    this.#pending.delete(msg.rid as number)
    clearTimeout(pending.timer)
    if (msg.type === 'error') pending.reject(errorFromWire(msg.code, msg.message))
    else if (msg.type !== pending.expect) pending.reject(new ProtocolError(`expected ${pending.expect}, the relay replied ${msg.type}`))
    else pending.resolve(msg)
  }

  /** A conversation that broke its grammar ends: every pending request fails with the cause. */
  #breakOff (e: DdilError): void {
    this.#failure ??= e
    this.#rejectAll(e)
    this.#ws.close(1002, 'protocol error')
  }

  #rejectAll (e: DdilError): void {
    for (const p of this.#pending.values()) { clearTimeout(p.timer); p.reject(e) }
    this.#pending.clear()
  }
}
