/**
 * A receiver's files (#23): decrypted piece payloads in, progress and whole content out. Shared
 * by the channel client (CLI, simulator) and the field client. Pure: hashing through `Crypto`.
 *
 * Pieces arrive in any order. A chunk before its manifest is kept, within `earlyBytesMax`
 * in all (the oldest file's early chunks go first beyond it; the relay still holds them,
 * so a later pass fetches them again), and fed to the file's assembly when the manifest comes.
 * Duplicates count once. A file is complete only when every chunk is there and the Merkle root
 * and SHA-256 of the whole match its manifest (assemble.ts).
 *
 * @example
 * const inbox = new FileInbox(crypto)
 * inbox.manifest(fileId, head, manifestPayload)   // FileProgress
 * inbox.chunk(fileId, head, chunkPayload)         // FileProgress: heldBytes / totalBytes
 * if (inbox.progress(fileId)?.state === 'complete') save(inbox.content(fileId))
 */
import { bytesEqual, toHex } from '../bytes.ts'
import { DecodeError, ProtocolError } from '../errors.ts'
import type { Crypto } from '../ports.ts'
import { FileAssembly } from './assemble.ts'
import { decodeChunk, type FileChunk, type FileManifest } from './format.ts'
import type { FileForm, PieceHead } from './piece.ts'

export type FileState = 'waiting-manifest' | 'incomplete' | 'complete' | 'failed'

export interface FileProgress {
  /** The manifest envelope's id: what names the file in receipts, `get` and the views. */
  id: Uint8Array
  form: FileForm
  state: FileState
  /** Content bytes held (each chunk once). */
  heldBytes: number
  /** The file's size, once its manifest is here. */
  totalBytes: number | undefined
  manifest: FileManifest | undefined
  /** Why the file failed (a chunk or the whole did not match its manifest). */
  problem?: string
}

interface Entry {
  form: FileForm
  assembly?: FileAssembly
  early: Map<number, FileChunk>
  earlyBytes: number
  problem?: string
}

/** Default bound on chunks kept before their manifest, bytes. */
export const earlyChunkBytesMaxDefault = 32 * 1024 * 1024

export class FileInbox {
  readonly #crypto: Crypto
  readonly #earlyBytesMax: number
  readonly #files = new Map<string, Entry>()
  #earlyBytes = 0

  constructor (crypto: Crypto, options: { earlyBytesMax?: number } = {}) {
    this.#crypto = crypto
    this.#earlyBytesMax = options.earlyBytesMax ?? earlyChunkBytesMaxDefault
  }

  #entry (fileId: Uint8Array, head: PieceHead): Entry {
    const key = toHex(fileId)
    let e = this.#files.get(key)
    if (e === undefined) {
      e = { form: head.form, early: new Map(), earlyBytes: 0 }
      this.#files.set(key, e)
    }
    return e
  }

  /** The manifest (piece 0) of file `fileId` (its envelope's id). Throws DecodeError for a manifest that disagrees with its head. */
  manifest (fileId: Uint8Array, head: PieceHead, payload: Uint8Array): FileProgress {
    const e = this.#entry(fileId, head)
    if (e.assembly !== undefined) return this.#progress(fileId, e)
    const assembly = new FileAssembly(this.#crypto, payload)
    if (assembly.manifest.chunkCount !== head.count - 1) {
      throw new DecodeError(`manifest says ${assembly.manifest.chunkCount} chunks; its piece head says ${head.count - 1}`)
    }
    e.assembly = assembly
    const early = [...e.early.values()]
    this.#dropEarly(e)
    for (const c of early) this.#add(e, c)
    return this.#progress(fileId, e)
  }

  /** One chunk (piece ≥ 1). Throws (holding nothing of it) for a chunk that is not this file's piece at this index. */
  chunk (fileId: Uint8Array, head: PieceHead, payload: Uint8Array): FileProgress {
    const chunk = decodeChunk(payload)
    if (chunk.index !== head.index - 1) throw new DecodeError(`chunk says index ${chunk.index}; its piece head says ${head.index - 1}`)
    const e = this.#entry(fileId, head)
    if (e.assembly === undefined) {
      if (!e.early.has(chunk.index)) {
        const first = e.early.values().next().value
        if (first !== undefined && !bytesEqual(first.manifestId, chunk.manifestId)) throw new ProtocolError('chunk names another manifest than the file\'s other chunks')
        e.early.set(chunk.index, chunk)
        e.earlyBytes += chunk.data.length
        this.#earlyBytes += chunk.data.length
        this.#boundEarly(e)
      }
      return this.#progress(fileId, e)
    }
    this.#add(e, chunk)
    return this.#progress(fileId, e)
  }

  #add (e: Entry, chunk: FileChunk): void {
    const a = e.assembly as FileAssembly
    if (a.state !== 'incomplete') return
    if (!bytesEqual(chunk.manifestId, a.manifestId)) throw new ProtocolError('chunk belongs to another file manifest')
    try {
      a.add(chunk)
    } catch (err) {
      if ((a.state as FileState) === 'failed') e.problem = (err as Error).message
      throw err
    }
  }

  /** Keeps early chunks within the budget, dropping other files' first (oldest first), then this one's. */
  #boundEarly (current: Entry): void {
    for (const e of this.#files.values()) {
      if (this.#earlyBytes <= this.#earlyBytesMax) return
      if (e !== current) this.#dropEarly(e)
    }
    if (this.#earlyBytes > this.#earlyBytesMax) this.#dropEarly(current)
  }

  #dropEarly (e: Entry): void {
    this.#earlyBytes -= e.earlyBytes
    e.early.clear()
    e.earlyBytes = 0
  }

  progress (fileId: Uint8Array): FileProgress | undefined {
    const e = this.#files.get(toHex(fileId))
    return e === undefined ? undefined : this.#progress(fileId, e)
  }

  #progress (fileId: Uint8Array, e: Entry): FileProgress {
    const a = e.assembly
    if (a === undefined) {
      let held = 0
      for (const c of e.early.values()) held += c.data.length
      return { id: fileId, form: e.form, state: 'waiting-manifest', heldBytes: held, totalBytes: undefined, manifest: undefined }
    }
    const p: FileProgress = { id: fileId, form: e.form, state: a.state, heldBytes: a.heldBytes, totalBytes: a.totalBytes, manifest: a.manifest }
    if (e.problem !== undefined) p.problem = e.problem
    return p
  }

  /** Chunk indices still missing from a file whose manifest is here (what to ask for). */
  missing (fileId: Uint8Array): number[] {
    return this.#files.get(toHex(fileId))?.assembly?.missing() ?? []
  }

  /** The verified content of a complete file. */
  content (fileId: Uint8Array): Uint8Array {
    const a = this.#files.get(toHex(fileId))?.assembly
    if (a === undefined) throw new ProtocolError(`file ${toHex(fileId).slice(0, 16)}: its manifest has not arrived`)
    return a.content()
  }

  /** Forgets a file (after saving it, or when the channel is closed). */
  forget (fileId: Uint8Array): void {
    const e = this.#files.get(toHex(fileId))
    if (e === undefined) return
    this.#dropEarly(e)
    this.#files.delete(toHex(fileId))
  }
}
