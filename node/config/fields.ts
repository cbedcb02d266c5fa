/**
 * Checks for single config values: listen and peer multiaddrs, peer ids, `host:port`
 * addresses, sizes, durations, client keys. Each returns the normalised value or
 * throws ConfigError whose message is the tail of a sentence that starts with the
 * bad value ("is not a size; write e.g. 500MB or 1GB"): the loader adds the file,
 * line, key path and value in front.
 *
 * Only IP addresses are accepted (no DNS names): a relay must work when name
 * service is down, and the p2p gater refuses to dial names anyway.
 *
 * @example
 * checkListenAddr('/ip4/0.0.0.0/tcp/4401')  // '/ip4/0.0.0.0/tcp/4401'
 * checkHostPort('127.0.0.1:4410')           // { host: '127.0.0.1', port: 4410 }
 * checkSize('1 gigabyte')                   // throws ConfigError('is not a size; write e.g. 500MB or 1GB')
 */
import { isIPv4, isIPv6 } from 'node:net'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { ConfigError } from '../../protocol/errors.ts'
import { parseDuration, parseRate, parseSize } from '../../protocol/units.ts'
import { tryParseUserPublicKey } from '../user-identity.ts'

/** A resolved `host:port`: IPv4, IPv6 (written `[::1]:4410`) or `localhost`; port 0 lets the OS choose. */
export interface HostPort { host: string, port: number }

/** The word in `clients.allow` that means the user in this data directory's user.key. */
export const operatorKeyword = 'operator'
/** In `authors.allow`: the devices enrolled on this relay (`ddil enrol`) and not revoked. */
export const enrolledKeyword = 'enrolled'

function fail (fragment: string): never {
  throw new ConfigError(fragment)
}

function parseMultiaddr (text: string, example: string): Multiaddr {
  try {
    return multiaddr(text)
  } catch (e) {
    return fail(`is not a multiaddr (${(e as Error).message}); write e.g. ${example}`)
  }
}

/** Component names of `/ip4|ip6/…/tcp/…[/ws]`, the only transports the relay runs. */
function checkTransport (ma: Multiaddr, example: string): void {
  const names = ma.getComponents().map(c => c.name)
  if (names[0] !== 'ip4' && names[0] !== 'ip6') fail(`must start with /ip4/ or /ip6/ and an IP address (DNS names are not used); write e.g. ${example}`)
  if (names[1] !== 'tcp') fail(`must be TCP (/tcp/<port>, optionally followed by /ws); write e.g. ${example}`)
  const rest = names.slice(2).filter(n => n !== 'p2p')
  if (rest.length > 1 || (rest.length === 1 && rest[0] !== 'ws')) fail(`has /${rest.join('/')} after the port, but only /ws is supported there; write e.g. ${example}`)
}

/** A multiaddr this node can listen on. */
export function checkListenAddr (text: string): string {
  const example = '/ip4/0.0.0.0/tcp/4401 or /ip4/0.0.0.0/tcp/4402/ws'
  const ma = parseMultiaddr(text, example)
  checkTransport(ma, example)
  if (ma.getComponents().some(c => c.name === 'p2p')) fail(`names a peer (/p2p/…), which belongs in peers.static, not in a listen address; write e.g. ${example}`)
  return ma.toString()
}

/** A relay to dial: transport address plus the /p2p/<node id> that must answer. */
export function checkStaticPeer (text: string): string {
  const example = '/ip4/192.0.2.7/tcp/4401/p2p/12D3KooW… (the node id that "ddil init" printed on that relay)'
  const ma = parseMultiaddr(text, example)
  checkTransport(ma, example)
  const components = ma.getComponents()
  const last = components[components.length - 1]
  if (last.name !== 'p2p' || last.value === undefined) fail(`does not end in /p2p/<node id>, so the handshake could not check who answers; write e.g. ${example}`)
  checkPeerId(last.value)
  return ma.toString()
}

/** A libp2p peer id as printed by `ddil init`. */
export function checkPeerId (text: string): string {
  try {
    return peerIdFromString(text).toString()
  } catch {
    return fail('is not a node id; copy it from the output of "ddil init" (or "ddil status") on that relay, e.g. 12D3KooW…')
  }
}

/** `host:port` for the client API or the admin HTTP server. */
export function checkHostPort (text: string): HostPort {
  const example = '127.0.0.1:4410, 0.0.0.0:4410 or [::1]:4410'
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text)
  if (m === null) fail(`is not a host:port address; write e.g. ${example}`)
  const host = m[1] ?? m[2]
  const port = Number(m[3])
  if (m[1] !== undefined ? !isIPv6(host) : !(isIPv4(host) || host === 'localhost')) {
    fail(`does not have an IP address before the port (host names other than localhost are not resolved); write e.g. ${example}`)
  }
  if (port > 65535) fail(`has port ${port}, above 65535; write e.g. ${example}`)
  return { host, port }
}

/** The word in `web.listen` that turns the HTTPS listener off. */
export const offKeyword = 'off'

/** `web.listen`: `off` (null) or a `host:port`. */
export function checkWebListen (text: string): HostPort | null {
  if (text === offKeyword) return null
  try {
    return checkHostPort(text)
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e
    return fail(`is neither "${offKeyword}" nor a host:port address; write e.g. 0.0.0.0:4443 (every interface) or ${offKeyword}`)
  }
}

/** `host:port` text back from a HostPort. */
export function formatHostPort (address: HostPort): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`
}

/** A storage size above zero, in bytes. */
export function checkSize (text: string): number {
  let bytes: number
  try {
    bytes = parseSize(text)
  } catch {
    return fail('is not a size; write e.g. 500MB or 1GB (KB = 1000 B, KiB = 1024 B)')
  }
  if (bytes <= 0) fail('leaves no room for messages; write e.g. 500MB or 1GB')
  return bytes
}

/** A duration from `minMs` to `maxMs`, in milliseconds. */
export function checkDuration (text: string, minMs: number, maxMs: number, example: string): number {
  let ms: number
  try {
    ms = parseDuration(text)
  } catch {
    return fail(`is not a duration; write e.g. ${example} (units ms, s, m, h, d)`)
  }
  if (ms < minMs || ms > maxMs) fail(`is outside the allowed range (${formatRange(minMs, maxMs)}); write e.g. ${example}`)
  return ms
}

function formatRange (minMs: number, maxMs: number): string {
  const f = (ms: number): string => ms === 0 ? '0 ms' : ms % 86_400_000 === 0 ? `${ms / 86_400_000}d` : ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`
  return `${f(minMs)} to ${f(maxMs)}`
}

/** `operator` or a `ddil1:…` user key; returns the canonical text. */
export function checkClientKey (text: string): string {
  if (text === operatorKeyword) return text
  const key = tryParseUserPublicKey(text)
  if ('problem' in key) fail(`${key.problem} (or write "${operatorKeyword}" for this data directory's own user)`)
  return key.text
}

/** An `authors.allow` item: a user key, `operator`, or `enrolled`. */
export function checkAuthorKey (text: string): string {
  if (text === enrolledKeyword) return text
  return checkClientKey(text)
}

/** A slow link declared by the operator: what the network cannot tell the relay. */
export interface LinkHint {
  /** The relay at the other end (node id). */
  peer: string
  bandwidthBitsPerSecond: number
  /** One-way latency, used until the link is measured, ms. */
  latencyMs?: number
}

/** Longest one-way latency a link may be declared with (a geostationary hop is about 300 ms), ms. */
const linkHintLatencyMsMax = 60_000

/** `<node id> <bandwidth> [<one-way latency>]`, e.g. `12D3KooW… 9.6kbps` or `12D3KooW… 64kbps 300ms`. */
export function checkLinkHint (text: string): LinkHint {
  const example = '12D3KooW… 9.6kbps, or 12D3KooW… 64kbps 300ms (node id, bandwidth, optional one-way latency)'
  const parts = text.trim().split(/\s+/)
  if (parts.length < 2 || parts.length > 3) fail(`is not "<node id> <bandwidth> [<latency>]"; write e.g. ${example}`)
  const peer = checkPeerId(parts[0])
  let bandwidthBitsPerSecond: number
  try {
    bandwidthBitsPerSecond = parseRate(parts[1])
  } catch {
    return fail(`has "${parts[1]}" where a bandwidth belongs; write e.g. ${example}`)
  }
  if (parts.length === 2) return { peer, bandwidthBitsPerSecond }
  return { peer, bandwidthBitsPerSecond, latencyMs: checkDuration(parts[2], 0, linkHintLatencyMsMax, '300ms') }
}

