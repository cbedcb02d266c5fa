/**
 * A bounds-checked cursor over a file's bytes, for the strict decoders of protocol/bundle
 * (the bundle file, the peer holds file): every read past `end` is a DecodeError naming the
 * file and the field, so a short file is refused, never read past.
 *
 * @example
 * const r = new Reader(bytes, bytes.length - 32, 'bundle')
 * const count = r.u32('envelope count')   // DecodeError "bundle is truncated: envelope count runs past its end"
 */
import { DecodeError } from '../errors.ts'

export class Reader {
  at = 0
  readonly #bytes: Uint8Array
  readonly #view: DataView
  readonly #end: number
  readonly #file: string
  constructor (bytes: Uint8Array, end: number, file: string) {
    this.#bytes = bytes; this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength); this.#end = end; this.#file = file
  }

  #need (n: number, what: string): void {
    if (this.at + n > this.#end) throw new DecodeError(`${this.#file} is truncated: ${what} runs past its end`)
  }

  bytes (n: number, what: string): Uint8Array { this.#need(n, what); const b = this.#bytes.slice(this.at, this.at + n); this.at += n; return b }
  u8 (what: string): number { this.#need(1, what); return this.#bytes[this.at++] }
  u16 (what: string): number { this.#need(2, what); const v = this.#view.getUint16(this.at); this.at += 2; return v }
  u32 (what: string): number { this.#need(4, what); const v = this.#view.getUint32(this.at); this.at += 4; return v }
  u64 (what: string): number {
    this.#need(8, what)
    const v = this.#view.getBigUint64(this.at); this.at += 8
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new DecodeError(`${this.#file} ${what} is out of range`)
    return Number(v)
  }
}
