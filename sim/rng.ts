/**
 * Seeded, splittable randomness for the simulator. Every consumer (a link direction,
 * a traffic stream, a node) forks its own stream by name, so adding traffic or a link
 * never shifts the draws another part of the run sees: the same seed and scenario
 * replay bit for bit. The generator is sfc32 (small, fast, passes PractRand to 2^40+);
 * a stream's state comes from mixing the run seed with the fork path.
 *
 * @example
 * const root = Rng.from(7)
 * const loss = root.fork('link').fork('hq>relay-a')
 * if (loss.float() < 0.02) dropFrame()
 */
import { fmix32 } from '../protocol/reconcile/hash.ts'


/** Four 32-bit words from a seed and a path: each lane hashes the text with its own start value. */
function seedWords (seed: number, path: string): [number, number, number, number] {
  const out: number[] = []
  for (let lane = 0; lane < 4; lane++) {
    let h = fmix32((seed >>> 0) ^ Math.imul(lane + 1, 0x9e3779b9))
    for (let i = 0; i < path.length; i++) h = fmix32(h ^ Math.imul(path.charCodeAt(i) + lane, 0x27d4eb2d))
    out.push(fmix32(h ^ path.length))
  }
  return out as [number, number, number, number]
}

export class Rng {
  readonly seed: number
  readonly path: string
  #a: number
  #b: number
  #c: number
  #d: number

  private constructor (seed: number, path: string) {
    this.seed = seed >>> 0
    this.path = path
    ;[this.#a, this.#b, this.#c, this.#d] = seedWords(this.seed, path)
    for (let i = 0; i < 12; i++) this.#next() // let the state settle before the first draw
  }

  static from (seed: number): Rng { return new Rng(seed, '') }

  /** An independent stream named `label` below this one; does not consume draws from this stream. */
  fork (label: string): Rng { return new Rng(this.seed, `${this.path}/${label}`) }

  #next (): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0
    this.#d = (this.#d + 1) | 0
    this.#a = this.#b ^ (this.#b >>> 9)
    this.#b = (this.#c + (this.#c << 3)) | 0
    this.#c = (this.#c << 21) | (this.#c >>> 11)
    this.#c = (this.#c + t) | 0
    return t >>> 0
  }

  /** Uniform in [0, 1). */
  float (): number { return this.#next() / 4294967296 }

  /** Uniform integer in [0, n). */
  int (n: number): number { return Math.floor(this.float() * n) }

  /** Uniform integer in [min, max], both included. */
  between (min: number, max: number): number { return min + this.int(max - min + 1) }

  /** Exponential gap with the given rate (events per ms): the spacing of a Poisson process. */
  exponential (ratePerMs: number): number { return -Math.log(1 - this.float()) / ratePerMs }

  pick<T> (items: readonly T[]): T { return items[this.int(items.length)] }

  bytes (length: number): Uint8Array {
    const out = new Uint8Array(length)
    for (let i = 0; i < length; i += 4) {
      const w = this.#next()
      for (let j = 0; j < 4 && i + j < length; j++) out[i + j] = (w >>> (8 * j)) & 0xff
    }
    return out
  }
}
