/**
 * Sender side of a file (#23): content → manifest + chunk payloads (format.ts). Pure: hashing
 * through the `Crypto` port, nothing random, so the same content always gives the same bytes.
 *
 * @example
 * const file = splitFile(crypto, { name: 'levee.jpg', mediaType: 'image/jpeg', content })
 * file.manifestBytes   // seal into one envelope, sent first
 * file.chunks          // encoded chunk payloads, index order; seal each into its own envelope
 */
import { LimitError } from '../errors.ts'
import { fileChunkBytes, fileChunksMax } from '../limits.ts'
import type { Crypto } from '../ports.ts'
import { chunkCountFor, chunksRoot, encodeChunk, encodeManifest, manifestId, type FileManifest } from './format.ts'

export interface SplitInput {
  name: string
  mediaType: string
  content: Uint8Array
  caption?: string
  /** Defaults to `fileChunkBytes`; smaller only for tests or links that want finer interleaving. */
  chunkSize?: number
}

export interface SplitFile {
  manifest: FileManifest
  manifestBytes: Uint8Array
  manifestId: Uint8Array
  /** Encoded chunk payloads; chunk i at index i. */
  chunks: Uint8Array[]
}

export function splitFile (crypto: Crypto, input: SplitInput): SplitFile {
  const { content } = input
  const chunkSize = input.chunkSize ?? fileChunkBytes
  const chunkCount = chunkCountFor(content.length, chunkSize)
  // Checked before slicing: the manifest's own checks would come after the work.
  if (chunkCount > fileChunksMax) throw new LimitError(`a file of ${content.length} bytes needs ${chunkCount} chunks; at most ${fileChunksMax}`)
  const data: Uint8Array[] = []
  for (let i = 0; i < chunkCount; i++) data.push(content.subarray(i * chunkSize, (i + 1) * chunkSize))
  const manifest: FileManifest = {
    name: input.name,
    mediaType: input.mediaType,
    size: content.length,
    chunkSize,
    chunkCount,
    sha256: crypto.sha256(content),
    chunksRoot: chunksRoot(crypto, data),
    ...(input.caption === undefined ? {} : { caption: input.caption }),
  }
  const manifestBytes = encodeManifest(manifest)
  const id = manifestId(crypto, manifestBytes)
  return { manifest, manifestBytes, manifestId: id, chunks: data.map((d, index) => encodeChunk({ manifestId: id, index, data: d })) }
}
