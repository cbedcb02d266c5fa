/**
 * Durable file writes shared by the node's key files, config and audit log: write to
 * a fresh temporary file, fsync it, move it into place, fsync the directory entry.
 *
 * @example
 * await writeFileAtomic('/var/lib/ddil/node.key', bytes, 0o600)   // replaces
 * await writeNewFile('/var/lib/ddil/user.key', text, 0o600)        // never replaces
 */
import { randomBytes } from 'node:crypto'
import { link, open, rename, rm } from 'node:fs/promises'
import { dirname } from 'node:path'

/** fsyncs a directory so a rename or link inside it survives a crash. */
export async function syncDir (dir: string): Promise<void> {
  if (process.platform === 'win32') return // directories cannot be opened for fsync there
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function writeTemp (path: string, contents: string | Uint8Array, mode: number): Promise<string> {
  const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`
  const file = await open(tmp, 'wx', mode)
  try {
    await file.writeFile(contents)
    await file.sync()
  } finally {
    await file.close()
  }
  return tmp
}

/** Replaces `path` atomically. Errors are the file system's; callers map them to their error class. */
export async function writeFileAtomic (path: string, contents: string | Uint8Array, mode: number): Promise<void> {
  let tmp: string | undefined
  try {
    tmp = await writeTemp(path, contents, mode)
    await rename(tmp, path)
    tmp = undefined
  } finally {
    if (tmp !== undefined) await rm(tmp, { force: true })
  }
  await syncDir(dirname(path))
}

/** Creates `path` atomically; fails with the file system's EEXIST if it exists (link never replaces). */
export async function writeNewFile (path: string, contents: string | Uint8Array, mode: number): Promise<void> {
  let tmp: string | undefined
  try {
    tmp = await writeTemp(path, contents, mode)
    await link(tmp, path)
  } finally {
    if (tmp !== undefined) await rm(tmp, { force: true })
  }
  await syncDir(dirname(path))
}
