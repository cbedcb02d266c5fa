/**
 * How an envelope gets into the store: a local client's (`submit`, resolved once durable)
 * or a peer's (`ingest`): decoded, checked (validate.ts), held while its authorisation is
 * not decidable (held.ts), stored in one atomic batch with any evictions its room needs
 * (retention.ts), indexed, and forwarded (sync.ts). A duplicate cancels our copy queued to
 * its sender and may prune it; a refusal charges the sender what it deserves.
 *
 * @example
 * const env = await intake.submit(bytes)   // custody acknowledged
 * intake.ingest(frame.envelope, link)      // synchronous up to the store write
 */
import { entryId, entryOverheadBytes, idFromKey, type Catalog, type Entry } from './catalog.ts'
import type { HeldPool } from './held.ts'
import type { Links } from './links.ts'
import type { MessageLog } from './log.ts'
import type { LinkOutput } from './outbound.ts'
import type { PeerLink } from './peer.ts'
import { entryFields, type Retention } from './retention.ts'
import type { SyncHandlers } from './sync.ts'
import type { Counters, EngineEvents, Refuse, Sender, Verdict } from './types.ts'
import { reasonOf, refusalError, refusalReason, senderCharge } from './validate.ts'
import type { Envelope } from '../envelope.ts'
import { isDdilError, StorageError } from '../errors.ts'
import { FrameType } from '../frames.ts'
import type { HybridClock } from '../hlc.ts'
import { peerPenaltyBadEnvelope, peerPenaltyUntimely } from '../limits.ts'
import type { Clock, StoreOp } from '../ports.ts'
import type { ReconcileSet } from '../reconcile/index.ts'

export interface IntakeDeps {
  clock: Pick<Clock, 'nowMs'>
  counters: Counters
  events: EngineEvents | undefined
  decode (bytes: Uint8Array): Envelope
  validate (env: Envelope): Verdict
  refuse: Refuse
  held: Pick<HeldPool, 'has' | 'hold'>
  catalog: Catalog
  set: Pick<ReconcileSet, 'add'>
  log: Pick<MessageLog, 'appendOps' | 'removeOps'>
  hlc: Pick<HybridClock, 'observe'>
  write (ops: StoreOp[]): Promise<void>
  retention: Pick<Retention, 'makeRoom' | 'reserve' | 'release'>
  sync: Pick<SyncHandlers, 'forward' | 'arrived' | 'pruneAfterDuplicate' | 'scheduleGapCheck'>
  links: Pick<Links, 'isCurrent'>
  output: Pick<LinkOutput, 'pump' | 'penalise'>
}

export class Intake {
  readonly #d: IntakeDeps
  /** Envelopes being written → their write (a concurrent submit of the same envelope waits for it). */
  readonly #writing = new Map<string, Promise<void>>()

  constructor (deps: IntakeDeps) { this.#d = deps }

  /** Whether we hold (or are storing, or evicted, or hold pending) the envelope with this id key. */
  holds (key: string): boolean {
    return this.#d.catalog.known(key) || this.#writing.has(key) || this.#d.held.has(key)
  }

  /** Validates and stores a client's envelope; resolves once it is durable (custody acknowledged). */
  async submit (bytes: Uint8Array): Promise<Envelope> {
    const d = this.#d
    const env = d.decode(bytes)
    const key = env.key
    if (d.catalog.has(key)) return env
    const writing = this.#writing.get(key)
    if (writing !== undefined) { await writing; return env }
    const verdict = d.validate(env)
    if (!verdict.ok) {
      const err = refusalError(verdict)
      d.refuse(refusalReason(verdict), err.message, undefined, env)
      throw err
    }
    await this.accept(env, 'local', true)
    d.counters.submitted++
    return env
  }

  /** Decodes, checks and stores an envelope from a peer (synchronous up to the store write, which `accept` awaits). */
  ingest (bytes: Uint8Array, link: PeerLink): void {
    const d = this.#d
    let env: Envelope
    try {
      env = d.decode(bytes)
    } catch (e) {
      d.refuse('decode', (e as Error).message, link.id)
      d.output.penalise(link, peerPenaltyBadEnvelope, `undecodable envelope: ${(e as Error).message}`)
      return
    }
    const key = env.key
    if (this.holds(key)) {
      d.counters.duplicatesReceived++
      d.counters.duplicatePayloadBytesReceived += bytes.length
      // Our copies crossed: it holds the envelope, so a copy still queued to it is cancelled.
      link.peerHolds(key, d.clock.nowMs())
      // A copy of an id we no longer hold (evicted, discarded, purged) says nothing about redundant eager paths.
      if (!d.catalog.tombstones.has(key)) d.sync.pruneAfterDuplicate(link, env.author, key)
      return
    }
    const verdict = d.validate(env)
    if (!verdict.ok) {
      if (verdict.reason === 'pending') { d.held.hold(env, link.id); return }
      const reason = refusalReason(verdict)
      d.refuse(reason, verdict.message, link.id, env)
      if (reason === 'expired') d.counters.expiredOnArrival++
      const charge = senderCharge(verdict)
      if (charge === 'untimely' && link.firstUntimely(key)) d.output.penalise(link, peerPenaltyUntimely, `${reason}: ${verdict.message}`)
      else if (charge === 'bad') d.output.penalise(link, peerPenaltyBadEnvelope, `${reason}: ${verdict.message}`)
      return
    }
    const repair = d.sync.arrived(link, env)
    this.accept(env, link.id, false, repair).catch((e: unknown) => {
      const reason = reasonOf(e)
      d.refuse(reason, (e as Error).message, link.id, env)
      if (reason === 'quota' && d.links.isCurrent(link)) {
        link.control({ type: FrameType.refused, code: 'ERR_QUOTA', ids: [env.id] })
        d.output.pump(link)
      }
    })
  }

  /**
   * Stores an envelope (evicting by policy if needed), indexes it once durable, and
   * forwards it. A peer's envelope is forwarded while our write is in flight: a copy a
   * peer holds is safe whatever happens to ours (a crash before the write lands loses
   * only our copy, which reconciliation brings back), and waiting would add a sync write
   * to every hop. A local client's waits for the write: if it fails, the client is told
   * so and may sign again, and what it was told failed must not have gone out.
   */
  async accept (env: Envelope, from: Sender, custody: boolean, repair = false): Promise<void> {
    const d = this.#d
    const key = env.key
    const size = env.bytes.length + entryOverheadBytes
    const victims = d.retention.makeRoom(size, env.precedence)
    const ops = d.log.appendOps(env, custody, d.clock.nowMs())
    for (const v of victims) ops.push(...d.log.removeOps(entryFields(v), true))
    const written = d.write(ops)
    this.#writing.set(key, written) // a concurrent submit of the same envelope waits for (and fails with) this write
    d.retention.reserve(size)
    if (from !== 'local') d.sync.forward(env, from, repair)
    try {
      await written
    } catch (e) {
      for (const v of victims) d.catalog.add(v)
      throw isDdilError(e) ? e : new StorageError(`store write failed: ${(e as Error).message}`, { cause: e })
    } finally {
      this.#writing.delete(key)
      d.retention.release(size)
    }
    if (victims.length > 0) {
      for (const v of victims) d.catalog.addTombstone(v.key, v.expiresAtMs)
      d.counters.evicted += victims.length
      d.events?.removed?.(victims.map(entryId), 'evicted')
    }
    const stream = d.catalog.streams.get(env.stream)
    const highestBefore = stream?.highest ?? 0
    const rivals = stream?.bySeq.get(env.seq) // another envelope of this author at this sequence: equivocation
    this.index(env, custody)
    try { d.hlc.observe(env.hlc) } catch { /* far-future was refused by validate; a racing wall-clock step cannot make it fail */ }
    d.counters.stored++
    if (rivals !== undefined) {
      d.counters.equivocations++
      d.events?.equivocation?.(idFromKey(typeof rivals === 'string' ? rivals : rivals[0]), env)
    }
    d.events?.stored?.(env, from)
    if (from === 'local') d.sync.forward(env, from)
    if (highestBefore > 0 && env.seq > highestBefore + 1) d.sync.scheduleGapCheck(env.stream, env.channel, env.author, highestBefore + 1, env.seq - 1, from)
  }

  /** Adds a stored envelope to the catalog and the reconciliation set (also when the store is loaded at open). */
  index (env: Envelope, custody: boolean): void {
    const entry: Entry = {
      key: env.key, expiresAtMs: env.expiresAtMs, precedence: env.precedence, kind: env.kind, hlcMs: env.hlc.ms, hlcC: env.hlc.c,
      size: env.bytes.length + entryOverheadBytes, stream: env.stream, seq: env.seq, custody,
    }
    this.#d.catalog.add(entry)
    this.#d.set.add(entry.key)
  }
}
