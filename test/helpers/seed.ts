/**
 * Seeded randomness for tests. `DDIL_SEED=<n>` replays a run; a failing test
 * prints the seed and the command that replays it.
 *
 * @example
 * const seed = testSeed(t)    // logs "seed 1234 (replay: DDIL_SEED=1234 npx tap test/x.test.ts)" on failure
 */
import { randomInt } from 'node:crypto'
import { basename } from 'node:path'

interface Teardownable {
  teardown (fn: () => void): void
  passing (): boolean
  comment (...args: unknown[]): void
}

export function testSeed (t: Teardownable, file: string = process.argv[1] ?? ''): number {
  const fromEnv = process.env.DDIL_SEED
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) : randomInt(2 ** 31)
  t.teardown(() => {
    if (!t.passing()) t.comment(`seed ${seed}; replay: DDIL_SEED=${seed} npx tap test/${basename(file)}`)
  })
  return seed
}

/** A small deterministic PRNG (mulberry32) for building test data from a seed. */
export function prng (seed: number): { next (): number, bytes (n: number): Uint8Array, int (max: number): number } {
  let s = seed >>> 0
  const next = (): number => {
    s = (s + 0x6d2b79f5) >>> 0
    let x = s
    x = Math.imul(x ^ (x >>> 15), x | 1)
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61)
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (max) => Math.floor(next() * max),
    bytes: (n) => { const b = new Uint8Array(n); for (let i = 0; i < n; i++) b[i] = Math.floor(next() * 256); return b },
  }
}
