// Set reconciliation (protocol/reconcile): exact differences on seeded random sets, frame bounds,
// pinned wire vectors, strict decoding, and bounded sessions against peers that misbehave.
import t, { type Test } from 'tap'
import { AbortReason, accept, decodeMessage, encodeMessage, initiate, MessageType, reconcile, ReconcileSet, subranges, type Message, type ReconcileOptions, type ReconcileSession } from '../protocol/reconcile/index.ts'
import { checkRange, inRange, RangeSource } from '../protocol/reconcile/range.ts'
import { RangeWalk } from '../protocol/engine/ranges.ts'
import { checksum, keyWord0, keyWord1, mapDraw, mapSalt, mapSeed, mapStep, mapsTo, nextIndex, signs } from '../protocol/reconcile/hash.ts'
import { binaryString, fromHex, toHex } from '../protocol/bytes.ts'
import { frameBytesMin, reconcileRoundsMax, reconcileSymbolsMax } from '../protocol/limits.ts'
import { prng, testSeed } from './helpers/seed.ts'

type Rng = ReturnType<typeof prng>
const hex = (b: Uint8Array): string => toHex(b)

interface Outcome { aHave: Set<string>, aNeed: Set<string>, bHave: Set<string>, bNeed: Set<string>, messages: number, bytes: number, largest: number, splitDepth: number, sessions: number }

function outcome (): Outcome {
  return { aHave: new Set(), aNeed: new Set(), bHave: new Set(), bNeed: new Set(), messages: 0, bytes: 0, largest: 0, splitDepth: 0, sessions: 0 }
}

/** Ping-pongs an initiator over `a` and a responder over `b` until a reply is null. */
function run (a: ReconcileSet, b: ReconcileSet, frameBytesMax?: number, between?: (round: number) => void, options: ReconcileOptions = {}, out = outcome()): Outcome {
  const { session: ia, message } = initiate(a, { frameBytesMax, ...options })
  const rb = accept(b, { frameBytesMax, ...options, range: undefined })
  let msg: Uint8Array | null = message
  let side: ReconcileSession = rb
  out.sessions++
  while (msg !== null) {
    out.messages++; out.bytes += msg.length; out.largest = Math.max(out.largest, msg.length)
    between?.(out.messages)
    const s = reconcile(side, msg)
    for (const id of s.have) (side === ia ? out.aHave : out.bHave).add(hex(id))
    for (const id of s.need) (side === ia ? out.aNeed : out.bNeed).add(hex(id))
    if (side === ia) out.splitDepth = s.splitDepth
    msg = s.reply
    side = side === rb ? ia : rb
  }
  if (!ia.done || !rb.done) throw new Error(`session ended with a side not done (initiator ${ia.done}, responder ${rb.done})`)
  return out
}

/** Reconciles as the engine does: a whole-set session, then range by range wherever one split (RangeWalk). */
function runAll (a: ReconcileSet, b: ReconcileSet, frameBytesMax?: number, options: ReconcileOptions = {}): Outcome {
  const walk = new RangeWalk()
  const out = outcome()
  do {
    const range = walk.next()
    run(a, b, frameBytesMax, undefined, { ...options, range }, out)
    walk.finished(range, out.splitDepth)
  } while (walk.active)
  return out
}

function makeSets (rng: Rng, shared: number, onlyA: number, onlyB: number, options = {}): { a: ReconcileSet, b: ReconcileSet, onlyA: Set<string>, onlyB: Set<string> } {
  const a = new ReconcileSet(options)
  const b = new ReconcileSet(options)
  for (let i = 0; i < shared; i++) { const id = rng.bytes(32); a.add(id); b.add(id) }
  const oa = new Set<string>()
  const ob = new Set<string>()
  for (let i = 0; i < onlyA; i++) { const id = rng.bytes(32); a.add(id); oa.add(hex(id)) }
  for (let i = 0; i < onlyB; i++) { const id = rng.bytes(32); b.add(id); ob.add(hex(id)) }
  return { a, b, onlyA: oa, onlyB: ob }
}

function checkExact (t: Test, o: Outcome, onlyA: Set<string>, onlyB: Set<string>, label: string): void {
  const same = (got: Set<string>, want: Set<string>, what: string): void => {
    if (want.size <= 1000) t.same([...got].sort(), [...want].sort(), `${label}: ${what}`)
    else t.ok(got.size === want.size && [...want].every(x => got.has(x)), `${label}: ${what} (${want.size} ids)`)
  }
  same(o.aHave, onlyA, 'initiator have = A \\ B')
  same(o.bNeed, onlyA, 'responder need = A \\ B')
  same(o.aNeed, onlyB, 'initiator need = B \\ A')
  same(o.bHave, onlyB, 'responder have = B \\ A')
}

t.test('exact differences on seeded random sets, both frame sizes', async t => {
  const rng = prng(testSeed(t))
  const cases: Array<[string, number, number, number]> = [
    ['both empty', 0, 0, 0], ['equal', 300, 0, 0], ['one missing', 300, 1, 0], ['1 each', 300, 1, 1],
    ['10 each', 2000, 10, 10], ['100 each', 2000, 100, 100], ['1000 each', 500, 1000, 1000],
    ['responder empty', 0, 700, 0], ['initiator empty', 0, 0, 700], ['all different', 0, 400, 400], ['lopsided', 1000, 3, 250],
  ]
  for (const frame of [frameBytesMin, 64 * 1024]) {
    for (const [label, shared, na, nb] of cases) {
      const { a, b, onlyA, onlyB } = makeSets(rng, shared, na, nb)
      const o = run(a, b, frame)
      checkExact(t, o, onlyA, onlyB, `${label} @${frame}`)
      t.ok(o.largest <= frame, `${label} @${frame}: largest message ${o.largest} ≤ ${frame}`)
    }
  }
})

t.test('random sizes and differences (seeded, 40 runs)', async t => {
  const rng = prng(testSeed(t))
  for (let i = 0; i < 40; i++) {
    const shared = rng.int(3000)
    const na = rng.int(4) === 0 ? 0 : rng.int(150)
    const nb = rng.int(4) === 0 ? 0 : rng.int(150)
    const frame = frameBytesMin + rng.int(8000)
    const { a, b, onlyA, onlyB } = makeSets(rng, shared, na, nb)
    const o = run(a, b, frame)
    checkExact(t, o, onlyA, onlyB, `run ${i} (${shared} shared, ${na}/${nb}, frame ${frame})`)
    t.ok(o.largest <= frame, `run ${i}: frame bound`)
  }
})

t.test('cost follows the difference, not the set', async t => {
  const rng = prng(testSeed(t))
  const equal = makeSets(rng, 20000, 0, 0)
  const e = run(equal.a, equal.b)
  t.equal(e.messages, 2, 'equal sets: one round trip')
  t.ok(e.bytes <= 128, `equal sets: ${e.bytes} B`)
  const ten = makeSets(rng, 20000, 10, 10)
  const o = run(ten.a, ten.b)
  t.ok(Math.ceil(o.messages / 2) <= 3, `10 each side: ${Math.ceil(o.messages / 2)} round trips`)
  t.ok(o.bytes <= 4096, `10 each side: ${o.bytes} B ≤ 4 KiB`)
})

t.test('two keys that shared an index sequence in version 1 decode, one on each side or both on one', async t => {
  // Found by a birthday search: version 1 seeded each key's index generator with a 32-bit hash
  // of the key, and these two got the same seed. They sat in exactly the same symbols, so no
  // symbol ever held one of them alone and decoding stalled until the symbol limit, every time.
  const x = fromHex('82f5c8d5652494705500a80fb0f273c12e158c3cfeec5fb134efff839b9cdea4')
  const y = fromHex('d1904c7a78fab61cbaa648292ecc6bc9c5c3dda100e31fbd30998b03465e32a8')
  const hits = (id: Uint8Array): number[] => Array.from({ length: 64 }, (_, i) => i).filter(i => mapsTo(keyWord0(id), keyWord1(id), i))
  t.notSame(hits(x), hits(y), 'their index sequences differ now')
  const rng = prng(testSeed(t))
  const cases: Array<[string, Uint8Array[], Uint8Array[]]> = [['one on each side', [x], [y]], ['both on one side', [x, y], []], ['both on the other', [], [x, y]]]
  for (const [label, inA, inB] of cases) {
    const { a, b, onlyA, onlyB } = makeSets(rng, 1000, 5, 5)
    for (const id of inA) { a.add(id); onlyA.add(hex(id)) }
    for (const id of inB) { b.add(id); onlyB.add(hex(id)) }
    checkExact(t, run(a, b, undefined, undefined, { symbolsMax: 4096 }), onlyA, onlyB, label)
  }
})

t.test('a difference of 100,000 decodes in one session (version 1 never decoded these sets)', async t => {
  // prng(1): 100,000 ids, alternately on each side. Version 1 stalled at 1,048,576 symbols on
  // these sets (two pairs of keys shared an index sequence), whichever side initiated.
  const rng = prng(1)
  const a = new ReconcileSet(); const b = new ReconcileSet()
  const onlyA = new Set<string>(); const onlyB = new Set<string>()
  for (let i = 0; i < 100_000; i++) {
    const id = rng.bytes(32)
    if (i % 2 === 1) { a.add(id); onlyA.add(hex(id)) } else { b.add(id); onlyB.add(hex(id)) }
  }
  const single = { differenceMax: reconcileSymbolsMax } // no SPLIT: one session takes it all on
  checkExact(t, run(a, b, undefined, undefined, single), onlyA, onlyB, 'A initiates')
  checkExact(t, run(b, a, undefined, undefined, single), onlyB, onlyA, 'B initiates')
})

t.test('any difference converges: past the session bound the key space is reconciled range by range', async t => {
  const rng = prng(testSeed(t))
  // 200,000 differences (100,000 each side) over 50,000 shared: one SPLIT, then ranges at the default bound.
  const big = makeSets(rng, 50_000, 100_000, 100_000)
  const o = runAll(big.a, big.b)
  checkExact(t, o, big.onlyA, big.onlyB, '200,000 differences')
  t.ok(o.sessions >= 4 && o.sessions <= 16, `${o.sessions} sessions (the whole set, then 2^k ranges of at most 65,536 estimated differences)`)
  t.ok(o.bytes / 200_000 <= 64, `${(o.bytes / 200_000).toFixed(1)} B per difference, as for one session`)

  // A small bound splits again and again (ranges of ranges); every frame stays within 2 KiB.
  for (const [shared, na, nb] of [[3000, 1500, 1500], [0, 4000, 0], [500, 0, 2500]]) {
    const s = makeSets(rng, shared, na, nb)
    const r = runAll(s.a, s.b, frameBytesMin, { differenceMax: 40 })
    checkExact(t, r, s.onlyA, s.onlyB, `bound 40, ${na}/${nb} over ${shared}`)
    t.ok(r.largest <= frameBytesMin, `largest message ${r.largest}`)
  }
  const equal = makeSets(rng, 5000, 0, 0)
  t.equal(runAll(equal.a, equal.b, undefined, { differenceMax: 1 }).sessions, 1, 'equal sets never split')
})

t.test('a session that cannot decode within its limits aborts and the range is retried deeper, nobody at fault', async t => {
  const rng = prng(testSeed(t))
  const s = makeSets(rng, 2000, 700, 700)
  // At most 600 symbols per session: the whole set cannot decode; halves and quarters can.
  const first = run(s.a, s.b, undefined, undefined, { symbolsMax: 600 })
  t.equal(first.splitDepth, 1, 'the initiator sent ABORT (no decode) and asks for halves')
  const o = runAll(s.a, s.b, undefined, { symbolsMax: 600 })
  checkExact(t, o, s.onlyA, s.onlyB, 'after aborts')
  t.ok(o.sessions > 3, `${o.sessions} sessions`)

  // A responder whose set changed past its journal during the session aborts too; the retry reads a range snapshot.
  const small = makeSets(rng, 100, 200, 200, { cachedSymbols: 32, journalEntries: 4 })
  const churned: string[] = []
  const churn = (): void => { for (let i = 0; i < 5; i++) { const id = rng.bytes(32); small.b.add(id); churned.push(hex(id)) } }
  const aborted = run(small.a, small.b, 4096, churn)
  t.equal(aborted.splitDepth, 1, 'ABORT (set changed), retried one level deeper')
  const rest = runAll(small.a, small.b, 4096)
  for (const id of churned) small.onlyB.add(id)
  checkExact(t, rest, small.onlyA, small.onlyB, 'the retry finds the whole difference')
})

t.test('ranges: subranges, membership, snapshots', async t => {
  t.same(subranges({ depth: 1, index: 1 }, 3), [{ depth: 3, index: 4 }, { depth: 3, index: 5 }, { depth: 3, index: 6 }, { depth: 3, index: 7 }])
  t.ok(inRange(0xffffffff, { depth: 32, index: 0xffffffff }) && inRange(0x80000000, { depth: 1, index: 1 }) && !inRange(0x7fffffff, { depth: 1, index: 1 }))
  for (const bad of [{ depth: 33, index: 0 }, { depth: 2, index: 4 }, { depth: -1, index: 0 }, { depth: 1.5, index: 0 }]) t.throws(() => checkRange(bad), { code: 'ERR_LIMIT' })
  const rng = prng(testSeed(t))
  const { a } = makeSets(rng, 3000, 0, 0)
  const range = { depth: 2, index: 3 }
  const source = new RangeSource(a, range, 1 << 20)
  const fresh = new ReconcileSet({ cachedSymbols: 300 })
  a.forEachKey((k0, k1) => {
    if (!inRange(k0, range)) return
    const id = new Uint8Array(32); new DataView(id.buffer).setUint32(0, k0, true); new DataView(id.buffer).setUint32(4, k1, true)
    fresh.add(id)
  })
  t.equal(source.size, fresh.size)
  t.ok(source.size > 600 && source.size < 900, `a quarter of the keys: ${source.size}`)
  t.same(Array.from(source.words(0, 300)), Array.from(fresh.symbols), 'a range snapshot codes its keys like a set of them')
  t.same(Array.from(source.sketch), Array.from(fresh.sketch))
  t.same(Array.from(source.words(200, 250)), Array.from(fresh.symbols.subarray(800, 1000)), 'any window')
})

t.test('differences past the symbol cache, with the sets changing mid-session', async t => {
  const rng = prng(testSeed(t))
  const { a, b, onlyA, onlyB } = makeSets(rng, 500, 300, 300, { cachedSymbols: 64 })
  const shared = Array.from({ length: 50 }, () => rng.bytes(32))
  for (const id of shared) { a.add(id); b.add(id) }
  // Each round both sides gain a common id and lose a common one: not part of the difference at the start.
  const o = run(a, b, 4096, () => {
    const id = rng.bytes(32); a.add(id); b.add(id)
    const gone = shared.pop(); if (gone !== undefined) { a.delete(gone); b.delete(gone) }
  })
  checkExact(t, o, onlyA, onlyB, 'extension + journal')

  // Within the cache: each side changes on its own between messages; the session still finds the difference at its start.
  const c = makeSets(rng, 2000, 40, 40)
  const spare = Array.from({ length: 60 }, () => rng.bytes(32))
  for (const id of spare) { c.a.add(id); c.b.add(id) }
  const o2 = run(c.a, c.b, frameBytesMin, round => {
    if (round % 2 === 0) c.a.add(rng.bytes(32)); else c.b.add(rng.bytes(32))
    const gone = spare.pop(); if (gone !== undefined) { if (round % 2 === 0) c.b.delete(gone); else c.a.delete(gone) }
  })
  checkExact(t, o2, c.onlyA, c.onlyB, 'cached symbols + one-sided changes')

  const small = makeSets(rng, 100, 200, 200, { cachedSymbols: 32, journalEntries: 4 })
  const churn = (): void => { for (let i = 0; i < 5; i++) { small.a.add(rng.bytes(32)); small.b.add(rng.bytes(32)) } }
  const overrun = run(small.a, small.b, 4096, churn)
  t.equal(overrun.splitDepth, 1, 'more changes than the journal holds: ABORT and a retry one level deeper, not a wrong answer')
  t.same([...overrun.aHave, ...overrun.aNeed], [], 'nothing learnt from the aborted session')
})

t.test('ids purged or received while a session runs are left out, not errors', async t => {
  const rng = prng(testSeed(t))
  const { a, b, onlyA, onlyB } = makeSets(rng, 1000, 20, 20)
  const [x] = [...onlyA]; const [y, z] = [...onlyB]
  const o = run(a, b, undefined, (k) => {
    if (k === 2) { a.delete(fromHex(x)); a.add(fromHex(y)) } // the initiator purges one of its own, receives one of theirs
    if (k === 3) b.delete(fromHex(z)) // the responder purges one the initiator lacks
  })
  onlyA.delete(x); onlyB.delete(y); onlyB.delete(z)
  checkExact(t, o, onlyA, onlyB, 'changes during the session')
})

t.test('the responder is told of every id the initiator pushes, one it received meanwhile too', async t => {
  // The initiator pushes all it listed; a responder that got one from elsewhere since must
  // hear of it, to tell the initiator it has it (the engine's `have`) before the copy leaves.
  const rng = prng(testSeed(t))
  const { a, b, onlyA, onlyB } = makeSets(rng, 1000, 20, 20)
  const [x] = [...onlyA]
  const o = run(a, b, undefined, (k) => { if (k === 2) b.add(fromHex(x)) })
  t.ok(o.bNeed.has(x), 'listed to the responder, though it holds it by then')
  t.same([...o.bNeed].sort(), [...onlyA].sort())
  t.same([...o.aNeed].sort(), [...onlyB].sort())
})

t.test('the set: incremental symbols equal a fresh build; key collisions', async t => {
  const rng = prng(testSeed(t))
  const ids = Array.from({ length: 200 }, () => rng.bytes(32))
  const s = new ReconcileSet({ cachedSymbols: 256 })
  for (const id of ids) t.equal(s.add(id), true)
  t.equal(s.add(ids[0]), false, 'duplicate add')
  for (const id of ids.slice(100)) t.equal(s.delete(id), true)
  t.equal(s.delete(ids[150]), false, 'delete of an absent id')
  const fresh = new ReconcileSet({ cachedSymbols: 256 })
  for (const id of ids.slice(0, 100)) fresh.add(id)
  t.same(Array.from(s.symbols), Array.from(fresh.symbols), 'symbols')
  t.same(Array.from(s.sketch), Array.from(fresh.sketch), 'sketch')
  t.equal(s.size, 100)
  for (const id of ids.slice(0, 100)) s.delete(id)
  t.ok(s.symbols.every(x => x === 0) && s.sketch.every(x => x === 0), 'empty again: all zero')

  // Two ids sharing their first 8 bytes: one reconciles, the other waits aside and takes over.
  const x = rng.bytes(32); const y = x.slice(); y[31] ^= 1
  const [lo, hi] = hex(x) < hex(y) ? [x, y] : [y, x]
  const c = new ReconcileSet()
  c.add(hi); c.add(lo)
  t.equal(c.size, 1); t.ok(c.has(lo) && c.has(hi))
  t.equal(hex(c.lookup(keyWord0(lo), keyWord1(lo)) as Uint8Array), hex(lo), 'the smaller id takes part')
  const before = Array.from(c.symbols)
  c.delete(lo)
  t.equal(hex(c.lookup(keyWord0(hi), keyWord1(hi)) as Uint8Array), hex(hi), 'the other takes over')
  t.same(Array.from(c.symbols), before, 'symbols depend on the key only')
  // Ids whose keys differ but share a bucket (the low 30 bits of the first word): all take part.
  const m = x.slice(); m[3] ^= 0x40 // bit 30 of word 0: outside the bucket bits
  const n = x.slice(); n[5] ^= 1 // word 1 differs
  const e = new ReconcileSet({ cachedSymbols: 64 })
  for (const id of [x, m, n, y]) e.add(id) // y shares x's whole key
  t.equal(e.size, 3, 'three distinct keys take part')
  const f = new ReconcileSet({ cachedSymbols: 64 })
  for (const id of [lo, m, n]) f.add(id)
  t.same(Array.from(e.symbols), Array.from(f.symbols), 'symbols as if each key came alone')
  const keys: string[] = []
  e.forEachKey((k0, k1) => keys.push(`${k0}:${k1}`))
  t.same(keys.sort(), [x, m, n].map(id => `${keyWord0(id)}:${keyWord1(id)}`).sort(), 'each key visited once')
  for (const id of [m, n, lo]) t.equal(hex(e.lookup(keyWord0(id), keyWord1(id)) as Uint8Array), hex(id))
  e.delete(m); e.delete(lo)
  t.equal(e.size, 2); t.ok(e.has(hi) && e.has(n) && !e.has(m))
  e.delete(n); e.delete(hi)
  t.ok(e.size === 0 && e.symbols.every(v => v === 0), 'empty again')
  t.throws(() => c.add(new Uint8Array(31)), { code: 'ERR_DECODE' })
  t.throws(() => new ReconcileSet({ cachedSymbols: 0 }), { code: 'ERR_LIMIT' })

  // Ids may be given as their binary strings (how the engine shares them with its catalog).
  const z = rng.bytes(32); z[20] = 0x7f; const w = z.slice(); w[20] = 0x80 // differ where a signed compare would disagree
  const d = new ReconcileSet()
  t.equal(d.add(binaryString(w)), true); t.equal(d.add(z), true)
  t.ok(d.has(binaryString(z)) && d.has(w), 'bytes and strings name the same ids')
  t.equal(hex(d.lookup(keyWord0(z), keyWord1(z)) as Uint8Array), hex(z), 'byte order decides which takes part (0x7f < 0x80)')
  t.equal(d.add(w), false, 'present, whichever form')
  t.equal(d.delete(binaryString(z)), true); t.equal(d.delete(w), true); t.equal(d.size, 0)
  t.throws(() => d.add('\u0100'.repeat(32)), { code: 'ERR_DECODE' }, 'a char above 255 is not an id byte')
  t.throws(() => d.add('x'), { code: 'ERR_DECODE' })
})

t.test('pinned vectors: hash functions and the symbol cache', async t => {
  const id = Uint8Array.from({ length: 32 }, (_, i) => i)
  const k0 = keyWord0(id); const k1 = keyWord1(id)
  t.equal(k0, 0x03020100); t.equal(k1, 0x07060504)
  t.equal(checksum(k0, k1), 0x29dfeed0)
  t.equal(signs(k0, k1, 0), 0x21cc7cc0)
  const salt = mapSalt(k0, k1)
  t.equal(salt, 0x39e4edd7); t.equal(mapSeed(k0, salt), 0x2ed307b9)
  // (seed, salt) is a bijection of the key (two Feistel rounds), so no two keys share a generator state.
  const rng = prng(testSeed(t))
  for (let n = 0; n < 1000; n++) {
    const [a0, a1] = [rng.int(2 ** 32), rng.int(2 ** 32)]
    const st = mapSalt(a0, a1); const sd = mapSeed(a0, st)
    const b0 = (sd ^ mapSeed(0, st)) >>> 0 // mapSeed(k0, salt) = k0 XOR f(salt)
    t.ok(b0 === a0 && (st ^ mapSalt(b0, 0)) >>> 0 === a1, 'the key is recovered from its generator state')
    if (b0 !== a0) break
  }
  const idx: number[] = []
  for (let i = 0, s = mapSeed(k0, salt); i < 4096; s = mapStep(s), i = nextIndex(i, mapDraw(s, salt))) idx.push(i)
  t.same(idx, [0, 1, 9, 97, 102, 112, 241, 405, 480, 2546, 3162])
  const set = new ReconcileSet({ cachedSymbols: 8 })
  set.add(id); set.add(Uint8Array.from({ length: 32 }, (_, i) => 255 - i))
  t.same(Array.from(set.symbols), [-1, -1, 878132563, 2, -1, -1, 878132563, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -50462977, -117835013, 495506307, 1])
  t.same(Array.from(set.sketch.slice(0, 8)), [-2, -2, 0, 0, -2, -2, 2, 0])
})

const id32 = Uint8Array.from({ length: 32 }, (_, i) => i)
const vectors: Array<[string, Message, string]> = [
  ['hello', { type: MessageType.hello, frameBytesMax: 2048, symbol0: Int32Array.from([0x03020100, 0x07060504, -1, 44]), sketch: new Uint16Array(64).map((_, j) => (j * 67) & 0xfff) },
    '020180100001020304050607ffffffff2c00300486900c0cf11492511d18b2259e122e247336aad33e303447b6944f3cf557c2556048b668ce1671547779dad78160388ae698926cf99af259a378baabfe1ab4847bbc0adcc4903ccd169dd59cfddd225ee6a8beee2e1ff7b47fff3ad007'],
  ['equal', { type: MessageType.equal }, '0202'],
  ['symbols', { type: MessageType.symbols, start: 130, estimate: 20, words: Int32Array.from([1, 2, 3, 255, -2, 0x7fffffff, 0, 1]) }, '020382011402010000000200000003000000fffeffffffffffff7f0000000001'],
  ['more', { type: MessageType.more, n: 300 }, '0204ac02'],
  ['lists', { type: MessageType.lists, last: true, ids: [id32], keys: [[0x01020304, 0xa0b0c0d0]] }, '0205010101000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f04030201d0c0b0a0'],
  ['ids', { type: MessageType.ids, fin: false, suffixes: [id32.slice(8)] }, '0206000108090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'],
  ['range', { type: MessageType.range, depth: 5, index: 19, frameBytesMax: 2048, symbol0: Int32Array.from([0x03020100, 0x07060504, -1, 44]), sketch: new Uint16Array(64).map((_, j) => (j * 67) & 0xfff) },
    '0207051380100001020304050607ffffffff2c00300486900c0cf11492511d18b2259e122e247336aad33e303447b6944f3cf557c2556048b668ce1671547779dad78160388ae698926cf99af259a378baabfe1ab4847bbc0adcc4903ccd169dd59cfddd225ee6a8beee2e1ff7b47fff3ad007'],
  ['split', { type: MessageType.split, depth: 4 }, '020804'],
  ['abort', { type: MessageType.abort, reason: AbortReason.noDecode }, '020901'],
]

t.test('pinned vectors: messages encode and decode', async t => {
  for (const [name, m, bytes] of vectors) {
    t.equal(toHex(encodeMessage(m)), bytes, `${name}: encode`)
    const back = decodeMessage(fromHex(bytes), { symbolsMax: 1 << 20 })
    t.equal(toHex(encodeMessage(back)), bytes, `${name}: decode → encode`)
    t.equal(back.type, m.type)
  }
  const h = decodeMessage(fromHex(vectors[0][2]), { symbolsMax: 1 }) as Extract<Message, { type: 1 }>
  t.equal(h.frameBytesMax, 2048); t.equal(h.symbol0[3], 44); t.equal(h.sketch[63], (63 * 67) & 0xfff)
})

t.test('junk messages give DecodeError or LimitError', async t => {
  const limits = { symbolsMax: 1000 }
  const cases: Array<[string, string, string]> = [
    ['empty', '', 'ERR_DECODE'],
    ['unknown version (1: before the index generator took a 64-bit state)', '0102', 'ERR_DECODE'],
    ['unknown type', '020f', 'ERR_DECODE'],
    ['trailing byte', '020200', 'ERR_DECODE'],
    ['truncated hello', vectors[0][2].slice(0, 40), 'ERR_DECODE'],
    ['hello with a tiny frame', '02017f' + '00'.repeat(13 + 96), 'ERR_LIMIT'],
    ['truncated symbols', vectors[2][2].slice(0, -2), 'ERR_DECODE'],
    ['symbols declaring more than the limit (before allocating)', '02030000e907', 'ERR_LIMIT'],
    ['symbols declaring 2^32 in 8 bytes', '020300008080808010', 'ERR_LIMIT'],
    ['symbols declaring more than the bytes present', '0203000005' + '00'.repeat(13), 'ERR_DECODE'],
    ['empty symbols', '02030000 00'.replace(' ', ''), 'ERR_DECODE'],
    ['symbols past the limit', '0203e7070002' + '00'.repeat(26), 'ERR_LIMIT'],
    ['more 0', '020400', 'ERR_DECODE'],
    ['more over the limit', '0204e907', 'ERR_LIMIT'],
    ['non-canonical varint', '02048100', 'ERR_DECODE'],
    ['lists with unknown flags', '0205020000', 'ERR_DECODE'],
    ['lists declaring 2^28 ids', '02050080808080010000', 'ERR_DECODE'],
    ['ids truncated', vectors[5][2].slice(0, -2), 'ERR_DECODE'],
    ['range at depth 0 (that is HELLO)', '020700' + vectors[6][2].slice(8), 'ERR_DECODE'],
    ['range deeper than 32', '020721' + vectors[6][2].slice(6), 'ERR_DECODE'],
    ['range index past 2^depth', '02070520' + vectors[6][2].slice(8), 'ERR_DECODE'],
    ['range with a tiny frame', '020705137f' + vectors[6][2].slice(12), 'ERR_LIMIT'],
    ['split to depth 0', '020800', 'ERR_DECODE'],
    ['split deeper than 32', '020821', 'ERR_DECODE'],
    ['abort for no reason', '020900', 'ERR_DECODE'],
    ['abort for an unknown reason', '020904', 'ERR_DECODE'],
    ['abort with trailing bytes', '02090100', 'ERR_DECODE'],
  ]
  for (const [name, h, code] of cases) t.throws(() => decodeMessage(fromHex(h), limits), { code }, name)

  const rng = prng(testSeed(t))
  const { a } = makeSets(rng, 10, 0, 0)
  const big = new Uint8Array(frameBytesMin + 1); big[0] = 2; big[1] = MessageType.equal
  t.throws(() => reconcile(initiate(a, { frameBytesMax: frameBytesMin }).session, big), { code: 'ERR_LIMIT' }, 'message over the frame limit')
  t.throws(() => reconcile(accept(a), encodeMessage({ type: MessageType.more, n: 5 })), { code: 'ERR_PROTOCOL' }, 'MORE before HELLO')
  t.throws(() => reconcile(initiate(a).session, encodeMessage({ type: MessageType.ids, fin: true, suffixes: [] })), { code: 'ERR_PROTOCOL' }, 'IDS before LISTS')
  t.throws(() => reconcile(initiate(a, { range: { depth: 3, index: 1 } }).session, encodeMessage({ type: MessageType.split, depth: 3 })), { code: 'ERR_PROTOCOL' }, 'SPLIT no deeper than the session')
  t.throws(() => reconcile(accept(a), encodeMessage({ type: MessageType.split, depth: 3 })), { code: 'ERR_PROTOCOL' }, 'SPLIT to a responder')
  t.throws(() => initiate(a, { range: { depth: 2, index: 4 } }), { code: 'ERR_LIMIT' }, 'no such range')
  t.throws(() => initiate(a, { frameBytesMax: 100 }), { code: 'ERR_LIMIT' }, 'frame option below the minimum')
  t.throws(() => initiate(a, { roundsMax: reconcileRoundsMax + 1 }), { code: 'ERR_LIMIT' }, 'rounds option above the limit')
})

t.test('malicious peers: sessions end with ABORT at the configured bound, or an error for lies', async t => {
  const rng = prng(testSeed(t))
  const { a, b } = makeSets(rng, 100, 20, 20)
  const typeOf = (m: Uint8Array | null): number | undefined => m === null ? undefined : decodeMessage(m, { symbolsMax: 1 << 20 }).type

  // A responder that streams junk symbols that never decode: the initiator stops at symbolsMax.
  // It cannot tell junk from an honest difference too large for the limit: ABORT, retry deeper.
  const { session: ia, message } = initiate(a, { symbolsMax: 3000 })
  let start = 0
  let last = reconcile(ia, encodeMessage({ type: MessageType.symbols, start, estimate: 50, words: new Int32Array(4) }))
  start = 1
  for (let i = 0; i < 10_000 && typeOf(last.reply) === MessageType.more; i++) {
    const n = (decodeMessage(last.reply as Uint8Array, { symbolsMax: 1 << 20 }) as Extract<Message, { type: 4 }>).n
    const words: Int32Array = Int32Array.from({ length: n * 4 }, (_, j) => j % 4 === 3 ? rng.int(256) : (rng.next() * 2 ** 32) | 0)
    last = reconcile(ia, encodeMessage({ type: MessageType.symbols, start, estimate: 50, words }))
    start += n
  }
  t.same(decodeMessage(last.reply as Uint8Array, { symbolsMax: 1 }), { type: MessageType.abort, reason: AbortReason.noDecode }, 'junk symbol stream ends with ABORT (no decode)')
  t.ok(last.done && last.splitDepth === 1, 'the session is over; the next attempt splits')
  t.ok(start <= 3000, `stopped after ${start} symbols`)

  // An initiator that keeps asking for more: the responder stops at symbolsMax.
  const rb = accept(b, { symbolsMax: 2000 })
  let sent = 0
  const symbolsIn = (reply: Uint8Array | null): number => (decodeMessage(reply as Uint8Array, { symbolsMax: 1 << 20 }) as Extract<Message, { type: 3 }>).words.length / 4
  let answer = reconcile(rb, initiate(a).message).reply
  for (let i = 0; i < 10_000 && typeOf(answer) === MessageType.symbols; i++) {
    sent += symbolsIn(answer)
    answer = reconcile(rb, encodeMessage({ type: MessageType.more, n: 500 })).reply
  }
  t.same(decodeMessage(answer as Uint8Array, { symbolsMax: 1 }), { type: MessageType.abort, reason: AbortReason.limit }, 'endless MORE ends with ABORT (limit)')
  t.ok(sent <= 2000, `sent ${sent} symbols`)
  t.throws(() => reconcile(rb, encodeMessage({ type: MessageType.more, n: 5 })), { code: 'ERR_PROTOCOL' }, 'and nothing more is answered')

  // A responder that never says fin: the initiator stops at roundsMax (the default limit).
  const pair = makeSets(rng, 50, 3, 3)
  const i2 = initiate(pair.a)
  const r2 = accept(pair.b)
  let m: Uint8Array | null = reconcile(r2, i2.message).reply
  while (m !== null && decodeMessage(m, { symbolsMax: 1 << 20 }).type === MessageType.symbols) {
    const s = reconcile(i2.session, m)
    m = reconcile(r2, s.reply as Uint8Array).reply
  }
  t.equal(m !== null && decodeMessage(m, { symbolsMax: 1 << 20 }).type, MessageType.ids, 'reached the lists phase')
  let handled = 0
  let end = reconcile(i2.session, encodeMessage({ type: MessageType.ids, fin: false, suffixes: [] })) // never the real, final answer
  for (let i = 0; i < 2 * reconcileRoundsMax && typeOf(end.reply) === MessageType.lists; i++) {
    handled = i2.session.rounds
    end = reconcile(i2.session, encodeMessage({ type: MessageType.ids, fin: false, suffixes: [] }))
  }
  t.same(decodeMessage(end.reply as Uint8Array, { symbolsMax: 1 }), { type: MessageType.abort, reason: AbortReason.limit }, 'a peer that never finishes is answered with ABORT')
  t.equal(handled, reconcileRoundsMax, 'after exactly roundsMax messages handled')

  // Lies: more answers than keys asked, and a key decoded twice, are ProtocolErrors.
  const p3 = makeSets(rng, 20, 2, 2)
  const i3 = initiate(p3.a)
  const r3 = accept(p3.b)
  let x: Uint8Array | null = reconcile(r3, i3.message).reply
  while (x !== null && decodeMessage(x, { symbolsMax: 1 << 20 }).type === MessageType.symbols) x = reconcile(r3, reconcile(i3.session, x).reply as Uint8Array).reply
  t.throws(() => reconcile(i3.session, encodeMessage({ type: MessageType.ids, fin: true, suffixes: Array.from({ length: 5 }, () => new Uint8Array(24).fill(1)) })), { code: 'ERR_PROTOCOL' }, 'unasked-for ids')

  // An initiator asking about more keys than the responder holds (memory amplification): LimitError.
  const r4 = accept(p3.b)
  reconcile(r4, initiate(p3.a).message)
  const keys = Array.from({ length: p3.b.size + 1 }, (): [number, number] => [rng.int(2 ** 32), rng.int(2 ** 32)])
  t.throws(() => reconcile(r4, encodeMessage({ type: MessageType.lists, last: false, ids: [], keys })), { code: 'ERR_LIMIT' }, 'too many keys')
})
