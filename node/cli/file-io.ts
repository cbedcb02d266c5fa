/**
 * The CLI's side of files (#23): reading one to send (its name, media type and bytes, with a
 * clear error for what cannot be sent), a progress line while its chunks reach the relay, and
 * choosing where a received file is saved without overwriting anything by surprise.
 *
 * @example
 * const file = readFileToSend({ file: 'levee.jpg', caption: 'north bank' })  // { name, mediaType, content, caption }
 * await cc.sendFile(channel, file, { onProgress: progressPrinter(file.content.length) })
 */
import { closeSync, constants, existsSync, fstatSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs'
import { basename, extname, join } from 'node:path'
import { UsageError } from '../../protocol/errors.ts'
import { fileNameProblem, isMediaType } from '../../protocol/files/format.ts'
import { fileChunkBytes, fileChunksMax } from '../../protocol/limits.ts'
import { formatBytes } from '../../protocol/units.ts'
import type { FileToSend } from '../../protocol/channel/client.ts'

export { formatBytes }

export interface SendFileOptions { file?: string, caption?: string, type?: string }

/** Media types by extension, for the files responders send; anything else is application/octet-stream unless --type says. */
const mediaTypes: Record<string, string> = {
  '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.gif': 'image/gif', '.webp': 'image/webp', '.heic': 'image/heic',
  '.pdf': 'application/pdf', '.txt': 'text/plain', '.csv': 'text/csv', '.json': 'application/json', '.geojson': 'application/geo+json',
  '.kml': 'application/vnd.google-earth.kml+xml', '.zip': 'application/zip', '.mp3': 'audio/mpeg', '.m4a': 'audio/mp4',
  '.wav': 'audio/wav', '.mp4': 'video/mp4', '.docx': 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  '.xlsx': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
}

export function mediaTypeFor (name: string): string {
  return mediaTypes[extname(name).toLowerCase()] ?? 'application/octet-stream'
}

/**
 * Reads `--file` (checked before anything is read: a directory, a missing file or one over
 * the protocol's largest are usage errors; the channel's own limit is checked when sending).
 */
export function readFileToSend (opts: SendFileOptions): FileToSend {
  const path = opts.file as string
  let size: number
  try {
    const st = statSync(path)
    if (!st.isFile()) throw new UsageError(`--file ${path} is not a regular file`)
    size = st.size
  } catch (e) {
    if (e instanceof UsageError) throw e
    throw new UsageError(`--file ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`)
  }
  // The protocol's bound, not the channel's: a larger file is never sendable, so say so before reading it.
  if (size > fileChunkBytes * fileChunksMax) throw new UsageError(`--file ${path} is ${formatBytes(size)}; no channel takes files that large`)
  const name = basename(path)
  const problem = fileNameProblem(name)
  if (problem !== undefined) throw new UsageError(`--file ${path}: its name ${problem}; rename it first`)
  const mediaType = opts.type ?? mediaTypeFor(name)
  if (!isMediaType(mediaType)) throw new UsageError(`--type must be a media type such as image/jpeg, not "${mediaType}"`)
  if (opts.caption !== undefined && opts.caption.trim() === '') throw new UsageError('--caption is empty')
  return { name, mediaType, content: new Uint8Array(readFileSync(path)), ...(opts.caption === undefined ? {} : { caption: opts.caption }) }
}

/** Prints "sent X of Y" to stderr at most every 10% (and at the end), for files the person waits on. */
export function progressPrinter (total: number): ((held: number, total: number) => void) | undefined {
  if (total < 256 * 1024 || process.stderr.isTTY !== true) return undefined
  let shown = 0
  return (held) => {
    const tenth = Math.floor((held / total) * 10)
    if (tenth <= shown && held < total) return
    shown = tenth
    process.stderr.write(`-- ${formatBytes(held)} of ${formatBytes(total)} held by the relay\n`)
  }
}

/**
 * Where `get` saves a file: `--out`, or the file's own (already checked) name in the current
 * directory. An existing file is refused unless `force`; the write never follows the name
 * into another directory (the name has no separators) and creates the file exclusively.
 */
export function saveFile (content: Uint8Array, name: string, out: string | undefined, force: boolean): string {
  if (out === '-') { process.stdout.write(content); return 'standard output' }
  const path = out ?? join('.', name)
  if (!force && existsSync(path)) throw new UsageError(`${path} exists; choose another --out, or --force to overwrite it`)
  const fd = openSync(path, force ? constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC : constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o644)
  try {
    if (!fstatSync(fd).isFile()) throw new UsageError(`${path} is not a regular file`)
    for (let at = 0; at < content.length;) at += writeSync(fd, content, at)
  } catch (e) {
    closeSync(fd)
    // Half a file would look like the file: remove what was written.
    rmSync(path, { force: true })
    if (e instanceof UsageError) throw e
    const full = (e as NodeJS.ErrnoException).code === 'ENOSPC'
    throw new UsageError(`could not write ${path}: ${full ? 'no space left on the device' : (e as Error).message}; nothing was kept`)
  }
  closeSync(fd)
  return path
}
