/**
 * A channel client's files and long messages (#23), apart from the rest of the client: sealing
 * one into its pieces within the channel policy's limits, opening a received piece into the
 * client's FileInbox, and the progress members report. ChannelClient (client.ts) wires these
 * to its keys, sequence numbers and node link.
 *
 * @example
 * const pieces = sealFile(crypto, { state, sending, channel, author }, file, FileForm.file, { hlc, firstSeq, ttlSeconds, precedence })
 * const r = openPiece(crypto, inbox, env, { author, keys, channelId })   // a 'file' result
 */
import { ContentType, decryptContent, type ContentHeader } from './content.ts'
import { policySizeLimits, retentionFor } from './governance.ts'
import type { GovernanceState } from './state.ts'
import { toHex } from '../bytes.ts'
import { Precedence, type Envelope } from '../envelope.ts'
import { DecodeError, LimitError } from '../errors.ts'
import type { Hlc } from '../hlc.ts'
import type { FileInbox, FileProgress } from '../files/inbox.ts'
import { decodePiece, fileIdOf, FileForm } from '../files/piece.ts'
import { pieceCount, sealPieces } from '../files/send.ts'
import { splitFile, type SplitFile } from '../files/split.ts'
import type { Crypto } from '../ports.ts'

export interface FileToSend { name: string, mediaType: string, content: Uint8Array, caption?: string }

export interface SendOptions {
  precedence?: Precedence
  ttlSeconds?: number
  /** A file's chunks acknowledged by the node so far: content bytes of the total. */
  onProgress?: (heldBytes: number, totalBytes: number) => void
}

/** How a long text message is named in its (sealed) manifest. */
export const longTextName = 'message.txt'
export const longTextMediaType = 'text/plain'

/** A received piece, as ChannelClient reports it. */
export interface PieceReceived {
  type: 'file'
  id: Uint8Array
  channel: Uint8Array
  author: Uint8Array
  seq: number
  precedence: number
  hlc: Hlc
  piece: number
  /** The file's id: its manifest envelope's. */
  file: Uint8Array
  progress: FileProgress
}

/** Splits a file, checked against the channel policy's limit for its form; LimitError beyond it. */
export function splitForChannel (crypto: Crypto, policy: GovernanceState['policy'], file: FileToSend, form: FileForm): SplitFile {
  const limits = policySizeLimits(policy)
  const limit = form === FileForm.text ? limits.textBytesMax : limits.fileBytesMax
  const what = form === FileForm.text ? 'message' : 'file'
  if (file.content.length > limit) throw new LimitError(`a ${what} of ${file.content.length} bytes is over this channel's limit of ${limit} bytes`)
  return splitFile(crypto, { name: file.name, mediaType: file.mediaType, content: file.content, ...(file.caption === undefined ? {} : { caption: file.caption }) })
}

export interface FileSealing {
  state: GovernanceState
  sending: { epoch: number, key: Uint8Array }
  channel: Uint8Array
  author: { publicKey: Uint8Array, privateKey: Uint8Array }
}

/** The split file's pieces, manifest first: `pieceCount(split)` sequence numbers from `firstSeq`, one stamp. */
export function sealSplit (crypto: Crypto, s: FileSealing, split: SplitFile, form: FileForm, o: { hlc: Hlc, firstSeq: number } & SendOptions): Envelope[] {
  const ttlSeconds = Math.min(o.ttlSeconds ?? 24 * 3600, retentionFor(s.state.policy, true))
  return sealPieces(crypto, { channelId: s.state.channelId, channel: s.channel, epoch: s.sending.epoch, epochKey: s.sending.key, author: s.author }, split, {
    form, precedence: o.precedence ?? Precedence.routine, hlc: o.hlc, ttlSeconds, firstSeq: o.firstSeq,
  })
}

export { pieceCount }

/**
 * Opens one file piece (already authorised and verified) into `inbox`. Throws a DdilError
 * for a piece whose content does not belong at its index, or that its file refuses.
 */
export function openPiece (crypto: Crypto, inbox: FileInbox, env: Envelope, o: { author: Uint8Array, keys: Uint8Array[], channelId: Uint8Array }): PieceReceived {
  const { head, sealed } = decodePiece(env.body)
  const header: ContentHeader = { kind: env.kind, precedence: env.precedence, channel: env.channel, author: o.author, seq: env.seq, epoch: env.epoch }
  const content = decryptContent(crypto, { channelId: o.channelId, keys: o.keys, header, body: sealed })
  const expected = head.index === 0 ? ContentType.fileManifest : ContentType.fileChunk
  if (content.contentType !== expected) throw new DecodeError(`file piece ${head.index} carries content type ${content.contentType}, not ${expected}`)
  const file = fileIdOf(env, head)
  const progress = head.index === 0 ? inbox.manifest(file, head, content.payload) : inbox.chunk(file, head, content.payload)
  return { type: 'file', id: env.id, channel: env.channel, author: o.author, seq: env.seq, precedence: env.precedence, hlc: env.hlc, piece: head.index, file, progress }
}

/** What members reported holding of each file: file id hex → author ref → the most bytes reported. */
export class ProgressReports {
  readonly #files = new Map<string, Map<string, number>>()

  /** A report; a lower one than already heard (replayed, or reordered) changes nothing. */
  note (file: Uint8Array, authorRef: string, heldBytes: number): void {
    const reports = this.#files.get(toHex(file)) ?? new Map<string, number>()
    reports.set(authorRef, Math.max(reports.get(authorRef) ?? 0, heldBytes))
    this.#files.set(toHex(file), reports)
  }

  /** Bytes held by the reporters `counts` accepts, most first. */
  receiving (file: Uint8Array, counts: (authorRef: string) => boolean): number[] {
    const out: number[] = []
    for (const [ref, held] of this.#files.get(toHex(file)) ?? []) if (counts(ref)) out.push(held)
    return out.sort((a, b) => b - a)
  }
}
