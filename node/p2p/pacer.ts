/**
 * Sender-side pacing for a link whose bandwidth the operator declared (config `peers.links`).
 *
 * Below the sync stream sit yamux's window (256 KiB), the socket and the radio's own queue,
 * all first in, first out: bytes handed down there cannot be overtaken. Unpaced, 40 routine
 * messages went down a 9.6 kbps link at once and a flash message sent next arrived 35 s later,
 * last. So a frame is taken only while the bytes already taken would be on the wire within
 * `aheadMs` at the link's rate; the rest waits in the engine's precedence queues, where a flash
 * message goes first. The simulator models links the same way (sim/network.ts: one frame on
 * the wire at a time).
 *
 * @example
 * const pacer = new Pacer(8640, 200, 96)   // 96: what each frame costs below it (headers, tags)
 * if (pacer.waitMs(now) === 0) { send(frame); pacer.took(frame.byteLength, now) }
 */
export class Pacer {
  readonly bitsPerSecond: number
  readonly aheadMs: number
  /** Charged per frame besides its bytes: the headers and tags each frame carries below us. */
  readonly frameOverheadBytes: number
  /** When the bytes taken so far will have been serialised at `bitsPerSecond`. */
  #freeAtMs = Number.NEGATIVE_INFINITY

  constructor (bitsPerSecond: number, aheadMs: number, frameOverheadBytes = 0) {
    if (!(bitsPerSecond > 0) || !Number.isFinite(bitsPerSecond)) throw new RangeError(`pacing needs a positive bandwidth, not ${bitsPerSecond}`)
    this.bitsPerSecond = bitsPerSecond
    this.aheadMs = aheadMs
    this.frameOverheadBytes = frameOverheadBytes
  }

  /** Ms until another frame may be taken; 0: now. */
  waitMs (nowMs: number): number {
    return Math.max(0, this.#freeAtMs - this.aheadMs - nowMs)
  }

  /** A frame of `bytes` was taken at `nowMs`. */
  took (bytes: number, nowMs: number): void {
    this.#freeAtMs = Math.max(this.#freeAtMs, nowMs) + (bytes + this.frameOverheadBytes) * 8000 / this.bitsPerSecond
  }
}
