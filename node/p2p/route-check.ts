/**
 * A slow declared link needs TCP's least retransmission timeout raised on its route, which only
 * the host's operator can do (docs/OPERATOR.md "Pairing two relays"). With Linux's 200 ms, TCP
 * resends packets still queued in a 9.6 kbps radio (one full packet takes 1.26 s there), and a
 * flash message waits behind the copies: 3.2 s instead of 0.87 s in `ddil emulate` radio-burst.
 * So when a declared link comes up, the relay reads the route (`ip route get`) once per peer
 * address and warns, with the command to run, if its `rto_min` is short of the advice.
 *
 * @example
 * rtoMinAdvisedMs(9_600)                                  // 3785
 * parseRtoMinMs('10.0.0.2 dev l0 src 10.0.0.1 \n cache rto_min lock 3.785s')   // 3785
 * routeShortfall(9_600, '10.0.0.2 dev l0 src 10.0.0.1')   // { advisedMs: 3785, actualMs: 200 }
 */
import { execFile } from 'node:child_process'
import type { Logger } from '../../protocol/ports.ts'
import { linkPacketBytesMax, routeCheckTimeoutMs, slowLinkRtoPackets, tcpRtoMinDefaultMs } from './limits.ts'

/** The `rto_min` advised for a link of this rate, ms: `slowLinkRtoPackets` full packets' time, at least Linux's own. */
export function rtoMinAdvisedMs (bitsPerSecond: number): number {
  return Math.max(tcpRtoMinDefaultMs, Math.ceil(slowLinkRtoPackets * linkPacketBytesMax * 8000 / bitsPerSecond))
}

const unitMs: Record<string, number> = { us: 0.001, ms: 1, s: 1000 }

/** The `rto_min` that `ip route` output names, ms; undefined when it names none. */
export function parseRtoMinMs (text: string): number | undefined {
  const m = /\brto_min (?:lock )?(\d+(?:\.\d+)?)(us|ms|s)\b/.exec(text)
  return m === null ? undefined : Math.round(Number(m[1]) * unitMs[m[2]])
}

/** What is missing on a route for a link of this rate; undefined when nothing is (or the link is fast enough not to care). */
export function routeShortfall (bitsPerSecond: number, routeText: string): { advisedMs: number, actualMs: number } | undefined {
  const advisedMs = rtoMinAdvisedMs(bitsPerSecond)
  const actualMs = parseRtoMinMs(routeText) ?? tcpRtoMinDefaultMs
  // A few percent short is rounding in the operator's arithmetic, not the 6-fold gap that hurts.
  return actualMs >= advisedMs * 0.9 ? undefined : { advisedMs, actualMs }
}

/** The IP address of a libp2p multiaddr string (`/ip4/10.0.0.2/tcp/4001/p2p/…`); undefined for other kinds. */
export function ipOf (multiaddr: string): string | undefined {
  const parts = multiaddr.split('/')
  return parts[1] === 'ip4' || parts[1] === 'ip6' ? parts[2] : undefined
}

export type RouteReader = (ip: string) => Promise<string>

/** `ip route get IP`, as text. */
export const readRoute: RouteReader = async (ip) => await new Promise((resolve, reject) => {
  execFile('ip', ['route', 'get', ip], { timeout: routeCheckTimeoutMs }, (e, stdout) => { if (e !== null) reject(e); else resolve(stdout) })
})

/**
 * Checks routes of slow declared links, each peer address once per process. A route that
 * cannot be read (no `ip`, not Linux) is noted at debug level: the advice is in the docs.
 */
export class SlowLinkRoutes {
  readonly #checked = new Set<string>()
  readonly #read: RouteReader
  readonly #logger: Pick<Logger, 'warn' | 'debug'> | undefined

  constructor (logger?: Pick<Logger, 'warn' | 'debug'>, read: RouteReader = readRoute) {
    this.#logger = logger
    this.#read = read
  }

  /** Resolves once the route is checked (callers need not wait: it only logs). */
  async check (peer: string, remoteAddr: string, bitsPerSecond: number): Promise<void> {
    const ip = ipOf(remoteAddr)
    if (ip === undefined || rtoMinAdvisedMs(bitsPerSecond) <= tcpRtoMinDefaultMs || this.#checked.has(`${peer} ${ip}`)) return
    this.#checked.add(`${peer} ${ip}`)
    let route: string
    try {
      route = await this.#read(ip)
    } catch (e) {
      this.#logger?.debug({ peer, ip, err: (e as Error).message }, 'cannot read the route of a slow link (see docs/OPERATOR.md on rto_min)')
      return
    }
    // A peer on this host (tests, a second relay on one machine) has no radio between us.
    if (/^local\b/.test(route.trim())) return
    const gap = routeShortfall(bitsPerSecond, route)
    if (gap === undefined) return
    const dev = /\bdev (\S+)/.exec(route)?.[1] ?? 'DEV'
    this.#logger?.warn({ peer, ip, bitsPerSecond, rtoMinMs: gap.actualMs, advisedMs: gap.advisedMs },
      `the route to this slow link's peer lets TCP resend after ${gap.actualMs} ms, while one full packet takes ${Math.round(gap.advisedMs / slowLinkRtoPackets)} ms on it: ` +
      `flash messages will queue behind needless copies. Run: ip route replace ${ip} dev ${dev} rto_min ${gap.advisedMs}ms (docs/OPERATOR.md, "Pairing two relays")`)
  }
}
