/**
 * How an envelope gets into the store: a local client's (`submit`, resolved once durable)
 * or a peer's (`ingest`): decoded, checked (validate.ts), held while its authorisation is
 * not decidable (held.ts), stored in one atomic batch with any evictions its room needs
 * (retention.ts), indexed, and forwarded (sync.ts). A duplicate cancels our copy queued to
 * its sender and may prune it; a refusal charges the sender what it deserves.
 *
 * A file (#23) is admitted whole or not at all: the first of its pieces to arrive must find room
 * (free or evictable) for every piece its head counts, so a file the quota cannot hold is refused at that piece,
 * with nothing of it stored, and its later pieces are refused with it (`#refusedFiles`). A
 * client submits its manifest first, so it hears the refusal before any chunk is acknowledged.
 *
 * @example
 * const env = await intake.submit(bytes)   // custody acknowledged
 * intake.ingest(frame.envelope, link)      // synchronous up to the store write
 */
import type { Boundary } from './boundary.ts'
import { entryId, entryOverheadBytes, idFromKey, idKey, type Catalog, type Entry } from './catalog.ts'
import type { HeldPool } from './held.ts'
import type { Links } from './links.ts'
import type { MessageLog } from './log.ts'
import type { LinkOutput } from './outbound.ts'
import type { PeerLink } from './peer.ts'
import { entryFields, type Retention } from './retention.ts'
import type { SyncHandlers } from './sync.ts'
import type { Counters, EngineEvents, Refuse, Sender, Verdict } from './types.ts'
import { reasonOf, refusalError, refusalReason, senderCharge } from './validate.ts'
import { toHex } from '../bytes.ts'
import { Kind, type Envelope } from '../envelope.ts'
import { isDdilError, QuotaError, StorageError } from '../errors.ts'
import { decodePiece, fileIdOf, type PieceHead } from '../files/piece.ts'
import { FrameType, frameText } from '../frames.ts'
import type { HybridClock } from '../hlc.ts'
import { envelopeBytesMax, peerPenaltyBadEnvelope, peerPenaltyUntimely, refusedFilesMax } from '../limits.ts'
import type { Clock, StoreOp } from '../ports.ts'
import type { ReconcileSet } from '../reconcile/index.ts'

export interface IntakeDeps {
  clock: Pick<Clock, 'nowMs' | 'monotonicMs'>
  counters: Counters
  events: EngineEvents | undefined
  decode (bytes: Uint8Array): Envelope
  validate (env: Envelope): Verdict
  /**
   * The same checks for what our own clients submit, judged at the later of network time and
   * the latest stamp our clock issued them: such a stamp is never too far ahead for us, though
   * network time can move back when the peers that set it change and the clock never does.
   */
  validateOwn (env: Envelope): Verdict
  refuse: Refuse
  held: Pick<HeldPool, 'has' | 'hold'>
  catalog: Catalog
  set: Pick<ReconcileSet, 'add'>
  log: Pick<MessageLog, 'appendOps' | 'removeOps'>
  hlc: Pick<HybridClock, 'observe'>
  write (ops: StoreOp[]): Promise<void>
  retention: Pick<Retention, 'makeRoom' | 'reserve' | 'release' | 'freeBytes'>
  sync: Pick<SyncHandlers, 'forward' | 'arrived' | 'pruneAfterDuplicate' | 'scheduleGapCheck'>
  links: Pick<Links, 'isCurrent'>
  output: Pick<LinkOutput, 'pump' | 'penalise'>
  /** The boundary between organisations (#29), in `peers.mode: org`. */
  boundary?: Pick<Boundary, 'receives'>
}

/** Most bytes one file piece is charged against the quota: the largest envelope and its index overhead. */
const pieceChargedBytesMax = envelopeBytesMax + entryOverheadBytes

/** A file piece's file (its manifest's id key) and head; undefined for other kinds and for a piece whose head the authoriser should have refused. */
function pieceOf (env: Envelope): { file: string, head: PieceHead } | undefined {
  if (env.kind !== Kind.file) return undefined
  let head: PieceHead
  try { head = decodePiece(env.body).head } catch { return undefined }
  if (head.index > 0 && env.deps.length !== 1) return undefined
  return { file: idKey(fileIdOf(env, head)), head }
}

export class Intake {
  readonly #d: IntakeDeps
  /** Envelopes being written → their write (a concurrent submit of the same envelope waits for it). */
  readonly #writing = new Map<string, Promise<void>>()
  /** Files (id keys) with pieces being written → how many: such a file is not new here, though the catalog holds none of it yet. */
  readonly #filesWriting = new Map<string, number>()
  /**
   * Files refused whole for want of quota (id keys), oldest first, at most `refusedFilesMax`:
   * their chunks are refused too, even once room is made, so none is stored without its file.
   * Their manifest is judged again (the room may be there now; then the refusal is forgotten).
   * When the set is full the oldest refusal is forgotten: a later piece of that file is then
   * judged as a new file's first piece, asking room for all of it again, so it is refused
   * again unless the room is there now; if it is, its chunks may land before their manifest,
   * which peers still hold and offer (a refused id is not tombstoned).
   */
  readonly #refusedFiles = new Set<string>()

  constructor (deps: IntakeDeps) { this.#d = deps }

  /** Whether we hold (or are storing, or evicted, or hold pending) the envelope with this id key. */
  holds (key: string): boolean {
    return this.#d.catalog.known(key) || this.#writing.has(key) || this.#d.held.has(key)
  }

  /** Validates and stores a client's envelope; resolves once it is durable (custody acknowledged). */
  async submit (bytes: Uint8Array): Promise<Envelope> {
    const env = await this.#local(bytes, true)
    this.#d.counters.submitted++
    return env
  }

  /**
   * Validates and stores an envelope carried in an air-gap bundle (#27): checked as a peer's
   * would be, and, like a peer's, not in this node's custody (evictable under quota), so a
   * large import cannot fill the store with envelopes that may never be evicted. Resolves once
   * durable; rejects with the refusal's error. Forwarded to peers like a local envelope.
   */
  imported (bytes: Uint8Array): Promise<Envelope> { return this.#local(bytes, false) }

  async #local (bytes: Uint8Array, custody: boolean): Promise<Envelope> {
    const d = this.#d
    const env = d.decode(bytes)
    const key = env.key
    if (d.catalog.has(key)) return env
    const writing = this.#writing.get(key)
    if (writing !== undefined) { await writing; return env }
    const verdict = custody ? d.validateOwn(env) : d.validate(env)
    if (!verdict.ok) {
      const err = refusalError(verdict)
      d.refuse(refusalReason(verdict), err.message, undefined, env)
      throw err
    }
    await this.accept(env, 'local', custody)
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
      // A channel this relay does not carry: say so, or the peer sends it again at every reconciliation (declined.ts).
      if (verdict.reason === 'not-carried') {
        const code = verdict.wholeChannel === true ? 'ERR_NOT_CARRIED' : 'ERR_UNAUTHORISED'
        link.control({ type: FrameType.refused, code, ids: [env.id], reason: frameText(verdict.message) })
        d.output.pump(link)
      }
      return
    }
    if (d.boundary?.receives(env, link.id) === false) return
    const repair = d.sync.arrived(link, env)
    if (env.kind === Kind.file) link.filePieceArrived(d.clock.monotonicMs())
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
    const piece = pieceOf(env)
    const victims = piece === undefined ? d.retention.makeRoom(size, env.precedence) : this.#roomForPiece(env, piece, size)
    if (piece !== undefined) this.#filesWriting.set(piece.file, (this.#filesWriting.get(piece.file) ?? 0) + 1)
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
      if (piece !== undefined) {
        const left = (this.#filesWriting.get(piece.file) ?? 1) - 1
        if (left > 0) this.#filesWriting.set(piece.file, left)
        else this.#filesWriting.delete(piece.file)
      }
    }
    if (victims.length > 0) {
      for (const v of victims) d.catalog.addTombstone(v.key, v.expiresAtMs)
      d.counters.evicted += victims.length
      d.events?.removed?.(victims.map(entryId), 'evicted', victims.reduce((n, v) => n + v.size, 0))
    }
    const stream = d.catalog.streams.get(env.stream)
    const highestBefore = stream?.highest ?? 0
    const rivals = stream?.bySeq.get(env.seq) // another envelope of this author at this sequence: equivocation
    this.index(env, custody, piece)
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

  /**
   * Room for a file piece. The first piece of a file new here (none held, none being written)
   * must find room for the whole file, `count` pieces of the largest size, free or evictable:
   * a file the quota cannot hold whole is refused here, before anything of it is stored. Every
   * piece then makes room for its own size only, never evicting its own file.
   */
  #roomForPiece (env: Envelope, piece: { file: string, head: PieceHead }, size: number): Entry[] {
    const d = this.#d
    const { file, head } = piece
    if (d.catalog.holdsFile(file) || this.#filesWriting.has(file)) return d.retention.makeRoom(size, env.precedence, file)
    const fileHex = toHex(idFromKey(file))
    if (head.index !== 0 && this.#refusedFiles.has(file)) {
      throw new QuotaError(`file ${fileHex} was refused whole here for want of storage quota; its piece ${head.index} is refused with it`)
    }
    const whole = Math.max(size, head.count * pieceChargedBytesMax)
    // Judged, not evicted for: a manifest that only claims a large file (a member's, or one
    // whose chunks never come) must not flush a relay of what it carries for others. Each
    // piece then makes room for itself as it comes.
    const evictable = d.catalog.evictableBytes(env.precedence)
    if (d.retention.freeBytes() + evictable >= whole) {
      this.#refusedFiles.delete(file)
      return d.retention.makeRoom(size, env.precedence, file)
    }
    this.#refusedFiles.delete(file) // re-inserted as the newest
    this.#refusedFiles.add(file)
    if (this.#refusedFiles.size > refusedFilesMax) this.#refusedFiles.delete(this.#refusedFiles.values().next().value as string)
    throw new QuotaError(`file ${fileHex} of ${head.count} pieces needs up to ${whole} bytes of storage quota and this relay has ${d.retention.freeBytes()} bytes free (${evictable} more it could evict for it): refused whole`)
  }

  /** Adds a stored envelope to the catalog and the reconciliation set (also when the store is loaded at open). */
  index (env: Envelope, custody: boolean, piece = pieceOf(env)): void {
    const entry: Entry = {
      key: env.key, expiresAtMs: env.expiresAtMs, precedence: env.precedence, kind: env.kind, hlcMs: env.hlc.ms, hlcC: env.hlc.c,
      size: env.bytes.length + entryOverheadBytes, stream: env.stream, seq: env.seq, custody,
    }
    if (piece !== undefined) {
      entry.file = piece.file
      entry.fileSpan = { firstSeq: env.seq - piece.head.index, count: piece.head.count }
    }
    this.#d.catalog.add(entry)
    this.#d.set.add(entry.key)
  }
}
