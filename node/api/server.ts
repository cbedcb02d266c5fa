/**
 * The client API server: a WebSocket endpoint (package `ws`) on loopback by default,
 * through which clients (the `ddil` CLI, the field app) submit envelopes, follow channels
 * and see delivery status. Each connection runs a `ClientSession`; this module owns the
 * sockets: the connection bound, the frame size bound (ws `maxPayload`), slow-consumer
 * disconnection and shutdown. Plain HTTP requests on the same port get the app's files
 * (`site`, node/web/static.ts) or 426; with `tls` it is the HTTPS listener for the local
 * network, and with `wsPath` it takes WebSocket upgrades on that path only.
 *
 * @example
 * const api = await startClientApi({ port: 0, facade, crypto, logger })
 * console.log(`ws://${api.address.host}:${api.address.port}`)
 * await api.close()
 */
import { randomBytes } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import { WebSocketServer, type WebSocket } from 'ws'
import { ConfigError } from '../../protocol/errors.ts'
import type { Clock, Crypto, Logger } from '../../protocol/ports.ts'
import { authNonceBytes } from './auth.ts'
import type { NodeFacade } from './facade.ts'
import { defaultClientApiLimits, type ClientApiLimits } from './limits.ts'
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
  /** Security events (auth accepted or refused, forced disconnects), for the audit log. */
  onEvent?: (event: ClientApiEvent) => void
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

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  monotonicMs: () => performance.now(),
  schedule (delayMs, fn) {
    const timer = setTimeout(fn, delayMs)
    timer.unref()
    return () => clearTimeout(timer)
  },
}

export async function startClientApi (options: ClientApiOptions): Promise<ClientApi> {
  const limits: ClientApiLimits = { ...defaultClientApiLimits, ...options.limits }
  const host = options.host ?? defaultClientApiHost
  const server: Server = options.tls !== undefined ? createTlsServer({ cert: options.tls.cert, key: options.tls.key }) : createServer()
  server.on('request', options.site ?? upgradeRequired)
  const wss = new WebSocketServer({ server, path: options.wsPath, maxPayload: limits.wsPayloadBytesMax, perMessageDeflate: false })
  wss.on('error', (err) => { options.logger.error({ err: err.message }, 'client API server error') })
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve)
    server.once('error', (err) => { reject(new ConfigError(`client API cannot listen on ${host}:${options.port}: ${err.message}`, { cause: err })) })
    server.listen(options.port, host)
  })
  const sockets = new Set<WebSocket>()
  wss.on('connection', (ws, req) => { accept(ws, options, limits, sockets, req.socket.remoteAddress) })
  const bound = server.address()
  if (bound === null || typeof bound === 'string') throw new ConfigError(`client API address ${host} is not a TCP address`)
  options.logger.info({ host, port: bound.port }, 'client API listening')
  return {
    address: { host, port: bound.port },
    close: () => shutdown(wss, server, sockets, limits.closeGraceMs),
  }
}

function accept (ws: WebSocket, options: ClientApiOptions, limits: ClientApiLimits, sockets: Set<WebSocket>, remote: string | undefined): void {
  if (sockets.size >= limits.clientConnectionsMax) {
    options.logger.warn({ open: sockets.size }, 'client connection refused: too many open connections')
    options.onEvent?.({ type: 'disconnected', reason: 'connections' })
    ws.close(closeTryAgainLater, 'too many client connections')
    return
  }
  sockets.add(ws)
  const session = new ClientSession({
    facade: options.facade,
    crypto: options.crypto,
    clock: options.clock ?? systemClock,
    logger: options.logger,
    limits,
    nonce: (options.randomBytes ?? defaultRandomBytes)(authNonceBytes),
    send: (text) => sendBounded(ws, text, limits.sendBufferedBytesMax, session, options),
    close: (code, reason) => { ws.close(code, reason) },
    onEvent: options.onEvent,
    remote,
  })
  ws.on('message', (data, isBinary) => {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : data instanceof ArrayBuffer ? Buffer.from(data) : data
    session.receive(isBinary ? '' : bytes.toString('utf8'), bytes.length, isBinary)
  })
  ws.on('close', () => { sockets.delete(ws); session.end() })
  // A socket error is followed by 'close'; the listener keeps it from becoming an uncaught exception.
  ws.on('error', (err) => { options.logger.debug({ err: err.message }, 'client socket error') })
  session.start()
}

/** Sends, then drops the client if more than `bufferedMax` bytes wait for it: a slow consumer is not buffered without bound. */
function sendBounded (ws: WebSocket, text: string, bufferedMax: number, session: ClientSession, options: ClientApiOptions): boolean {
  if (ws.readyState !== ws.OPEN) return false
  ws.send(text)
  if (ws.bufferedAmount <= bufferedMax) return true
  options.logger.warn({ buffered: ws.bufferedAmount, bufferedMax }, 'slow client disconnected')
  options.onEvent?.({ type: 'disconnected', reason: 'slow-consumer', user: session.user })
  ws.terminate()
  return false
}

function defaultRandomBytes (length: number): Uint8Array {
  return new Uint8Array(randomBytes(length))
}

/** A plain HTTP request where only WebSockets are served. */
function upgradeRequired (_req: IncomingMessage, res: ServerResponse): void {
  const body = 'this port speaks the ddil client API over WebSocket\n'
  res.writeHead(426, { Upgrade: 'websocket', Connection: 'Upgrade', 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) })
  res.end(body)
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
  server.closeAllConnections() // keep-alive HTTP connections of the app's page loads
  await new Promise<void>(resolve => { server.close(() => { resolve() }) })
}
