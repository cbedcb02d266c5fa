/**
 * Sealing a split file into its piece envelopes (#23): the manifest first, then one envelope
 * per chunk naming the manifest's id as its dependency (piece.ts). Pure: the caller reserves
 * `count` consecutive sequence numbers (`firstSeq` …) and stamps the file once; every piece
 * carries that stamp and time to live, so the file expires whole.
 *
 * @example
 * const file = splitFile(crypto, { name: 'levee.jpg', mediaType: 'image/jpeg', content })
 * const pieces = sealPieces(crypto, { channelId, channel, epoch, epochKey, author }, file, { form: FileForm.file, precedence, hlc, ttlSeconds, firstSeq })
 * for (const env of pieces) await node.submit(env.bytes)   // pieces[0] is the manifest: its id names the file
 */
import { concatBytes } from '../bytes.ts'
import { ContentType, encryptContent, type ContentHeader } from '../channel/content.ts'
import { authorRef, Kind, signEnvelope, type Envelope, type Precedence } from '../envelope.ts'
import type { Hlc } from '../hlc.ts'
import type { Crypto } from '../ports.ts'
import { encodePieceHead, type FileForm } from './piece.ts'
import type { SplitFile } from './split.ts'

export interface PieceSealer {
  channelId: Uint8Array
  /** The channel's 8-byte reference. */
  channel: Uint8Array
  epoch: number
  epochKey: Uint8Array
  author: { publicKey: Uint8Array, privateKey: Uint8Array }
}

export interface PieceOptions {
  form: FileForm
  precedence: Precedence
  hlc: Hlc
  ttlSeconds: number
  /** The manifest's sequence number; chunk i goes at firstSeq + 1 + i. */
  firstSeq: number
}

/** Pieces a split file becomes: its manifest and its chunks. */
export function pieceCount (file: Pick<SplitFile, 'chunks'>): number {
  return 1 + file.chunks.length
}

export function sealPieces (crypto: Crypto, s: PieceSealer, file: SplitFile, o: PieceOptions): Envelope[] {
  const count = pieceCount(file)
  const piece = (index: number, payload: Uint8Array, deps: Uint8Array[]): Envelope => {
    const seq = o.firstSeq + index
    const header: ContentHeader = { kind: Kind.file, precedence: o.precedence, channel: s.channel, author: s.author.publicKey, seq, epoch: s.epoch }
    const contentType = index === 0 ? ContentType.fileManifest : ContentType.fileChunk
    const sealed = encryptContent(crypto, { channelId: s.channelId, epochKey: s.epochKey, header, contentType, payload })
    const body = concatBytes([encodePieceHead({ form: o.form, index, count }), sealed])
    return signEnvelope(crypto, {
      kind: Kind.file, precedence: o.precedence, channel: s.channel, author: authorRef(s.author.publicKey), seq,
      hlc: o.hlc, ttlSeconds: o.ttlSeconds, epoch: s.epoch, deps, body,
    }, s.author.privateKey)
  }
  const manifest = piece(0, file.manifestBytes, [])
  const out = [manifest]
  for (let i = 0; i < file.chunks.length; i++) out.push(piece(i + 1, file.chunks[i], [manifest.id]))
  return out
}
