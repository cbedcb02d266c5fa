/**
 * The client API's view of a running relay (`NodeFacade`) over the real engine:
 * submissions, channel backlogs from the log's channel index, a live feed of stored
 * envelopes, and per-message delivery status for envelopes submitted here
 * (queued → relayed to n peers; expired when purged). Receipts ("delivered to k of N")
 * arrive with the channels issue.
 *
 * @example
 * const hub = new EngineEventHub(); const engine = createEngine({ ..., events: hub.events }, ...)
 * const facade = createFacade(engine, hub, { nodeId, registry, channels: (user) => policy.memberships(user, 256), status })
 */
import type { Engine } from '../protocol/engine/engine.ts'
import type { EngineEvents } from '../protocol/engine/types.ts'
import { Kind, type Envelope } from '../protocol/envelope.ts'
import { compareHlc, type Hlc } from '../protocol/hlc.ts'
import { bytesEqual, toHex } from '../protocol/bytes.ts'
import { UsageError } from '../protocol/errors.ts'
import { acceptedPieceFileId, decodePiece } from '../protocol/files/piece.ts'
import { filePageEnvelopesMax } from './api/limits.ts'
import { idKey } from '../protocol/engine/catalog.ts'
import type { ApiEnvelope, BundleAdmin, ClientAdmin, MessageStatus, NodeFacade } from './api/facade.ts'
import type { ChannelMembership } from './api/wire.ts'

/** Most governance (and, separately, key, board and receipt) envelopes a backlog carries: a channel's whole history of each. */
const channelHistoryEnvelopesMax = 4096

/** Envelopes whose sends and refusals are kept while submissions are in flight (see `early`): oldest forgotten first. */
const earlyEventsMax = 4096

/** Submitted envelopes whose status we track (oldest forgotten first). */
const trackedSubmissionsMax = 10_000

/** Fans the engine's single events object out to any number of listeners. */
export class EngineEventHub {
  readonly stored = new Set<(env: Envelope, from: string) => void>()
  readonly sent = new Set<(id: Uint8Array, peer: string, bytes: Uint8Array) => void>()
  readonly removed = new Set<(ids: Uint8Array[], why: 'evicted' | 'purged' | 'discarded', bytes?: number) => void>()
  readonly refused = new Set<NonNullable<EngineEvents['refused']>>()
  readonly penalised = new Set<NonNullable<EngineEvents['penalised']>>()
  readonly equivocation = new Set<NonNullable<EngineEvents['equivocation']>>()
  readonly restored = new Set<(env: Envelope) => void>()
  readonly crossingRefused = new Set<NonNullable<EngineEvents['crossingRefused']>>()
  readonly refusedBeyond = new Set<NonNullable<EngineEvents['refusedBeyond']>>()

  readonly events: EngineEvents = {
    stored: (env, from) => { for (const l of this.stored) l(env, from) },
    sent: (id, peer, bytes) => { for (const l of this.sent) l(id, peer, bytes) },
    removed: (ids, why, bytes) => { for (const l of this.removed) l(ids, why, bytes) },
    refused: (reason, detail, peer, env) => { for (const l of this.refused) l(reason, detail, peer, env) },
    penalised: (peer, reason) => { for (const l of this.penalised) l(peer, reason) },
    equivocation: (first, second) => { for (const l of this.equivocation) l(first, second) },
    restored: (env) => { for (const l of this.restored) l(env) },
    crossingRefused: (env, peer, reason, direction) => { for (const l of this.crossingRefused) l(env, peer, reason, direction) },
    refusedBeyond: (id, reason) => { for (const l of this.refusedBeyond) l(id, reason) },
  }
}

export interface FacadeOptions {
  nodeId: string
  /** Who may connect, who is the operator, and enrolment (node/client-registry.ts). */
  registry: ClientAdmin & { isAllowed: (publicKey: Uint8Array) => boolean, isOperator: (publicKey: Uint8Array) => boolean }
  channels: (user: Uint8Array) => ChannelMembership[]
  status: () => Record<string, unknown>
  onSubmitted?: (env: Envelope, user: Uint8Array) => void
  /** Throws to refuse a submission before it is stored: the daemon's audit gate (node/audit-gate.ts). */
  admit?: (bytes: Uint8Array) => void
  /** Air-gap bundles (#27, node/bundle.ts). */
  bundles?: BundleAdmin
}

/**
 * The newest `limit` messages of a channel, counting a file or long message (#23) as one:
 * short messages from the kind index, files by their manifests (one lookup per file, since
 * every piece of a file shares its stamp), merged by stamp.
 */
async function newestMessages (engine: Engine, channel: Uint8Array, limit: number): Promise<Array<{ id: Uint8Array, hlc: Hlc }>> {
  const texts = await engine.history(channel, Kind.message, limit)
  const files: Array<{ id: Uint8Array, hlc: Hlc }> = []
  for (const piece of await engine.newestStamps(channel, Kind.file, limit)) {
    const env = await engine.get(piece.id)
    if (env === undefined) continue
    const file = acceptedPieceFileId(env)
    // Listed by its manifest, so only when the manifest is here.
    if (file === env.id || await engine.get(file) !== undefined) files.push({ id: file, hlc: piece.hlc })
  }
  return [...texts, ...files].sort((x, y) => compareHlc(x.hlc, y.hlc)).slice(-limit)
}

export function createFacade (engine: Engine, hub: EngineEventHub, options: FacadeOptions): NodeFacade {
  const statusListeners = new Set<(id: Uint8Array, s: MessageStatus) => void>()
  const tracked = new Map<string, { id: Uint8Array, peers: Set<string>, boundary?: string }>()
  const emit = (id: Uint8Array, s: MessageStatus): void => { for (const l of statusListeners) l(id, s) }
  // A refusal at a boundary stays with every later status: the message may still reach this side's members.
  const withBoundary = (t: { boundary?: string }, s: MessageStatus): MessageStatus => t.boundary === undefined ? s : { ...s, boundary: t.boundary }

  // An envelope stored here goes out on idle links before `engine.submit` resolves (it is
  // forwarded once durable, in the same turn), so what happens to it before it is tracked is
  // kept while submissions are in flight, and becomes its first status.
  let submitting = 0
  const early = new Map<string, { peers: Set<string>, boundary?: string }>()
  const trackedOrEarly = (id: Uint8Array): { id?: Uint8Array, peers: Set<string>, boundary?: string } | undefined => {
    const key = idKey(id)
    const t = tracked.get(key)
    if (t !== undefined || submitting === 0) return t
    let e = early.get(key)
    if (e === undefined) {
      early.set(key, e = { peers: new Set() })
      if (early.size > earlyEventsMax) early.delete(early.keys().next().value as string) // under constant submissions it would never clear
    }
    return e
  }
  hub.sent.add((id, peer) => {
    const t = trackedOrEarly(id)
    if (t === undefined || t.peers.has(peer)) return
    t.peers.add(peer)
    if (t.id !== undefined) emit(t.id, withBoundary(t, { state: 'relayed', relayedTo: t.peers.size }))
  })
  hub.refusedBeyond.add((id, reason) => {
    const t = trackedOrEarly(id)
    if (t === undefined || t.boundary !== undefined) return
    t.boundary = reason
    if (t.id !== undefined) emit(t.id, withBoundary(t, { state: t.peers.size > 0 ? 'relayed' : 'queued', relayedTo: t.peers.size }))
  })
  hub.removed.add((ids, why) => {
    for (const id of ids) {
      const t = tracked.get(idKey(id))
      if (t === undefined) continue
      tracked.delete(idKey(id))
      emit(id, withBoundary(t, why === 'purged' ? { state: 'expired', relayedTo: t.peers.size } : { state: 'refused', reason: why === 'evicted' ? 'evicted under quota' : 'discarded: its author was removed from the channel' }))
    }
  })

  return {
    nodeId: options.nodeId,
    async submit (bytes, context) {
      options.admit?.(bytes)
      submitting++
      let env: Envelope
      try { env = await engine.submit(bytes) } finally { submitting-- }
      const key = env.key
      const before = early.get(key)
      early.delete(key)
      if (submitting === 0) early.clear() // what went out for envelopes relayed meanwhile, not submitted here
      // A file's chunks are not tracked: its manifest's status speaks for the file, and thousands of chunks would push it out.
      if (context.batch !== true && !tracked.has(key)) {
        if (tracked.size >= trackedSubmissionsMax) tracked.delete(tracked.keys().next().value as string)
        tracked.set(key, { id: env.id, peers: before?.peers ?? new Set(), ...(before?.boundary !== undefined ? { boundary: before.boundary } : {}) })
      }
      options.onSubmitted?.(env, context.user)
      if (context.batch !== true) {
        queueMicrotask(() => {
          const t = tracked.get(key)
          const relayedTo = t?.peers.size ?? 0
          emit(env.id, withBoundary(t ?? {}, { state: relayedTo > 0 ? 'relayed' : 'queued', relayedTo }))
        })
      }
      return { id: env.id }
    },
    /**
     * A channel's backlog (docs/CLIENT-API.md): its governance, key and board history (a
     * client needs all three to verify, decrypt and show the channel), then its newest
     * `limit` messages with the receipts stamped since the oldest of them, by time.
     * Only messages count against `limit`: `tail -n 5` means the newest five messages,
     * whatever else the channel holds.
     */
    async * backlog (channel, { limit }): AsyncIterable<ApiEnvelope> {
      const history = [Kind.governance, Kind.keys, Kind.state].map(k => engine.history(channel, k, channelHistoryEnvelopesMax))
      const ids = (await Promise.all(history)).flatMap(list => list.map(x => x.id))
      const messages = limit > 0 ? await newestMessages(engine, channel, limit) : []
      if (messages.length > 0) {
        // A receipt is stamped after the message it names reached its reader: none older than the oldest shown can matter.
        const receipts = (await engine.history(channel, Kind.receipt, channelHistoryEnvelopesMax)).filter(r => compareHlc(r.hlc, messages[0].hlc) > 0)
        ids.push(...[...messages, ...receipts].sort((x, y) => compareHlc(x.hlc, y.hlc)).map(x => x.id))
      }
      for (const id of ids) {
        const env = await engine.get(id)
        if (env !== undefined) yield { id: env.id, channel: env.channel, bytes: env.bytes }
      }
    },
    async filePage (channel, id, after) {
      const manifest = await engine.get(id)
      if (manifest === undefined || manifest.kind !== Kind.file || !bytesEqual(manifest.channel, channel) || decodePiece(manifest.body).head.index !== 0) {
        throw new UsageError(`no file ${toHex(id).slice(0, 16)} is held in channel ${toHex(channel)} here (the id is its manifest's, as tail shows it)`)
      }
      const pieces: Array<{ id: Uint8Array, envelope: Uint8Array }> = []
      const ids = await engine.atStamp(channel, Kind.file, manifest.hlc, after, filePageEnvelopesMax)
      for (const pieceId of ids) {
        const env = await engine.get(pieceId)
        // Another author's file may share the stamp: only this file's manifest and its chunks.
        if (env !== undefined && bytesEqual(acceptedPieceFileId(env), id)) pieces.push({ id: env.id, envelope: env.bytes })
      }
      return { pieces, more: ids.length === filePageEnvelopesMax ? 1 : 0, last: ids.at(-1) }
    },
    onStored (listener) {
      const l = (env: Envelope): void => listener({ id: env.id, channel: env.channel, bytes: env.bytes })
      hub.stored.add(l)
      return () => { hub.stored.delete(l) }
    },
    onStatus (listener) {
      statusListeners.add(listener)
      return () => { statusListeners.delete(listener) }
    },
    stamp: () => engine.stamp(),
    status: options.status,
    isAllowedUser: (key) => options.registry.isAllowed(key),
    isOperator: (key) => options.registry.isOperator(key),
    channels: options.channels,
    clients: options.registry,
    bundles: options.bundles,
  }
}
