/**
 * Wire format of the sync stream: each frame is an unsigned LEB128 varint of its
 * length in bytes, then the frame. Grammar: `stream = *( uvarint(len) byte{len} )`
 * with 1 ≤ len ≤ frameBytesMax. Encoding is ours (one varint, one copy); decoding
 * is @libp2p/utils' `LengthPrefixedDecoder`, fed in bounded slices so that a
 * declared length over the limit is refused as soon as its header is read,
 * before any of the body is buffered.
 *
 * @example
 * const wire = encodeFrame(new Uint8Array([7]))        // => 01 07
 * const decoder = new FrameDecoder(frameBytesMax)
 * decoder.push(wire, (frame) => console.log(frame))    // => Uint8Array [7]
 */
import { LengthPrefixedDecoder } from '@libp2p/utils'
import type { StreamMessageEvent } from '@libp2p/interface'
import { LimitError } from '../../protocol/errors.ts'
import { linkDecodeSliceBytesMax } from './limits.ts'

/** Longest unsigned varint we produce or accept for a length (covers any safe integer). */
export const lengthPrefixBytesMax = 10

export function varintLength (value: number): number {
  let bytes = 1
  while (value >= 0x80) { value = Math.floor(value / 0x80); bytes++ }
  return bytes
}

/** `uvarint(frame.byteLength) ‖ frame`. Throws LimitError for an empty frame (the decoder would drop it silently). */
export function encodeFrame (frame: Uint8Array): Uint8Array {
  if (frame.byteLength === 0) throw new LimitError('empty frames are not carried')
  let length = frame.byteLength
  const out = new Uint8Array(varintLength(length) + length)
  let i = 0
  while (length >= 0x80) { out[i++] = (length % 0x80) | 0x80; length = Math.floor(length / 0x80) }
  out[i++] = length
  out.set(frame, i)
  return out
}

export type WireChunk = StreamMessageEvent['data']

/** Incremental decoder for one stream. Holds at most one partial frame plus one slice. */
export class FrameDecoder {
  readonly frameBytesMax: number
  readonly #decoder: LengthPrefixedDecoder

  constructor (frameBytesMax: number) {
    this.frameBytesMax = frameBytesMax
    this.#decoder = new LengthPrefixedDecoder({
      maxDataLength: frameBytesMax,
      maxBufferSize: lengthPrefixBytesMax + frameBytesMax + linkDecodeSliceBytesMax,
    })
  }

  /** Feed received bytes; `onFrame` gets each complete frame (a copy). Throws LimitError on an oversized or unparseable length. */
  push (chunk: WireChunk, onFrame: (frame: Uint8Array) => void): void {
    const parts: Iterable<Uint8Array> = chunk instanceof Uint8Array ? [chunk] : chunk
    for (const part of parts) {
      for (let at = 0; at < part.byteLength; at += linkDecodeSliceBytesMax) {
        this.#pushSlice(part.subarray(at, at + linkDecodeSliceBytesMax), onFrame)
      }
    }
  }

  #pushSlice (slice: Uint8Array, onFrame: (frame: Uint8Array) => void): void {
    const frames = this.#decoder.decode(slice)
    while (true) {
      let next: IteratorResult<{ slice (): Uint8Array }>
      try {
        next = frames.next()
      } catch (e) {
        // InvalidMessageLengthError: declared length > frameBytesMax; InvalidParametersError: buffer
        // bound hit by a length prefix that never terminates. Either way the peer broke the grammar.
        throw new LimitError(`inbound frame refused: ${(e as Error).message} (frameBytesMax ${this.frameBytesMax})`)
      }
      if (next.done === true) return
      onFrame(next.value.slice())
    }
  }
}
