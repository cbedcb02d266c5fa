/**
 * One client connection's conversation, independent of the socket: enrolment and
 * authentication, request dispatch (operator-only requests checked here), rate limiting,
 * subscriptions and status pushes. The server feeds it frames and gives it `send` and
 * `close`; everything it needs from the node comes through the `NodeFacade`. Every refusal
 * is an `error` reply and the connection stays up, except the few that close it: repeated
 * failed auth or enrolment, auth timeout, persistent flooding, the user's key revoked.
 *
 * @example
 * const session = new ClientSession({ facade, crypto, clock, logger, limits, nonce, send, close })
 * session.start()                        // sends the challenge
 * ws.on('message', (data, isBinary) => session.receive(data.toString(), data.length, isBinary))
 * ws.on('close', () => session.end())
 */
import { bytesEqual, toHex } from '../../protocol/bytes.ts'
import { DecodeError, LimitError, ProtocolError, UnauthorisedError, isDdilError } from '../../protocol/errors.ts'
import type { Clock, Crypto, Logger } from '../../protocol/ports.ts'
import { verifyClientAuth } from './auth.ts'
import { ApiErrorCodes, wireCode, type WireErrorCode } from './errors.ts'
import type { ApiEnvelope, MessageStatus, NodeFacade } from './facade.ts'
import type { ClientApiLimits } from './limits.ts'
import { TokenBucket } from './rate.ts'
import { clientApiVersion, decodeClientObject, encodeServerMessage, parseJsonObject, ridOf, type ClientMessage, type Rid, type ServerMessage } from './wire.ts'

/** WebSocket close code for policy violations (RFC 6455 §7.4.1). */
export const closePolicy = 1008

export type CloseReason = 'auth' | 'auth-timeout' | 'rate' | 'slow-consumer' | 'connections' | 'admission' | 'revoked'

/** Security-relevant happenings, for the daemon's audit log. `detail` says more where a reason has variants (admission's). */
export type ClientApiEvent =
  | { type: 'authenticated', user: Uint8Array }
  | { type: 'auth-refused', reason: string, user?: Uint8Array }
  | { type: 'disconnected', reason: CloseReason, user?: Uint8Array, detail?: string }

export interface SessionDeps {
  facade: NodeFacade
  crypto: Crypto
  clock: Clock
  logger: Logger
  limits: ClientApiLimits
  /** Fresh random challenge for this connection. */
  nonce: Uint8Array
  /** Sends one text frame; false when the connection is gone (closed, or dropped as a slow consumer). */
  send: (text: string) => boolean
  close: (code: number, reason: string) => void
  onEvent?: (event: ClientApiEvent) => void
  /** The client's address, for the audit log's record of enrolments. */
  remote?: string
}

interface Subscription {
  rid: Rid
  channel: Uint8Array
  /** True while the backlog is being sent; live envelopes wait in `pending`. */
  loading: boolean
  pending: ApiEnvelope[]
  cancelled: boolean
}

/** A submission whose status this connection is told about; statuses that arrive before `submitted` are held. */
interface Tracked { acknowledged: boolean, held?: MessageStatus }

export class ClientSession {
  readonly #d: SessionDeps
  readonly #bucket: TokenBucket
  /** Refusals for rate this connection may still run up before it is closed; forgiven over time. */
  readonly #refusalBudget: TokenBucket
  readonly #subs = new Map<string, Subscription>()
  readonly #tracked = new Map<string, Tracked>()
  #user: Uint8Array | undefined
  #authFailures = 0
  #inFlight = 0
  #enrolling = false
  #closed = false
  #cleanups: Array<() => void> = []

  constructor (deps: SessionDeps) {
    this.#d = deps
    this.#bucket = new TokenBucket(deps.limits.requestRatePerSecond, deps.limits.requestBurstMax, () => deps.clock.monotonicMs())
    this.#refusalBudget = new TokenBucket(deps.limits.rateRefusalsForgivenPerSecond, deps.limits.rateRefusalsMax, () => deps.clock.monotonicMs())
  }

  get user (): Uint8Array | undefined { return this.#user }

  start (): void {
    this.#send({ type: 'challenge', v: clientApiVersion, nonce: this.#d.nonce, nodeId: this.#d.facade.nodeId })
    this.#cleanups.push(this.#d.clock.schedule(this.#d.limits.authTimeoutMs, () => {
      if (this.#user === undefined) this.#shut('auth-timeout', 'authentication timeout')
    }))
  }

  /** One inbound frame. `byteLength` is checked before the text is parsed. */
  receive (text: string, byteLength: number, isBinary: boolean): void {
    if (this.#closed) return
    if (byteLength > this.#d.limits.clientMessageBytesMax) {
      if (this.#admit(null)) this.#refuse(null, new LimitError(`message of ${byteLength} bytes exceeds ${this.#d.limits.clientMessageBytesMax}`))
      return
    }
    if (isBinary) {
      if (this.#admit(null)) this.#refuse(null, new DecodeError('binary frames are not part of the protocol; send JSON text'))
      return
    }
    let obj: Record<string, unknown>
    try { obj = parseJsonObject(text) } catch (e) {
      if (this.#admit(null)) this.#refuse(null, e)
      return
    }
    const rid = ridOf(obj)
    if (!this.#admit(rid)) return
    let msg: ClientMessage
    try { msg = decodeClientObject(obj) } catch (e) {
      this.#refuse(rid, e)
      return
    }
    this.#dispatch(msg)
  }

  /** The connection is gone: drop listeners, timers and subscriptions. Idempotent. */
  end (): void {
    if (this.#closed) return
    this.#closed = true
    for (const cleanup of this.#cleanups) cleanup()
    this.#cleanups = []
    for (const sub of this.#subs.values()) sub.cancelled = true
    this.#subs.clear()
    this.#tracked.clear()
  }

  // ---- Requests ---------------------------------------------------------------

  #dispatch (msg: ClientMessage): void {
    if (msg.type === 'auth') { this.#auth(msg); return }
    if (msg.type === 'enrol') { this.#enrol(msg); return }
    const user = this.#user
    if (user === undefined) { this.#authFailed(msg.rid, 'authenticate first'); return }
    const { facade } = this.#d
    switch (msg.type) {
      case 'submit': this.#submit(msg.rid, msg.envelope, user); break
      case 'submitBatch': this.#submitBatch(msg.rid, msg.envelopes.map(e => e.envelope), user); break
      case 'filePage': this.#sendLater(msg.rid, facade.filePage(msg.channel, msg.id, msg.after), page => ({ type: 'filePieces', rid: msg.rid, pieces: page.pieces, more: page.more, ...(page.last === undefined ? {} : { after: page.last }) })); break
      case 'subscribe': this.#subscribe(msg.rid, msg.channel, msg.backlog); break
      case 'unsubscribe': this.#unsubscribe(msg.rid, msg.channel); break
      case 'stamp': this.#stamp(msg.rid); break
      case 'status': this.#nodeStatus(msg.rid); break
      case 'channels': this.#sendBuilt(msg.rid, () => ({ type: 'channelList', rid: msg.rid, channels: facade.channels(user) })); break
      case 'enrolment':
        if (this.#operator(msg.rid, 'issue enrolment codes')) this.#sendLater(msg.rid, facade.clients.issue(msg), r => ({ type: 'enrolmentCode', rid: msg.rid, ...r }))
        break
      case 'revokeClient':
        if (this.#operator(msg.rid, 'revoke clients')) this.#sendLater(msg.rid, facade.clients.revoke(msg.publicKey), () => ({ type: 'revoked', rid: msg.rid }))
        break
      case 'bundleExport':
      case 'bundleImport':
        if (this.#operator(msg.rid, 'export or import bundles')) this.#bundle(msg)
        break
      case 'clientList':
        if (this.#operator(msg.rid, 'list clients')) this.#sendBuilt(msg.rid, () => ({ type: 'clients', rid: msg.rid, clients: facade.clients.list() }))
        break
    }
  }

  /** Whether the user is the operator; refuses the request (ERR_UNAUTHORISED) when not. */
  #operator (rid: Rid, what: string): boolean {
    if (this.#d.facade.isOperator(this.#user as Uint8Array)) return true
    this.#refuse(rid, new UnauthorisedError(`only the relay's operator may ${what}`))
    return false
  }

  /** An air-gap bundle written or read by the relay (#27); the reply carries the counts. */
  #bundle (msg: Extract<ClientMessage, { type: 'bundleExport' | 'bundleImport' }>): void {
    const bundles = this.#d.facade.bundles
    if (bundles === undefined) { this.#refuse(msg.rid, new ProtocolError('this node does not export or import bundles')); return }
    if (msg.type === 'bundleImport') {
      this.#sendLater(msg.rid, bundles.import({ path: msg.path }), r => ({ type: 'bundleImported', rid: msg.rid, ...r }))
      return
    }
    const request = { path: msg.path, channels: msg.channels.map(c => c.channel), precedences: msg.precedences, sinceMs: msg.sinceMs, forNodeId: msg.forNodeId }
    this.#sendLater(msg.rid, bundles.export(request), r => ({ type: 'bundleExported', rid: msg.rid, ...r }))
  }

  /**
   * A device's key let in with a one-time code, before authentication. One at a time per
   * connection, and every refusal counts as a failed attempt, so a connection gets
   * `authFailuresMax` guesses however fast it sends them.
   */
  #enrol (msg: Extract<ClientMessage, { type: 'enrol' }>): void {
    if (this.#user !== undefined) { this.#refuse(msg.rid, new ProtocolError('already authenticated: enrol comes before auth')); return }
    if (this.#enrolling) { this.#refuse(msg.rid, new ProtocolError('an enrolment is already in progress on this connection')); return }
    this.#enrolling = true
    const { code, publicKey, xPublicKey, name } = msg
    this.#d.facade.clients.enrol({ code, publicKey, xPublicKey, name, remote: this.#d.remote }).then(() => {
      this.#send({ type: 'enrolled', rid: msg.rid, user: publicKey })
    }, (e: unknown) => {
      if (this.#closed) return
      // A refused code is ERR_AUTH, as a refused key is; other failures keep their own code.
      if (e instanceof UnauthorisedError) this.#reply(msg.rid, ApiErrorCodes.auth, e.message)
      else this.#reply(msg.rid, wireCode(e), (e as Error).message)
      if (!isDdilError(e)) this.#d.logger.error({ err: e }, 'enrolment failed unexpectedly')
      this.#countAuthFailure()
    }).finally(() => { this.#enrolling = false })
  }

  #auth (msg: Extract<ClientMessage, { type: 'auth' }>): void {
    if (this.#user !== undefined) { this.#refuse(msg.rid, new ProtocolError('already authenticated')); return }
    const { crypto, facade } = this.#d
    if (!verifyClientAuth(crypto, msg.publicKey, this.#d.nonce, facade.nodeId, msg.signature)) {
      this.#authFailed(msg.rid, 'signature does not verify for this key, challenge and node', msg.publicKey)
      return
    }
    if (!facade.isAllowedUser(msg.publicKey)) {
      this.#authFailed(msg.rid, 'user is not allowed on this node: not in clients.allow, not enrolled, or revoked', msg.publicKey)
      return
    }
    const user = msg.publicKey
    this.#user = user
    this.#cleanups.push(
      facade.onStored(env => { this.#onStored(env) }),
      facade.onStatus((id, status) => { this.#onStatus(id, status) }),
      facade.clients.onRevoked(key => { if (bytesEqual(key, user)) this.#shut('revoked', 'revoked') }),
    )
    // Debug, not info: every CLI command authenticates, and an operator reading the log wants the relay's events.
    this.#d.logger.debug({ user: toHex(msg.publicKey) }, 'client authenticated')
    this.#d.onEvent?.({ type: 'authenticated', user: msg.publicKey })
    this.#send({ type: 'authed', rid: msg.rid, user: msg.publicKey })
  }

  #submit (rid: Rid, bytes: Uint8Array, user: Uint8Array): void {
    if (this.#inFlight >= this.#d.limits.submitsInFlightMax) {
      this.#refuse(rid, new LimitError(`${this.#d.limits.submitsInFlightMax} submissions already in flight`))
      return
    }
    // Tracked before the facade sees it: status updates can fire before `submit` resolves.
    const key = toHex(this.#d.crypto.sha256(bytes))
    this.#track(key)
    this.#inFlight++
    this.#d.facade.submit(bytes, { user }).then(({ id }) => {
      const tracked = this.#tracked.get(key)
      this.#send({ type: 'submitted', rid, id })
      if (tracked === undefined) return
      tracked.acknowledged = true
      if (tracked.held !== undefined) this.#pushStatus(key, id, tracked.held)
      tracked.held = undefined
    }, (e: unknown) => {
      this.#tracked.delete(key)
      this.#refuse(rid, e)
    }).finally(() => { this.#inFlight-- })
  }

  /**
   * A file's chunks: each stored as by `submit`, all at once (the engine commits them in one
   * write), but not tracked: thousands of status pushes would say what the file's manifest
   * says once. Counts as that many submissions in flight. The reply comes when all are held;
   * if any is refused, the error says how many of the batch were held.
   */
  #submitBatch (rid: Rid, envelopes: Uint8Array[], user: Uint8Array): void {
    const n = envelopes.length
    if (this.#inFlight + n > this.#d.limits.submitsInFlightMax) {
      this.#refuse(rid, new LimitError(`${this.#inFlight} submissions in flight; a batch of ${n} would pass ${this.#d.limits.submitsInFlightMax}`))
      return
    }
    this.#inFlight += n
    Promise.allSettled(envelopes.map(b => this.#d.facade.submit(b, { user, batch: true }))).then(results => {
      const failed = results.findIndex(r => r.status === 'rejected')
      if (failed < 0) { this.#send({ type: 'submittedBatch', rid, count: n }); return }
      const held = results.filter(r => r.status === 'fulfilled').length
      const cause = (results[failed] as PromiseRejectedResult).reason as Error
      this.#refuse(rid, Object.assign(cause, { message: `envelope ${failed + 1} of ${n} (${held} held): ${cause.message}` }))
    }).finally(() => { this.#inFlight -= n })
  }

  #track (key: string): void {
    this.#tracked.delete(key)
    this.#tracked.set(key, { acknowledged: false })
    if (this.#tracked.size > this.#d.limits.trackedSubmissionsMax) this.#tracked.delete(this.#tracked.keys().next().value as string)
  }

  #subscribe (rid: Rid, channel: Uint8Array, limit: number): void {
    const key = toHex(channel)
    if (this.#subs.has(key)) { this.#refuse(rid, new ProtocolError(`already subscribed to channel ${key}`)); return }
    if (this.#subs.size >= this.#d.limits.subscriptionsPerConnectionMax) {
      this.#refuse(rid, new LimitError(`at most ${this.#d.limits.subscriptionsPerConnectionMax} subscriptions per connection`))
      return
    }
    const sub: Subscription = { rid, channel, loading: true, pending: [], cancelled: false }
    this.#subs.set(key, sub)
    this.#sendBacklog(sub, Math.min(limit, this.#d.limits.backlogEnvelopesMax)).catch((e: unknown) => {
      if (sub.cancelled) return // already answered (unsubscribed, or ended for overflow)
      sub.cancelled = true
      this.#subs.delete(key)
      this.#refuse(rid, e)
    })
  }

  async #sendBacklog (sub: Subscription, limit: number): Promise<void> {
    const seen = new Set<string>()
    // The facade bounds the backlog: `limit` counts messages; the channel's history comes with them.
    for await (const env of this.#d.facade.backlog(sub.channel, { limit })) {
      if (sub.cancelled || this.#closed) return
      seen.add(toHex(env.id))
      if (!this.#pushEnvelope(env)) return
    }
    if (sub.cancelled || this.#closed) return
    sub.loading = false
    this.#send({ type: 'subscribed', rid: sub.rid, channel: sub.channel, backlog: seen.size })
    const pending = sub.pending
    sub.pending = []
    for (const env of pending) if (!seen.has(toHex(env.id)) && !this.#pushEnvelope(env)) return
  }

  #unsubscribe (rid: Rid, channel: Uint8Array): void {
    const key = toHex(channel)
    const sub = this.#subs.get(key)
    if (sub === undefined) { this.#refuse(rid, new ProtocolError(`not subscribed to channel ${key}`)); return }
    sub.cancelled = true
    this.#subs.delete(key)
    if (sub.loading) this.#refuse(sub.rid, new ProtocolError('unsubscribed before the backlog was sent'))
    this.#send({ type: 'unsubscribed', rid, channel })
  }

  #stamp (rid: Rid): void {
    this.#sendBuilt(rid, () => { const { ms, c } = this.#d.facade.stamp(); return { type: 'stamped', rid, ms, c } })
  }

  #nodeStatus (rid: Rid): void {
    this.#sendBuilt(rid, () => ({ type: 'nodeStatus', rid, status: this.#d.facade.status() }))
  }

  /** Sends the reply built from `pending`'s result once it settles, or the error reply. */
  #sendLater<T> (rid: Rid, pending: Promise<T>, build: (result: T) => ServerMessage): void {
    pending.then(result => { this.#sendBuilt(rid, () => build(result)) }, (e: unknown) => { this.#refuse(rid, e) })
  }

  /** Sends a reply built (and encoded) now; if either step fails, the request gets an error reply instead. */
  #sendBuilt (rid: Rid, build: () => ServerMessage): void {
    let text: string
    try {
      text = encodeServerMessage(build())
    } catch (e) {
      this.#refuse(rid, e)
      return
    }
    this.#sendText(text)
  }

  // ---- Pushes -------------------------------------------------------------------

  #onStored (env: ApiEnvelope): void {
    const key = toHex(env.channel)
    const sub = this.#subs.get(key)
    if (sub === undefined || this.#closed) return
    if (!sub.loading) { this.#pushEnvelope(env); return }
    if (sub.pending.length < this.#d.limits.subscribePendingEnvelopesMax) { sub.pending.push(env); return }
    sub.cancelled = true
    this.#subs.delete(key)
    this.#refuse(sub.rid, new LimitError(`more than ${this.#d.limits.subscribePendingEnvelopesMax} live envelopes arrived while the backlog was sent; subscribe again with a smaller backlog`))
  }

  #pushEnvelope (env: ApiEnvelope): boolean {
    return this.#send({ type: 'envelope', channel: env.channel, id: env.id, envelope: env.bytes })
  }

  #onStatus (id: Uint8Array, status: MessageStatus): void {
    const key = toHex(id)
    const tracked = this.#tracked.get(key)
    if (tracked === undefined || this.#closed) return
    if (!tracked.acknowledged) { tracked.held = status; return }
    this.#pushStatus(key, id, status)
  }

  #pushStatus (key: string, id: Uint8Array, status: MessageStatus): void {
    if (status.state === 'expired' || status.state === 'refused') this.#tracked.delete(key)
    this.#send({ type: 'status', id, ...status })
  }

  // ---- Refusals and plumbing ------------------------------------------------------

  /**
   * Takes a token for a frame; refuses with ERR_RATE when there is none, and closes the
   * connection once its refusals outrun `rateRefusalsMax` plus those forgiven since.
   */
  #admit (rid: Rid | null): boolean {
    if (this.#bucket.take()) return true
    if (this.#refusalBudget.take()) this.#reply(rid, ApiErrorCodes.rate, `over ${this.#d.limits.requestRatePerSecond} requests per second; slow down`)
    else this.#shut('rate', 'request rate exceeded persistently')
    return false
  }

  #authFailed (rid: Rid | null, reason: string, user?: Uint8Array): void {
    this.#d.logger.warn({ user: user === undefined ? undefined : toHex(user), failures: this.#authFailures + 1, reason }, 'client authentication refused')
    this.#d.onEvent?.({ type: 'auth-refused', reason, user })
    this.#reply(rid, ApiErrorCodes.auth, reason)
    this.#countAuthFailure()
  }

  /** Before auth, every refused frame is a failed attempt: an unauthenticated client gets a few tries, then the door. */
  #countAuthFailure (): void {
    this.#authFailures++
    if (this.#authFailures >= this.#d.limits.authFailuresMax) this.#shut('auth', 'too many failed authentication attempts')
  }

  /** Replies with the error's own code (ERR_INTERNAL, logged, for anything that is not a DdilError). */
  #refuse (rid: Rid | null, e: unknown): void {
    if (!isDdilError(e)) this.#d.logger.error({ err: e }, 'client API request failed unexpectedly')
    this.#reply(rid, wireCode(e), (e as Error).message)
    if (this.#user === undefined) this.#countAuthFailure()
  }

  #reply (rid: Rid | null, code: WireErrorCode, message: string): void {
    this.#send({ type: 'error', rid, code, message })
  }

  #shut (reason: CloseReason, text: string): void {
    if (this.#closed) return
    this.#d.logger.warn({ user: this.#user === undefined ? undefined : toHex(this.#user), reason }, `client disconnected: ${text}`)
    this.#d.onEvent?.({ type: 'disconnected', reason, user: this.#user })
    this.end()
    this.#d.close(closePolicy, text)
  }

  #send (msg: ServerMessage): boolean { return this.#sendText(encodeServerMessage(msg)) }

  #sendText (text: string): boolean {
    if (this.#closed) return false
    if (this.#d.send(text)) return true
    this.end()
    return false
  }
}
