/**
 * `ddil audit export`: the log's lines exactly as stored (so anyone can re-verify them with
 * the node's public key and docs/AUDIT.md), and the signed head, which an operator should
 * copy off the node now and then: a head kept elsewhere is what catches the log and head
 * being rolled back together (pass it to `verifyAuditLog` as `anchor`).
 *
 * @example
 * for await (const line of exportAuditLog(dataDir)) process.stdout.write(line + '\n')
 * const anchor = await exportAuditHead(dataDir)   // '{"v":1,"seq":42,"hash":"…","key":"…","sig":"…"}'
 */
import { AuditError } from '../../protocol/errors.ts'
import { auditPaths, readHeadFile, readLines } from './files.ts'

/**
 * Each stored line, without its newline. A line that cannot be passed on as text (too long,
 * not UTF-8) becomes `{"unreadable":{"line":n,"bytes":b,"problem":"…"}}` so the output stays JSON lines.
 */
export async function * exportAuditLog (dataDir: string): AsyncGenerator<string> {
  const { log } = auditPaths(dataDir)
  try {
    for await (const l of readLines(log)) {
      yield l.text ?? JSON.stringify({ unreadable: { line: l.lineNo, bytes: l.bytes, problem: l.problem } })
    }
  } catch (e) {
    if (e instanceof AuditError) throw e
    throw new AuditError(`cannot read ${log}: ${(e as Error).message}`, { cause: e })
  }
}

/** The signed head line (without newline), for keeping off the node as an anchor. */
export async function exportAuditHead (dataDir: string): Promise<string> {
  const { head } = auditPaths(dataDir)
  let read
  try {
    read = await readHeadFile(head)
  } catch (e) {
    throw new AuditError(`cannot read ${head}: ${(e as Error).message}`, { cause: e })
  }
  if (read.kind === 'missing') throw new AuditError(`${head} does not exist: the node has not opened its audit log yet`)
  if (read.kind === 'bad') throw new AuditError(`${head} is damaged: ${read.reason}`)
  return read.text
}
