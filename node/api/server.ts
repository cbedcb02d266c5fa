/**
 * The client API server: a WebSocket endpoint (package `ws`) on loopback by default,
 * through which clients (the `ddil` CLI, the field app) submit envelopes, follow channels
 * and see delivery status. Each connection runs a `ClientSession`; this module owns the
 * sockets: the bound on authenticated connections, admission of sockets not yet
 * authenticated (node/admission.ts: a pool of their own, per address, a reserve for
 * addresses known users came from, the oldest dropped first, a short deadline under
 * pressure), the upgrade request's (and TLS handshake's) timeouts, the frame size bound
 * (ws `maxPayload`), slow-consumer disconnection and shutdown.
 *
 * Plain HTTP requests on the same port get the app's files (`site`, node/web/static.ts) or
 * 426. Such a request leaves admission once its headers are in (a page load opens several
 * connections at once; its requests are served at once), and its connection closes after
 * the response, which must be read within `webResponseIdleTimeoutMs`: no idle keep-alive
 * sockets to hold. With `tls` the server is the HTTPS listener for the local network, and
 * with `wsPath` it takes WebSocket upgrades on that path only.
 *
 * @example
 * const api = await startClientApi({ port: 0, facade, crypto, logger })
 * console.log(`ws://${api.address.host}:${api.address.port}`)
 * await api.close()
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { Socket } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { ConfigError } from '../../protocol/errors.ts'
import type { Clock, Crypto, Logger } from '../../protocol/ports.ts'
import { Admission, RecentSources, sourceOf, type Ticket } from '../admission.ts'
import { systemClock } from '../runtime.ts'
import { authNonceBytes } from './auth.ts'
import type { NodeFacade } from './facade.ts'
import { clientKnownSourcesMax, clientUpgradeHeadersTimeoutMs, clientUpgradeTimeoutCheckEveryMs, defaultClientApiLimits, webResponseIdleTimeoutMs, type ClientApiLimits } from './limits.ts'
import { ClientSession, type ClientApiEvent } from './session.ts'

export interface ClientApiOptions {
  /** Listen address; loopback unless the operator opens it deliberately. */
  host?: string
  /** TCP port; 0 picks a free one (tests). */
  port: number
  facade: NodeFacade
  crypto: Crypto
  logger: Logger
  /** Drives rate limiting and the auth timeout; the system clock by default. */
  clock?: Clock
  /** Source of challenge nonces; node:crypto by default. Must be unpredictable in production. */
  randomBytes?: (length: number) => Uint8Array
  limits?: Partial<ClientApiLimits>
  /** Security events (auth accepted or refused, forced disconnects), with the client's address, for the audit log. */
  onEvent?: (event: ClientApiEvent, source: string) => void
  /** Answers plain HTTP requests (the app's files); without it they get 426 Upgrade Required. */
  site?: (req: IncomingMessage, res: ServerResponse) => void
  /** Serve HTTPS (and WSS) with this certificate and key, PEM. */
  tls?: { cert: string, key: string }
  /** Take WebSocket upgrades on this path only (others get 400); any path when absent. */
  wsPath?: string
}

export interface ClientApi {
  address: { host: string, port: number }
  /** Closes every client connection (close handshake, then destroy after a grace period) and stops listening. */
  close (): Promise<void>
}

export const defaultClientApiHost = '127.0.0.1'

/** WebSocket close code for "try again later" (RFC 6455 registry): the connection bound is reached. */
const closeTryAgainLater = 1013
/** WebSocket close code for "going away": the node is shutting down. */
const closeGoingAway = 1001

export { systemClock }

/** What the connections of one server share. */
interface Shared {
  options: ClientApiOptions
  limits: ClientApiLimits
  sockets: Set<WebSocket>
  /**
   * Admission tickets of sockets not yet authenticated, from their first byte (the upgrade
   * request, or the TLS handshake) on, by remote address and port: the same for the TCP
   * socket and the TLS socket over it.
   */
  unproven: Map<string, Ticket>
  /** Addresses known users authenticated from: their sockets may use the reserved slots. */
  known: RecentSources
  authenticated: number
}

export async function startClientApi (options: ClientApiOptions): Promise<ClientApi> {
  const limits: ClientApiLimits = { ...defaultClientApiLimits, ...options.limits }
  const host = options.host ?? defaultClientApiHost
  const timeouts = { headersTimeout: clientUpgradeHeadersTimeoutMs, requestTimeout: clientUpgradeHeadersTimeoutMs, connectionsCheckingInterval: clientUpgradeTimeoutCheckEveryMs }
  const server: Server = options.tls !== undefined
    ? createTlsServer({ ...timeouts, cert: options.tls.cert, key: options.tls.key, handshakeTimeout: clientUpgradeHeadersTimeoutMs })
    : createServer(timeouts)
  // Last resort beyond the bounds below: authenticated, unauthenticated (reserve included), and some closing.
  server.maxConnections = limits.clientConnectionsMax + limits.clientPendingMax + limits.clientPendingReservedMax + closingSocketsMax
  const wss = new WebSocketServer({ server, path: options.wsPath, maxPayload: limits.wsPayloadBytesMax, perMessageDeflate: false })
  wss.on('error', (err) => { options.logger.error({ err: err.message }, 'client API server error') })
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', (err) => { reject(new ConfigError(`client API cannot listen on ${host}:${options.port}: ${err.message}`, { cause: err })) })
    server.listen(options.port, host)
  })
  const shared: Shared = { options, limits, sockets: new Set(), unproven: new Map(), known: new RecentSources(clientKnownSourcesMax), authenticated: 0 }
  const admission = new Admission({
    limits: { pendingMax: limits.clientPendingMax, reservedMax: limits.clientPendingReservedMax, perSourceMax: limits.clientPendingPerSourceMax, pressuredTimeoutMs: limits.clientPressuredAuthTimeoutMs },
    clock: options.clock ?? systemClock,
    isKnown: (source) => shared.known.has(source),
    onDrop: (source, reason) => { options.onEvent?.({ type: 'disconnected', reason: 'admission', detail: reason }, source) },
  })
  server.on('connection', (socket: Socket) => {
    const ticket = admission.admit(sourceOf(socket.remoteAddress), () => { socket.destroy() })
    const key = connectionKey(socket)
    shared.unproven.set(key, ticket)
    socket.once('close', () => { ticket.done(); shared.unproven.delete(key) })
  })
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    shared.unproven.get(connectionKey(req.socket))?.done()
    res.setHeader('Connection', 'close')
    req.socket.setTimeout(webResponseIdleTimeoutMs, () => { req.socket.destroy() })
    ;(options.site ?? upgradeRequired)(req, res)
  })
  server.on('drop', (data?: { remoteAddress?: string }) => {
    options.onEvent?.({ type: 'disconnected', reason: 'connections' }, sourceOf(data?.remoteAddress))
  })
  wss.on('connection', (ws, req) => { accept(ws, req, shared) })
  const bound = server.address()
  if (bound === null || typeof bound === 'string') throw new ConfigError(`client API address ${host} is not a TCP address`)
  options.logger.info({ host, port: bound.port }, 'client API listening')
  return {
    address: { host, port: bound.port },
    close: () => shutdown(wss, server, shared.sockets, limits.closeGraceMs),
  }
}

/** Sockets closing (close handshake under way) counted in the server's hard connection bound. */
const closingSocketsMax = 8

function accept (ws: WebSocket, req: IncomingMessage, shared: Shared): void {
  const { options, limits, sockets } = shared
  const source = sourceOf(req.socket.remoteAddress)
  sockets.add(ws)
  let counted = false
  const session: ClientSession = new ClientSession({
    facade: options.facade,
    crypto: options.crypto,
    clock: options.clock ?? systemClock,
    logger: options.logger,
    limits,
    nonce: (options.randomBytes ?? defaultRandomBytes)(authNonceBytes),
    send: (text) => sendBounded(ws, text, limits.sendBufferedBytesMax, session, options, source),
    close: (code, reason) => { ws.close(code, reason) },
    remote: source,
    onEvent: (event) => {
      if (event.type === 'authenticated') {
        counted = authenticated(ws, req.socket, source, shared)
        if (!counted) return // closed with 1013 instead, and reported so
      }
      options.onEvent?.(event, source)
    },
  })
  ws.on('message', (data, isBinary) => {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? Buffer.from(data) : data
    session.receive(isBinary ? '' : bytes.toString('utf8'), bytes.length, isBinary)
  })
  ws.on('close', () => {
    sockets.delete(ws)
    if (counted) shared.authenticated--
    session.end()
  })
  // A socket error is followed by 'close'; the listener keeps it from becoming an uncaught exception.
  ws.on('error', (err) => { options.logger.debug({ err: err.message }, 'client socket error') })
  session.start()
}

/** Sends, then drops the client if more than `bufferedMax` bytes wait for it: a slow consumer is not buffered without bound. */
/**
 * A user authenticated on `ws`: its socket leaves admission and takes one of the
 * `clientConnectionsMax` places, or, with none left, is closed with 1013 before its `authed`
 * reply. Returns whether it took a place.
 */
function authenticated (ws: WebSocket, socket: Socket, source: string, shared: Shared): boolean {
  shared.unproven.get(connectionKey(socket))?.done()
  shared.known.add(source)
  if (ws.readyState !== ws.OPEN) return false
  if (shared.authenticated >= shared.limits.clientConnectionsMax) {
    shared.options.logger.warn({ open: shared.authenticated }, 'client connection refused: too many authenticated connections')
    shared.options.onEvent?.({ type: 'disconnected', reason: 'connections' }, source)
    ws.close(closeTryAgainLater, 'too many client connections')
    return false
  }
  shared.authenticated++
  return true
}

function sendBounded (ws: WebSocket, text: string, bufferedMax: number, session: ClientSession, options: ClientApiOptions, source: string): boolean {
  if (ws.readyState !== ws.OPEN) return false
  ws.send(text)
  if (ws.bufferedAmount <= bufferedMax) return true
  options.logger.warn({ buffered: ws.bufferedAmount, bufferedMax }, 'slow client disconnected')
  options.onEvent?.({ type: 'disconnected', reason: 'slow-consumer', user: session.user }, source)
  ws.terminate()
  return false
}

/** A live connection's identity on this server: the same for a TCP socket and the TLS socket over it. */
function connectionKey (socket: Socket): string {
  return `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`
}

/** A plain HTTP request where only WebSockets are served. */
function upgradeRequired (_req: IncomingMessage, res: ServerResponse): void {
  const body = 'this port speaks the ddil client API over WebSocket\n'
  res.writeHead(426, { Upgrade: 'websocket', 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) })
  res.end(body)
}

function defaultRandomBytes (length: number): Uint8Array {
  return new Uint8Array(randomBytes(length))
}

async function shutdown (wss: WebSocketServer, server: Server, sockets: Set<WebSocket>, graceMs: number): Promise<void> {
  const closed = [...sockets].map(ws => new Promise<void>(resolve => {
    if (ws.readyState === ws.CLOSED) { resolve(); return }
    ws.once('close', () => { resolve() })
    ws.close(closeGoingAway, 'node shutting down')
    setTimeout(() => { ws.terminate() }, graceMs).unref()
  }))
  await Promise.all(closed)
  await new Promise<void>((resolve, reject) => { wss.close(err => { if (err !== undefined) reject(err); else resolve() }) })
  server.closeAllConnections() // sockets still in their upgrade request, or being sent an app file
  await new Promise<void>((resolve, reject) => { server.close(err => { if (err !== undefined) reject(err); else resolve() }) })
}
