/**
 * TCP whose connections send each Noise message as one write.
 *
 * Noise frames every message with a 2-byte length, and @libp2p/tcp hands the length and the
 * ciphertext to the socket as two `write`s. With Nagle off (libp2p's default, rightly: it
 * would hold a flash message back a round trip) each write leaves as its own TCP segment, so
 * a frame cost two segments, and a yamux window update two more, each with 66 B of Ethernet,
 * IP and TCP headers. Captured on the emulated 9.6 kbps radio (#26): segments of 2, 28, 2 and
 * 1,142 bytes per 1 KB message, about 300 B of headers where the pacer charged 162, so the
 * radio was offered more than it carries and a flash message queued behind its backlog.
 *
 * The connection's `sendData` writes a batch of pieces synchronously; the socket is corked
 * around it, so Node sends the batch with one writev: one segment when it fits, and nothing
 * held past the call (corking until the next tick instead cost a LAN hop 0.3 ms).
 *
 * @libp2p/tcp builds that connection (`maConn`, with its `socket` and `sendData`) and passes it
 * to the upgrader it was given; the upgrader is wrapped on dial and on listen to reach it.
 * Those names are the library's internals, so test/p2p-coalesce.test.ts counts the kernel's
 * segments through real hosts and fails if an upgrade moves them.
 *
 * @example
 * transports: [coalescingTcp({ dialOpts: { keepAlive: true } })]
 */
import type { Socket } from 'node:net'
import { tcp, type TCPOptions } from '@libp2p/tcp'
import type { Transport, Upgrader } from '@libp2p/interface'

type TcpFactory = ReturnType<typeof tcp>
interface TcpConnection { socket?: Socket, sendData?: (data: Iterable<Uint8Array>) => unknown }

/** Corks the connection's socket for the length of each `sendData`: its pieces leave as one writev. */
export function corkEachSend (maConn: unknown): void {
  const c = maConn as TcpConnection
  const socket = c.socket
  const sendData = c.sendData
  if (socket === undefined || typeof sendData !== 'function') throw new Error('@libp2p/tcp connection has no socket or sendData: node/p2p/coalesce.ts needs updating')
  c.sendData = function (this: unknown, data: Iterable<Uint8Array>): unknown {
    socket.cork()
    try {
      return sendData.call(this, data)
    } finally {
      socket.uncork()
    }
  }
}

/** The upgrader, with every connection it upgrades corked per send first. */
function corkingUpgrader (upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get (target, prop) {
      if (prop === 'upgradeOutbound' || prop === 'upgradeInbound') {
        const upgrade = target[prop].bind(target) as (maConn: unknown, options: unknown) => unknown
        return (maConn: unknown, options: unknown) => { corkEachSend(maConn); return upgrade(maConn, options) }
      }
      const value: unknown = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** `tcp(init)` whose dialled and accepted connections send each batch as one write (`corkEachSend`). */
export function coalescingTcp (init: TCPOptions): TcpFactory {
  const factory = tcp(init)
  return (components) => {
    const transport = factory(components) as Transport
    const dial = transport.dial.bind(transport)
    transport.dial = async (ma, options) => await dial(ma, { ...options, upgrader: corkingUpgrader(options.upgrader) })
    const createListener = transport.createListener.bind(transport)
    transport.createListener = (options) => createListener({ ...options, upgrader: corkingUpgrader(options.upgrader) })
    return transport
  }
}
