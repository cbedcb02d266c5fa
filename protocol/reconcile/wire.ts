/**
 * Reconciliation messages: a symmetric encode/decode pair. The engine carries
 * each message as an opaque byte string (a `reconcile` frame's payload).
 *
 * Grammar (all integers little-endian; varint = canonical unsigned LEB128):
 *
 *   message = version:u8 (= 2) type:u8 body            ; nothing may follow body
 *   symbol  = key0:u32 key1:u32 checksum:u32 count:u8   ; 13 bytes; count modulo 256
 *   key     = 8 bytes (the first 8 bytes of an id)
 *   id      = 32 bytes
 *
 *   type 1 HELLO    I→R  frameBytesMax:varint symbol0:symbol sketch:(64 × u12: two per 3 bytes, low bits first)
 *   type 2 EQUAL    R→I  (empty)                          ; sets are equal, session over
 *   type 3 SYMBOLS  R→I  start:varint estimate:varint n:varint n × symbol   ; n ≥ 1
 *   type 4 MORE     I→R  n:varint                         ; send n more symbols (n ≥ 1)
 *   type 5 LISTS    I→R  flags:u8 nIds:varint nKeys:varint nIds × id nKeys × key
 *                        ; ids: I's items R lacks (whole); keys: R's items I lack
 *                        ; flags bit 0 = last chunk; other bits zero
 *   type 6 IDS      R→I  flags:u8 n:varint n × suffix     ; bit 0 = fin
 *   suffix  = 24 bytes: id bytes 8..31 for the next key I sent, in the order sent
 *             (I knows the first 8); all zero = no longer held (purged meanwhile)
 *   type 7 RANGE    I→R  depth:u8 index:varint frameBytesMax:varint symbol0:symbol sketch
 *                        ; HELLO for one range of the key space: the keys whose key word 0
 *                        ; has `index` in its top `depth` bits (1 ≤ depth ≤ 32, index < 2^depth)
 *   type 8 SPLIT    R→I  depth:u8                         ; the difference is too large for one
 *                        ; session: reconcile this range as 2^(depth − its depth) ranges of the
 *                        ; given depth (deeper than the session's); session over
 *   type 9 ABORT    I↔R  reason:u8                        ; session over, nobody's fault:
 *                        ; 1 = no decode within the symbol limit, 2 = another session limit
 *                        ; reached (messages, symbols asked for), 3 = the sender's set changed
 *                        ; more than its journal holds. The initiator retries one level deeper.
 *
 * Conversation (I = initiator, decodes; R = responder, streams symbols):
 *   I: HELLO → R: EQUAL                                  (sets equal: 1 round trip)
 *   I: HELLO → R: SYMBOLS → [I: MORE → R: SYMBOLS]* → I: LISTS → R: IDS (fin)
 *   I: HELLO → R: SPLIT                                  (estimate over the session's bound)
 *   I: RANGE instead of HELLO: the same conversation over one range
 *   Either side may answer with ABORT instead (a limit reached in honest progress).
 *   LISTS / IDS repeat when they do not fit one frame (an empty last LISTS asks for
 *   the rest of the IDS). If no LISTS of the session carried a key, R does not answer
 *   the last one (I expects nothing back). A round trip is two messages, counted as
 *   messages / 2 rounded up, the same way as for negentropy.
 *   Typical cost: 116 B for equal sets; about 1.4–1.8 symbols (13 B each) per
 *   difference, plus 32 B per id the responder lacks and 8 + 24 B per id the
 *   initiator lacks: 50–60 B per difference once d is in the hundreds.
 *
 * @example
 * const bytes = encodeMessage({ type: MessageType.more, n: 40 })
 * decodeMessage(bytes, { symbolsMax })  // DecodeError / LimitError on junk
 */
import { ByteReader, ByteWriter, varintLength } from '../bytes.ts'
import { DecodeError, LimitError } from '../errors.ts'
import { frameBytesMin } from '../limits.ts'
import { idBytes, sketchWidth, symbolWords } from './set.ts'

export const reconcileVersion = 2
export const symbolBytes = 13
export const keyBytes = 8
export const suffixBytes = 24
const sketchBytes = sketchWidth * 3 / 2

export const MessageType = { hello: 1, equal: 2, symbols: 3, more: 4, lists: 5, ids: 6, range: 7, split: 8, abort: 9 } as const
export type MessageType = (typeof MessageType)[keyof typeof MessageType]

/** A key as its two little-endian words. */
export type Key = [number, number]

/** Deepest range: 32 leading bits of key word 0 (honest ids put about N / 2^32 keys in each). */
export const rangeDepthMax = 32

/** Why a session ended early without anyone's fault (ABORT). */
export const AbortReason = { noDecode: 1, limit: 2, setChanged: 3 } as const
export type AbortReason = (typeof AbortReason)[keyof typeof AbortReason]

export type Message =
  | { type: typeof MessageType.hello, frameBytesMax: number, symbol0: Int32Array, sketch: Uint16Array }
  | { type: typeof MessageType.equal }
  | { type: typeof MessageType.symbols, start: number, estimate: number, words: Int32Array }
  | { type: typeof MessageType.more, n: number }
  | { type: typeof MessageType.lists, last: boolean, ids: Uint8Array[], keys: Key[] }
  | { type: typeof MessageType.ids, fin: boolean, suffixes: Uint8Array[] }
  | { type: typeof MessageType.range, depth: number, index: number, frameBytesMax: number, symbol0: Int32Array, sketch: Uint16Array }
  | { type: typeof MessageType.split, depth: number }
  | { type: typeof MessageType.abort, reason: AbortReason }

export interface DecodeLimits {
  /** Most symbols one message may declare. */
  symbolsMax: number
}

/** Encoded size of a SYMBOLS message with `n` symbols. */
export function symbolsMessageBytes (start: number, estimate: number, n: number): number {
  return 2 + varintLength(start) + varintLength(estimate) + varintLength(n) + n * symbolBytes
}

/** Encoded size of a LISTS message. */
export function listsMessageBytes (nIds: number, nKeys: number): number {
  return 3 + varintLength(nIds) + varintLength(nKeys) + nIds * idBytes + nKeys * keyBytes
}

/** Encoded size of an IDS message. */
export function idsMessageBytes (n: number): number {
  return 3 + varintLength(n) + n * suffixBytes
}

function size (m: Message): number {
  switch (m.type) {
    case MessageType.hello: return 2 + varintLength(m.frameBytesMax) + symbolBytes + sketchBytes
    case MessageType.equal: return 2
    case MessageType.symbols: return symbolsMessageBytes(m.start, m.estimate, m.words.length / symbolWords)
    case MessageType.more: return 2 + varintLength(m.n)
    case MessageType.lists: return listsMessageBytes(m.ids.length, m.keys.length)
    case MessageType.ids: return idsMessageBytes(m.suffixes.length)
    case MessageType.range: return 3 + varintLength(m.index) + varintLength(m.frameBytesMax) + symbolBytes + sketchBytes
    case MessageType.split:
    case MessageType.abort: return 3
  }
}

function u32 (w: ByteWriter, x: number): void {
  w.u8(x & 0xff); w.u8((x >>> 8) & 0xff); w.u8((x >>> 16) & 0xff); w.u8((x >>> 24) & 0xff)
}

function writeSymbols (w: ByteWriter, words: Int32Array): void {
  for (let o = 0; o < words.length; o += symbolWords) {
    u32(w, words[o]); u32(w, words[o + 1]); u32(w, words[o + 2]); w.u8(words[o + 3] & 0xff)
  }
}

function writeSketch (w: ByteWriter, sketch: Uint16Array): void {
  for (let j = 0; j < sketchWidth; j += 2) {
    const a = sketch[j] & 0xfff
    const b = sketch[j + 1] & 0xfff
    w.u8(a & 0xff); w.u8((a >>> 8) | ((b & 0xf) << 4)); w.u8(b >>> 4)
  }
}

export function encodeMessage (m: Message): Uint8Array {
  const w = new ByteWriter(size(m))
  w.u8(reconcileVersion)
  w.u8(m.type)
  switch (m.type) {
    case MessageType.hello: w.varint(m.frameBytesMax); writeSymbols(w, m.symbol0); writeSketch(w, m.sketch); break
    case MessageType.equal: break
    case MessageType.symbols: w.varint(m.start); w.varint(m.estimate); w.varint(m.words.length / symbolWords); writeSymbols(w, m.words); break
    case MessageType.more: w.varint(m.n); break
    case MessageType.lists:
      w.u8(m.last ? 1 : 0); w.varint(m.ids.length); w.varint(m.keys.length)
      for (const id of m.ids) w.bytes(id)
      for (const [k0, k1] of m.keys) { u32(w, k0); u32(w, k1) }
      break
    case MessageType.ids: w.u8(m.fin ? 1 : 0); w.varint(m.suffixes.length); for (const x of m.suffixes) w.bytes(x); break
    case MessageType.range: w.u8(m.depth); w.varint(m.index); w.varint(m.frameBytesMax); writeSymbols(w, m.symbol0); writeSketch(w, m.sketch); break
    case MessageType.split: w.u8(m.depth); break
    case MessageType.abort: w.u8(m.reason); break
  }
  return w.finish()
}

function readU32 (r: ByteReader): number {
  const b = r.bytes(4)
  return (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0
}

function readSymbols (r: ByteReader, n: number): Int32Array {
  const out = new Int32Array(n * symbolWords)
  for (let o = 0; o < out.length; o += symbolWords) {
    out[o] = readU32(r); out[o + 1] = readU32(r); out[o + 2] = readU32(r); out[o + 3] = r.u8()
  }
  return out
}

function readSketch (r: ByteReader): Uint16Array {
  const out = new Uint16Array(sketchWidth)
  for (let j = 0; j < sketchWidth; j += 2) {
    const [x, y, z] = r.bytes(3)
    out[j] = x | ((y & 0xf) << 8)
    out[j + 1] = (y >>> 4) | (z << 4)
  }
  return out
}

function readFrameLimit (r: ByteReader): number {
  const frameBytesMax = r.varint()
  if (frameBytesMax < frameBytesMin) throw new LimitError(`reconcile: frame limit ${frameBytesMax} below ${frameBytesMin}`)
  return frameBytesMax
}

function readDepth (r: ByteReader): number {
  const depth = r.u8()
  if (depth < 1 || depth > rangeDepthMax) throw new DecodeError(`reconcile: range depth ${depth} outside 1..${rangeDepthMax}`)
  return depth
}

function readFlags (r: ByteReader): boolean {
  const flags = r.u8()
  if (flags > 1) throw new DecodeError(`reconcile: unknown flag bits ${flags}`)
  return flags === 1
}

/** Checks a declared count against the bytes left before anything is allocated. */
function count (r: ByteReader, itemBytes: number, max: number, what: string): number {
  const n = r.varint()
  if (n > max) throw new LimitError(`reconcile: ${n} ${what} declared, limit ${max}`)
  r.need(n * itemBytes)
  return n
}

export function decodeMessage (bytes: Uint8Array, limits: DecodeLimits): Message {
  const r = new ByteReader(bytes)
  const version = r.u8()
  if (version !== reconcileVersion) throw new DecodeError(`reconcile: unknown version ${version}`)
  const type = r.u8()
  let m: Message
  switch (type) {
    case MessageType.hello: {
      const frameBytesMax = readFrameLimit(r)
      m = { type, frameBytesMax, symbol0: readSymbols(r, 1), sketch: readSketch(r) }
      break
    }
    case MessageType.range: {
      const depth = readDepth(r)
      const index = r.varint()
      if (index >= 2 ** depth) throw new DecodeError(`reconcile: range ${index} of ${2 ** depth}`)
      const frameBytesMax = readFrameLimit(r)
      m = { type, depth, index, frameBytesMax, symbol0: readSymbols(r, 1), sketch: readSketch(r) }
      break
    }
    case MessageType.split: m = { type, depth: readDepth(r) }; break
    case MessageType.abort: {
      const reason = r.u8()
      if (reason < AbortReason.noDecode || reason > AbortReason.setChanged) throw new DecodeError(`reconcile: unknown abort reason ${reason}`)
      m = { type, reason: reason as AbortReason }
      break
    }
    case MessageType.equal: m = { type }; break
    case MessageType.symbols: {
      const start = r.varint()
      const estimate = r.varint()
      const n = count(r, symbolBytes, limits.symbolsMax, 'symbols')
      if (n === 0) throw new DecodeError('reconcile: empty SYMBOLS')
      if (start + n > limits.symbolsMax) throw new LimitError(`reconcile: symbols past ${limits.symbolsMax}`)
      m = { type, start, estimate, words: readSymbols(r, n) }
      break
    }
    case MessageType.more: {
      const n = r.varint()
      if (n === 0) throw new DecodeError('reconcile: MORE 0')
      if (n > limits.symbolsMax) throw new LimitError(`reconcile: MORE ${n} over ${limits.symbolsMax}`)
      m = { type, n }
      break
    }
    case MessageType.lists: {
      const last = readFlags(r)
      const nIds = count(r, idBytes, Number.MAX_SAFE_INTEGER, 'ids') // bounded by the frame, checked here against the bytes present
      const nKeys = count(r, 0, Number.MAX_SAFE_INTEGER, 'keys')
      r.need(nIds * idBytes + nKeys * keyBytes)
      const ids = Array.from({ length: nIds }, () => r.bytes(idBytes).slice())
      const keys = Array.from({ length: nKeys }, (): Key => [readU32(r), readU32(r)])
      m = { type, last, ids, keys }
      break
    }
    case MessageType.ids: {
      const fin = readFlags(r)
      const n = count(r, suffixBytes, Number.MAX_SAFE_INTEGER, 'suffixes')
      m = { type, fin, suffixes: Array.from({ length: n }, () => r.bytes(suffixBytes).slice()) }
      break
    }
    default: throw new DecodeError(`reconcile: unknown message type ${type}`)
  }
  r.done()
  return m
}
