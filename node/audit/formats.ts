/**
 * Export formats for `ddil audit export --format`, so a SIEM or a spreadsheet can take the
 * log: `jsonl` (the stored lines verbatim, verifiable), `csv` (RFC 4180, fixed header) and
 * `syslog` (RFC 5424, one message per entry, the stored line as MSG so it stays verifiable).
 * Each format is a header (or none), a record encoder and a line ending. test/audit-export.test.ts
 * pins a vector for each, with the quoting and escaping cases.
 *
 * @example
 * const f = exportFormat('syslog')
 * for await (const r of exportAuditRecords(dataDir)) process.stdout.write(f.record(r) + f.eol)
 * // <110>1 2026-01-02T03:04:06.006Z node-a ddil - peer.accepted [ddil@32473 seq="1" hash="…" who="p" outcome="ok"] {"v":1,…}
 */
import { UsageError } from '../../protocol/errors.ts'
import { parseDuration } from '../../protocol/units.ts'
import type { ExportedRecord } from './export.ts'

export const auditExportFormats = ['jsonl', 'csv', 'syslog'] as const
export type AuditExportFormat = (typeof auditExportFormats)[number]

export interface ExportFormat {
  /** Written once before the records, if any. */
  header?: string
  record: (r: ExportedRecord) => string
  /** RFC 4180 ends records with CRLF; JSON lines and syslog lines with LF. */
  eol: string
}

export function exportFormat (name: string): ExportFormat {
  if (name === 'jsonl') return { record: r => r.text, eol: '\n' }
  if (name === 'csv') return { header: csvHeader, record: csvRecord, eol: '\r\n' }
  if (name === 'syslog') return { record: syslogRecord, eol: '\n' }
  throw new UsageError(`--format ${JSON.stringify(name)} is not one of ${auditExportFormats.join(', ')}`)
}

// ---- CSV (RFC 4180) --------------------------------------------------------------

export const csvHeader = 'seq,ts,who,what,node,remote,outcome,detail-json,hash'

/** A field quoted when it holds a comma, a quote or a line break, quotes doubled (RFC 4180 §2.6–2.7). */
export function csvField (s: string): string {
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
}

/** One row; a line that is not an entry leaves every column empty but `detail-json`, which says why. */
export function csvRecord (r: ExportedRecord): string {
  const e = r.entry
  const fields = e === undefined
    ? ['', '', '', '', '', '', '', notEntry(r), '']
    : [String(e.seq), e.ts, e.who, e.what, e.where.node, e.where.remote ?? '', e.outcome, JSON.stringify(e.detail), e.hash]
  return fields.map(csvField).join(',')
}

// ---- Syslog (RFC 5424) -----------------------------------------------------------

/** Facility 13, "log audit" (RFC 5424 §6.2.1). */
const syslogFacility = 13
/** Severity by outcome: ok is informational, a refusal a warning, a failure an error; a damaged line is an error too. */
const syslogSeverity = { ok: 6, refused: 4, failed: 3 } as const
const damagedSeverity = 3
/**
 * SD-ID `name@<private enterprise number>` (RFC 5424 §7.2.2). 32473 is the number RFC 5612
 * reserves for documentation: an organisation with its own number may rewrite it on ingest.
 */
export const syslogSdId = 'ddil@32473'

/** RFC 5424 §6.2: HOSTNAME, APP-NAME and MSGID are printable US-ASCII without spaces, bounded; else the NILVALUE. */
function token (s: string | undefined, charsMax: number): string {
  return s !== undefined && s.length <= charsMax && /^[\x21-\x7e]+$/.test(s) ? s : '-'
}

/**
 * PARAM-VALUE escaping (RFC 5424 §6.3.3): `"`, `\` and `]` get a backslash. Control
 * characters are not the RFC's business but would let a peer-chosen string break a record in
 * two downstream, so they become `\u00XX` (a backslash before `u` is literal to a receiver).
 */
export function sdParamValue (s: string): string {
  return s.replace(/["\\\]]/g, c => `\\${c}`).replace(/[\x00-\x1f\x7f]/g, controlEscape)
}

function controlEscape (c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`
}

function sd (params: Record<string, string | number | null>): string {
  const parts = Object.entries(params).filter(([, v]) => v !== null).map(([k, v]) => `${k}="${sdParamValue(String(v))}"`)
  return `[${syslogSdId} ${parts.join(' ')}]`
}

/**
 * `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [SD] MSG`: HOSTNAME is the node id, MSGID
 * the event type, the SD element carries seq, hash, who, outcome and remote, and MSG is the
 * stored line (control characters escaped as above, so one entry is always one record).
 */
export function syslogRecord (r: ExportedRecord): string {
  const e = r.entry
  if (e === undefined) {
    return `<${syslogFacility * 8 + damagedSeverity}>1 - - ddil - - ${sd({ file: r.file, line: r.line })} ${notEntry(r)}`
  }
  const pri = syslogFacility * 8 + syslogSeverity[e.outcome]
  const data = sd({ seq: e.seq, hash: e.hash, who: e.who, outcome: e.outcome, remote: e.where.remote })
  return `<${pri}>1 ${e.ts} ${token(e.where.node, 255)} ddil - ${token(e.what, 32)} ${data} ${r.text.replace(/[\x00-\x1f\x7f]/g, controlEscape)}`
}

/** A line that is not an entry, as one JSON object (JSON escapes its control characters). */
function notEntry (r: ExportedRecord): string {
  return r.unreadable === true ? r.text : JSON.stringify({ unreadable: { file: r.file, line: r.line, problem: r.problem, text: r.text } })
}

// ---- Time window -----------------------------------------------------------------

const isoRe = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2}))?$/

/**
 * `--since` / `--until`: a duration before `nowMs` (`24h`, `7d`) or an ISO-8601 time with its
 * zone (`2026-01-02T03:04:05Z`; a bare date is UTC midnight). Unix ms; UsageError otherwise.
 */
export function parseTimeBound (text: string, nowMs: number, flag: string): number {
  const bad = (): UsageError => new UsageError(`${flag} ${JSON.stringify(text)} is neither a time ago (24h, 7d, 2h30m) nor an ISO time with its zone (2026-01-02 or 2026-01-02T03:04:05Z)`)
  if (isoRe.test(text)) {
    const ms = Date.parse(text)
    if (!Number.isFinite(ms)) throw bad()
    return ms
  }
  try {
    return nowMs - parseDuration(text)
  } catch {
    throw bad()
  }
}
