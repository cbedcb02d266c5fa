/**
 * Client library for the node's client API, used by the `ddil` CLI: connects (enrolling
 * first with a one-time code when asked), answers the challenge with the user's key, then
 * offers submit, subscribe, stamp, status, the channel list and the operator's client
 * management as promises. `error` replies become DdilErrors of the matching class
 * (see `errorFromWire`; `wireCodeOf(e)` gives the exact wire code). Requests go in order, no
 * faster than a share of the node's request rate (`clientPaceShare`), so a busy client is
 * slowed rather than refused with ERR_RATE.
 *
 * @example
 * const client = await connectClient({ url: 'ws://127.0.0.1:7070', user, crypto })
 * const { id } = await client.submit(envelopeBytes)           // resolves once the node holds it durably
 * const sub = await client.subscribe(channel, { backlog: 50 }, env => print(env))
 * client.onStatus((id, status) => print(status.state))
 * await sub.unsubscribe(); await client.close()
 * // A new device: enrol with the operator's code, then authenticate, on one connection.
 * const phone = await connectClient({ url, user, crypto, enrol: { code: '7KQ2M-X9D4R', xPublicKey, name: 'Ana' } })
 */
import type { TLSSocket } from 'node:tls'
import WebSocket from 'ws'
import { toHex } from '../../protocol/bytes.ts'
import { ProtocolError, type DdilError } from '../../protocol/errors.ts'
import type { Hlc } from '../../protocol/hlc.ts'
import { submitBatchEnvelopesMax } from '../../protocol/limits.ts'
import type { Crypto, KeyPair } from '../../protocol/ports.ts'
import { signClientAuth } from './auth.ts'
import { errorFromWire } from './errors.ts'
import type { ApiEnvelope, BundleExportRequest, BundleExportResult, MessageStatus } from './facade.ts'
import { clientConnectTimeoutMs, clientPaceShare, clientRequestTimeoutMs, requestBurstSeconds, requestRatePerSecond, wsPayloadBytesMax } from './limits.ts'
import { TokenBucket } from './rate.ts'
import { clientApiVersion, decodeServerMessage, encodeClientMessage, type ChannelMembership, type ClientMessage, type ClientRecord, type ServerMessage } from './wire.ts'

export interface ConnectOptions {
  url: string
  user: KeyPair
  crypto: Crypto
  /** When given, a challenge from a node with another id is refused. */
  nodeId?: string
  connectTimeoutMs?: number
  requestTimeoutMs?: number
  /** Enrol the user's key with this one-time code before authenticating (a device new to the relay). */
  enrol?: { code: string, xPublicKey: Uint8Array, name: string }
  /**
   * For `wss://` to a relay's own certificate: the SHA-256 fingerprint `ddil start` printed
   * (colon-separated hex). The certificate must have it; no CA is consulted. Checked before
   * anything is sent.
   */
  pinSha256?: string
  /** The node's request rate per connection (its config `api.requestsPerSecond`); the client keeps below it. */
  requestsPerSecond?: number
}

export interface Subscription {
  /** Envelopes sent from the backlog before live delivery began. */
  backlog: number
  unsubscribe (): Promise<void>
}

type Reply = Exclude<ServerMessage, { type: 'challenge' | 'envelope' | 'status' }>
type Distribute<T> = T extends unknown ? Omit<T, 'rid'> : never
type Request = Distribute<ClientMessage>

export class Client {
  readonly nodeId: string
  readonly user: Uint8Array
  /** Settles when the connection ends, with the close code and reason. */
  readonly closed: Promise<{ code: number, reason: string }>
  readonly #ws: WebSocket
  readonly #timeoutMs: number
  readonly #pending = new Map<number, { expect: Reply['type'], resolve: (m: Reply) => void, reject: (e: DdilError) => void, timer: NodeJS.Timeout }>()
  readonly #subs = new Map<string, (env: ApiEnvelope) => void>()
  readonly #statusListeners = new Set<(id: Uint8Array, status: MessageStatus) => void>()
  #nextRid = 1
  #failure: DdilError | undefined
  readonly #pace: TokenBucket
  /** Settles when the last request queued so far may go. */
  #turns: Promise<void> = Promise.resolve()

  constructor (ws: WebSocket, nodeId: string, user: Uint8Array, timeoutMs: number, requestsPerSecond = requestRatePerSecond) {
    this.#ws = ws
    this.nodeId = nodeId
    this.user = user
    this.#timeoutMs = timeoutMs
    // The auth request already took one of the node's tokens.
    this.#pace = new TokenBucket(requestsPerSecond * clientPaceShare, Math.floor(requestsPerSecond * requestBurstSeconds * clientPaceShare) - 1, () => performance.now())
    this.closed = new Promise(resolve => {
      ws.on('close', (code, reason) => {
        this.#failAll(this.#failure ?? new ProtocolError(`client API connection closed (${code} ${reason.toString()})`))
        resolve({ code, reason: reason.toString() })
      })
    })
    ws.on('message', (data, isBinary) => { this.#receive(data.toString(), isBinary) })
  }

  async submit (envelope: Uint8Array): Promise<{ id: Uint8Array }> {
    const reply = await this.#request({ type: 'submit', envelope }, 'submitted')
    return { id: reply.id }
  }

  /** A file's chunks in batches of `submitBatchEnvelopesMax` (#23); resolves once the node holds them all. */
  async submitMany (envelopes: Uint8Array[]): Promise<void> {
    for (let i = 0; i < envelopes.length; i += submitBatchEnvelopesMax) {
      await this.#request({ type: 'submitBatch', envelopes: envelopes.slice(i, i + submitBatchEnvelopesMax).map(envelope => ({ envelope })) }, 'submittedBatch')
    }
  }

  /** Every piece of a file held by the node (#23), named by its manifest's id, page by page. */
  async fetchFile (channel: Uint8Array, id: Uint8Array, onPiece: (envelope: Uint8Array) => void): Promise<void> {
    let after: Uint8Array | undefined
    for (;;) {
      const page = await this.#request({ type: 'filePage', channel, id, ...(after === undefined ? {} : { after }) }, 'filePieces')
      for (const p of page.pieces) onPiece(p.envelope)
      if (page.more === 0 || page.after === undefined) return
      after = page.after
    }
  }

  /** Subscribes to a channel: `onEnvelope` gets up to `backlog` stored envelopes (oldest first), then live ones. */
  async subscribe (channel: Uint8Array, options: { backlog: number }, onEnvelope: (env: ApiEnvelope) => void): Promise<Subscription> {
    const key = toHex(channel)
    if (this.#subs.has(key)) throw new ProtocolError(`already subscribed to channel ${key}`)
    this.#subs.set(key, onEnvelope)
    try {
      const reply = await this.#request({ type: 'subscribe', channel, backlog: options.backlog }, 'subscribed')
      return {
        backlog: reply.backlog,
        unsubscribe: async () => {
          if (this.#subs.get(key) !== onEnvelope) return
          this.#subs.delete(key)
          await this.#request({ type: 'unsubscribe', channel }, 'unsubscribed')
        },
      }
    } catch (e) {
      if (this.#subs.get(key) === onEnvelope) this.#subs.delete(key)
      throw e
    }
  }

  async stamp (): Promise<Hlc> {
    const reply = await this.#request({ type: 'stamp' }, 'stamped')
    return { ms: reply.ms, c: reply.c }
  }

  async status (): Promise<Record<string, unknown>> {
    return (await this.#request({ type: 'status' }, 'nodeStatus')).status
  }

  /** The channels this relay's verified governance lists this user in. */
  async channels (): Promise<ChannelMembership[]> {
    return (await this.#request({ type: 'channels' }, 'channelList')).channels
  }

  /** Operator only: a one-time enrolment code for a new device. */
  async issueEnrolment (options: { name: string, ttlMs: number }): Promise<{ code: string, expiresAtMs: number }> {
    const { code, expiresAtMs } = await this.#request({ type: 'enrolment', ...options }, 'enrolmentCode')
    return { code, expiresAtMs }
  }

  /** Operator only: revokes an enrolled key; its sessions end at once. */
  async revokeClient (publicKey: Uint8Array): Promise<void> {
    await this.#request({ type: 'revokeClient', publicKey }, 'revoked')
  }

  /** Operator only: the enrolled devices, revoked ones included. */
  async clientList (): Promise<ClientRecord[]> {
    return (await this.#request({ type: 'clientList' }, 'clients')).clients
  }

  /**
   * Operator only (#27): the relay writes a signed bundle of the scope to `path` (absolute, on its
   * machine); with `forNodeId`, without what that node last said it holds (`leftOut` counts those).
   */
  async bundleExport (request: BundleExportRequest): Promise<BundleExportResult> {
    const { path, channels, precedences, sinceMs, forNodeId } = request
    const { envelopes, bytes, hash, leftOut } = await this.#request({ type: 'bundleExport', path, channels: channels.map(channel => ({ channel })), precedences, sinceMs, forNodeId }, 'bundleExported')
    return { envelopes, bytes, hash, ...(leftOut === undefined ? {} : { leftOut }) }
  }

  /** Operator only (#27): the relay verifies and imports the bundle at `path`; the counts of what it did. */
  async bundleImport (path: string): Promise<{ nodeId: string, envelopes: number, added: number, held: number, refused: number, reasons: Record<string, number> }> {
    const { nodeId, envelopes, added, held, refused, reasons } = await this.#request({ type: 'bundleImport', path }, 'bundleImported')
    return { nodeId, envelopes, added, held, refused, reasons }
  }

  /** Delivery status of envelopes this connection submitted; returns the remover. */
  onStatus (listener: (id: Uint8Array, status: MessageStatus) => void): () => void {
    this.#statusListeners.add(listener)
    return () => { this.#statusListeners.delete(listener) }
  }

  async close (): Promise<void> {
    if (this.#ws.readyState !== WebSocket.CLOSED) this.#ws.close(1000, 'client done')
    await this.closed
  }

  /** Resolves when the next request may go: in order, and within the pace. */
  #turn (): Promise<void> {
    this.#turns = this.#turns.then(async () => {
      for (let ms = this.#pace.waitMs(); ms > 0; ms = this.#pace.waitMs()) await new Promise(resolve => setTimeout(resolve, ms))
      this.#pace.take()
    })
    return this.#turns
  }

  async #request<T extends Reply['type']> (req: Request, expect: T): Promise<Extract<Reply, { type: T }>> {
    await this.#turn()
    if (this.#failure !== undefined) throw this.#failure
    if (this.#ws.readyState !== WebSocket.OPEN) throw new ProtocolError('client API connection is not open')
    const rid = this.#nextRid++
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(rid)
        reject(new ProtocolError(`no reply to ${req.type} within ${this.#timeoutMs} ms`))
      }, this.#timeoutMs)
      this.#pending.set(rid, { expect, resolve: resolve as (m: Reply) => void, reject, timer })
      this.#ws.send(encodeClientMessage({ ...req, rid } as ClientMessage))
    })
  }

  #receive (text: string, isBinary: boolean): void {
    let msg: ServerMessage
    try {
      if (isBinary) throw new ProtocolError('node sent a binary frame')
      msg = decodeServerMessage(text)
    } catch (e) {
      this.#fail(e as DdilError)
      return
    }
    switch (msg.type) {
      case 'envelope': this.#subs.get(toHex(msg.channel))?.({ id: msg.id, channel: msg.channel, bytes: msg.envelope }); return
      case 'status': { const { type, id, ...status } = msg; for (const l of this.#statusListeners) l(id, status); return }
      case 'challenge': this.#fail(new ProtocolError('node sent a second challenge')); return
      default: this.#settle(msg)
    }
  }

  #settle (msg: Reply): void {
    if (msg.type === 'error' && msg.rid === null) { this.#fail(errorFromWire(msg.code, msg.message)); return }
    const pending = typeof msg.rid === 'number' ? this.#pending.get(msg.rid) : undefined
    if (pending === undefined) { this.#fail(new ProtocolError(`reply ${msg.type} to unknown request ${String(msg.rid)}`)); return }
    this.#pending.delete(msg.rid as number)
    clearTimeout(pending.timer)
    if (msg.type === 'error') pending.reject(errorFromWire(msg.code, msg.message))
    else if (msg.type !== pending.expect) pending.reject(new ProtocolError(`expected ${pending.expect}, node replied ${msg.type}`))
    else pending.resolve(msg)
  }

  /** A broken conversation ends the connection; every pending request fails with the cause. */
  #fail (e: DdilError): void {
    this.#failure ??= e
    this.#failAll(e)
    this.#ws.close(1002, 'protocol error')
  }

  #failAll (e: DdilError): void {
    for (const p of this.#pending.values()) { clearTimeout(p.timer); p.reject(e) }
    this.#pending.clear()
  }
}

/** Opens a connection and authenticates as `user`. Rejects with UnauthorisedError when the node refuses the user. */
export async function connectClient (options: ConnectOptions): Promise<Client> {
  const timeoutMs = options.connectTimeoutMs ?? clientConnectTimeoutMs
  const ws = new WebSocket(options.url, { maxPayload: wsPayloadBytesMax, perMessageDeflate: false, rejectUnauthorized: options.pinSha256 === undefined })
  let served: string | undefined
  ws.once('upgrade', (res) => { served = (res.socket as TLSSocket).getPeerX509Certificate?.()?.fingerprint256 })
  try {
    return await new Promise<Client>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new ProtocolError(`client API at ${options.url} did not authenticate within ${timeoutMs} ms`)) }, timeoutMs)
      const fail = (e: DdilError): void => { clearTimeout(timer); reject(e) }
      ws.once('error', (err) => { fail(new ProtocolError(`cannot reach the node's client API at ${options.url}: ${err.message}`, { cause: err })) })
      ws.once('close', (code, reason) => { fail(new ProtocolError(`client API closed the connection (${code} ${reason.toString()})`)) })
      let challenge: Extract<ServerMessage, { type: 'challenge' }> | undefined
      let enrolling = options.enrol !== undefined
      ws.on('message', function handshake (data, isBinary) {
        try {
          const msg = decodeServerMessage(isBinary ? '' : data.toString())
          if (challenge === undefined) {
            if (options.pinSha256 !== undefined && served?.toUpperCase() !== options.pinSha256.toUpperCase()) {
              throw new ProtocolError(`the relay's certificate is not the one pinned: it has SHA-256 ${served ?? 'none (not TLS)'}, expected ${options.pinSha256}`)
            }
            checkChallenge(msg, options)
            challenge = msg
            if (options.enrol === undefined) sendAuth(ws, msg, options)
            else ws.send(encodeClientMessage({ type: 'enrol', rid: 0, publicKey: options.user.publicKey, ...options.enrol }))
            return
          }
          if (enrolling && msg.type === 'enrolled') {
            enrolling = false
            sendAuth(ws, challenge, options)
            return
          }
          ws.off('message', handshake)
          if (msg.type === 'error') { fail(errorFromWire(msg.code, msg.message)); return }
          if (msg.type !== 'authed') throw new ProtocolError(`expected authed, node sent ${msg.type}`)
          clearTimeout(timer)
          ws.removeAllListeners('close')
          ws.removeAllListeners('error')
          ws.on('error', () => { /* followed by 'close', which fails pending requests */ })
          resolve(new Client(ws, challenge.nodeId, options.user.publicKey, options.requestTimeoutMs ?? clientRequestTimeoutMs, options.requestsPerSecond))
        } catch (e) {
          ws.off('message', handshake)
          fail(e as DdilError)
        }
      })
    })
  } catch (e) {
    ws.terminate()
    throw e
  }
}

/** Refuses a challenge whose version this client does not speak, or from another node than the one pinned. */
function checkChallenge (msg: ServerMessage, options: ConnectOptions): asserts msg is Extract<ServerMessage, { type: 'challenge' }> {
  if (msg.type !== 'challenge') throw new ProtocolError(`expected challenge, node sent ${msg.type}`)
  if (msg.v !== clientApiVersion) throw new ProtocolError(`node speaks client API v${msg.v}, this client v${clientApiVersion}`)
  if (options.nodeId !== undefined && msg.nodeId !== options.nodeId) throw new ProtocolError(`expected node ${options.nodeId}, reached ${msg.nodeId}`)
}

function sendAuth (ws: WebSocket, challenge: { nonce: Uint8Array, nodeId: string }, options: ConnectOptions): void {
  const signature = signClientAuth(options.crypto, options.user.privateKey, challenge.nonce, challenge.nodeId)
  ws.send(encodeClientMessage({ type: 'auth', rid: 1, publicKey: options.user.publicKey, signature }))
}
