/**
 * Strict CBOR codec against cbor-x, in one run, on frame-like inputs: decode rate of
 * `decodeStrict` vs cbor-x's `Decoder`, and encode rate of `encodeCanonical` vs cbor-x's
 * `Encoder` configured without tags or records. Each pair gets a ratio row (ours / cbor-x).
 * `same_bytes` says whether cbor-x wrote our canonical bytes (it does not for maps, whose
 * keys it keeps in insertion order, nor for integers ≥ 2^32, which it writes as float64).
 *
 * @example
 * node bench/run.ts cbor --quick
 */
import { Decoder, Encoder } from 'cbor-x'
import { decodeStrict, encodeCanonical, type CborValue } from '../protocol/cbor.ts'
import type { BenchOptions, BenchResult } from './types.ts'

interface Case { name: string, value: CborValue }

function bytesOf (n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed * 17) & 0xff
  return out
}

function cases (): Case[] {
  // Keys inserted out of order on purpose: the sender builds records in field order of its own choosing.
  const envelope = new Map<number, CborValue>([
    [8, bytesOf(64, 8)], [0, 1], [1, bytesOf(32, 1)], [2, bytesOf(32, 2)], [3, 4242],
    [4, 1_700_000_000_000], [5, 2], [6, 1_700_086_400_000], [7, bytesOf(300, 7)],
  ])
  return [
    { name: 'frame [1, bstr 600]', value: [1, bytesOf(600, 0)] },
    { name: 'ids [1000 × bstr 32]', value: Array.from({ length: 1000 }, (_, i) => bytesOf(32, i)) },
    { name: 'envelope map, 9 fields', value: envelope },
  ]
}

/** Operations per second of `fn`: median of three timed rounds after a warm-up. */
function rate (fn: () => number, budgetMs: number): number {
  let sink = 0
  const round = (ms: number): number => {
    let ops = 0
    let batch = 1
    const start = performance.now()
    let elapsed = 0
    while (elapsed < ms) {
      for (let i = 0; i < batch; i++) sink += fn()
      ops += batch
      if (batch < 4096) batch *= 2
      elapsed = performance.now() - start
    }
    return ops / (elapsed / 1000)
  }
  round(budgetMs / 4)
  const rates = [round(budgetMs / 3), round(budgetMs / 3), round(budgetMs / 3)].sort((a, b) => a - b)
  if (sink === -1) throw new RangeError('unreachable: keeps results observable')
  return rates[1]
}

const hex = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

export async function bench (options: BenchOptions): Promise<BenchResult> {
  const budgetMs = options.quick ? 45 : 380
  const cborxDecoder = new Decoder({ useRecords: false, mapsAsObjects: false })
  const cborxEncoder = new Encoder({ useRecords: false, tagUint8Array: false, mapsAsObjects: false, variableMapSize: true })
  const rows: BenchResult['rows'] = []
  for (const c of cases()) {
    const ours = encodeCanonical(c.value)
    const theirs = cborxEncoder.encode(c.value)
    const same = hex(ours) === hex(theirs)
    options.log(`cbor: ${c.name} (${ours.length} B)`)
    const measured: Array<[string, string, () => number]> = [
      ['decode', 'ddil decodeStrict', () => decodeStrict(ours) === null ? 0 : 1],
      ['decode', 'cbor-x Decoder', () => cborxDecoder.decode(ours) === null ? 0 : 1],
      ['encode', 'ddil encodeCanonical', () => encodeCanonical(c.value).length],
      ['encode', 'cbor-x Encoder', () => cborxEncoder.encode(c.value).length],
    ]
    const results = measured.map(([op, contender, fn]) => ({ op, contender, opsPerS: rate(fn, budgetMs) }))
    for (const r of results) {
      rows.push({
        case: c.name, op: r.op, contender: r.contender, bytes: ours.length,
        ops_per_s: Math.round(r.opsPerS), mb_per_s: Number((r.opsPerS * ours.length / 1e6).toFixed(1)),
        ratio: null, same_bytes: r.op === 'encode' && r.contender.startsWith('cbor-x') ? same : null,
      })
    }
    for (const op of ['decode', 'encode']) {
      const [a, b] = results.filter(r => r.op === op)
      rows.push({
        case: c.name, op, contender: 'ratio ddil / cbor-x', bytes: ours.length,
        ops_per_s: null, mb_per_s: null, ratio: Number((a.opsPerS / b.opsPerS).toFixed(2)), same_bytes: null,
      })
    }
  }
  return {
    rows,
    notes: [
      'ops_per_s counts whole items (one frame, one 1000-id list, one envelope) per second; median of 3 rounds.',
      'decodeStrict copies every byte string and checks canonical form, order, limits and UTF-8; cbor-x returns views and checks none of these.',
      'same_bytes=false: cbor-x output differs from the canonical form (unsorted map keys, float64 for integers ≥ 2^32), so it cannot replace encodeCanonical.',
    ],
  }
}
