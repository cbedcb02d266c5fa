/**
 * Files and long messages on the device (#23): the whole files this session holds to show
 * (as Blobs, bounded in bytes, the oldest let go first), which files are done with (their
 * content taken out of the channel client, so pieces that come again are dropped), and the
 * paced fetch of a file's pieces from the relay (`filePage`). Pure bookkeeping: the session
 * feeds the pieces to its channel client and decides what the screen shows.
 *
 * A file's Blob carries its media type only when the app shows it inline (the image types
 * below); anything else is `application/octet-stream`, so a blob: URL of the app's origin
 * never renders sender-chosen HTML or SVG: it can only be saved.
 *
 * @example
 * const shelf = new FileShelf(64_000_000)
 * const letGo = shelf.keep(fileHex, channelHex, content, 'image/png')  // ids to show as not fetched again
 * shelf.blob(fileHex)                                                  // Blob for an <img> or a download link
 * await fetchPieces(api, channel, fileId, bytes => ingest(bytes), () => shelf.isDone(fileHex), wait)
 */
import type { ApiConnection } from './api.ts'

/** Media types shown inline as images: raster formats a browser decodes without running anything (no SVG). */
export const inlineImageTypes: ReadonlySet<string> = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp'])

export function isInlineImage (mediaType: string): boolean {
  return inlineImageTypes.has(mediaType.toLowerCase())
}

export class FileShelf {
  readonly #bytesMax: number
  /** File id hex → its content and channel, oldest first. */
  readonly #kept = new Map<string, { blob: Blob, channel: string }>()
  #bytes = 0
  readonly #done = new Set<string>()

  constructor (bytesMax: number) { this.#bytesMax = bytesMax }

  /** Whether the file's content was taken already (complete or failed): its pieces need not be read again. */
  isDone (id: string): boolean { return this.#done.has(id) }

  /** A file done with and nothing kept here: a long message (its text is on screen), or one that failed its checks. */
  done (id: string): void { this.#done.add(id) }

  /** Keeps a whole file to show; returns the files let go to stay within the bound (id and channel hex). */
  keep (id: string, channel: string, content: Uint8Array, mediaType: string): Array<{ id: string, channel: string }> {
    this.#done.add(id)
    const blob = new Blob([content as Uint8Array<ArrayBuffer>], { type: isInlineImage(mediaType) ? mediaType.toLowerCase() : 'application/octet-stream' })
    this.#kept.set(id, { blob, channel })
    this.#bytes += blob.size
    const letGo: Array<{ id: string, channel: string }> = []
    for (const [old, k] of this.#kept) {
      if (this.#bytes <= this.#bytesMax || old === id) break
      this.#kept.delete(old)
      this.#done.delete(old)
      this.#bytes -= k.blob.size
      letGo.push({ id: old, channel: k.channel })
    }
    return letGo
  }

  blob (id: string): Blob | undefined { return this.#kept.get(id)?.blob }
}

/**
 * Fetches a file's pieces page by page, giving each to `take`, until the relay has no more or
 * `enough()` (the file is whole); waits `gapMs` between requests so a fetch stays within the
 * relay's request rate.
 */
export async function fetchPieces (api: Pick<ApiConnection, 'filePage'>, channel: Uint8Array, file: Uint8Array, take: (bytes: Uint8Array) => void, enough: () => boolean, wait: () => Promise<void>): Promise<void> {
  let after: Uint8Array | undefined
  for (;;) {
    const page = await api.filePage(channel, file, after)
    for (const bytes of page.pieces) take(bytes)
    if (enough() || !page.more) return
    after = page.after
    await wait()
  }
}
