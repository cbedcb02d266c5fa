/**
 * The addresses a listener can be reached on, for the URLs `ddil start` and `ddil enrol`
 * print and the names in the relay's own certificate: an any-address listener (0.0.0.0,
 * ::) is reached on each address this machine's interfaces have now (link-local and scoped
 * IPv6 addresses left out: a phone cannot type them), other listeners on their own address.
 *
 * @example
 * appUrls({ host: '0.0.0.0', port: 4443 }, 'https')   // ['https://192.168.1.20:4443/']
 * urlHost('::1')                                     // '[::1]'
 */
import { networkInterfaces } from 'node:os'

/** This machine's addresses now: external ones first (IPv4 before IPv6), then loopback. */
export function interfaceAddresses (): string[] {
  const all = Object.values(networkInterfaces()).flatMap(list => list ?? [])
    .filter(i => !i.address.includes('%') && !i.address.toLowerCase().startsWith('fe80:'))
  const rank = (i: { internal: boolean, family: string }): number => (i.internal ? 2 : 0) + (i.family === 'IPv4' ? 0 : 1)
  return [...new Set(all.sort((a, b) => rank(a) - rank(b)).map(i => i.address))]
}

/** Where a listener on `host` can be reached from other machines (this machine's own address when it has no other). */
export function reachableHosts (host: string): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [host]
  const external = interfaceAddresses().filter(a => !a.startsWith('127.') && a !== '::1' && (host === '::' || !a.includes(':')))
  return external.length > 0 ? external : [host === '::' ? '::1' : '127.0.0.1']
}

/** `host:port` (IPv6 in brackets) back to its parts; undefined when it is not one. */
export function parseHostPort (text: string): { host: string, port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text)
  const port = Number(m?.[3])
  return m === null || port > 65535 ? undefined : { host: m[1] ?? m[2], port }
}

/** A host as it goes in a URL: IPv6 in brackets. */
export function urlHost (host: string): string {
  return host.includes(':') ? `[${host}]` : host
}

/** `scheme://address:port/` for each address the listener can be reached on. */
export function appUrls (listen: { host: string, port: number }, scheme: 'http' | 'https'): string[] {
  return reachableHosts(listen.host).map(h => `${scheme}://${urlHost(h)}:${listen.port}/`)
}
