/**
 * Opening an audit log for writing: check that the signed head is ours and that the log's
 * tail holds exactly the entry the head names, then deal with anything after it. Bytes after
 * the head's entry were never confirmed to a caller (the node stopped between writing the
 * log and the head, or a write failed half-way, or someone appended to the file), so they are
 * moved to a quarantine file, cut from the log, and described in an `audit.recovered` entry.
 * A log that does not reach the head's entry, a missing or foreign head: AuditError, because
 * carrying on would hide tampering. Cost: one read of the tail, not of the whole log.
 *
 * @example
 * const state = await loadForAppend(auditPaths(dataDir), crypto, key)   // { seq, hash, recovered? }
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { mkdir, open, stat, type FileHandle } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { pipeline } from 'node:stream/promises'
import { createHash } from 'node:crypto'
import { AuditError } from '../../protocol/errors.ts'
import { auditBatchEntriesMax, auditLineBytesMax } from '../../protocol/limits.ts'
import type { Crypto, KeyPair } from '../../protocol/ports.ts'
import type { AuditValue } from './canonical.ts'
import { genesisHash, headSignatureOk, parseEntryLine, signHead, toHex, type AuditHead } from './format.ts'
import { readHeadFile, readLines, rotatedFiles, syncDir, writeHeadFile, type AuditPaths } from './files.ts'

export interface LoadedState {
  seq: number
  hash: string
  /** Facts for an `audit.recovered` entry, when the tail needed repair. */
  recovered?: Record<string, AuditValue>
  /** Bytes in `audit.log` once loaded (0: a new file, perhaps one a rotation had just begun). */
  fileBytes: number
}

/** Quarantine files tried per sequence number before giving up: repeated failures at one seq are rare. */
const quarantineFilesMax = 1000

/** Bytes read from the end of the log to find the head's entry: one batch beyond it, plus slack. */
const tailWindowBytes = (auditBatchEntriesMax + 2) * (auditLineBytesMax + 1)

export async function loadForAppend (paths: AuditPaths, crypto: Crypto, key: KeyPair): Promise<LoadedState> {
  await mkdir(paths.dir, { recursive: true, mode: 0o700 })
  const size = await fileSize(paths.log)
  const read = await readHeadFile(paths.head)
  if (read.kind === 'missing') {
    if (size > 0 || (await rotatedFiles(paths)).length > 0) throw refuse(paths, 'audit.head is missing but the log is not empty (deleted head?)')
    await writeHeadFile(paths, signHead(0, genesisHash, crypto, key)) // from here on, "no head" always means tampering
    return { seq: 0, hash: genesisHash, fileBytes: 0 }
  }
  if (read.kind === 'bad') throw refuse(paths, read.reason)
  const head = read.head
  if (head.key !== toHex(key.publicKey)) throw refuse(paths, `audit.head is signed by key ${head.key}, not this node's key ${toHex(key.publicKey)}`)
  if (!headSignatureOk(head, crypto, key.publicKey)) throw refuse(paths, 'audit.head signature does not verify')

  const seq = head.seq
  const hash = head.seq === 0 ? genesisHash : head.hash
  // A head at seq 0 confirms nothing: any bytes in the log are unconfirmed.
  let { found, cut } = head.seq === 0 ? { found: true, cut: size > 0 ? 0 : undefined } : await findHeadEntry(paths, paths.log, size, head, crypto, key)
  if (!found) {
    // Rotation renames the file the head's entry ends, then begins a new one: a stop in
    // between leaves that entry last in the newest rotated file, and nothing in audit.log confirmed.
    const last = (await rotatedFiles(paths)).at(-1)
    const there = last === undefined ? undefined : await findHeadEntry(paths, last.path, await fileSize(last.path), head, crypto, key)
    if (there?.found === true && there.cut === undefined) { found = true; cut = size > 0 ? 0 : undefined }
  }
  if (!found) throw refuse(paths, `the log does not hold the entry the signed head names (seq ${head.seq}): truncated or rolled back`)
  if (cut === undefined) return { seq, hash, fileBytes: size }
  const recovered = await quarantine(paths, cut, size, seq + 1)
  return { seq, hash, recovered, fileBytes: cut }
}

/** Look for the head's entry in the tail of `path`; `cut` is where anything after it begins. */
async function findHeadEntry (paths: AuditPaths, path: string, size: number, head: AuditHead, crypto: Crypto, key: KeyPair): Promise<{ found: boolean, cut?: number }> {
  const start = Math.max(0, size - tailWindowBytes)
  let found = false
  // From the byte before `start`, so the first (skipped) line is always partial or empty.
  for await (const l of readLines(path, start > 0 ? start - 1 : 0)) {
    if (start > 0 && l.lineNo === 1) continue
    if (found) return { found, cut: l.offset } // everything after the head's entry was never confirmed
    const c = l.text === undefined ? undefined : parseEntryLine(l.text, crypto, key.publicKey)
    if (typeof c === 'object' && c.entry.seq === head.seq && l.terminated) {
      if (c.entry.hash !== head.hash || !c.sigOk || !c.canonical) throw refuse(paths, `the entry at seq ${head.seq} does not match the signed head`)
      found = true
    }
  }
  return { found }
}

/** Move bytes [from, size) of the log to a quarantine file, then cut the log at `from`. */
async function quarantine (paths: AuditPaths, from: number, size: number, nextSeq: number): Promise<Record<string, AuditValue>> {
  const out = await createQuarantineFile(paths, nextSeq)
  const digest = createHash('sha256')
  const source = createReadStream(paths.log, { start: from })
  source.on('data', chunk => digest.update(chunk as Buffer))
  await pipeline(source, createWriteStream('', { fd: out.handle, flush: true }))
  const file = await open(paths.log, 'r+')
  try {
    await file.truncate(from)
    await file.sync()
  } finally {
    await file.close()
  }
  await syncDir(paths.dir)
  return {
    reason: 'bytes after the signed head were never confirmed; moved out of the log',
    quarantined_bytes: size - from,
    quarantined_sha256: digest.digest('hex'),
    quarantine_file: basename(out.path),
  }
}

/** A new file `quarantine-<seq>-<n>.log`; never overwrites an earlier one (that is evidence too). */
async function createQuarantineFile (paths: AuditPaths, nextSeq: number): Promise<{ path: string, handle: FileHandle }> {
  for (let n = 1; ; n++) {
    const path = join(paths.dir, `quarantine-${nextSeq}-${n}.log`)
    try {
      return { path, handle: await open(path, 'wx', 0o600) }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || n >= quarantineFilesMax) throw e
    }
  }
}

async function fileSize (path: string): Promise<number> {
  try {
    return (await stat(path)).size
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 0
    throw e
  }
}

function refuse (paths: AuditPaths, why: string): AuditError {
  return new AuditError(`cannot open the audit log in ${paths.dir}: ${why}. Run \`ddil audit verify\`; to start a new log, move ${paths.dir} aside (keep it as evidence)`)
}
