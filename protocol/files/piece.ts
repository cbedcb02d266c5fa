/**
 * File pieces on the wire (#23): a long message or a file travels as envelopes of kind `file`,
 * one manifest and then one per chunk, each signed by its author and sealed like any body,
 * so relays verify, store, reconcile, expire and evict them with the machinery that exists.
 *
 *   body      = piece-head sealed
 *   piece-head = u8 version (1) | u8 form (0 text, 1 file) | varint index | varint count
 *   index 0               the manifest (content type fileManifest); deps = []
 *   index 1 … count - 1   chunk index - 1 (content type fileChunk); deps = [manifest envelope id]
 *
 * The head is public on purpose: it is what a relay needs to treat a file as one thing. The
 * count says how large the file is (at most `(count - 1) × fileChunkBytes`), so a relay refuses
 * a file over the channel's policy, or one its quota cannot hold whole, at its first piece;
 * the single dependency names the manifest, so a relay evicts a file whole. The form says
 * whether the policy's text or file limit applies. Names, media types and content stay sealed:
 * relays learn sizes, not contents. The head is covered by the envelope's signature, and the
 * dependency binds each chunk to its manifest's envelope (which names channel and author), so a
 * chunk cannot be moved to another file or channel without its author's key; inside, the sealed
 * chunk names the manifest's content id and its index again, and the assembler checks both.
 *
 * Every piece of one file carries the same timestamp and time to live, so all its pieces
 * expire together: nowhere is a file left half expired.
 *
 * @example
 * const body = concatBytes([encodePieceHead({ form: FileForm.file, index: 3, count: 901 }), sealed])
 * const { head, sealed } = decodePiece(env.body)
 * pieceProblem(env, policySizeLimits(policy))   // undefined, or why a relay refuses it
 */
import { ByteReader, ByteWriter, varintLength } from '../bytes.ts'
import { DecodeError } from '../errors.ts'
import { fileChunkBytes, fileChunksMax } from '../limits.ts'

export const pieceVersion = 1

/** Which policy limit a file's size is held to. */
export const FileForm = { text: 0, file: 1 } as const
export type FileForm = (typeof FileForm)[keyof typeof FileForm]
export const fileFormNames = ['text', 'file'] as const

export interface PieceHead {
  form: FileForm
  /** 0: the manifest; i ≥ 1: chunk i − 1. */
  index: number
  /** Pieces in the file: its manifest and its chunks. */
  count: number
}

/** Most pieces a file has: its manifest and `fileChunksMax` chunks. */
export const pieceCountMax = fileChunksMax + 1

/** Longest piece head, bytes: two bytes and two varints of at most `pieceCountMax`. */
export const pieceHeadBytesMax = 2 + 2 * varintLength(pieceCountMax)

function checkHead (h: PieceHead): PieceHead {
  if (h.form !== FileForm.text && h.form !== FileForm.file) throw new DecodeError(`unknown file form ${h.form}`)
  if (!Number.isSafeInteger(h.count) || h.count < 1 || h.count > pieceCountMax) throw new DecodeError(`a file has 1..${pieceCountMax} pieces, not ${h.count}`)
  if (!Number.isSafeInteger(h.index) || h.index < 0 || h.index >= h.count) throw new DecodeError(`piece ${h.index} is outside 0..${h.count - 1}`)
  return h
}

export function encodePieceHead (h: PieceHead): Uint8Array {
  checkHead(h)
  const w = new ByteWriter(2 + varintLength(h.index) + varintLength(h.count))
  w.u8(pieceVersion)
  w.u8(h.form)
  w.varint(h.index)
  w.varint(h.count)
  return w.finish()
}

/** Splits a file envelope's body into its public head and its sealed part; DecodeError if the head is bad. */
export function decodePiece (body: Uint8Array): { head: PieceHead, sealed: Uint8Array } {
  const r = new ByteReader(body)
  const version = r.u8()
  if (version !== pieceVersion) throw new DecodeError(`file piece version ${version} is not ${pieceVersion}`)
  const head = checkHead({ form: r.u8() as FileForm, index: r.varint(), count: r.varint() })
  return { head, sealed: body.subarray(r.offset) }
}

/** Most content bytes a file of `count` pieces can carry: what a relay holds it to. */
export function contentBytesBound (count: number): number {
  return (count - 1) * fileChunkBytes
}

/** The file a piece belongs to: its manifest envelope's id (its own id for the manifest). */
export function fileIdOf (env: { id: Uint8Array, deps: Uint8Array[] }, head: PieceHead): Uint8Array {
  return head.index === 0 ? env.id : env.deps[0]
}

/**
 * The file of a piece a relay has already accepted, without reading its head: accepted pieces
 * name their manifest as their one dependency, and a manifest names none (`pieceProblem`).
 */
export function acceptedPieceFileId (env: { id: Uint8Array, deps: Uint8Array[] }): Uint8Array {
  return env.deps.length === 1 ? env.deps[0] : env.id
}

/**
 * Why a relay refuses this file piece from its header and head alone, or undefined. The
 * caller has already authorised the author like a message's.
 */
export function pieceProblem (env: { deps: Uint8Array[], body: Uint8Array }, limits: { textBytesMax: number, fileBytesMax: number }): string | undefined {
  let head: PieceHead
  try {
    head = decodePiece(env.body).head
  } catch (e) {
    return `file piece: ${(e as Error).message}`
  }
  const deps = head.index === 0 ? 0 : 1
  if (env.deps.length !== deps) return `file piece ${head.index} must name ${deps === 0 ? 'no dependency' : 'its manifest as its one dependency'}, not ${env.deps.length}`
  const bound = contentBytesBound(head.count)
  const limit = head.form === FileForm.text ? limits.textBytesMax : limits.fileBytesMax
  // A file of `count` pieces holds more than (count − 2) full chunks; judge by that, not by the
  // bound, so a file exactly at the limit is accepted.
  if (head.count >= 2 && (head.count - 2) * fileChunkBytes >= limit) {
    return `a ${fileFormNames[head.form]} of ${head.count - 1} chunks (up to ${bound} bytes) is over this channel's limit of ${limit} bytes`
  }
  return undefined
}
