/**
 * Real relay processes for integration tests and the relay benchmark: data
 * directories initialised in-process, config files written for a topology on
 * loopback, `ddil start` children, and client connections with the operator key.
 *
 * @example
 * const a = await Relay.init('a'); a.writeConfig({ ... }); await a.start(); const c = await a.client()
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { initDataDir } from '../../node/data-dir.ts'
import { connectClient, type Client } from '../../node/api/client.ts'
import { channelSession, type ChannelSession } from '../../node/cli/channel-session.ts'
import { loadUserIdentity, type UserIdentity } from '../../node/user-identity.ts'
import { createNodeCrypto } from '../../node/crypto.ts'
import { waitUntil } from './wait.ts'

const bin = new URL('../../node/cli/bin.js', import.meta.url).pathname
export const crypto = createNodeCrypto()
export const root = mkdtempSync(join(tmpdir(), 'ddil-relays-'))

/**
 * Relay processes this test process started and has not seen exit. When tap stops a test
 * file (its timeout, a failure that ends it early) they would outlive it and hold their
 * ports and CPU: they are killed when this process ends or is told to.
 */
const running = new Set<ChildProcess>()
const killRunning = (): void => { for (const c of running) c.kill('SIGKILL') }
process.once('exit', killRunning)
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.once(signal, () => { killRunning(); process.exit(128 + ({ SIGTERM: 15, SIGINT: 2, SIGHUP: 1 } as const)[signal]) })

/**
 * Ports this process has handed out. The kernel may hand a port just closed to the next
 * caller, so two relays set up at once (Promise.all) could be given the same one: `bench
 * relay-store --quick` failed so, EADDRINUSE.
 */
const portsHandedOut = new Set<number>()

/**
 * A TCP port free on 127.0.0.1 now and not handed out before by this process. Chosen below
 * the kernel's ephemeral range: a port the kernel picks (listen on 0) is one it also gives
 * outgoing connections, and a relay restarted on it found it taken by one (bench files,
 * EADDRINUSE at B's restart while another test file ran beside it).
 */
export async function freePort (): Promise<number> {
  for (let tries = 0; ; tries++) {
    const port = tries < 64 ? belowEphemeral() : 0
    const bound = await bindable(port)
    if (bound !== undefined && !portsHandedOut.has(bound)) { portsHandedOut.add(bound); return bound }
  }
}

/** The kernel's first ephemeral port, from /proc (32768 if unreadable). */
const ephemeralFirst = ((): number => {
  try { return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768 } catch { return 32_768 }
})()

/** A random port from 20000 up to the ephemeral range (the ports below 20000 are left to services). */
function belowEphemeral (): number {
  const low = 20_000
  return low + Math.floor(Math.random() * Math.max(1, ephemeralFirst - low))
}

/** `port` (0: any) if it can be bound on 127.0.0.1 now, else undefined. */
function bindable (port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => { resolve(undefined) })
    s.listen(port, '127.0.0.1', () => {
      const addr = s.address()
      const bound = typeof addr === 'object' && addr !== null ? addr.port : undefined
      s.close(() => { resolve(bound) })
    })
  })
}

/** Waits for a relay condition (see wait.ts: generous patience, no fixed sleeps). */
export const waitFor = waitUntil

export class Relay {
  readonly name: string
  readonly dataDir: string
  nodeId = ''
  user!: UserIdentity
  /** The options config.yaml was last written with (a start that finds a local port taken writes it again with a new one). */
  #config: ConfigOptions | undefined
  #started = false
  p2pPort = 0
  apiPort = 0
  adminPort = 0
  /** The HTTPS listener's port (written to the config only when asked for). */
  webPort = 0
  child: ChildProcess | undefined
  output = ''
  /** The address the relay listens on for peers (a network namespace's veth address in radio tests). */
  host = '127.0.0.1'
  /** A command the relay runs under, e.g. `['ip', 'netns', 'exec', ns]`. */
  wrap: string[] = []

  private constructor (name: string) {
    this.name = name
    this.dataDir = join(root, name)
  }

  static async init (name: string): Promise<Relay> {
    const r = new Relay(name)
    const result = await initDataDir({ dataDir: r.dataDir })
    r.nodeId = result.nodeId
    r.user = await loadUserIdentity(r.dataDir, crypto)
    r.p2pPort = await freePort(); r.apiPort = await freePort(); r.adminPort = await freePort(); r.webPort = await freePort()
    return r
  }

  /** Makes this data directory a client of `relay`: its commands reach that relay's API (it runs no relay itself). */
  useRelay (relay: Relay): void {
    this.apiPort = relay.apiPort
    this.adminPort = relay.adminPort
    this.writeConfig({ authors: [] })
  }

  get addr (): string { return `/ip4/${this.host}/tcp/${this.p2pPort}/p2p/${this.nodeId}` }

  /**
   * Writes config.yaml. `clients`: more users (by `ddil1:` key) allowed on the client API
   * besides the operator; `authorKeys`: more users (by key) whose channels this relay carries; `via`: a data directory with no relay of its own, whose user
   * reaches this relay's client API (its config names this relay's API port).
   */
  writeConfig (o: ConfigOptions): void {
    this.#config = o
    const list = (xs: string[]): string => xs.length === 0 ? ' []' : '\n' + xs.map(x => `    - "${x}"`).join('\n')
    writeFileSync(join(this.dataDir, 'config.yaml'), [
      'node:', `  listen:${list([`/ip4/${this.host}/tcp/${this.p2pPort}`, ...(o.wsPort === undefined ? [] : [`/ip4/${this.host}/tcp/${o.wsPort}/ws`])])}`,
      'peers:', `  static:${list((o.dial ?? []).map(r => r.addr))}`, `  mode: ${o.mode ?? 'open'}`, `  allow:${list((o.allow ?? []).map(r => r.nodeId))}`, `  links:${list((o.links ?? []).map(([r, link]) => `${r.nodeId} ${link}`))}`,
      'discovery:', '  mdns: false',
      'api:', `  listen: 127.0.0.1:${this.apiPort}`, ...(o.requestsPerSecond === undefined ? [] : [`  requestsPerSecond: ${o.requestsPerSecond}`]),
      'web:', `  listen: ${o.web === true ? `127.0.0.1:${this.webPort}` : 'off'}`, ...(o.webRoot !== undefined ? [`  root: "${o.webRoot}"`] : []),
      'admin:', `  listen: 127.0.0.1:${this.adminPort}`,
      'log:', `  level: ${o.logLevel ?? 'warn'}`,
      'engine:', '  reconcileInterval: 2s',
      ...(o.quota === undefined ? [] : ['storage:', `  quota: ${o.quota}`]),
      'clients:', `  allow:${list(['operator', ...(o.clients ?? [])])}`,
      'authors:', `  allow:${list(['operator', ...o.authors.filter(r => r !== this).map(r => r.user.publicKey), ...(o.authorKeys ?? [])])}`,
      '',
    ].join('\n'), { mode: 0o600 })
  }

  /**
   * Starts the relay; resolves once it serves. Ports are drawn at random and checked free, but
   * another test file running beside this one may take one before the relay binds it: at a
   * relay's first start, a local port (client API, admin, web) found taken is drawn again and
   * the start retried. Its p2p port is not: other relays' configs may name it already.
   */
  async start (): Promise<void> {
    for (let tries = 1; ; tries++) {
      try { await this.#start(); this.#started = true; return } catch (e) {
        const busy = /cannot [^:]* on 127\.0\.0\.1:(\d+): the port is in use/.exec((e as Error).message)
        const port = busy === null ? undefined : Number(busy[1])
        const local = (['apiPort', 'adminPort', 'webPort'] as const).find(k => this[k] === port)
        if (this.#started || local === undefined || this.#config === undefined || tries >= 3) throw e
        this[local] = await freePort()
        this.writeConfig(this.#config)
      }
    }
  }

  async #start (): Promise<void> {
    this.output = ''
    const [command, ...args] = [...this.wrap, process.execPath, bin, 'start', '--data', this.dataDir]
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DDIL_DATA: '' } })
    this.child = child
    running.add(child)
    child.once('exit', () => { running.delete(child) })
    child.stdout?.on('data', (c: Buffer) => { this.output += c.toString() })
    child.stderr?.on('data', (c: Buffer) => { this.output += c.toString() })
    // Readiness is the "admin:" line; a relay that exits instead fails at once with its output.
    await waitFor(`${this.name} to start`, () => {
      if (child.exitCode !== null) throw new Error(`${this.name} exited ${child.exitCode}: ${this.output}`)
      return this.output.includes('admin:') ? true : undefined
    })
  }

  async kill (signal: NodeJS.Signals): Promise<void> {
    const child = this.child
    if (child === undefined || child.exitCode !== null) return
    const exited = new Promise(resolve => child.once('exit', resolve))
    child.kill(signal)
    await exited
    this.child = undefined
  }

  async client (): Promise<Client> {
    return await connectClient({ url: `ws://127.0.0.1:${this.apiPort}`, user: this.user.ed25519, crypto })
  }

  /** The operator user's channel session on this relay (the same code path as the CLI). */
  async channels (): Promise<ChannelSession> {
    return await channelSession({ data: this.dataDir })
  }

  async status (): Promise<any> {
    const res = await fetch(`http://127.0.0.1:${this.adminPort}/status`)
    return await res.json()
  }
}

export interface ConfigOptions { dial?: Relay[], allow?: Relay[], authors: Relay[], authorKeys?: string[], mode?: 'open' | 'allowlist' | 'org', links?: Array<[Relay, string]>, clients?: string[], logLevel?: string, requestsPerSecond?: number, wsPort?: number, web?: boolean, webRoot?: string, quota?: string }

export function cleanupRelays (): void {
  rmSync(root, { recursive: true, force: true })
}
