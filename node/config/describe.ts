/**
 * What a resolved config makes the node do, in plain sentences, for `ddil configtest`
 * (in the spirit of `nginx -t`, but saying what will happen rather than only "ok").
 *
 * @example
 * describeConfig(config)
 * // ['Keep its data in /var/lib/ddil.',
 * //  'Listen for relays on /ip4/0.0.0.0/tcp/4401 and /ip4/0.0.0.0/tcp/4402/ws (every interface).', …]
 */
import { join } from 'node:path'
import { formatDuration, formatBytes } from '../../protocol/units.ts'
import { formatHostPort, type HostPort } from './fields.ts'
import { allowedPeerIds, type ResolvedConfig } from './schema.ts'
import { webCertFileName } from '../web/certificate.ts'

function and (items: readonly string[]): string {
  if (items.length <= 1) return items.join('')
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`
}

function plural (n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`
}

function reach (address: HostPort): string {
  const h = address.host
  const port = address.port === 0 ? ' (port chosen by the system)' : ''
  if (h === 'localhost' || h === '::1' || h.startsWith('127.')) return `this machine only${port}`
  if (h === '0.0.0.0' || h === '::') return `every interface, so other machines can connect${port}`
  return `the interface with address ${h}${port}`
}

function listenScope (addrs: readonly string[]): string {
  if (addrs.length === 0) return 'Not listen for relays (it can still dial them).'
  const everywhere = addrs.some(a => a.startsWith('/ip4/0.0.0.0/') || a.startsWith('/ip6/::/'))
  return `Listen for relays on ${and(addrs)}${everywhere ? ' (every interface)' : ''}.`
}

function peerSentences (config: ResolvedConfig): string[] {
  const { peers, discovery } = config
  const out: string[] = []
  out.push(peers.static.length === 0
    ? 'Dial no relays by itself (peers.static is empty).'
    : `Dial ${plural(peers.static.length, 'relay')} and redial when a link drops: ${and(peers.static)}.`)
  if (peers.mode === 'open') {
    out.push('Accept any relay that completes the encrypted handshake (peers.mode: open).')
  } else if (peers.mode === 'org') {
    out.push('Accept only relays certified by this relay\'s organisation, and by the partners it is a gateway for (peers.mode: org; "ddil org show" lists them), refusing and auditing any other.')
  } else {
    const ids = allowedPeerIds(config)
    out.push(ids.length === 0
      ? 'Refuse every relay (peers.mode: allowlist, and no node ids are allowed).'
      : `Accept only ${plural(ids.length, 'relay')} by node id, refusing and auditing any other: ${and(ids)}.`)
  }
  for (const l of peers.links) {
    out.push(`Treat the link to ${l.peer} as ${formatRate(l.bandwidthBitsPerSecond)}${l.latencyMs === undefined ? '' : ` with ${l.latencyMs} ms one way until measured`}: frames of about a second of it (peers.links).`)
  }
  out.push(discovery.mdns ? 'Look for relays on the local network with mDNS.' : 'Not use mDNS: only configured or dialling relays are found.')
  return out
}

function clientSentence (config: ResolvedConfig): string {
  const { clients, api } = config
  const who: string[] = []
  if (clients.allowOperator) who.push('the operator user in user.key')
  if (clients.allow.length > 0) who.push(plural(clients.allow.length, 'other user'))
  who.push('devices enrolled with "ddil enrol" and not revoked (clients.json)')
  return `Serve the client API on ws://${formatHostPort(api.listen)} (${reach(api.listen)}) to ${and(who)}, up to ${plural(api.requestsPerSecond, 'request')} a second per connection, and the field app at http://${formatHostPort(api.listen)}/.`
}

function webSentences (config: ResolvedConfig): string[] {
  const { web, dataDir } = config
  const files = web.root === undefined ? 'web/dist in the ddil installation' : web.root
  if (web.listen === undefined) return [`Serve the field app from ${files}; the HTTPS listener for phones on the local network is off (web.listen: off).`]
  const cert = web.cert === undefined
    ? `the relay's own self-signed certificate ${join(dataDir, webCertFileName)} (made by "ddil init", or at start if missing; "ddil start" prints its SHA-256 fingerprint for users to compare)`
    : `the certificate ${web.cert} and key ${web.key}`
  return [`Serve the field app (from ${files}) and the client API (at /api) over HTTPS on https://${formatHostPort(web.listen)}/ (${reach(web.listen)}), with ${cert}.`]
}

function authorSentence (config: ResolvedConfig): string {
  const { authors } = config
  const who: string[] = []
  if (authors.allowOperator) who.push('the operator user')
  if (authors.allowEnrolled) who.push('the devices enrolled here')
  if (authors.allow.length > 0) who.push(plural(authors.allow.length, 'other user'))
  return who.length === 0 ? 'Carry no channels (authors.allow is empty).' : `Carry channels created by ${and(who)} (membership inside each channel is decided by its signed governance); refuse and audit other channels.`
}

/** One sentence per behaviour, in the order an operator would check them. */
export function describeConfig (config: ResolvedConfig): string[] {
  const { storage, engine, admin, log } = config
  return [
    `Keep its data in ${config.dataDir}.`,
    listenScope(config.node.listen),
    ...peerSentences(config),
    clientSentence(config),
    ...webSentences(config),
    authorSentence(config),
    `Serve /healthz, /status and /metrics on http://${formatHostPort(admin.listen)} (${reach(admin.listen)}), without authentication.`,
    `Store up to ${formatBytes(storage.quotaBytes)} of messages; when full, evict expired, then lowest-precedence oldest messages, then refuse new custody.`,
    storage.sync
      ? 'Flush each write batch to disk before acknowledging it (storage.sync: true), so acknowledged messages survive a power cut.'
      : 'Acknowledge writes without flushing them to disk (storage.sync: false): they survive a crash of ddil but a power cut may lose the last few seconds.',
    `Reconcile each connected link every ${formatDuration(engine.reconcileIntervalMs)} and on every reconnect; purge expired messages every ${formatDuration(engine.purgeIntervalMs)}.`,
    `Log at level ${log.level} and above.`,
    `Start a new audit log file at ${formatBytes(config.audit.rotateBytes)} or when its first entry is ${formatDuration(config.audit.rotateAgeMs)} old; keep ${config.audit.keepFiles} rotated files, deleting older ones.`,
  ]
}

/** Bits per second as an operator writes them: 9.6kbps, 64kbps, 2Mbps. */
function formatRate (bps: number): string {
  return bps >= 1e6 ? `${bps / 1e6}Mbps` : bps >= 1e3 ? `${bps / 1e3}kbps` : `${bps}bps`
}
