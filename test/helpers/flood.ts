/**
 * Attack traffic for tests of resource bounds, on loopback only: connections that never
 * finish what they start (an HTTP request cut short, a TCP connection that never speaks),
 * kept at a steady count. A connection the target closes is replaced at once, as a real
 * attacker would, so the target must keep shedding them.
 *
 * @example
 * const flood = holdConnections({ port: relay.adminPort, count: 400, send: 'GET /status HTTP/1.1\r\nHost: x\r\n' })
 * ... ; flood.stop(); t.ok(flood.opened > 400)
 */
import { connect, type Socket } from 'node:net'

export interface Flood {
  /** Connections opened so far (replacements included). */
  readonly opened: number
  /** Connections open now. */
  readonly open: number
  stop (): void
}

export interface FloodOptions {
  port: number
  host?: string
  /** Source address to connect from, e.g. 127.0.0.2 (any 127/8 address is loopback). */
  localAddress?: string
  /** Connections to keep open. */
  count: number
  /** Bytes sent once connected (then nothing more); none by default: a silent connection. */
  send?: string
  /** New connections per second at most (replacements included); unbounded by default. */
  perSecond?: number
}

export function holdConnections (o: FloodOptions): Flood {
  const sockets = new Set<Socket>()
  let opened = 0
  let stopped = false
  let windowStart = performance.now()
  let inWindow = 0
  let timer: NodeJS.Timeout | undefined
  const openOne = (): void => {
    const s = connect({ port: o.port, host: o.host ?? '127.0.0.1', localAddress: o.localAddress })
    opened++
    sockets.add(s)
    s.on('error', () => { /* the target may reset it: it is replaced on close */ })
    s.resume() // read and discard what the target sends: a paused socket never sees the target close it
    s.on('connect', () => { if (o.send !== undefined) s.write(o.send) })
    s.on('close', () => { sockets.delete(s); fill() })
  }
  const fill = (): void => {
    if (stopped) return
    while (sockets.size < o.count) {
      if (o.perSecond !== undefined) {
        const now = performance.now()
        if (now - windowStart >= 1000) { windowStart = now; inWindow = 0 }
        if (inWindow >= o.perSecond) {
          timer ??= setTimeout(() => { timer = undefined; fill() }, windowStart + 1000 - now)
          return
        }
        inWindow++
      }
      openOne()
    }
  }
  fill()
  return {
    get opened () { return opened },
    get open () { return sockets.size },
    stop () {
      stopped = true
      clearTimeout(timer)
      for (const s of sockets) s.destroy()
    },
  }
}
