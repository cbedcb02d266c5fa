/**
 * Admin HTTP on loopback: `/healthz` (liveness), `/status` (JSON: node id, listen
 * addresses, peers, queues by precedence, store bytes, delivered, expired, evicted)
 * and `/metrics` (Prometheus text, every name prefixed `ddil_`). Metrics are read from
 * the engine's counters at scrape time, so nothing is double-counted.
 *
 * The endpoint is unauthenticated, so it is bounded (node/api/limits.ts, "Admin endpoint"):
 * connections at once, unfinished requests (node/admission.ts: per address, oldest dropped
 * first, short deadline under pressure), header and request timeouts; every response
 * closes its connection. Connections dropped by these bounds are reported to `onRefused`.
 *
 * @example
 * const admin = await startAdmin({ host: '127.0.0.1', port: 4411, status: () => node.status(), onRefused: (source, why) => audit(source, why) })
 */
import { createServer, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { Registry, Gauge, Counter } from 'prom-client'
import type { AwayPeer, Counters } from '../protocol/engine/types.ts'
import { frameTypeNames } from '../protocol/frames.ts'
import { precedenceNames } from '../protocol/envelope.ts'
import type { RelayOrg } from '../protocol/org/member.ts'
import type { Clock } from '../protocol/ports.ts'
import { Admission, sourceOf, type Ticket } from './admission.ts'
import { systemClock } from './runtime.ts'
import * as limits from './api/limits.ts'

export interface NodeStatus {
  nodeId: string
  listen: string[]
  /** `org`, `partner`: in `peers.mode: org`, the organisation whose certificate the peer presented, and whether it is a partner's (#29). */
  peers: Array<{ id: string, ready: boolean, score: number, queued: number[], latencyMs: number | null, costMs: number, org?: string, partner?: boolean }>
  queuedByPrecedence: number[]
  /** Peers that went away and what waits for them; computed when read (a pass over the store's index). */
  readonly away: AwayPeer[]
  envelopes: number
  storeBytes: number
  storageBytesMax: number
  counters: Counters
  uptimeMs: number
  /** The HTTPS listener for the local network, when on: where, and its certificate's SHA-256 fingerprint. */
  web?: { listen: string, fingerprint: string }
  /**
   * In `peers.mode: org` (#29): the organisations this relay accepts, by the hex of their key, with
   * the names its operator gave them; a device shows a channel member's organisation from these.
   */
  orgs?: RelayOrg[]
}

export interface AdminServer {
  address: { host: string, port: number }
  close (): Promise<void>
}

function metrics (status: () => NodeStatus): Registry {
  // Our own registry: prom-client's global one is shared with libraries and reset by some.
  const registry = new Registry()
  const gauge = (name: string, help: string, read: (s: NodeStatus, g: Gauge) => void, labelNames: string[] = []): void => {
    registry.registerMetric(new Gauge({ name: `ddil_${name}`, help, labelNames, registers: [], collect () { read(status(), this) } }))
  }
  const counter = (name: string, help: string, read: (c: Counters) => number): void => {
    registry.registerMetric(new Counter({ name: `ddil_${name}_total`, help, registers: [], collect () { this.reset(); this.inc(read(status().counters)) } }))
  }
  gauge('peers', 'Connected peers that completed the handshake', (s, g) => g.set(s.peers.filter(p => p.ready).length))
  gauge('envelopes', 'Envelopes held in the store', (s, g) => g.set(s.envelopes))
  gauge('store_bytes', 'Bytes charged against the storage quota', (s, g) => g.set(s.storeBytes))
  gauge('store_quota_bytes', 'Storage quota', (s, g) => g.set(s.storageBytesMax))
  gauge('queue_envelopes', 'Envelopes queued to peers, by precedence', (s, g) => { s.queuedByPrecedence.forEach((n, i) => g.set({ precedence: precedenceNames[i] }, n)) }, ['precedence'])
  gauge('uptime_seconds', 'Seconds since the node started', (s, g) => g.set(s.uptimeMs / 1000))
  counter('stored', 'New envelopes stored (local and from peers)', c => c.stored)
  counter('submitted', 'Envelopes submitted by local clients', c => c.submitted)
  counter('purged', 'Envelopes purged on expiry', c => c.purged)
  counter('evicted', 'Envelopes evicted under quota', c => c.evicted)
  counter('expired_on_arrival', 'Envelopes refused because they had expired', c => c.expiredOnArrival)
  counter('refused', 'Envelopes refused (any reason)', c => c.refused)
  counter('duplicate_payload_bytes', 'Envelope bytes received that we already held', c => c.duplicatePayloadBytesReceived)
  counter('payload_bytes_sent', 'Envelope bytes handed to the transport', c => c.payloadBytesSent)
  counter('equivocations', 'Authors caught signing two envelopes with one sequence', c => c.equivocations)
  counter('peers_penalised', 'Peers disconnected for misbehaviour', c => c.peersPenalised)
  const frames = new Counter({ name: 'ddil_frames_sent_total', help: 'Frames sent, by type', labelNames: ['type'], registers: [], collect () { this.reset(); const c = status().counters; frameTypeNames.forEach((t, i) => this.inc({ type: t }, c.framesSent[i])) } })
  const bytes = new Counter({ name: 'ddil_bytes_sent_total', help: 'Frame bytes sent, by type', labelNames: ['type'], registers: [], collect () { this.reset(); const c = status().counters; frameTypeNames.forEach((t, i) => this.inc({ type: t }, c.bytesSent[i])) } })
  const received = new Counter({ name: 'ddil_bytes_received_total', help: 'Frame bytes received, by type', labelNames: ['type'], registers: [], collect () { this.reset(); const c = status().counters; frameTypeNames.forEach((t, i) => this.inc({ type: t }, c.bytesReceived[i])) } })
  registry.registerMetric(frames); registry.registerMetric(bytes); registry.registerMetric(received)
  return registry
}

export interface AdminOptions {
  host: string
  port: number
  status: () => NodeStatus
  /** A connection was dropped by the endpoint's bounds: its source (`/ip4/…`) and why. */
  onRefused?: (source: string, reason: string) => void
  /** Drives the deadline under pressure; the system clock by default. */
  clock?: Clock
}

export const adminConnectionsFull = 'admin connections full'

export function startAdmin (options: AdminOptions): Promise<AdminServer> {
  const registry = metrics(options.status)
  const admission = new Admission({
    limits: { pendingMax: limits.adminPendingMax, reservedMax: 0, perSourceMax: limits.adminPendingPerSourceMax, pressuredTimeoutMs: limits.adminPressuredTimeoutMs },
    clock: options.clock ?? systemClock,
    onDrop: options.onRefused,
  })
  const unfinished = new WeakMap<Socket, Ticket>()
  const server: Server = createServer({
    headersTimeout: limits.adminHeadersTimeoutMs, requestTimeout: limits.adminRequestTimeoutMs, connectionsCheckingInterval: limits.adminTimeoutCheckEveryMs,
  }, (req, res) => {
    unfinished.get(req.socket)?.done() // its headers are in: no longer a slow handshake
    const path = (req.url ?? '/').split('?')[0]
    const reply = (code: number, type: string, body: string): void => { res.writeHead(code, { 'content-type': type, connection: 'close' }); res.end(body) }
    if (req.method !== 'GET') { reply(405, 'application/json', '{"error":"method not allowed"}'); return }
    if (path === '/healthz') { reply(200, 'application/json', '{"ok":true}\n'); return }
    if (path === '/status') { reply(200, 'application/json', JSON.stringify(options.status(), null, 2) + '\n'); return }
    if (path === '/metrics') {
      registry.metrics().then(text => reply(200, registry.contentType, text), (e: Error) => reply(500, 'text/plain', e.message))
      return
    }
    reply(404, 'application/json', '{"error":"not found: try /healthz, /status or /metrics"}\n')
  })
  server.maxConnections = limits.adminConnectionsMax
  server.on('connection', (socket: Socket) => {
    const ticket = admission.admit(sourceOf(socket.remoteAddress), () => { socket.destroy() })
    unfinished.set(socket, ticket)
    socket.once('close', ticket.done)
  })
  server.on('drop', (data?: { remoteAddress?: string }) => { options.onRefused?.(sourceOf(data?.remoteAddress), adminConnectionsFull) })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port, options.host, () => {
      const addr = server.address()
      if (addr === null || typeof addr === 'string') { reject(new Error('admin server has no address')); return }
      resolve({
        address: { host: addr.address, port: addr.port },
        close: () => new Promise(r => { server.closeAllConnections(); server.close(() => r()) }),
      })
    })
  })
}
