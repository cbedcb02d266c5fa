/**
 * What `ddil audit verify` prints, and where its `--anchor` comes from: a head line given
 * as text, or a file of heads appended by `ddil audit export --head >> anchors.txt`, whose
 * last line is the newest (only the file's tail is read, so years of anchors cost nothing).
 *
 * @example
 * const r = await verifyAuditLog(dataDir, crypto, { anchor: await readAnchor('/secure/anchors.txt') })
 * process.stdout.write(verifyReport(r))   // 'audit log intact: 12 entries, …\n'
 */
import { open } from 'node:fs/promises'
import { UsageError } from '../../protocol/errors.ts'
import { auditHeadBytesMax } from '../../protocol/limits.ts'
import type { AuditVerifyResult } from './verify.ts'

/** `text` itself when it is a head line (starts with `{`), else the last non-empty line of the file it names. */
export async function readAnchor (text: string): Promise<string> {
  if (text.trimStart().startsWith('{')) return text.trim()
  let file
  try {
    file = await open(text, 'r')
  } catch (e) {
    throw new UsageError(`--anchor ${text}: neither a head line ({"v":1,…}) nor a readable file (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`)
  }
  try {
    const { size } = await file.stat()
    const tailBytes = Math.min(size, 2 * auditHeadBytesMax + 2)
    const buf = Buffer.alloc(tailBytes)
    await file.read(buf, 0, tailBytes, size - tailBytes)
    const last = buf.toString('utf8').split('\n').map(l => l.trim()).filter(l => l !== '').pop()
    if (last === undefined) throw new UsageError(`--anchor ${text}: the file holds no head line`)
    return last
  } finally {
    await file.close()
  }
}

export function verifyReport (r: AuditVerifyResult): string {
  if (r.ok) return `audit log intact: ${r.entries} entries${span(r)}, all signed checkpoints and the head verify\n`
  const lines = [`audit log FAILED verification (${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} in ${r.entries} entries${span(r)}):`]
  for (const p of r.problems) lines.push(`  ${p.file !== undefined && r.files.length > 1 ? `${p.file} ` : ''}line ${p.line}${p.seq !== undefined ? ` (seq ${p.seq})` : ''}: ${p.kind}: ${p.message}`)
  if (r.problemsOmitted > 0) lines.push(`  … and ${r.problemsOmitted} more`)
  return lines.join('\n') + '\n'
}

/** ` in 3 files, starting at seq 513 after 512 rotated-out entries`, or nothing for one file from seq 1. */
function span (r: AuditVerifyResult): string {
  const files = r.files.length > 1 ? ` in ${r.files.length} files` : ''
  const start = r.rotatedOut > 0 ? `, starting at seq ${r.firstSeq} after ${r.rotatedOut} rotated-out entries` : ''
  return files + start
}
