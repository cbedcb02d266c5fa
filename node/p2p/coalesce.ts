/**
 * TCP whose sockets send what was written in one tick as one write.
 *
 * Below a sync frame, yamux writes its 12-byte header and the data as two pieces, Noise
 * seals each with a 2-byte length of its own, and @libp2p/tcp hands the four pieces to the
 * socket one `write` at a time. With Nagle off (libp2p's default, rightly: it would hold a
 * flash message back a round trip) each write leaves as its own TCP segment, so one frame
 * cost four segments and four sets of TCP/IP headers (66 B each with Ethernet). Captured on
 * the emulated 9.6 kbps radio (#26): segments of 2, 28, 2 and 1,142 bytes per 1 KB message,
 * about 300 B of headers a frame where the pacer charged 162, so the radio was offered more
 * than it carries and a flash message queued 3.8 s behind the modem's backlog.
 *
 * Corking the socket on a tick's first write and uncorking on the next tick makes Node send
 * the pieces with one writev: one segment per frame when it fits, nothing delayed past the
 * current tick. Order, backpressure (`write` still answers false past the high-water mark)
 * and `end` (which uncorks) are Node's own.
 *
 * @libp2p/tcp opens outbound sockets in `TCP._connect` and accepts inbound ones on the
 * listener's `server`; both are reached here by name, so test/p2p-coalesce.test.ts counts
 * segments through a real host and fails if an upgrade moves them.
 *
 * @example
 * transports: [coalescingTcp({ dialOpts: { keepAlive: true } })]
 */
import type { Socket, Server } from 'node:net'
import { tcp, type TCPOptions } from '@libp2p/tcp'
import type { Listener, Transport } from '@libp2p/interface'

type TcpFactory = ReturnType<typeof tcp>
type TcpInternals = Omit<Transport, 'createListener'> & {
  _connect: (ma: unknown, options: unknown) => Promise<Socket>
  createListener: Transport['createListener']
}

/** Cork on the first write of a tick, uncork on the next: the tick's writes leave as one writev. */
export function coalesceWrites (socket: Socket): Socket {
  const write = socket.write
  let corked = false
  socket.write = function (this: Socket, ...args: Parameters<Socket['write']>): boolean {
    if (!corked && !socket.writableEnded) {
      corked = true
      socket.cork()
      process.nextTick(() => { corked = false; socket.uncork() })
    }
    return write.apply(this, args)
  } as Socket['write']
  return socket
}

/** `tcp(init)` whose outbound and inbound sockets coalesce their writes (`coalesceWrites`). */
export function coalescingTcp (init: TCPOptions): TcpFactory {
  const factory = tcp(init)
  return (components) => {
    const transport = factory(components) as TcpInternals
    const connect = transport._connect.bind(transport)
    transport._connect = async (ma, options) => coalesceWrites(await connect(ma, options))
    const createListener = transport.createListener.bind(transport)
    transport.createListener = (options) => {
      const listener = createListener(options) as Listener & { server?: Server }
      if (listener.server === undefined) throw new Error('@libp2p/tcp listener has no server: coalesce.ts needs updating')
      listener.server.prependListener('connection', coalesceWrites)
      return listener
    }
    return transport as Transport
  }
}
