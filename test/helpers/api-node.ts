/**
 * A client API server over a real engine, for the API tests: MemoryStore (gated, so a test
 * can hold a write), node:crypto, no-op transport, manual clock, a real client registry on a
 * temporary data directory (the operator is `user`), and a real governance view that the
 * channel list reads. `Raw` is a connection that sends frames the client library never would.
 *
 * @example
 * const n = await setup(t); const raw = await Raw.authed(n.url); raw.send({ type: 'stamp', rid: 1 })
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Test } from 'tap'
import WebSocket from 'ws'
import { patienceMs, within } from './wait.ts'
import { crypto } from './fixtures.ts'
import { ManualClock, silentLogger } from './net.ts'
import { createEngine, type Engine } from '../../protocol/engine/engine.ts'
import { MemoryStore } from '../../protocol/memory-store.ts'
import { RelayChannelPolicy } from '../../protocol/channel/relay.ts'
import { authorRef, Kind, Precedence, signEnvelope, type Envelope } from '../../protocol/envelope.ts'
import { fromHex, toHex, utf8 } from '../../protocol/bytes.ts'
import type { KeyPair, Store, StoreOp } from '../../protocol/ports.ts'
import { fromBase64url, toBase64url } from '../../node/api/base64url.ts'
import { signClientAuth } from '../../node/api/auth.ts'
import type { ApiEnvelope, MessageStatus, NodeFacade } from '../../node/api/facade.ts'
import { channelListMax, type ClientApiLimits } from '../../node/api/limits.ts'
import { startClientApi } from '../../node/api/server.ts'
import type { ClientApiEvent } from '../../node/api/session.ts'
import type { AuditEvent } from '../../node/audit/index.ts'
import { ClientRegistry } from '../../node/client-registry.ts'

export const nodeId = 'relay-t'
export const channelA = fromHex('0a0a0a0a0a0a0a0a')
export const channelB = fromHex('0b0b0b0b0b0b0b0b')
export const user = crypto.ed25519KeyPair(new Uint8Array(32).fill(5))
export const stranger = crypto.ed25519KeyPair(new Uint8Array(32).fill(6))
const waitMs = patienceMs

// ---- A test facade over a real engine ------------------------------------------------

/** Holds every batch until released, so a test can see that `submitted` waits for durability. */
export class GatedStore implements Store {
  readonly inner = new MemoryStore()
  gate: { batches: number, open: Promise<void>, release: () => void, entered: Promise<void>, enter: () => void } | undefined
  hold (): void {
    let release!: () => void; let enter!: () => void
    const open = new Promise<void>(resolve => { release = resolve })
    const entered = new Promise<void>(resolve => { enter = resolve })
    this.gate = { batches: 0, open, release, entered, enter }
  }

  get (key: Uint8Array): Promise<Uint8Array | undefined> { return this.inner.get(key) }
  async batch (ops: StoreOp[]): Promise<void> {
    const gate = this.gate
    if (gate !== undefined) { gate.batches++; gate.enter(); await gate.open }
    await this.inner.batch(ops)
  }

  range (o: Parameters<Store['range']>[0]): AsyncIterable<[Uint8Array, Uint8Array]> { return this.inner.range(o) }
  close (): Promise<void> { return this.inner.close() }
}

export interface Node {
  engine: Engine
  clock: ManualClock
  store: GatedStore
  facade: NodeFacade
  /** The relay's governance view, which `channels` reads (tests add governance envelopes to it). */
  policy: RelayChannelPolicy
  registry: ClientRegistry
  /** Every audit event the registry wrote or recorded, in order. */
  audits: AuditEvent[]
  dataDir: string
}

export async function makeNode (options: { audit?: (event: AuditEvent) => Promise<void> } = {}): Promise<Node> {
  const clock = new ManualClock()
  const dataDir = mkdtempSync(join(tmpdir(), 'ddil-api-'))
  const audits: AuditEvent[] = []
  let draws = 0
  const registry = await ClientRegistry.open({
    dataDir, operator: user.publicKey, configured: (key) => toHex(key) === toHex(user.publicKey), clock, crypto,
    randomBytes: (n) => crypto.sha256(utf8(`api-test/${++draws}`)).slice(0, n),
    audit: async (e) => { await options.audit?.(e); audits.push(e) },
    record: (e) => { audits.push(e) },
  })
  const policy = new RelayChannelPolicy(crypto, () => true)
  const store = new GatedStore()
  const authors = new Map<string, Uint8Array>([[toHex(authorRef(user.publicKey)), user.publicKey]])
  const stored = new Set<(env: ApiEnvelope) => void>()
  const statuses = new Set<(id: Uint8Array, status: MessageStatus) => void>()
  const emitStatus = (id: Uint8Array, status: MessageStatus): void => { for (const l of statuses) l(id, status) }
  const engine = createEngine({
    clock, crypto, store, logger: silentLogger,
    transport: { send: () => false, disconnect () {} },
    authoriser: { authorise: env => { const k = authors.get(toHex(env.author)); return k === undefined ? { ok: false, reason: 'unknown author' } : { ok: true, publicKey: k } } },
    events: {
      stored: env => { for (const l of stored) l(env) },
      removed: (ids, why) => { for (const id of ids) emitStatus(id, { state: 'expired', reason: why }) },
    },
  }, { nodeId })
  await engine.open()
  const facade: NodeFacade = {
    nodeId,
    submit: async (bytes) => ({ id: (await engine.submit(bytes)).id }),
    backlog: (channel, { limit }) => channelBacklog(engine, channel, limit),
    filePage: async () => ({ pieces: [], more: 0 }),
    onStored: (l) => { stored.add(l); return () => { stored.delete(l) } },
    onStatus: (l) => { statuses.add(l); return () => { statuses.delete(l) } },
    stamp: () => engine.stamp(),
    status: () => { const s = engine.status(); return { nodeId: s.nodeId, envelopes: s.envelopes, storeBytes: s.storeBytes } },
    isAllowedUser: (key) => registry.isAllowed(key),
    isOperator: (key) => registry.isOperator(key),
    channels: (member) => policy.memberships(member, channelListMax),
    clients: registry,
  }
  return { engine, clock, store, facade, policy, registry, audits, dataDir }
}

/** Newest `limit` messages of a channel, oldest first (via the log's channel index). */
export async function * channelBacklog (engine: Engine, channel: Uint8Array, limit: number): AsyncIterable<ApiEnvelope> {
  for (const { id } of await engine.history(channel, Kind.message, limit)) {
    const env = await engine.get(id)
    if (env !== undefined) yield env
  }
}

let seq = 0
export function envelope (node: Node, channel = channelA, author: KeyPair = user, overrides: { ttlSeconds?: number, body?: Uint8Array } = {}): Envelope {
  seq++
  return signEnvelope(crypto, {
    kind: Kind.message, precedence: Precedence.routine, channel, author: authorRef(author.publicKey), seq,
    hlc: node.engine.stamp(), ttlSeconds: overrides.ttlSeconds ?? 3600, epoch: 1, deps: [], body: overrides.body ?? new Uint8Array(40).fill(seq % 256),
  }, author.privateKey)
}

export async function setup (t: Test, limits: Partial<ClientApiLimits> = {}, options: Parameters<typeof makeNode>[0] = {}): Promise<Node & { url: string, events: ClientApiEvent[], event: (pred: (e: ClientApiEvent) => boolean) => Promise<ClientApiEvent> }> {
  const node = await makeNode(options)
  const events: ClientApiEvent[] = []
  const watchers: Array<() => void> = []
  const api = await startClientApi({ port: 0, facade: node.facade, crypto, logger: silentLogger, clock: node.clock, limits, onEvent: e => { events.push(e); for (const w of watchers) w() } })
  t.teardown(async () => { await api.close(); node.engine.close(); node.registry.close(); rmSync(node.dataDir, { recursive: true, force: true }) })
  t.equal(api.address.host, '127.0.0.1', 'listens on loopback by default')
  const event = (pred: (e: ClientApiEvent) => boolean): Promise<ClientApiEvent> => within(new Promise(resolve => {
    const check = (): void => { const e = events.find(pred); if (e !== undefined) resolve(e) }
    watchers.push(check); check()
  }), 'api event')
  return { ...node, url: `ws://127.0.0.1:${api.address.port}`, events, event }
}


// ---- A raw connection, for frames the client library would never send ---------------------

export type Msg = Record<string, any>

export class Raw {
  readonly ws: WebSocket
  readonly inbox: Msg[] = []
  readonly closed: Promise<{ code: number, reason: string }>
  #wake: () => void = () => {}
  constructor (url: string) {
    this.ws = new WebSocket(url)
    this.ws.on('message', data => { this.inbox.push(JSON.parse(data.toString()) as Msg); this.#wake() })
    this.ws.on('error', () => {})
    this.closed = new Promise(resolve => { this.ws.on('close', (code, reason) => { resolve({ code, reason: reason.toString() }); this.#wake() }) })
  }

  static async authed (url: string, keys: KeyPair = user): Promise<Raw> {
    const raw = new Raw(url)
    const challenge = await raw.next()
    raw.send({ type: 'auth', rid: 0, publicKey: toBase64url(keys.publicKey), signature: toBase64url(signClientAuth(crypto, keys.privateKey, fromBase64url(challenge.nonce as string), challenge.nodeId as string)) })
    const reply = await raw.next()
    if (reply.type !== 'authed') throw new Error(`auth failed: ${JSON.stringify(reply)}`)
    return raw
  }

  send (msg: Msg | string): void { this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg)) }

  async next (): Promise<Msg> {
    const deadline = Date.now() + waitMs
    while (this.inbox.length === 0) {
      if (this.ws.readyState === WebSocket.CLOSED) throw new Error('connection closed while waiting for a message')
      await within(new Promise<void>(resolve => { this.#wake = resolve }), 'a message', Math.max(1, deadline - Date.now()))
    }
    return this.inbox.shift() as Msg
  }

  /** Next `n` messages. */
  async take (n: number): Promise<Msg[]> {
    const out: Msg[] = []
    while (out.length < n) out.push(await this.next())
    return out
  }

  /** Proves the connection still works: a stamp request gets its reply (and is the next message). */
  async alive (rid = 'probe'): Promise<Msg> {
    this.send({ type: 'stamp', rid })
    const reply = await this.next()
    return reply
  }
}
