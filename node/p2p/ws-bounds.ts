/**
 * libp2p's WebSocket transport with bounds on what an unproven connection may hold. Its
 * listener waits for a connection's first byte with no deadline, then hands it to an HTTP
 * server with Node's defaults (60 s for the headers, checked every 30 s) and no bound on
 * sockets, so silent connections to the relay's `/ws` port each held a file descriptor for
 * ever: 225 of them took a relay with a 256-file limit to its limit, and its admin endpoint
 * stopped answering. Here every socket must send its first byte within
 * `wsFirstByteTimeoutMs` and its upgrade request's headers within
 * `wsUpgradeHeadersTimeoutMs`, and the listener holds at most `hostListenerSocketsMax`
 * sockets. After the upgrade, libp2p's own upgrade timeout and the gater's admission apply.
 *
 * @example
 * createLibp2p({ transports: [tcp(), boundedWebSockets()], … })
 */
import type { Transport } from '@libp2p/interface'
import { webSockets, type WebSocketsComponents } from '@libp2p/websockets'
import type { Server, Socket } from 'node:net'
import * as limits from './limits.ts'

export function boundedWebSockets (): (components: WebSocketsComponents) => Transport {
  const factory = webSockets({
    http: { headersTimeout: limits.wsUpgradeHeadersTimeoutMs, requestTimeout: limits.wsUpgradeHeadersTimeoutMs, connectionsCheckingInterval: limits.wsTimeoutCheckEveryMs },
  })
  return (components) => {
    const transport = factory(components)
    const createListener = transport.createListener.bind(transport)
    transport.createListener = (options) => {
      const listener = createListener(options)
      // The listener's net.Server is a private field of @libp2p/websockets 10 (listener.js: `this.server = net.createServer(…)`).
      const server = (listener as unknown as { server?: Server }).server
      if (server !== undefined) {
        server.maxConnections = limits.hostListenerSocketsMax
        server.on('connection', silentDeadline)
      }
      return listener
    }
    return transport
  }
}

/** A socket that has sent nothing by the deadline is closed; one that has spoken is left to the HTTP server's timeouts. */
function silentDeadline (socket: Socket): void {
  const timer = setTimeout(() => { if (socket.bytesRead === 0) socket.destroy() }, limits.wsFirstByteTimeoutMs)
  timer.unref()
  socket.once('close', () => { clearTimeout(timer) })
}
