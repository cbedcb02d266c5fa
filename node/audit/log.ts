/**
 * The relay's append-only audit log. `append` resolves once the entry is on disk (written,
 * fdatasync'd, and the signed head replaced); concurrent appends are serialised and written
 * in groups of up to `auditBatchEntriesMax` with one flush, so a flood of rejections costs
 * one fsync per group. Any write failure rejects with AuditError and puts the log in a failed
 * state: every later append rejects at once, so the daemon can refuse security-relevant
 * changes it cannot record, while the log retries `recover()` by itself (from
 * `auditRecoverDelayMsMin`, doubling to `auditRecoverDelayMsMax`): logging resumes once the
 * cause (no file descriptors left, a full disk) has gone, and the `audit.recovered` entry
 * counts the appends refused meanwhile. A signed `audit.checkpoint` entry is written on
 * open, every `checkpointEvery` entries, and on close. With `rotate`, a file that has reached
 * its size or age is renamed and a new one begun between two batches, the chain running on
 * (rotate.ts).
 *
 * @example
 * const log = await openAuditLog({ dataDir, crypto, key, node: peerId, now: () => clock.nowMs() })
 * await log.append({ who: peer, what: 'peer.refused', outcome: 'refused', remote: addr, detail: { reason: 'not in allowlist' } })
 * await log.close()
 */
import { open, type FileHandle } from 'node:fs/promises'
import { AuditError } from '../../protocol/errors.ts'
import { auditBatchEntriesMax, auditCheckpointEntriesDefault, auditRecoverDelayMsMax, auditRecoverDelayMsMin } from '../../protocol/limits.ts'
import type { Crypto, KeyPair } from '../../protocol/ports.ts'
import type { AuditValue } from './canonical.ts'
import { auditFormatVersion, sealEntry, signHead, toHex, type AuditEntry, type AuditFields } from './format.ts'
import { auditPaths, rotatedFiles, writeHeadFile, type AuditPaths } from './files.ts'
import { loadForAppend } from './load.ts'
import { firstEntryMs, rotateLogFile, type RotationOptions } from './rotate.ts'
import { boundString, sanitiseDetail, sanitiseEvent, type AuditEvent, type CleanEvent } from './sanitise.ts'

export interface AuditLogOptions {
  dataDir: string
  crypto: Crypto
  /** The node's Ed25519 key (raw; see `auditKeyFromNodeKey`). */
  key: KeyPair
  /** This node's id, written as `where.node` in every entry. */
  node: string
  /** Realtime clock, Unix ms: the only time source the log uses. */
  now: () => number
  /** Entries between signed checkpoints (default `auditCheckpointEntriesDefault`). */
  checkpointEvery?: number
  /** Runs `fn` after `ms` and returns a cancel: the retries of a failed log. Default: an unref'd timer. */
  schedule?: (fn: () => void, ms: number) => () => void
  /** Rotation by size and age, with retention (rotate.ts). None when absent: one file grows. */
  rotate?: RotationOptions
}

function realSchedule (fn: () => void, ms: number): () => void {
  const timer = setTimeout(fn, ms)
  timer.unref()
  return () => { clearTimeout(timer) }
}

interface Pending { event: CleanEvent, resolve: (e: AuditEntry) => void, reject: (e: unknown) => void }

export async function openAuditLog (options: AuditLogOptions): Promise<AuditLog> {
  const log = new AuditLog(options)
  try {
    await log.recover()
  } catch (e) {
    await log.close() // no retries for a log the caller never got
    throw e
  }
  return log
}

export class AuditLog {
  readonly paths: AuditPaths
  readonly #o: AuditLogOptions
  readonly #every: number
  #file: FileHandle | undefined
  #seq = 0
  #hash = ''
  #sinceCheckpoint = 0
  /** Bytes in the current file, and the time of its first entry (for rotation). */
  #fileBytes = 0
  #fileStartMs: number | undefined
  #queue: Pending[] = []
  #draining: Promise<void> | undefined
  #busy = false
  #failure: AuditError | undefined = new AuditError('the audit log has not been opened')
  #opened = false
  #closed = false
  /** Appends refused (or failed) since the log last failed; recorded by the `audit.recovered` entry. */
  #refused = 0
  #recovering: Promise<void> | undefined
  #retryMs = auditRecoverDelayMsMin
  #cancelRetry: (() => void) | undefined

  /** Use `openAuditLog`; the constructor leaves the log failed until `recover()` opens it. */
  constructor (options: AuditLogOptions) {
    this.#o = options
    this.paths = auditPaths(options.dataDir)
    const every = options.checkpointEvery ?? auditCheckpointEntriesDefault
    this.#every = Number.isSafeInteger(every) && every >= 1 ? every : auditCheckpointEntriesDefault
  }

  /** The error that put the log in its failed state, if it is in one. */
  get failure (): AuditError | undefined { return this.#failure }
  /** Sequence number and hash of the last confirmed entry. */
  get head (): { seq: number, hash: string } { return { seq: this.#seq, hash: this.#hash } }

  /** Record one event. Resolves with the entry once durable; rejects with AuditError if it is not. */
  append (event: AuditEvent): Promise<AuditEntry> {
    if (this.#closed) return Promise.reject(new AuditError('the audit log is closed'))
    if (this.#failure !== undefined) { this.#refused++; return Promise.reject(this.#refusal()) }
    return this.#enqueue(sanitiseEvent(event))
  }

  /** Write a signed checkpoint now (also done every `checkpointEvery` entries and on close). */
  checkpoint (reason = 'requested'): Promise<AuditEntry> {
    if (this.#closed) return Promise.reject(new AuditError('the audit log is closed'))
    if (this.#failure !== undefined) return Promise.reject(this.#refusal())
    return this.#enqueue(this.#checkpointEvent(reason))
  }

  /**
   * (Re)open from disk after a failure, or the first time: check the tail against the signed
   * head, quarantine unconfirmed bytes, then write `audit.recovered` (if anything was repaired
   * or a failure preceded) and an opening checkpoint. Throws AuditError and stays failed if any step fails.
   * A failed log calls this itself, with backoff; calling it meanwhile joins the attempt in progress.
   */
  recover (): Promise<void> {
    if (this.#closed) return Promise.reject(new AuditError('the audit log is closed'))
    if (this.#failure === undefined) return Promise.resolve()
    this.#recovering ??= this.#reopen().finally(() => {
      this.#recovering = undefined
      if (this.#failure !== undefined) this.#scheduleRetry()
    })
    return this.#recovering
  }

  async #reopen (): Promise<void> {
    this.#cancelRetry?.()
    this.#cancelRetry = undefined
    await this.#draining
    const before = this.#failure
    await this.#file?.close().catch(() => {}) // the handle may be the broken part; a fresh one follows
    this.#file = undefined
    try {
      const state = await loadForAppend(this.paths, this.#o.crypto, this.#o.key)
      this.#file = await open(this.paths.log, 'a', 0o600)
      this.#seq = state.seq
      this.#hash = state.hash
      this.#sinceCheckpoint = 0
      this.#fileBytes = state.fileBytes
      this.#fileStartMs = state.fileBytes > 0 ? await firstEntryMs(this.paths.log) : undefined
      const notes: Record<string, AuditValue> = { ...state.recovered }
      if (this.#opened) { notes.after_failure = boundString(before?.message ?? ''); notes.refused_appends = this.#refused }
      this.#opened = true
      this.#failure = undefined
      this.#refused = 0
      this.#retryMs = auditRecoverDelayMsMin
      if (state.fileBytes === 0 && state.seq > 0) {
        // A file a rotation had begun when the node stopped (or failed): it opens with the checkpoint the rotation would have written.
        await this.#enqueue(this.#checkpointEvent('rotated', { previous: (await rotatedFiles(this.paths)).at(-1)?.name ?? null }))
      }
      if (Object.keys(notes).length > 0) {
        await this.#enqueue({ who: 'node', what: 'audit.recovered', outcome: 'ok', remote: null, detail: sanitiseDetail(notes) })
      }
      await this.#enqueue(this.#checkpointEvent('open'))
    } catch (e) {
      this.#fail(e)
      throw this.#failure ?? e
    }
  }

  /** A failed log that has been opened before tries again by itself, later each time (bounded). */
  #scheduleRetry (): void {
    if (this.#closed || !this.#opened || this.#cancelRetry !== undefined || this.#recovering !== undefined) return
    const delayMs = this.#retryMs
    this.#retryMs = Math.min(auditRecoverDelayMsMax, 2 * this.#retryMs)
    this.#cancelRetry = (this.#o.schedule ?? realSchedule)(() => {
      this.#cancelRetry = undefined
      // A failed attempt schedules the next one; its error is the log's failure, readable as `failure`.
      this.recover().catch(() => {})
    }, delayMs)
  }

  /** Write a closing checkpoint (if the log is healthy), then release the file. */
  async close (): Promise<void> {
    if (this.#closed) return
    this.#cancelRetry?.()
    this.#cancelRetry = undefined
    if (this.#failure === undefined) {
      try {
        await this.#enqueue(this.#checkpointEvent('close'))
      } finally {
        this.#closed = true
        await this.#file?.close()
      }
      return
    }
    this.#closed = true
    await this.#file?.close().catch(() => {})
  }

  #refusal (): AuditError {
    return new AuditError(`the audit log is in a failed state and refuses appends until recover() succeeds: ${this.#failure?.message}`, { cause: this.#failure })
  }

  #checkpointEvent (reason: string, more: Record<string, AuditValue> = {}): CleanEvent {
    return { who: 'node', what: 'audit.checkpoint', outcome: 'ok', remote: null, detail: sanitiseDetail({ key: toHex(this.#o.key.publicKey), reason, ...more }) }
  }

  #enqueue (event: CleanEvent): Promise<AuditEntry> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ event, resolve, reject })
      if (!this.#busy) this.#draining = this.#drain()
    })
  }

  /**
   * `#busy` is cleared in the same synchronous step as the loop's final emptiness check, so an
   * enqueue never lands between the two (the loop body catches everything, so nothing skips it).
   */
  async #drain (): Promise<void> {
    this.#busy = true
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, auditBatchEntriesMax)
      if (this.#failure !== undefined) {
        this.#refused += batch.length
        for (const p of batch) p.reject(this.#refusal())
        continue
      }
      try {
        if (this.#rotationDue()) await this.#rotate()
        const entries = await this.#commit(batch.map(p => p.event))
        batch.forEach((p, i) => p.resolve(entries[i]))
      } catch (e) {
        this.#fail(e)
        this.#refused += batch.length
        for (const p of batch) p.reject(this.#failure)
        this.#scheduleRetry()
      }
    }
    this.#busy = false
  }

  /** Seal, write and flush `events`, then replace the head: only then are they confirmed. */
  async #commit (events: CleanEvent[]): Promise<AuditEntry[]> {
    const { entries, lines, seq, hash, since } = this.#build(events)
    const bytes = await this.#write(lines)
    await writeHeadFile(this.paths, signHead(seq, hash, this.#o.crypto, this.#o.key))
    this.#seq = seq; this.#hash = hash; this.#sinceCheckpoint = since
    this.#fileBytes += bytes
    this.#fileStartMs ??= Date.parse(entries[0].ts)
    return entries
  }

  /** The current file has reached `rotate.bytes`, or its first entry `rotate.ageMs` (checked before each batch). */
  #rotationDue (): boolean {
    const r = this.#o.rotate
    if (r === undefined || this.#fileBytes === 0) return false
    return this.#fileBytes >= r.bytes || (this.#fileStartMs !== undefined && this.#now() - this.#fileStartMs >= r.ageMs)
  }

  /**
   * End the file with a signed checkpoint, rename it (rotate.ts), delete the files retention
   * lets go, and begin the next file with a checkpoint naming both: its `prev` continues the chain.
   */
  async #rotate (): Promise<void> {
    await this.#commit([this.#checkpointEvent('rotate')])
    const file = this.#file
    this.#file = undefined
    await file?.close()
    const { name, removed } = await rotateLogFile(this.paths, this.#o.rotate?.keepFiles ?? 1)
    this.#file = await open(this.paths.log, 'a', 0o600)
    this.#fileBytes = 0
    this.#fileStartMs = undefined
    await this.#commit([this.#checkpointEvent('rotated', { previous: name, removed })])
  }

  /** Seal events in order, adding a checkpoint wherever `checkpointEvery` entries have passed. */
  #build (events: CleanEvent[]): { entries: AuditEntry[], lines: string[], seq: number, hash: string, since: number } {
    const entries: AuditEntry[] = []
    const lines: string[] = []
    let seq = this.#seq
    let hash = this.#hash
    let since = this.#sinceCheckpoint
    const seal = (event: CleanEvent): AuditEntry => {
      const fields: AuditFields = {
        v: auditFormatVersion, seq: ++seq, ts: isoTime(this.#now()), who: event.who, what: event.what,
        where: { node: boundString(String(this.#o.node)), remote: event.remote }, outcome: event.outcome, detail: event.detail, prev: hash,
      }
      const { entry, line } = sealEntry(fields, this.#o.crypto, this.#o.key)
      hash = entry.hash
      lines.push(line)
      since = event.what === 'audit.checkpoint' ? 0 : since + 1
      return entry
    }
    for (const event of events) {
      entries.push(seal(event))
      if (since >= this.#every) seal(this.#checkpointEvent('interval'))
    }
    return { entries, lines, seq, hash, since }
  }

  /** Append `lines` and flush; returns the bytes written. */
  async #write (lines: string[]): Promise<number> {
    const file = this.#file
    if (file === undefined) throw new AuditError('the audit log file is not open')
    const bytes = Buffer.from(lines.map(l => `${l}\n`).join(''), 'utf8')
    for (let done = 0; done < bytes.length;) {
      const { bytesWritten } = await file.write(bytes, done, bytes.length - done)
      if (bytesWritten <= 0) throw new AuditError('the audit log write made no progress')
      done += bytesWritten
    }
    await file.datasync()
    return bytes.length
  }

  /** The injected clock; one that throws gives NaN (recorded as the epoch) rather than failing the log. */
  #now (): number {
    try {
      return this.#o.now()
    } catch {
      return Number.NaN
    }
  }

  #fail (cause: unknown): void {
    const msg = cause instanceof Error ? cause.message : String(cause)
    this.#failure = cause instanceof AuditError
      ? cause
      : new AuditError(`cannot write the audit log in ${this.paths.dir}: ${msg}`, { cause })
  }
}

/** ISO-8601 UTC with milliseconds; a clock that returns nonsense gives the epoch rather than a throw. */
export function isoTime (ms: number): string {
  const d = new Date(Number.isFinite(ms) && Math.abs(ms) <= 8.64e15 ? ms : 0)
  const iso = d.toISOString()
  return /^\d{4}-/.test(iso) ? iso : new Date(0).toISOString()
}
