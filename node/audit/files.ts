/**
 * File plumbing for the audit log: where the files live, a line reader that never holds
 * more than `auditLineBytesMax` of one line (a hostile multi-gigabyte line costs no memory),
 * reading the head file with a size bound, and replacing it atomically (temp, fsync, rename,
 * fsync the directory) so a crash leaves either the old head or the new one.
 *
 * @example
 * for await (const l of readLines(auditPaths(dataDir).log)) console.log(l.lineNo, l.text ?? l.problem)
 */
import { open, readdir, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { syncDir } from '../fs-durable.ts'
import { auditHeadBytesMax, auditLineBytesMax } from '../../protocol/limits.ts'
import { encodeHead, parseHead, type AuditHead } from './format.ts'

export interface AuditPaths { dir: string, log: string, head: string, headTmp: string }

export function auditPaths (dataDir: string): AuditPaths {
  const dir = join(dataDir, 'audit')
  return { dir, log: join(dir, 'audit.log'), head: join(dir, 'audit.head'), headTmp: join(dir, 'audit.head.tmp') }
}

/**
 * A rotated file: `audit.log.<n>`, `n` counting up from 1 with at least six digits, so the
 * order is the number's, never a guess from dates or sizes.
 */
export function rotatedName (n: number): string {
  return `audit.log.${String(n).padStart(6, '0')}`
}

const rotatedRe = /^audit\.log\.(\d{6,})$/

export interface LogFile {
  name: string
  path: string
  /** The rotated file's number; 0 for the current file, `audit.log`. */
  n: number
}

/** The rotated files, oldest first; an absent directory has none. */
export async function rotatedFiles (paths: AuditPaths): Promise<LogFile[]> {
  let names: string[]
  try {
    names = await readdir(paths.dir)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw e
  }
  return names.flatMap(name => {
    const m = rotatedRe.exec(name)
    return m === null ? [] : [{ name, path: join(paths.dir, name), n: Number(m[1]) }]
  }).sort((a, b) => a.n - b.n)
}

/** Every file of the log in order: the rotated ones, oldest first, then `audit.log`. */
export async function logFiles (paths: AuditPaths): Promise<LogFile[]> {
  return [...await rotatedFiles(paths), { name: 'audit.log', path: paths.log, n: 0 }]
}

export interface RawLine {
  /** 1-based line number. */
  lineNo: number
  /** Byte offset of the line's first byte. */
  offset: number
  /** Bytes in the line, without its newline. */
  bytes: number
  /** The line's text, or undefined when it is too long or not UTF-8 (see `problem`). */
  text?: string
  problem?: string
  /** False for a last line with no newline after it (a torn write, or an edit). */
  terminated: boolean
}

const chunkBytes = 64 * 1024

/** Lines of `path`, in order; an absent file has none. */
export async function * readLines (path: string, fromOffset = 0): AsyncGenerator<RawLine> {
  let file
  try {
    file = await open(path, 'r')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return
    throw e
  }
  const decoder = new TextDecoder('utf-8', { fatal: true })
  try {
    const buf = Buffer.alloc(chunkBytes)
    let parts: Buffer[] = []
    let held = 0
    let length = 0
    let start = fromOffset
    let pos = fromOffset
    let lineNo = 0
    const finish = (terminated: boolean): RawLine => {
      const line: RawLine = { lineNo: ++lineNo, offset: start, bytes: length, terminated }
      if (length > auditLineBytesMax) line.problem = `line is ${length} bytes, over the ${auditLineBytesMax}-byte limit`
      else {
        try {
          line.text = decoder.decode(Buffer.concat(parts, held))
        } catch {
          line.problem = 'line is not valid UTF-8'
        }
      }
      start += length + 1
      parts = []; held = 0; length = 0
      return line
    }
    const take = (piece: Buffer): void => {
      length += piece.length
      if (held + piece.length <= auditLineBytesMax) {
        parts.push(Buffer.from(piece)) // copy: the read buffer is reused
        held += piece.length
      }
    }
    for (;;) {
      const { bytesRead } = await file.read(buf, 0, chunkBytes, pos)
      if (bytesRead === 0) break
      pos += bytesRead
      let from = 0
      for (let nl = buf.indexOf(10, from); nl !== -1 && nl < bytesRead; nl = buf.indexOf(10, from)) {
        take(buf.subarray(from, nl))
        yield finish(true)
        from = nl + 1
      }
      take(buf.subarray(from, bytesRead))
    }
    if (length > 0) yield finish(false)
  } finally {
    await file.close()
  }
}

export type HeadRead =
  | { kind: 'missing' }
  | { kind: 'bad', reason: string }
  | { kind: 'ok', head: AuditHead, text: string }

export async function readHeadFile (path: string): Promise<HeadRead> {
  let file
  try {
    file = await open(path, 'r')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' }
    throw e
  }
  try {
    const buf = Buffer.alloc(auditHeadBytesMax + 1)
    const { bytesRead } = await file.read(buf, 0, buf.length, 0)
    if (bytesRead > auditHeadBytesMax) return { kind: 'bad', reason: `audit.head is over ${auditHeadBytesMax} bytes` }
    const raw = buf.subarray(0, bytesRead).toString('utf8')
    if (!raw.endsWith('\n')) return { kind: 'bad', reason: 'audit.head does not end with a newline' }
    const text = raw.slice(0, -1)
    const head = parseHead(text)
    return typeof head === 'string' ? { kind: 'bad', reason: head } : { kind: 'ok', head, text }
  } finally {
    await file.close()
  }
}

/** Replace the head file: write a temp file, flush it, rename it over, flush the directory. */
export async function writeHeadFile (paths: AuditPaths, head: AuditHead): Promise<void> {
  const file = await open(paths.headTmp, 'w', 0o600)
  try {
    await file.writeFile(`${encodeHead(head)}\n`)
    await file.sync()
  } finally {
    await file.close()
  }
  await rename(paths.headTmp, paths.head)
  await syncDir(paths.dir)
}

export { syncDir }
