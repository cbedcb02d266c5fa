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
 * open, every `checkpointEvery` entries, and on close.
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
import { auditPaths, writeHeadFile, type AuditPaths } from './files.ts'
import { loadForAppend } from './load.ts'
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
      const notes: Record<string, AuditValue> = { ...state.recovered }
      if (this.#opened) { notes.after_failure = boundString(before?.message ?? ''); notes.refused_appends = this.#refused }
      this.#opened = true
      this.#failure = undefined
      this.#refused = 0
      this.#retryMs = auditRecoverDelayMsMin
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

  #checkpointEvent (reason: string): CleanEvent {
    return { who: 'node', what: 'audit.checkpoint', outcome: 'ok', remote: null, detail: sanitiseDetail({ key: toHex(this.#o.key.publicKey), reason }) }
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
        const { entries, lines, seq, hash, since } = this.#build(batch)
        await this.#write(lines)
        await writeHeadFile(this.paths, signHead(seq, hash, this.#o.crypto, this.#o.key))
        this.#seq = seq; this.#hash = hash; this.#sinceCheckpoint = since
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

  /** Seal a batch in order, adding a checkpoint wherever `checkpointEvery` entries have passed. */
  #build (batch: Pending[]): { entries: AuditEntry[], lines: string[], seq: number, hash: string, since: number } {
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
    for (const p of batch) {
      entries.push(seal(p.event))
      if (since >= this.#every) seal(this.#checkpointEvent('interval'))
    }
    return { entries, lines, seq, hash, since }
  }

  async #write (lines: string[]): Promise<void> {
    const file = this.#file
    if (file === undefined) throw new AuditError('the audit log file is not open')
    const bytes = Buffer.from(lines.map(l => `${l}\n`).join(''), 'utf8')
    for (let done = 0; done < bytes.length;) {
      const { bytesWritten } = await file.write(bytes, done, bytes.length - done)
      if (bytesWritten <= 0) throw new AuditError('the audit log write made no progress')
      done += bytesWritten
    }
    await file.datasync()
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
