/**
 * Rotation of the audit log by size and age, and retention. The current file is renamed to
 * the next `audit.log.<n>` and a new `audit.log` begun; the hash chain and seq numbers run on
 * across files (the new file's first entry has `prev` = the old file's last hash). The log
 * (log.ts) ends the old file with a signed `audit.checkpoint` (`reason: "rotate"`) and begins
 * the new one with another (`reason: "rotated"`, naming the previous file and any removed by
 * retention), so `verify` can start from the oldest file kept. Files beyond `keepFiles`,
 * oldest first, are deleted.
 *
 * @example
 * const { name, removed } = await rotateLogFile(auditPaths(dataDir), 12)   // { name: 'audit.log.000007', removed: [] }
 */
import { rename, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { rotatedFiles, rotatedName, readLines, syncDir, type AuditPaths } from './files.ts'
import { parseEntryShape } from './format.ts'

export interface RotationOptions {
  /** Rotate once the current file holds this many bytes, or more. */
  bytes: number
  /** Rotate once the current file's first entry is this old, ms (checked when an entry is appended). */
  ageMs: number
  /** Rotated files kept; older ones are deleted. At least 1: the newest rotated file holds the chain's link to the current one. */
  keepFiles: number
}

/** Rename `audit.log` to the next rotated name, make that durable, then delete rotated files beyond `keepFiles`. */
export async function rotateLogFile (paths: AuditPaths, keepFiles: number): Promise<{ name: string, removed: string[] }> {
  const rotated = await rotatedFiles(paths)
  const name = rotatedName((rotated.at(-1)?.n ?? 0) + 1)
  await rename(paths.log, join(paths.dir, name))
  await syncDir(paths.dir)
  const all = [...rotated.map(f => f.name), name]
  const removed = all.slice(0, Math.max(0, all.length - Math.max(1, keepFiles)))
  for (const old of removed) await rm(join(paths.dir, old), { force: true })
  if (removed.length > 0) await syncDir(paths.dir)
  return { name, removed }
}

/** The time of the first entry in `path` (Unix ms), or undefined when it holds none that parses. */
export async function firstEntryMs (path: string): Promise<number | undefined> {
  for await (const l of readLines(path)) {
    const e = l.text === undefined ? 'unreadable' : parseEntryShape(l.text)
    return typeof e === 'string' ? undefined : Date.parse(e.ts)
  }
  return undefined
}
