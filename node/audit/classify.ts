/**
 * Turns per-line check results into located problems. Entries whose hash and node signature
 * verify are authentic: only the node wrote them, so their seq numbers are the truth, and
 * every other line is judged against them. A run of unauthenticated lines between two
 * authentic entries (or before the end the signed head names) is compared with the number of
 * seq numbers missing there: more lines than gaps means forged entries were inserted (reported
 * at the first one), as many means entries were altered in place, fewer means some were
 * deleted. Authentic entries out of order are reordered; gaps with no stand-in are deletions,
 * or truncation at the end.
 *
 * @example
 * classifyLines(records, { seq: 12, hash }, push)   // push({ line: 5, seq: 5, kind: 'deleted', message })
 */
import { genesisHash } from './format.ts'

export type AuditProblemKind = 'modified' | 'deleted' | 'inserted' | 'reordered' | 'truncated' | 'bad-signature' | 'malformed' | 'rolled-back'

export interface AuditProblem {
  seq?: number
  /** 1-based line in `file`; 0 for audit.head or the anchor; one past the last line for "at the end". */
  line: number
  /** The log file the line is in (`audit.log`, or a rotated `audit.log.<n>`); absent for line 0. */
  file?: string
  kind: AuditProblemKind
  message: string
}

export interface LineRecord {
  line: number
  /** authentic: hash and signature verify; hash: content does not match its hash; sig: hash matches, signature does not. */
  status: 'authentic' | 'malformed' | 'hash' | 'sig'
  canonical: boolean
  seq?: number
  hash?: string
  prev?: string
  /** An `audit.checkpoint` entry (a rotated file that starts with an authentic one may start the verified span). */
  checkpoint?: boolean
  /** How messages name the line when the log spans files (`audit.log.000002:4`); else its number. */
  label?: string
  reason: string
}

type Push = (p: AuditProblem) => void

const range = (a: number, b: number): string => a === b ? `seq ${a}` : `seq ${a}–${b}`
const named = (r: LineRecord): string => r.label ?? String(r.line)

/**
 * `head` is the verified signed head, or undefined when there is none to trust. With
 * `headMoving` (the node replaced its head while the log was read), authentic entries past
 * the head are being confirmed, not left behind: they are still checked, but not reported
 * for being past it. `after` is the seq and hash the span continues from when retention
 * removed the files before it (default: the genesis, seq 0).
 */
export function classifyLines (records: LineRecord[], head: { seq: number, hash: string } | undefined, push: Push, headMoving = false, after = { seq: 0, hash: genesisHash }): void {
  const authSeqs = new Set<number>()
  for (const r of records) if (r.status === 'authentic') authSeqs.add(r.seq as number)
  const seen = new Map<number, LineRecord>()
  let maxSeq = after.seq
  let lastHash = after.hash
  let run: LineRecord[] = []

  for (const r of records) {
    if (r.status !== 'authentic') { run.push(r); continue }
    const seq = r.seq as number
    if (!r.canonical) push({ seq, line: r.line, kind: 'modified', message: 'entry is not in canonical form (whitespace, escaping or key order changed)' })
    const earlier = seen.get(seq)
    if (earlier !== undefined) {
      push({ seq, line: r.line, kind: 'inserted', message: `a second copy of the entry at line ${named(earlier)}` })
      continue
    }
    seen.set(seq, r)
    if (seq <= maxSeq) {
      push({ seq, line: r.line, kind: 'reordered', message: `seq ${seq} comes after seq ${maxSeq}` })
      continue
    }
    const clean = run.length === 0 && seq === maxSeq + 1
    flushRun(run, maxSeq, seq, r.line, 'deleted', authSeqs, push)
    if (clean && r.prev !== lastHash) {
      push({ seq, line: r.line, kind: 'modified', message: 'prev does not name the entry before it (entries from two histories)' })
    }
    if (head !== undefined && seq === head.seq + 1 && !headMoving) {
      push({ seq, line: r.line, kind: 'rolled-back', message: `signed entries continue past the signed head (seq ${head.seq}): the node stopped before updating audit.head (the next start quarantines them), or audit.head was replaced by an older one` })
    }
    if (head !== undefined && seq === head.seq && r.hash !== head.hash) {
      push({ seq, line: r.line, kind: 'rolled-back', message: 'the signed head names a different entry at this seq: the log was rolled back and written again' })
    }
    maxSeq = seq
    lastHash = r.hash as string
    run = []
  }
  const endLine = records.length + 1
  const end = head === undefined || head.seq < maxSeq ? maxSeq + run.length : head.seq
  flushRun(run, maxSeq, end + 1, endLine, 'truncated', authSeqs, push)
}

/**
 * Judge the unauthenticated lines in `run`, which stand between authentic seq `from` and
 * authentic (or virtual, at the end) seq `to`, the latter found at line `atLine`.
 */
function flushRun (run: LineRecord[], from: number, to: number, atLine: number, gapKind: 'deleted' | 'truncated', authSeqs: Set<number>, push: Push): void {
  const later: number[] = []
  let missing = 0
  let firstMissing: number | undefined
  for (let s = from + 1; s < to; s++) {
    if (authSeqs.has(s)) later.push(s)
    else { missing++; firstMissing ??= s }
  }
  if (later.length > 0) {
    push({ seq: later[0], line: atLine, kind: 'reordered', message: `${range(later[0], later[later.length - 1])} should come before this line but appear later` })
  }
  for (const r of run) if (r.status === 'malformed') push({ seq: r.seq, line: r.line, kind: 'malformed', message: r.reason })
  const lines = run.filter(r => r.status !== 'malformed')
  if (run.length > missing && lines.length > 0) {
    const first = lines[0]
    const last = run[run.length - 1]
    push({ seq: first.seq, line: first.line, kind: 'inserted', message: `${run.length} unauthenticated lines (${named(first)}–${named(last)}) where ${missing} entries belong: forged entries begin here (${first.reason})` })
  } else {
    reportInPlace(lines, push)
  }
  if (run.length < missing && firstMissing !== undefined) {
    const n = missing - run.length
    const message = gapKind === 'truncated'
      ? `the log ends ${n} entries short of the signed head (seq ${to - 1}): truncated or rolled back`
      : `${n} entries missing before this line (${range(firstMissing, firstMissing + n - 1)} or thereabouts)`
    push({ seq: gapKind === 'truncated' ? to - n : firstMissing, line: atLine, kind: gapKind, message })
  }
}

/** Lines altered in place: edited content one by one; re-hashed but unsigned lines grouped by contiguous block. */
function reportInPlace (lines: LineRecord[], push: Push): void {
  for (let i = 0; i < lines.length; i++) {
    const r = lines[i]
    if (r.status === 'hash') { push({ seq: r.seq, line: r.line, kind: 'modified', message: r.reason }); continue }
    let j = i
    while (j + 1 < lines.length && lines[j + 1].status === 'sig' && lines[j + 1].line === lines[j].line + 1) j++
    const extent = j > i ? `lines ${named(r)}–${named(lines[j])} (${j - i + 1} entries)` : 'this entry'
    push({ seq: r.seq, line: r.line, kind: 'bad-signature', message: `${extent}: hash recomputed but the node signature does not verify (rewritten without the node key)` })
    i = j
  }
}
