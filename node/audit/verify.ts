/**
 * `ddil audit verify`: check a data directory's audit log against the node's key and its
 * signed head, and say where each problem is. Needs only the data directory: the trusted key
 * comes from `<dataDir>/node.key` (or the caller). Reads every file of the log once, rotated
 * ones oldest first, line by line, holding a small record per line; a span whose oldest files
 * retention removed is checked from the signed checkpoint that begins the oldest file kept. Never throws for a damaged log (that is what it reports); only for
 * I/O errors (AuditError).
 *
 * What it cannot see locally: the log and its head rolled back together to an earlier state
 * (e.g. restored from a backup). Pass a head exported earlier as `anchor` to catch that.
 *
 * A running node writes its entries, then replaces the signed head, so a reading can catch
 * entries (or a torn last line) the head does not cover yet. The head is read before and
 * after the log: if it moved, the node is live and such a tail is in flight (still checked
 * for authenticity and chaining, not reported as left behind). If it did not move and that
 * tail is all that is wrong, the reading is taken again, up to `auditVerifyAttemptsMax`
 * times, before the tail is reported: a node that stopped mid-append leaves it for good.
 *
 * @example
 * const r = await verifyAuditLog('/var/lib/ddil', createNodeCrypto())
 * if (!r.ok) for (const p of r.problems) console.log(`line ${p.line}: ${p.kind}: ${p.message}`)
 */
import { AuditError } from '../../protocol/errors.ts'
import { setTimeout as sleep } from 'node:timers/promises'
import { auditProblemsMax, auditVerifyAttemptsMax, auditVerifySettleMs } from '../../protocol/limits.ts'
import type { Crypto } from '../../protocol/ports.ts'
import { classifyLines, type AuditProblem, type LineRecord } from './classify.ts'
import { fromHex, headSignatureOk, parseEntryLine, parseHead, toHex, type AuditHead } from './format.ts'
import { auditPaths, logFiles, readHeadFile, readLines, type HeadRead, type LogFile } from './files.ts'
import { readNodePublicKey } from './key.ts'

export type { AuditProblem, AuditProblemKind } from './classify.ts'

export interface VerifyOptions {
  /** The node's Ed25519 public key (raw). Default: from `<dataDir>/node.key`; failing that, the key audit.head names. */
  publicKey?: Uint8Array
  /** A head line exported earlier (`exportAuditHead`): the log must still hold the entry it names. */
  anchor?: string
}

export interface AuditVerifyResult {
  ok: boolean
  /** Lines in the log. */
  entries: number
  /** Entries whose hash and node signature verify. */
  authentic: number
  problems: AuditProblem[]
  /** Problems found beyond `auditProblemsMax` and not listed. */
  problemsOmitted: number
  /** The signed head, when it verified. */
  head?: { seq: number, hash: string }
  /** The key entries were checked against, hex, and where it came from. 'head' means self-consistency only. */
  key?: string
  keySource: 'option' | 'node.key' | 'head' | 'none'
  /** The files read, in order: rotated ones oldest first, then `audit.log`. */
  files: string[]
  /** The seq the verified span starts at: 1, or later when retention removed the files before it. */
  firstSeq: number
  /** Entries before `firstSeq`, in files retention removed (`firstSeq - 1`). */
  rotatedOut: number
}

/** Where a file's lines are among all the lines read: records `first + 1 … first + count`. */
interface FileSpan { name: string, first: number, count: number }

export async function verifyAuditLog (dataDir: string, crypto: Crypto, options: VerifyOptions = {}): Promise<AuditVerifyResult> {
  try {
    return await verify(dataDir, crypto, options)
  } catch (e) {
    if (e instanceof AuditError) throw e
    throw new AuditError(`cannot read the audit log in ${dataDir}: ${(e as Error).message}`, { cause: e })
  }
}

async function verify (dataDir: string, crypto: Crypto, options: VerifyOptions): Promise<AuditVerifyResult> {
  for (let attempt = 1; ; attempt++) {
    const reading = await readOnce(dataDir, crypto, options)
    if (reading.settled || attempt >= auditVerifyAttemptsMax) return reading.result
    await sleep(auditVerifySettleMs * 2 ** (attempt - 1))
  }
}

/** One reading: head, log, head again. Unsettled when the head stood still and all that is wrong is a tail a node mid-append shows. */
async function readOnce (dataDir: string, crypto: Crypto, options: VerifyOptions): Promise<{ result: AuditVerifyResult, settled: boolean }> {
  const paths = auditPaths(dataDir)
  const headRead = await readHeadFile(paths.head)
  const { key, keySource } = await trustedKey(dataDir, options, headRead)
  const files = await logFiles(paths)
  const records: LineRecord[] = []
  const spans: FileSpan[] = []
  let lastTerminated = true
  for (const f of files) {
    const first = records.length
    lastTerminated = true
    for await (const l of readLines(f.path)) {
      records.push(check(records.length + 1, l.text, l.problem, l.terminated, crypto, key))
      lastTerminated = l.terminated
    }
    spans.push({ name: f.name, first, count: records.length - first })
  }
  if (files.length > 1) for (const sp of spans) for (let i = 1; i <= sp.count; i++) records[sp.first + i - 1].label = `${sp.name}:${i}`
  const moving = !sameHead(headRead, await readHeadFile(paths.head))
  const rotating = files.map(f => f.name).join() !== (await logFiles(paths)).map(f => f.name).join()
  const complete = lastTerminated ? records : records.slice(0, -1) // without a last line still being written
  const judging = { headRead, key, keySource, crypto, options, spans, after: spanStart(files, spans, records) }
  if (rotating) return { result: judge(records, { ...judging, moving: true }), settled: false } // a rotation renamed a file mid-reading: read again
  if (moving) return { result: judge(complete, { ...judging, moving: true }), settled: true }
  const strict = judge(records, { ...judging, moving: false })
  if (strict.ok) return { result: strict, settled: true }
  return { result: strict, settled: !judge(complete, { ...judging, moving: true }).ok }
}

function sameHead (a: HeadRead, b: HeadRead): boolean {
  if (a.kind === 'ok' || b.kind === 'ok') return a.kind === 'ok' && b.kind === 'ok' && a.text === b.text
  return a.kind === b.kind
}

interface Judging {
  headRead: HeadRead
  key: Uint8Array | undefined
  keySource: AuditVerifyResult['keySource']
  crypto: Crypto
  options: VerifyOptions
  /** The head moved during the reading: entries past it are in flight. */
  moving: boolean
  spans: FileSpan[]
  /** Where the span continues from, when retention removed the files before it. */
  after?: { seq: number, hash: string }
}

/**
 * The oldest file kept is a rotated one after the first (`audit.log.000002` or later: the
 * earlier ones were removed by retention) and begins with an authentic checkpoint: the span
 * starts there, continuing from that checkpoint's `prev`. Anything else starts at seq 1, so
 * missing entries are reported as deleted.
 */
function spanStart (files: LogFile[], spans: FileSpan[], records: LineRecord[]): { seq: number, hash: string } | undefined {
  const first = records[0]
  if (files[0].n <= 1 || spans[0].count === 0 || first.status !== 'authentic' || first.checkpoint !== true) return undefined
  return { seq: (first.seq as number) - 1, hash: first.prev as string }
}

/** A line number among all the lines read, as a line in its file. */
function locate (p: AuditProblem, spans: FileSpan[]): AuditProblem {
  if (p.line === 0) return p
  const span = spans.find(s => p.line <= s.first + s.count) ?? spans[spans.length - 1]
  return { ...p, file: span.name, line: p.line - span.first }
}

function judge (records: LineRecord[], j: Judging): AuditVerifyResult {
  const { key, crypto } = j
  const problems: AuditProblem[] = []
  let omitted = 0
  const push = (p: AuditProblem): void => { if (problems.length < auditProblemsMax) problems.push(p); else omitted++ }
  if (key === undefined) push({ line: 0, kind: 'bad-signature', message: 'no node key to check signatures against (no node.key and no readable audit.head)' })
  const head = checkHead(j.headRead, records.length, crypto, key, push)
  if (j.options.anchor !== undefined) checkAnchor(j.options.anchor, records, crypto, key, push)
  classifyLines(records, head, push, j.moving, j.after)
  problems.sort((a, b) => a.line - b.line)
  const rotatedOut = j.after?.seq ?? 0
  return {
    ok: problems.length === 0 && omitted === 0,
    entries: records.length,
    authentic: records.filter(r => r.status === 'authentic').length,
    problems: problems.map(p => locate(p, j.spans)),
    problemsOmitted: omitted,
    ...(head !== undefined ? { head: { seq: head.seq, hash: head.hash } } : {}),
    ...(key !== undefined ? { key: toHex(key) } : {}),
    keySource: j.keySource,
    files: j.spans.map(s => s.name),
    firstSeq: rotatedOut + 1,
    rotatedOut,
  }
}

async function trustedKey (dataDir: string, options: VerifyOptions, head: HeadRead): Promise<{ key?: Uint8Array, keySource: AuditVerifyResult['keySource'] }> {
  if (options.publicKey !== undefined) return { key: options.publicKey, keySource: 'option' }
  const fromFile = await readNodePublicKey(dataDir)
  if (fromFile !== undefined) return { key: fromFile, keySource: 'node.key' }
  if (head.kind === 'ok') return { key: fromHex(head.head.key), keySource: 'head' }
  return { keySource: 'none' }
}

function check (line: number, text: string | undefined, problem: string | undefined, terminated: boolean, crypto: Crypto, key: Uint8Array | undefined): LineRecord {
  if (text === undefined) return { line, status: 'malformed', canonical: false, reason: problem ?? 'unreadable line' }
  const c = parseEntryLine(text, crypto, key)
  if (typeof c === 'string') return { line, status: 'malformed', canonical: false, reason: `${c}${terminated ? '' : ' (last line has no newline: torn write?)'}` }
  const base = { line, canonical: c.canonical && terminated, seq: c.entry.seq, hash: c.entry.hash, prev: c.entry.prev, checkpoint: c.entry.what === 'audit.checkpoint' }
  if (!c.hashOk) return { ...base, status: 'hash', reason: 'content does not match its hash (edited)' }
  if (!c.sigOk) return { ...base, status: 'sig', reason: 'the node signature does not verify' }
  return { ...base, status: 'authentic', reason: 'ok' }
}

/** The head, if it is present, well-formed and signed by the trusted key; otherwise a problem at line 0. */
function checkHead (read: HeadRead, lines: number, crypto: Crypto, key: Uint8Array | undefined, push: (p: AuditProblem) => void): AuditHead | undefined {
  if (read.kind === 'missing') {
    if (lines > 0) push({ line: 0, kind: 'deleted', message: 'audit.head is missing: truncation and rollback cannot be checked' })
    return undefined
  }
  if (read.kind === 'bad') { push({ line: 0, kind: 'malformed', message: read.reason }); return undefined }
  if (key === undefined) return undefined
  if (!headSignatureOk(read.head, crypto, key)) {
    push({ line: 0, seq: read.head.seq, kind: 'bad-signature', message: `audit.head is not signed by the node key ${toHex(key)}` })
    return undefined
  }
  return read.head
}

function checkAnchor (text: string, records: LineRecord[], crypto: Crypto, key: Uint8Array | undefined, push: (p: AuditProblem) => void): void {
  const anchor = parseHead(text.trim())
  if (typeof anchor === 'string') { push({ line: 0, kind: 'malformed', message: `anchor: ${anchor}` }); return }
  if (key === undefined || !headSignatureOk(anchor, crypto, key)) {
    push({ line: 0, seq: anchor.seq, kind: 'bad-signature', message: 'the anchor head is not signed by the node key' })
    return
  }
  if (anchor.seq === 0) return
  const match = records.find(r => r.status === 'authentic' && r.seq === anchor.seq)
  if (match === undefined) {
    const last = records.reduce((m, r) => r.status === 'authentic' ? Math.max(m, r.seq as number) : m, 0)
    if (last < anchor.seq) push({ seq: anchor.seq, line: records.length + 1, kind: 'rolled-back', message: `the anchor names seq ${anchor.seq} but the log's signed entries end at seq ${last}: log and head were rolled back or truncated together` })
  } else if (match.hash !== anchor.hash) {
    push({ seq: anchor.seq, line: match.line, kind: 'rolled-back', message: 'the anchor names a different entry at this seq: the log was rolled back and written again' })
  }
}
