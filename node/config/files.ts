/**
 * Small file helpers for the data directory: create a file that must not already
 * exist (never overwriting, never leaving half a file after a crash), check that a
 * secret file is private, and make the data directory private.
 *
 * New files are written to a temporary name, flushed, then hard-linked to their
 * final name: `link` fails with EEXIST instead of replacing, so a key that exists
 * is never overwritten, even by a concurrent `ddil init`.
 *
 * @example
 * await ensurePrivateDir('/var/lib/ddil')   // { created: true, mode: 0o700 }
 * await writeNewFile('/var/lib/ddil/user.key', text, 0o600)
 * await checkPrivateFile('/var/lib/ddil/user.key', 'an operator key')
 */
import type { Stats } from 'node:fs'
import { chmod, lstat, mkdir, readdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { ConfigError, StorageError } from '../../protocol/errors.ts'
import { writeNewFile as writeNewDurably } from '../fs-durable.ts'

/** Permission bits for group and others. */
const groupOrOtherBits = 0o077

/** `lstat`, or undefined when nothing is there. */
export async function statOrUndefined (path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new StorageError(`cannot read ${path}: ${(e as Error).message}`)
  }
}

/** `0644`-style text for a mode. */
export function modeText (mode: number): string {
  return (mode & 0o777).toString(8).padStart(4, '0')
}

/** True when group or others may read or write the file (never on Windows, whose modes do not say). */
export function openToOthers (stats: Stats): boolean {
  return process.platform !== 'win32' && (stats.mode & groupOrOtherBits) !== 0
}

/** Refuses a secret file that is missing, not a regular file, or readable by group or others. Returns its stats. */
export async function checkPrivateFile (path: string, what: string): Promise<Stats> {
  const stats = await statOrUndefined(path)
  if (stats === undefined) throw new ConfigError(`${path} does not exist: run "ddil init --data ${dirname(path)}" to create ${what}`)
  if (!stats.isFile()) throw new ConfigError(`${path} is not a regular file; ${what} must be a plain file (move it away and run ddil init --force)`)
  if (openToOthers(stats)) {
    throw new ConfigError(`${path} has mode ${modeText(stats.mode)}: ${what} must not be readable by group or others; run chmod 600 ${path}`)
  }
  return stats
}

export interface PrivateDir {
  created: boolean
  /** Its mode afterwards (permission bits). */
  mode: number
}

/**
 * Creates `dir` (and parents) with mode 0700. An existing empty directory is set to
 * 0700 (it was made for us, e.g. by a service manager); an existing directory with
 * files in it keeps its mode, so `--data /srv` cannot lock others out of /srv: the
 * caller warns instead, and the key files are 0600 either way.
 */
export async function ensurePrivateDir (dir: string): Promise<PrivateDir> {
  const before = await statOrUndefined(dir)
  if (before !== undefined && !before.isDirectory()) throw new ConfigError(`${dir} exists and is not a directory; choose another --data directory`)
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    // mkdir's mode is filtered by the umask: set it outright on a directory that is (still) ours alone.
    if (process.platform !== 'win32' && (before === undefined || (await readdir(dir)).length === 0)) await chmod(dir, 0o700)
    return { created: before === undefined, mode: (await lstat(dir)).mode & 0o777 }
  } catch (e) {
    throw new StorageError(`cannot create data directory ${dir}: ${(e as Error).message}`)
  }
}

/**
 * Writes `contents` to `path` with `mode`, failing (ConfigError) if `path` exists.
 * The file appears complete or not at all; the directory entry is flushed.
 */
export async function writeNewFile (path: string, contents: string | Uint8Array, mode: number): Promise<void> {
  try {
    await writeNewDurably(path, contents, mode)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new ConfigError(`${path} already exists; refusing to overwrite it`)
    throw new StorageError(`cannot write ${path}: ${(e as Error).message}`)
  }
}
