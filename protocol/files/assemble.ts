/**
 * Receiver side of a file (#23): one manifest, then its chunks in any order, duplicates
 * ignored, until the content is whole and its hashes check. Pure: hashing through `Crypto`.
 *
 * Chunks that arrive before their manifest: `decodeChunk` gives each chunk's `manifestId`
 * without a manifest, so the caller keeps such chunks (bounded by its own byte budget, as the
 * pending pool does for envelopes) keyed by that id, and feeds them to the assembly once the
 * manifest with that id arrives. The assembly itself holds only chunks of its own manifest.
 *
 * What it refuses (throws, holding nothing from that chunk): a chunk of another manifest
 * (ProtocolError), an index outside the manifest's chunks (DecodeError), a length other than
 * the manifest says for that index (DecodeError), a second, different chunk for an index
 * already held (DecodeError). When the last chunk arrives the Merkle root and the SHA-256 of
 * the whole are checked; a mismatch throws DecodeError and the assembly is failed for good
 * (`state`): it cannot tell which chunk was wrong, and its author signed them all.
 *
 * @example
 * const a = new FileAssembly(crypto, manifestBytes)
 * for (const c of early.get(toHex(a.manifestId)) ?? []) a.add(c)   // chunks buffered by the caller
 * a.add(decodeChunk(payload))        // 'added' | 'duplicate'
 * a.heldBytes / a.totalBytes         // progress
 * if (a.state === 'complete') save(a.content())
 */
import { bytesEqual, concatBytes } from '../bytes.ts'
import { DecodeError, ProtocolError } from '../errors.ts'
import type { Crypto } from '../ports.ts'
import { chunksRoot, decodeManifest, manifestId, type FileChunk, type FileManifest } from './format.ts'

export type AssemblyState = 'incomplete' | 'complete' | 'failed'

export class FileAssembly {
  readonly manifest: FileManifest
  readonly manifestId: Uint8Array
  readonly #crypto: Crypto
  readonly #chunks: Array<Uint8Array | undefined>
  #held = 0
  #heldBytes = 0
  #state: AssemblyState = 'incomplete'
  #content: Uint8Array | undefined

  /** `manifestBytes` is the decrypted manifest payload: decoded strictly here, and its id computed. */
  constructor (crypto: Crypto, manifestBytes: Uint8Array) {
    this.#crypto = crypto
    this.manifest = decodeManifest(manifestBytes)
    this.manifestId = manifestId(crypto, manifestBytes)
    this.#chunks = new Array<Uint8Array | undefined>(this.manifest.chunkCount)
    if (this.manifest.chunkCount === 0) this.#finish()
  }

  get state (): AssemblyState { return this.#state }
  /** Content bytes held so far (each index counted once). */
  get heldBytes (): number { return this.#heldBytes }
  get totalBytes (): number { return this.manifest.size }
  get heldChunks (): number { return this.#held }

  /** Indices not yet held, ascending: what to ask for after a link drops. */
  missing (): number[] {
    const out: number[] = []
    if (this.#state === 'complete') return out
    for (let i = 0; i < this.#chunks.length; i++) if (this.#chunks[i] === undefined) out.push(i)
    return out
  }

  /** Expected data length of chunk `index`. */
  chunkLength (index: number): number {
    const { size, chunkSize, chunkCount } = this.manifest
    return index === chunkCount - 1 ? size - (chunkCount - 1) * chunkSize : chunkSize
  }

  add (chunk: FileChunk): 'added' | 'duplicate' {
    if (this.#state === 'failed') throw new ProtocolError('this file failed its hash check; it takes no more chunks')
    if (!bytesEqual(chunk.manifestId, this.manifestId)) throw new ProtocolError('chunk belongs to another file manifest')
    const { chunkCount } = this.manifest
    if (!Number.isSafeInteger(chunk.index) || chunk.index < 0 || chunk.index >= chunkCount) {
      throw new DecodeError(`chunk index ${chunk.index} is outside 0..${chunkCount - 1}`)
    }
    const held = this.#content !== undefined
      ? this.#content.subarray(chunk.index * this.manifest.chunkSize, chunk.index * this.manifest.chunkSize + this.chunkLength(chunk.index))
      : this.#chunks[chunk.index]
    if (held !== undefined) {
      if (bytesEqual(held, chunk.data)) return 'duplicate'
      throw new DecodeError(`chunk ${chunk.index} differs from the one already held`)
    }
    const expected = this.chunkLength(chunk.index)
    if (chunk.data.length !== expected) throw new DecodeError(`chunk ${chunk.index} is ${chunk.data.length} bytes; the manifest says ${expected}`)
    this.#chunks[chunk.index] = chunk.data.slice()
    this.#held++
    this.#heldBytes += chunk.data.length
    if (this.#held === chunkCount) this.#finish()
    return 'added'
  }

  /** The verified content; only once `state` is 'complete'. */
  content (): Uint8Array {
    if (this.#content === undefined) throw new ProtocolError(`file is ${this.#state}: ${this.#heldBytes} of ${this.totalBytes} bytes held`)
    return this.#content
  }

  #finish (): void {
    const chunks = this.#chunks as Uint8Array[]
    const content = concatBytes(chunks)
    const rootOk = bytesEqual(chunksRoot(this.#crypto, chunks), this.manifest.chunksRoot)
    if (!rootOk || !bytesEqual(this.#crypto.sha256(content), this.manifest.sha256)) {
      this.#state = 'failed'
      this.#chunks.fill(undefined)
      throw new DecodeError(`file content does not match its manifest's ${rootOk ? 'SHA-256' : 'chunk root'}`)
    }
    this.#state = 'complete'
    this.#content = content
    this.#chunks.fill(undefined) // the content holds them now
  }
}
