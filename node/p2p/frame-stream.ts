/**
 * One libp2p stream carrying length-prefixed frames in both directions, with a
 * bounded outbound queue. `send` hands a frame straight to the stream while the
 * stream accepts data; while the stream needs draining frames wait in our queue,
 * and once queued plus stream-buffered bytes would pass `writeQueueBytesMax`
 * `send` returns false (the frame was NOT taken). On a paced link (a declared
 * bandwidth, see pacer.ts) `send` also returns false while the frames taken are
 * more than the pacer's lead ahead of the wire. When the queue has emptied and
 * the pacer allows after such a refusal, `onDrain` fires. Inbound bytes go through `FrameDecoder`;
 * a frame over the limit aborts the stream and fires `onViolation`. `onClose`
 * fires once, on a later microtask, however the stream ends.
 *
 * @example
 * const fs = new FrameStream(stream, { frameBytesMax, writeQueueBytesMax }, { onFrame, onDrain, onClose, onViolation })
 * fs.start()
 * fs.send(new Uint8Array([1, 2, 3])) // => true
 */
import type { Stream, StreamMessageEvent } from '@libp2p/interface'
import { LimitError, isDdilError } from '../../protocol/errors.ts'
import { FrameDecoder, encodeFrame } from './frame-codec.ts'
import type { Pacer } from './pacer.ts'

export interface FrameStreamOptions {
  frameBytesMax: number
  writeQueueBytesMax: number
  /** Takes frames no faster than a declared link carries them; none: as fast as the stream takes them. */
  pacer?: Pacer
}

export interface FrameStreamEvents {
  onFrame (frame: Uint8Array): void
  onDrain (): void
  onClose (): void
  /** The remote broke the framing rules, or `onFrame` threw a DdilError; the stream is already aborted. */
  onViolation (reason: string): void
}

export class FrameStream {
  readonly stream: Stream
  readonly #options: FrameStreamOptions
  readonly #events: FrameStreamEvents
  readonly #decoder: FrameDecoder
  readonly #queue: Uint8Array[] = []
  #queueBytes = 0
  #refused = false
  #paceTimer: ReturnType<typeof setTimeout> | undefined
  #closed = false
  #receivedAtMs = Number.NEGATIVE_INFINITY
  readonly #whenClosed = Promise.withResolvers<void>()

  constructor (stream: Stream, options: FrameStreamOptions, events: FrameStreamEvents) {
    this.stream = stream
    this.#options = options
    this.#events = events
    this.#decoder = new FrameDecoder(options.frameBytesMax)
  }

  get closed (): boolean { return this.#closed }

  /** Resolves once the stream has ended, however it ended. */
  get whenClosed (): Promise<void> { return this.#whenClosed.promise }

  /** When bytes last arrived (performance.now() ms; -Infinity: never), part of a frame included: a slow link's large frame arrives over seconds. */
  get receivedAtMs (): number { return this.#receivedAtMs }

  /** Bytes waiting in our queue and in the stream's own buffer. */
  get bufferedBytes (): number { return this.#queueBytes + this.stream.writeBufferLength }

  /** Attach listeners (call after the owner is ready for `onFrame`). */
  start (): void {
    this.stream.addEventListener('message', (evt) => { this.#onMessage(evt) })
    this.stream.addEventListener('drain', () => { this.#flush() })
    this.stream.addEventListener('remoteCloseWrite', () => { this.shutdown() })
    this.stream.addEventListener('close', () => { this.#markClosed() })
    if (this.stream.status !== 'open') this.#markClosed()
  }

  /** Queue a frame; false when closed, over the queue bound or ahead of the pacer. Throws LimitError only for a frame no link may carry. */
  send (frame: Uint8Array): boolean {
    if (frame.byteLength > this.#options.frameBytesMax) throw new LimitError(`frame of ${frame.byteLength} bytes exceeds frameBytesMax ${this.#options.frameBytesMax}`)
    if (this.#closed) return false
    const wire = encodeFrame(frame)
    const pacer = this.#options.pacer
    const nowMs = performance.now()
    const paceWaitMs = pacer?.waitMs(nowMs) ?? 0
    if (paceWaitMs > 0 || this.bufferedBytes + wire.byteLength > this.#options.writeQueueBytesMax) {
      this.#refused = true
      if (paceWaitMs > 0 && this.#queue.length === 0) this.#drainAfter(paceWaitMs)
      return false
    }
    pacer?.took(wire.byteLength, nowMs)
    if (this.#queue.length > 0 || this.stream.writableNeedsDrain) {
      this.#queue.push(wire)
      this.#queueBytes += wire.byteLength
      return true
    }
    return this.#write(wire)
  }

  /** Abort now (reset to the remote); pending frames are dropped. */
  abort (reason: string): void {
    this.stream.abort(new Error(reason))
    this.#markClosed()
  }

  /** Close our write side once queued frames are written; the remote closes its side in turn. */
  shutdown (): void {
    if (this.#closed || this.stream.writeStatus !== 'writable') return
    if (this.#queue.length > 0) {
      this.stream.addEventListener('idle', () => { this.shutdown() }, { once: true })
      return
    }
    this.stream.close().catch((e: unknown) => { this.abort(`close failed: ${(e as Error).message}`) })
  }

  #write (wire: Uint8Array): boolean {
    try {
      this.stream.send(wire)
      return true
    } catch {
      // The stream closed under us (remote reset, connection gone): a network condition, not an error.
      this.#markClosed()
      return false
    }
  }

  #flush (): void {
    while (this.#queue.length > 0 && !this.stream.writableNeedsDrain && !this.#closed) {
      const wire = this.#queue.shift() as Uint8Array
      this.#queueBytes -= wire.byteLength
      if (!this.#write(wire)) return
    }
    this.#drainWhenAllowed()
  }

  /** After a refusal: `onDrain` once the queue is empty and the pacer allows, now or on a timer. */
  #drainWhenAllowed (): void {
    if (!this.#refused || this.#closed || this.#queue.length > 0 || this.#paceTimer !== undefined) return
    const waitMs = this.#options.pacer?.waitMs(performance.now()) ?? 0
    if (waitMs > 0) { this.#drainAfter(waitMs); return }
    this.#refused = false
    this.#events.onDrain()
  }

  #drainAfter (waitMs: number): void {
    if (this.#paceTimer !== undefined) return
    this.#paceTimer = setTimeout(() => { this.#paceTimer = undefined; this.#drainWhenAllowed() }, Math.ceil(waitMs))
  }

  #onMessage (evt: StreamMessageEvent): void {
    if (this.#closed) return
    this.#receivedAtMs = performance.now()
    try {
      this.#decoder.push(evt.data, (frame) => { if (!this.#closed) this.#events.onFrame(frame) })
    } catch (e) {
      if (!isDdilError(e)) throw e
      this.abort(`${e.code}: ${e.message}`)
      this.#events.onViolation(e.message)
    }
  }

  #markClosed (): void {
    if (this.#closed) return
    this.#closed = true
    clearTimeout(this.#paceTimer)
    this.#paceTimer = undefined
    this.#queue.length = 0
    this.#queueBytes = 0
    this.#whenClosed.resolve()
    queueMicrotask(() => { this.#events.onClose() })
  }
}
