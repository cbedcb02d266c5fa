/**
 * The data directory's format version (#27): a one-line file, `data-format`, that `ddil init`
 * and `ddil start` write and check. A release bundle updated in place (a new bundle beside
 * the old one, then switched) carries the data directory over; switching back to an older
 * release must not run it on data it cannot read. So a directory written by a newer format
 * is refused at start with a sentence saying what to do, before the store is opened. A
 * directory with no file predates it and is format 1.
 *
 * Raise `dataFormatVersion` whenever a release changes what it writes in a way the previous
 * release cannot read (the store's layout, protocol/engine/log.ts `logFormatVersion`; the
 * audit log's format; the config's meaning), and migrate older directories where it is read.
 *
 * @example
 * await checkDataFormat('/var/lib/ddil')   // throws ConfigError for a newer directory
 */
import { readFile } from 'node:fs/promises'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../protocol/errors.ts'
import { writeFileAtomic } from './fs-durable.ts'

export const dataFormatVersion = 1
export const dataFormatFileName = 'data-format'

const release = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

export function encodeDataFormat (version: number): string {
  return `ddil-relay data directory, format ${version}\n`
}

/** The format a `data-format` file names; ConfigError for anything else. */
export function decodeDataFormat (text: string, path: string): number {
  const m = /^ddil-relay data directory, format ([1-9][0-9]{0,8})\n?$/.exec(text)
  if (m === null) throw new ConfigError(`${path} does not name a data format ("ddil-relay data directory, format N"); restore it or the directory from a backup`)
  return Number(m[1])
}

/**
 * Refuses a data directory of a newer format than this release reads, with what to do;
 * records this release's format in one that has none.
 */
export async function checkDataFormat (dataDir: string): Promise<void> {
  const path = join(dataDir, dataFormatFileName)
  let text: string | undefined
  try { text = await readFile(path, 'utf8') } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError(`cannot read ${path}: ${(e as Error).message}`)
  }
  if (text === undefined) { await writeFileAtomic(path, encodeDataFormat(dataFormatVersion), 0o600); return }
  const found = decodeDataFormat(text, path)
  if (found > dataFormatVersion) {
    throw new ConfigError(`the data directory ${dataDir} is in data format ${found}, written by a newer ddil-relay; this is ddil-relay ${release}, which reads format ${dataFormatVersion}: start the newer release (switch back to it), or restore a backup of the data directory made with this one`)
  }
}
