/**
 * File manifest and chunk payloads (#23): what a long message or a file becomes before each
 * piece is sealed into an envelope of its own. Formats only: the relay and the CLI do not
 * carry them yet. Both are payloads, encrypted like any body, so relays learn sizes, not names.
 *
 *   manifest = {0: version (1), 1: name (text), 2: mediaType (text), 3: size (uint),
 *               4: chunkSize (uint), 5: chunkCount (uint), 6: sha256 (32 B), 7: chunksRoot (32 B),
 *               ? 8: caption (text, 1..fileCaptionBytesMax bytes)}
 *   chunk    = [version (1), manifestId (32 B), index (uint), data (bytes)]
 *   manifestId = SHA-256(manifest bytes)        ; canonical CBOR: one byte form per manifest
 *
 * Both strict canonical CBOR. The manifest is a map (like profiles: self-describing, sent once
 * per file); the chunk is an array because it is sent thousands of times and every byte counts.
 *
 * Rules a decoder enforces: `chunkSize` in 1..`fileChunkBytes`; `chunkCount` = ceil(size /
 * chunkSize) exactly (so a manifest cannot claim more or fewer chunks than its size allows), at
 * most `fileChunksMax`; a name of 1..`fileNameBytesMax` UTF-8 bytes that is a plain file name
 * (no slash, backslash, control character, not "." or ".."), since receivers save it; a media
 * type of printable ASCII "type/subtype". A chunk's data is 1..`fileChunkBytes` bytes; its
 * length against the manifest (every chunk `chunkSize` but the last) is checked by the assembler.
 *
 * Chunk hashes: a Merkle root, not a hash list. A list costs 32 B per chunk in the manifest,
 * 740 KB for a 25 MB file: the manifest could no longer be one small envelope sent ahead at the
 * file's precedence (the design), and would need chunking itself. The root is 32 B
 * whatever the size, and still lets a later protocol step prove or locate one chunk with
 * log2(n) hashes (20 for the largest file) rather than re-sending the whole file. A chunk is
 * authenticated on its own by its envelope (signature of the author, AEAD under the epoch key),
 * so a bit flipped on the wire or by a relay never reaches the assembler; the root and the
 * whole-content SHA-256 catch an author's inconsistent file (or a bug) before it is shown.
 *
 *   leaf = SHA-256(0x00 || data)      node = SHA-256(0x01 || left || right)
 *   a level's odd last node moves up unchanged; the root of no chunks is SHA-256 of no bytes
 *
 * Binding: a chunk names its manifest's id, and the id covers the root, so a chunk cannot be
 * moved to another file; the envelope's AAD (channel, author) keeps it in its channel.
 *
 * @example
 * const bytes = encodeManifest(manifest); const id = manifestId(crypto, bytes)
 * decodeManifest(bytes)                             // the same manifest, or DecodeError / LimitError
 * decodeChunk(encodeChunk({ manifestId: id, index: 0, data }))
 */
import { utf8 } from '../bytes.ts'
import { asArray, asBytes, asMap, asText, asUint, decodeStrict, encodeCanonical, field, onlyKeys, type CborValue } from '../cbor.ts'
import { DecodeError, LimitError } from '../errors.ts'
import { fileCaptionBytesMax, fileChunkBytes, fileChunksMax, fileMediaTypeBytesMax, fileNameBytesMax } from '../limits.ts'
import type { Crypto } from '../ports.ts'

export const fileFormatVersion = 1
export const fileHashBytes = 32

export interface FileManifest {
  name: string
  mediaType: string
  /** Content length, bytes. */
  size: number
  /** Every chunk's length but the last's, bytes (1..`fileChunkBytes`). */
  chunkSize: number
  /** ceil(size / chunkSize); 0 for an empty file. */
  chunkCount: number
  /** SHA-256 of the whole content. */
  sha256: Uint8Array
  /** Merkle root over the chunks (see the header comment). */
  chunksRoot: Uint8Array
  /** A line the sender wrote about the file, shown with it. */
  caption?: string
}

export interface FileChunk {
  /** SHA-256 of the manifest's bytes. */
  manifestId: Uint8Array
  index: number
  data: Uint8Array
}

/** Controls (C0, DEL, C1), path separators, bidirectional overrides and line separators: names are saved and printed. */
const forbiddenNameChars = /[\u0000-\u001f\u007f-\u009f/\\\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/u
const mediaTypeShape = /^[\x21-\x7e]+\/[\x21-\x7e]+$/

/** Whether a manifest can carry this media type: printable ASCII "type/subtype" (its length is checked apart). */
export function isMediaType (text: string): boolean { return mediaTypeShape.test(text) }

/** Why `name` is not a valid file name, or undefined when it is. */
export function fileNameProblem (name: string): string | undefined {
  if (!name.isWellFormed()) return 'is not well-formed Unicode (a lone surrogate)'
  const bytes = utf8(name).length
  if (bytes === 0) return 'is empty'
  if (bytes > fileNameBytesMax) return `is ${bytes} bytes; at most ${fileNameBytesMax}`
  if (name === '.' || name === '..') return `is "${name}"`
  if (forbiddenNameChars.test(name)) return 'contains a path separator, control, bidirectional-override or line-separator character'
  return undefined
}

/** Chunks a file of `size` bytes has at `chunkSize`. */
export function chunkCountFor (size: number, chunkSize: number): number {
  return Math.ceil(size / chunkSize)
}

function checkManifest (m: FileManifest): FileManifest {
  const nameProblem = fileNameProblem(m.name)
  if (nameProblem !== undefined) {
    const Err = utf8(m.name).length > fileNameBytesMax ? LimitError : DecodeError
    throw new Err(`file name ${nameProblem}`)
  }
  if (m.mediaType.length > fileMediaTypeBytesMax) throw new LimitError(`media type of ${m.mediaType.length} bytes exceeds ${fileMediaTypeBytesMax}`)
  if (!mediaTypeShape.test(m.mediaType)) throw new DecodeError('media type must be printable ASCII "type/subtype"')
  if (!Number.isSafeInteger(m.chunkSize) || m.chunkSize < 1) throw new DecodeError(`chunk size ${m.chunkSize} must be at least 1`)
  if (m.chunkSize > fileChunkBytes) throw new LimitError(`chunk size ${m.chunkSize} exceeds ${fileChunkBytes}`)
  if (!Number.isSafeInteger(m.size) || m.size < 0) throw new DecodeError(`file size ${m.size} is not a byte count`)
  if (!Number.isSafeInteger(m.chunkCount) || m.chunkCount < 0) throw new DecodeError(`chunk count ${m.chunkCount} is not a count`)
  if (m.chunkCount > fileChunksMax) throw new LimitError(`${m.chunkCount} chunks exceed ${fileChunksMax}`)
  const expected = chunkCountFor(m.size, m.chunkSize)
  if (m.chunkCount !== expected) throw new DecodeError(`a file of ${m.size} bytes in chunks of ${m.chunkSize} has ${expected} chunks, not ${m.chunkCount}`)
  if (m.sha256.length !== fileHashBytes || m.chunksRoot.length !== fileHashBytes) throw new DecodeError(`file hashes must be ${fileHashBytes} bytes`)
  if (m.caption !== undefined) {
    const bytes = utf8(m.caption).length
    if (bytes > fileCaptionBytesMax) throw new LimitError(`caption of ${bytes} bytes exceeds ${fileCaptionBytesMax}`)
    if (bytes === 0 || !m.caption.isWellFormed()) throw new DecodeError('a caption is well-formed, non-empty text')
  }
  return m
}

export function encodeManifest (m: FileManifest): Uint8Array {
  checkManifest(m)
  return encodeCanonical(new Map<number, CborValue>([
    [0, fileFormatVersion], [1, m.name], [2, m.mediaType], [3, m.size],
    [4, m.chunkSize], [5, m.chunkCount], [6, m.sha256], [7, m.chunksRoot],
    ...(m.caption === undefined ? [] : [[8, m.caption] as [number, CborValue]]),
  ]))
}

/** Strict decode; DecodeError (or LimitError) on anything but one canonical, consistent manifest. */
export function decodeManifest (payload: Uint8Array): FileManifest {
  const what = 'file manifest'
  const m = onlyKeys(asMap(decodeStrict(payload), what), [0, 1, 2, 3, 4, 5, 6, 7, 8], what)
  const version = asUint(field(m, 0, what), `${what} version`)
  if (version !== fileFormatVersion) throw new DecodeError(`${what} version ${version} is not ${fileFormatVersion}`)
  // Text lengths are checked in bytes by checkManifest (the CBOR decoder already bounds them).
  const name = asText(field(m, 1, what), `${what} name`)
  const mediaType = asText(field(m, 2, what), `${what} media type`)
  return checkManifest({
    name,
    mediaType,
    size: asUint(field(m, 3, what), `${what} size`, fileChunksMax * fileChunkBytes),
    chunkSize: asUint(field(m, 4, what), `${what} chunk size`),
    chunkCount: asUint(field(m, 5, what), `${what} chunk count`),
    sha256: asBytes(field(m, 6, what), `${what} sha256`, fileHashBytes),
    chunksRoot: asBytes(field(m, 7, what), `${what} chunks root`, fileHashBytes),
    ...(m.has(8) ? { caption: asText(m.get(8), `${what} caption`) } : {}),
  })
}

/** The id chunks name: SHA-256 of the manifest's (canonical) bytes. */
export function manifestId (crypto: Crypto, manifestBytes: Uint8Array): Uint8Array {
  return crypto.sha256(manifestBytes)
}

function checkChunk (c: FileChunk): FileChunk {
  if (c.manifestId.length !== fileHashBytes) throw new DecodeError(`chunk manifest id must be ${fileHashBytes} bytes`)
  if (!Number.isSafeInteger(c.index) || c.index < 0 || c.index >= fileChunksMax) throw new DecodeError(`chunk index ${c.index} is outside 0..${fileChunksMax - 1}`)
  if (c.data.length === 0) throw new DecodeError('a chunk carries at least one byte')
  if (c.data.length > fileChunkBytes) throw new LimitError(`chunk of ${c.data.length} bytes exceeds ${fileChunkBytes}`)
  return c
}

export function encodeChunk (c: FileChunk): Uint8Array {
  checkChunk(c)
  return encodeCanonical([fileFormatVersion, c.manifestId, c.index, c.data])
}

/** Strict decode; DecodeError (or LimitError) on anything but one canonical chunk. */
export function decodeChunk (payload: Uint8Array): FileChunk {
  const what = 'file chunk'
  const [version, id, index, data] = asArray(decodeStrict(payload), what, 4)
  const v = asUint(version, `${what} version`)
  if (v !== fileFormatVersion) throw new DecodeError(`${what} version ${v} is not ${fileFormatVersion}`)
  return checkChunk({
    manifestId: asBytes(id, `${what} manifest id`, fileHashBytes),
    index: asUint(index, `${what} index`),
    data: asBytes(data, `${what} data`),
  })
}

/** Merkle root over chunk data, as the header comment defines it. */
export function chunksRoot (crypto: Crypto, chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 0) return crypto.sha256(new Uint8Array(0))
  let level = chunks.map(data => {
    const leaf = new Uint8Array(1 + data.length)
    leaf[0] = 0x00
    leaf.set(data, 1)
    return crypto.sha256(leaf)
  })
  const node = new Uint8Array(1 + 2 * fileHashBytes)
  node[0] = 0x01
  while (level.length > 1) {
    const next: Uint8Array[] = []
    for (let i = 0; i + 1 < level.length; i += 2) {
      node.set(level[i], 1)
      node.set(level[i + 1], 1 + fileHashBytes)
      next.push(crypto.sha256(node))
    }
    if (level.length % 2 === 1) next.push(level[level.length - 1])
    level = next
  }
  return level[0]
}
