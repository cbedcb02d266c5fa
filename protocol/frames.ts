/**
 * Frames: everything two peers say to each other over one link. A frame is one
 * type byte followed by its payload. The envelope frame carries the envelope's own
 * bytes (it is already canonical and self-checking, and it is the hot, small-link
 * case: one byte of framing). Every other frame carries a canonical CBOR array
 * decoded by the strict decoder. Grammar: docs/PROTOCOL.md.
 *
 * @example
 * const bytes = encodeFrame({ type: FrameType.want, ids })
 * const frame = decodeFrame(bytes)   // DecodeError / LimitError on junk
 */
import { asArray, asBytes, asText, asUint, decodeStrict, encodeCanonical, type CborValue } from './cbor.ts'
import { transientBytes } from './bytes.ts'
import { DecodeError, LimitError } from './errors.ts'
import { authorRefBytes, channelRefBytes, idBytes } from './envelope.ts'
import { envelopeBytesMax, frameBytesMax, frameBytesMin, helloCredentialsBytesMax, idListItemsMax, neighboursMax } from './limits.ts'

/** The link protocol version this code speaks. */
export const linkVersion = 1

export const FrameType = {
  /** First frame each way: versions spoken, the largest frame we accept, and our clock (network time estimate). */
  hello: 0,
  /** One envelope, pushed eagerly or in answer to a want. */
  envelope: 1,
  /** Ids we hold that the peer may lack (announce before push when the peer may have them). */
  have: 2,
  /** Ids we lack and ask the peer to send. */
  want: 3,
  /** An opaque set-reconciliation message for session `session`. */
  reconcile: 4,
  /** Ask for one author's envelopes in a channel by sequence range (gap repair). */
  wantSeq: 5,
  /**
   * The peer refused envelopes. ERR_UNAUTHORISED: its own policy refuses them; ERR_NOT_CARRIED:
   * it carries nothing of their channels. Neither they (nor, after ERR_NOT_CARRIED, the rest of
   * those channels) are offered to it again for a while (engine/declined.ts). ERR_POLICY with a reason (#29): a
   * gateway's policy kept them from crossing, here or further on; the reason travels back
   * towards the relay their author submitted them at. ERR_QUOTA: its store is full (a notice).
   */
  refused: 6,
  /** Closing the link, with a reason code. */
  bye: 7,
  /** Our current neighbours and link costs, so peers skip pushes we will make ourselves. */
  neighbours: 8,
  /** You sent me an author's envelope I already had: announce that author's envelopes (have) instead of pushing them. */
  prune: 9,
  /** Your announcements of an author's envelopes beat the eager copies I get: push that author's envelopes to me again. */
  graft: 10,
} as const
export type FrameType = (typeof FrameType)[keyof typeof FrameType]
export const frameTypeNames = ['hello', 'envelope', 'have', 'want', 'reconcile', 'wantSeq', 'refused', 'bye', 'neighbours', 'prune', 'graft'] as const

export type Frame =
  /** `credentials`: what the sender presents to be let in, e.g. its organisation certificate (#29); opaque to the engine. */
  | { type: typeof FrameType.hello, versionMin: number, versionMax: number, frameBytesMax: number, nowMs: number, credentials?: Uint8Array }
  | { type: typeof FrameType.envelope, envelope: Uint8Array }
  | { type: typeof FrameType.have, ids: Uint8Array[] }
  | { type: typeof FrameType.want, ids: Uint8Array[] }
  | { type: typeof FrameType.reconcile, session: number, payload: Uint8Array }
  | { type: typeof FrameType.wantSeq, channel: Uint8Array, author: Uint8Array, seqFrom: number, seqTo: number }
  | { type: typeof FrameType.refused, code: string, ids: Uint8Array[], reason?: string }
  | { type: typeof FrameType.bye, code: string, reason: string }
  | { type: typeof FrameType.neighbours, neighbours: Neighbour[] }
  | { type: typeof FrameType.prune, author: Uint8Array }
  | { type: typeof FrameType.graft, author: Uint8Array }

/** A neighbour as advertised: an 8-byte reference to its peer id and our estimated one-hop cost to it. */
export interface Neighbour {
  ref: Uint8Array
  costMs: number
}

export const peerRefBytes = 8

/** Longest reason or code text in a frame: enough for a sentence, not for a payload (measured as the decoder does, in UTF-16 units). */
const frameTextBytesMax = 200

/** `text` cut to what a frame's reason may hold, with an ellipsis when cut (never half a surrogate pair). */
export function frameText (text: string): string {
  if (text.length <= frameTextBytesMax) return text
  const cut = text.slice(0, frameTextBytesMax - 1)
  return `${/[\ud800-\udbff]$/.test(cut) ? cut.slice(0, -1) : cut}…`
}

/** Frames are handed to the transport and dropped, so their buffers are transient (see transientBytes). */
function withType (type: FrameType, payload: Uint8Array): Uint8Array {
  const out = transientBytes(1 + payload.length)
  out[0] = type
  out.set(payload, 1)
  return out
}

function body (frame: Frame): CborValue {
  switch (frame.type) {
    case FrameType.hello: {
      const head = [frame.versionMin, frame.versionMax, frame.frameBytesMax, frame.nowMs]
      return frame.credentials === undefined ? head : [...head, frame.credentials]
    }
    case FrameType.have:
    case FrameType.want: return [frame.ids]
    case FrameType.reconcile: return [frame.session, frame.payload]
    case FrameType.wantSeq: return [frame.channel, frame.author, frame.seqFrom, frame.seqTo]
    case FrameType.refused: return frame.reason === undefined ? [frame.code, frame.ids] : [frame.code, frame.ids, frame.reason]
    case FrameType.bye: return [frame.code, frame.reason]
    case FrameType.neighbours: return [frame.neighbours.map(n => [n.ref, n.costMs])]
    case FrameType.prune:
    case FrameType.graft: return [frame.author]
    default: throw new DecodeError(`frame type ${(frame as Frame).type} has no CBOR body`)
  }
}

export function encodeFrame (frame: Frame): Uint8Array {
  if (frame.type === FrameType.neighbours && frame.neighbours.length > neighboursMax) throw new LimitError(`${frame.neighbours.length} neighbours exceed ${neighboursMax}`)
  if ((frame.type === FrameType.have || frame.type === FrameType.want || frame.type === FrameType.refused) && frame.ids.length > idListItemsMax) {
    throw new LimitError(`${frame.ids.length} ids exceed ${idListItemsMax} per frame`)
  }
  const bytes = frame.type === FrameType.envelope ? withType(frame.type, frame.envelope) : withType(frame.type, encodeCanonical(body(frame)))
  if (bytes.length > frameBytesMax) throw new LimitError(`frame of ${bytes.length} bytes exceeds ${frameBytesMax}`)
  return bytes
}

function idList (v: CborValue | undefined, what: string): Uint8Array[] {
  return asArray(v, what, { max: idListItemsMax }).map((id, i) => asBytes(id, `${what}[${i}]`, idBytes))
}

/** Strict decode of one frame from a peer. */
export function decodeFrame (bytes: Uint8Array): Frame {
  if (bytes.length > frameBytesMax) throw new LimitError(`frame of ${bytes.length} bytes exceeds ${frameBytesMax}`)
  if (bytes.length === 0) throw new DecodeError('empty frame')
  const type = bytes[0]
  const payload = bytes.subarray(1)
  if (type === FrameType.envelope) {
    if (payload.length > envelopeBytesMax) throw new LimitError(`envelope of ${payload.length} bytes exceeds ${envelopeBytesMax}`)
    return { type, envelope: payload }
  }
  if (type >= frameTypeNames.length) throw new DecodeError(`unknown frame type ${type}`)
  const name = `${frameTypeNames[type]} frame`
  switch (type) {
    case FrameType.hello: {
      const [min, max, limit, now, credentials] = asArray(decodeStrict(payload), name, { min: 4, max: 5 })
      const versionMin = asUint(min, `${name} versionMin`, 255)
      const versionMax = asUint(max, `${name} versionMax`, 255)
      if (versionMin > versionMax) throw new DecodeError('hello: versionMin above versionMax')
      const hello = { type, versionMin, versionMax, frameBytesMax: asUint(limit, `${name} frameBytesMax`, frameBytesMax, frameBytesMin), nowMs: asUint(now, `${name} nowMs`, 2 ** 48 - 1) }
      return credentials === undefined ? hello : { ...hello, credentials: asBytes(credentials, `${name} credentials`, { min: 1, max: helloCredentialsBytesMax }) }
    }
    case FrameType.have:
    case FrameType.want: {
      // Tighten the decoder to the id-list bound so an over-long list fails before it is materialised.
      const [ids] = asArray(decodeStrict(payload, { arrayItemsMax: idListItemsMax }), name, 1)
      return { type, ids: idList(ids, `${name} ids`) }
    }
    case FrameType.reconcile: {
      const [session, data] = asArray(decodeStrict(payload), name, 2)
      return { type, session: asUint(session, `${name} session`, 0xffffffff), payload: asBytes(data, `${name} payload`) }
    }
    case FrameType.wantSeq: {
      const [channel, author, from, to] = asArray(decodeStrict(payload), name, 4)
      const seqFrom = asUint(from, `${name} seqFrom`, Number.MAX_SAFE_INTEGER, 1)
      const seqTo = asUint(to, `${name} seqTo`, Number.MAX_SAFE_INTEGER, seqFrom)
      if (seqTo - seqFrom >= idListItemsMax) throw new LimitError(`wantSeq range of ${seqTo - seqFrom + 1} exceeds ${idListItemsMax}`)
      return { type, channel: asBytes(channel, `${name} channel`, channelRefBytes), author: asBytes(author, `${name} author`, authorRefBytes), seqFrom, seqTo }
    }
    case FrameType.refused: {
      const [code, ids, reason] = asArray(decodeStrict(payload, { arrayItemsMax: idListItemsMax }), name, { min: 2, max: 3 })
      const refused = { type, code: asText(code, `${name} code`, { max: frameTextBytesMax }), ids: idList(ids, `${name} ids`) }
      return reason === undefined ? refused : { ...refused, reason: asText(reason, `${name} reason`, { max: frameTextBytesMax }) }
    }
    case FrameType.bye: {
      const [code, reason] = asArray(decodeStrict(payload), name, 2)
      return { type, code: asText(code, `${name} code`, { max: frameTextBytesMax }), reason: asText(reason, `${name} reason`, { max: frameTextBytesMax }) }
    }
    case FrameType.neighbours: {
      const [list] = asArray(decodeStrict(payload, { arrayItemsMax: neighboursMax }), name, 1)
      const neighbours = asArray(list, `${name} list`, { max: neighboursMax }).map((n, i) => {
        const [ref, cost] = asArray(n, `${name}[${i}]`, 2)
        return { ref: asBytes(ref, `${name}[${i}] ref`, peerRefBytes), costMs: asUint(cost, `${name}[${i}] cost`, 0xffffffff) }
      })
      return { type, neighbours }
    }
    case FrameType.prune:
    case FrameType.graft: {
      const [author] = asArray(decodeStrict(payload), name, 1)
      return { type, author: asBytes(author, `${name} author`, authorRefBytes) }
    }
  }
  throw new DecodeError(`unknown frame type ${type}`)
}
