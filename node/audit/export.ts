/**
 * `ddil audit export`: the log's lines exactly as stored, every file in order (rotated ones
 * oldest first, then `audit.log`), so anyone can re-verify them with the node's public key
 * and docs/AUDIT.md; and the signed head, which an operator should copy off the node now and
 * then: a head kept elsewhere is what catches the log and head being rolled back together
 * (pass it to `verifyAuditLog` as `anchor`). formats.ts turns records into CSV or syslog.
 *
 * @example
 * for await (const line of exportAuditLog(dataDir)) process.stdout.write(line + '\n')
 * for await (const r of exportAuditRecords(dataDir, { sinceMs })) console.log(r.entry?.what)
 * const anchor = await exportAuditHead(dataDir)   // '{"v":1,"seq":42,"hash":"…","key":"…","sig":"…"}'
 */
import { AuditError } from '../../protocol/errors.ts'
import { auditPaths, logFiles, readHeadFile, readLines } from './files.ts'
import { parseEntryShape, type AuditEntry } from './format.ts'

export interface ExportWindow {
  /** Only entries stamped at or after this, Unix ms. */
  sinceMs?: number
  /** Only entries stamped before this, Unix ms. */
  untilMs?: number
}

export interface ExportedRecord {
  /** The file and 1-based line it came from. */
  file: string
  line: number
  /** The stored line, or `{"unreadable":…}` for one that cannot be passed on as text. */
  text: string
  /** The entry, when the line has an entry's shape (not verified: that is `verify`'s job). */
  entry?: AuditEntry
  /** Why the line is not an entry, when it is not. */
  problem?: string
  /** The line could not be read as text (too long, not UTF-8): `text` is the `{"unreadable":…}` object. */
  unreadable?: true
}

/**
 * Every line of every file, in order. A line that is not an entry is always included, time
 * window or not: a damaged line must not drop out of an export unseen.
 */
export async function * exportAuditRecords (dataDir: string, window: ExportWindow = {}): AsyncGenerator<ExportedRecord> {
  const paths = auditPaths(dataDir)
  for (const f of await readable(paths.dir, () => logFiles(paths))) {
    try {
      for await (const l of readLines(f.path)) {
        const at = { file: f.name, line: l.lineNo }
        if (l.text === undefined) {
          const problem = l.problem ?? 'unreadable line'
          yield { ...at, problem, unreadable: true, text: JSON.stringify({ unreadable: { line: l.lineNo, bytes: l.bytes, problem, file: f.name } }) }
          continue
        }
        const entry = parseEntryShape(l.text)
        if (typeof entry === 'string') { yield { ...at, text: l.text, problem: entry }; continue }
        if (inWindow(Date.parse(entry.ts), window)) yield { ...at, text: l.text, entry }
      }
    } catch (e) {
      throw new AuditError(`cannot read ${f.path}: ${(e as Error).message}`, { cause: e })
    }
  }
}

function inWindow (ms: number, w: ExportWindow): boolean {
  return (w.sinceMs === undefined || ms >= w.sinceMs) && (w.untilMs === undefined || ms < w.untilMs)
}

async function readable<T> (what: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read()
  } catch (e) {
    throw new AuditError(`cannot read ${what}: ${(e as Error).message}`, { cause: e })
  }
}

/**
 * Each stored line, without its newline. A line that cannot be passed on as text (too long,
 * not UTF-8) becomes `{"unreadable":{"line":n,"bytes":b,"problem":"…","file":"…"}}` so the output stays JSON lines.
 */
export async function * exportAuditLog (dataDir: string, window: ExportWindow = {}): AsyncGenerator<string> {
  for await (const r of exportAuditRecords(dataDir, window)) yield r.text
}

/** The signed head line (without newline), for keeping off the node as an anchor. */
export async function exportAuditHead (dataDir: string): Promise<string> {
  const { head } = auditPaths(dataDir)
  const read = await readable(head, () => readHeadFile(head))
  if (read.kind === 'missing') throw new AuditError(`${head} does not exist: the node has not opened its audit log yet`)
  if (read.kind === 'bad') throw new AuditError(`${head} is damaged: ${read.reason}`)
  return read.text
}
