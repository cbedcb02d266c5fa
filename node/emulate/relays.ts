/**
 * The relays of an emulation: one data directory each (made as `ddil init` makes it), a
 * config that listens on the node's link addresses, dials its link peers and serves the
 * client API on its management address, and a `ddil start` process run inside the node's
 * network namespace. A crash is SIGKILL; a restart starts the same data directory again.
 *
 * @example
 * const relays = await initRelays(dir, plan, net)
 * await relays.get('north-1').start(); relays.get('north-1').crash()
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream, writeFileSync, type WriteStream } from 'node:fs'
import { join } from 'node:path'
import { ProtocolError } from '../../protocol/errors.ts'
import { formatRate } from '../../protocol/units.ts'
import { initDataDir } from '../data-dir.ts'
import { loadUserIdentity, type UserIdentity } from '../user-identity.ts'
import type { Crypto } from '../../protocol/ports.ts'
import type { EmulatedNet } from './net.ts'
import { emulateAdminPort, emulateApiPort, emulateP2pPort, emulateStartMsMax } from './limits.ts'
import type { ResolvedLink, ResolvedNode } from '../../sim/scenario-types.ts'

const bin = new URL('../cli/bin.js', import.meta.url).pathname

export class EmulatedRelay {
  readonly id: string
  readonly dataDir: string
  readonly nodeId: string
  readonly user: UserIdentity
  readonly #net: EmulatedNet
  readonly #log: WriteStream
  #child: ChildProcess | undefined
  /** What the running process printed since it started (its readiness line is looked for here). */
  #output = ''
  /** The end of the last chunk printed, a line not yet finished. */
  #partialLine = ''
  /** Links this relay saw go down (its "peer disconnected" log lines), over all its runs. */
  linkDrops = 0

  constructor (o: { id: string, dataDir: string, nodeId: string, user: UserIdentity, net: EmulatedNet }) {
    this.id = o.id
    this.dataDir = o.dataDir
    this.nodeId = o.nodeId
    this.user = o.user
    this.#net = o.net
    this.#log = createWriteStream(join(o.dataDir, 'relay.log'), { flags: 'a' })
  }

  get running (): boolean { return this.#child !== undefined && this.#child.exitCode === null && this.#child.signalCode === null }

  get adminUrl (): string { return `http://${this.#net.mgmtAddress(this.id)}:${emulateAdminPort}` }

  /** Starts `ddil start` in the node's namespace; resolves when it prints its admin line. */
  async start (): Promise<void> {
    if (this.running) return
    this.#output = ''
    const child = spawn('ip', ['netns', 'exec', this.#net.ns(this.id), process.execPath, bin, 'start', '--data', this.dataDir], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DDIL_DATA: '' } })
    this.#child = child
    const take = (c: Buffer): void => { if (this.#output.length < 65_536) this.#output += c.toString(); this.#log.write(c); this.#countDrops(c.toString()) }
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { done(); reject(new ProtocolError(`relay ${this.id} did not start within ${emulateStartMsMax / 1000} s; its log: ${join(this.dataDir, 'relay.log')}`)) }, emulateStartMsMax)
      const onData = (): void => { if (this.#output.includes('admin:')) { done(); resolve() } }
      const onExit = (code: number | null): void => { done(); reject(new ProtocolError(`relay ${this.id} exited (${code}) while starting: ${this.#output.slice(-2000)}`)) }
      const done = (): void => { clearTimeout(timer); child.stdout.off('data', onData); child.stderr.off('data', onData); child.off('exit', onExit) }
      child.stdout.on('data', onData)
      child.stderr.on('data', onData)
      child.once('exit', onExit)
    })
  }

  #countDrops (text: string): void {
    const lines = (this.#partialLine + text).split('\n')
    this.#partialLine = lines.pop() ?? ''
    for (const line of lines) if (line.includes('"msg":"peer disconnected"')) this.linkDrops++
  }

  /** A crash: SIGKILL, nothing flushed. Resolves once the process is gone. */
  async crash (): Promise<void> {
    const child = this.#child
    this.#child = undefined
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    const gone = new Promise(resolve => child.once('exit', resolve))
    child.kill('SIGKILL')
    await gone
  }

  /** The relay's /status (engine counters, peers). */
  async status (): Promise<{ counters: Record<string, number | number[]>, peers: Array<{ id: string, ready: boolean }> }> {
    const res = await fetch(`${this.adminUrl}/status`)
    if (!res.ok) throw new ProtocolError(`relay ${this.id}'s /status answered ${res.status}`)
    return await res.json() as never
  }

  closeLog (): void { this.#log.end() }
}

/** Makes every node's data directory and config under `dir`; starts nothing. */
export async function initRelays (dir: string, nodes: readonly ResolvedNode[], links: readonly ResolvedLink[], net: EmulatedNet, crypto: Crypto): Promise<Map<string, EmulatedRelay>> {
  const relays = new Map<string, EmulatedRelay>()
  for (const node of nodes) {
    const dataDir = join(dir, node.id)
    const { nodeId } = await initDataDir({ dataDir })
    relays.set(node.id, new EmulatedRelay({ id: node.id, dataDir, nodeId, user: await loadUserIdentity(dataDir, crypto), net }))
  }
  const authors = [...relays.values()].map(r => r.user.publicKey)
  for (const node of nodes) writeFileSync(join(dir, node.id, 'config.yaml'), relayConfig(node, links, relays, net, authors), { mode: 0o600 })
  return relays
}

/**
 * One relay's config. The node with the lower index on a link dials it (one connection per
 * link, as a static peer: redialled quickly once it was up); each link's bandwidth is
 * declared, as an operator declares a radio, so the relay paces and judges it by it.
 */
function relayConfig (node: ResolvedNode, links: readonly ResolvedLink[], relays: ReadonlyMap<string, EmulatedRelay>, net: EmulatedNet, authors: string[]): string {
  const order = [...relays.keys()]
  const mine = links.filter(l => l.a === node.id || l.b === node.id).map(l => ({ peer: l.a === node.id ? l.b : l.a, bits: l.params.bandwidthBitsPerSecond }))
  const peerOf = (p: string): EmulatedRelay => relays.get(p) as EmulatedRelay
  const list = (xs: string[]): string => xs.length === 0 ? ' []' : '\n' + xs.map(x => `    - "${x}"`).join('\n')
  const mgmt = net.mgmtAddress(node.id)
  return [
    'node:', `  listen:${list(mine.map(m => `/ip4/${net.linkAddress(node.id, m.peer)}/tcp/${emulateP2pPort}`))}`,
    'peers:',
    `  static:${list(mine.filter(m => order.indexOf(m.peer) > order.indexOf(node.id)).map(m => `/ip4/${net.linkAddress(m.peer, node.id)}/tcp/${emulateP2pPort}/p2p/${peerOf(m.peer).nodeId}`))}`,
    '  mode: open', '  allow: []',
    `  links:${list(mine.map(m => `${peerOf(m.peer).nodeId} ${formatRate(m.bits)}`))}`,
    'discovery:', '  mdns: false',
    'api:', `  listen: ${mgmt}:${emulateApiPort}`,
    'web:', '  listen: off',
    'admin:', `  listen: ${mgmt}:${emulateAdminPort}`,
    'log:', '  level: info',
    'storage:', `  quota: ${node.storageBytes}B`,
    'clients:', `  allow:${list(['operator'])}`,
    'authors:', `  allow:${list(['operator', ...authors])}`,
    '',
  ].join('\n')
}
