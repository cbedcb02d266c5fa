// The simulator's parts, each on its own: event order, seeded streams, node clocks,
// the simulated disk (the shared Store acceptance suite) and its crash window, the
// memoised verifier (never reuses an answer for different bytes), and the workload.
import t from 'tap'
import { createNodeCrypto } from '../node/crypto.ts'
import { NodeClock, parseDrift, parseSkew } from '../sim/clock.ts'
import { Rng } from '../sim/rng.ts'
import { Scheduler } from '../sim/scheduler.ts'
import { SimDisk, StringPool } from '../sim/sim-disk.ts'
import { SimStore } from '../sim/sim-store.ts'
import { memoisedCrypto, sharedDecoder } from '../sim/verify-cache.ts'
import { authorRef, Kind, signEnvelope } from '../protocol/envelope.ts'
import { scheduleTimes } from '../sim/workload.ts'
import { runStoreAcceptance } from './store-acceptance.ts'
import { testSeed } from './helpers/seed.ts'

const seed = testSeed(t)
const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes)

runStoreAcceptance(t, 'SimDisk', { open: async () => new SimDisk(), reopen: async (old) => (old as SimDisk).clone() }, seed)
const fleetPool = new StringPool()
runStoreAcceptance(t, 'SimDisk (fleet pool)', { open: async () => new SimDisk(fleetPool), reopen: async (old) => (old as SimDisk).clone() }, seed)

t.test('keys with empty values: held per disk through the pool, switching forms both ways', async t => {
  const pool = new StringPool()
  const [one, two] = [new SimDisk(pool), new SimDisk(pool)]
  one.batchSync([{ type: 'put', key: b(5), value: b() }, { type: 'put', key: b(6), value: b() }, { type: 'put', key: b(7), value: b(1) }])
  two.batchSync([{ type: 'put', key: b(6), value: b() }])
  t.same(one.getSync(b(5)), b(), 'held, empty')
  t.equal(two.getSync(b(5)), undefined, 'another disk does not hold it')
  t.equal(one.size, 3); t.equal(two.size, 1)
  t.same(one.rangeSync().map(([k, v]) => [k[0], v.length]), [[5, 0], [6, 0], [7, 1]], 'ranges merge both forms in key order')
  one.batchSync([{ type: 'put', key: b(6), value: b(9) }, { type: 'put', key: b(7), value: b() }, { type: 'del', key: b(5) }])
  t.same(one.rangeSync().map(([k, v]) => [k[0], [...v]]), [[6, [9]], [7, []]], 'empty to value, value to empty, delete')
  t.same(two.getSync(b(6)), b(), 'the other disk keeps its own empty hold')
  two.batchSync([{ type: 'del', key: b(6) }])
  t.equal(two.size, 0); t.equal(one.size, 2)
  const copy = one.clone()
  one.batchSync([{ type: 'del', key: b(7) }])
  t.same(copy.getSync(b(7)), b(), 'a clone keeps what the original held when cloned')
  t.equal(copy.size, 2)
})

t.test('disks sharing a pool keep their own values exactly', async t => {
  const pool = new StringPool()
  const [one, two] = [new SimDisk(pool), new SimDisk(pool)]
  const tail = Uint8Array.from({ length: 300 }, (_, i) => (i * 131) & 0xff)
  const record = (head: number): Uint8Array => { const v = new Uint8Array(316); v.fill(head, 0, 16); v.set(tail, 16); return v }
  const v1 = record(1)
  one.batchSync([{ type: 'put', key: b(1, 0), value: v1 }])
  two.batchSync([{ type: 'put', key: b(1, 0), value: record(2) }, { type: 'put', key: b(2), value: b(0, 255) }])
  v1.fill(9)
  t.same(one.getSync(b(1, 0)), record(1), 'first disk: its own head, the shared tail, unaffected by the caller mutating its input')
  t.same(two.getSync(b(1, 0)), record(2), 'second disk: its own head')
  t.same(two.getSync(b(2)), b(0, 255), 'short values kept whole')
  t.equal(pool.size, 2, 'two keys, whatever the disks hold under them')
  const read = one.getSync(b(1, 0)) as Uint8Array
  read[20] ^= 1
  t.same(one.getSync(b(1, 0)), record(1), 'reads are copies')
})

t.test(`long and short values through freed and reused slots agree with a model (seed ${seed})`, async t => {
  const rng = Rng.from(seed).fork('value-slots')
  const pool = new StringPool()
  const disk = new SimDisk(pool)
  const other = new SimDisk(pool) // same tails, other heads: must never bleed across
  const model = new Map<number, Uint8Array>()
  const otherModel = new Map<number, Uint8Array>()
  const value = (): Uint8Array => {
    const long = rng.float() < 0.6
    const v = rng.bytes(long ? 64 + Math.floor(rng.float() * 200) : Math.floor(rng.float() * 64))
    if (long) v.set(rng.bytes(8), 0)
    return v
  }
  let clone: { disk: SimDisk, model: Map<number, Uint8Array> } | undefined
  for (let round = 0; round < 3000; round++) {
    const k = Math.floor(rng.float() * 400)
    if (rng.float() < 0.3) { disk.batchSync([{ type: 'del', key: b(k >> 8, k & 0xff) }]); model.delete(k) } else {
      const v = value()
      const w = rng.float() < 0.5 ? v.slice() : Uint8Array.from(v, x => x ^ 0x5a) // the same value as `disk`, or another
      disk.batchSync([{ type: 'put', key: b(k >> 8, k & 0xff), value: v }])
      other.batchSync([{ type: 'put', key: b(k >> 8, k & 0xff), value: w }])
      model.set(k, v)
      otherModel.set(k, w)
    }
    if (round === 1500) clone = { disk: disk.clone(), model: new Map(model) }
  }
  const check = (d: SimDisk, m: Map<number, Uint8Array>): string[] => {
    const wrong: string[] = []
    for (let k = 0; k < 400; k++) {
      const got = d.getSync(b(k >> 8, k & 0xff))
      const want = m.get(k)
      if ((got === undefined) !== (want === undefined) || (got !== undefined && want !== undefined && got.join() !== want.join())) wrong.push(`key ${k}`)
    }
    return wrong
  }
  t.same(check(disk, model), [], 'every key as the model has it')
  t.equal(disk.size, model.size)
  t.same(check(other, otherModel), [], 'a disk sharing the pool keeps its own values, equal to the first or not')
  t.same(check(clone!.disk, clone!.model), [], 'a clone taken half-way keeps its own slots while the original reuses them')
  t.same(disk.rangeSync().map(([k]) => (k[0] << 8) | k[1]), [...model.keys()].sort((x, y) => x - y), 'ranges list exactly the live keys')
})

t.test('scheduler: whether the runner must drain before the next event (later, a barrier, or none)', async t => {
  const s = new Scheduler()
  const seen: string[] = []
  s.at(5, () => seen.push('a'))
  s.at(5, () => seen.push('b'))
  s.at(5, () => seen.push('crash'), true)
  s.at(7, () => seen.push('c'))
  s.step(Infinity)
  t.equal(s.nextIsLaterOrBarrier(), false, 'another event of the same instant: no drain yet')
  s.step(Infinity)
  t.equal(s.nextIsLaterOrBarrier(), true, 'a scenario event next, at the same instant: drain first')
  s.step(Infinity)
  t.equal(s.nextIsLaterOrBarrier(), true, 'time moves on: drain')
  s.step(Infinity)
  t.equal(s.nextIsLaterOrBarrier(), true, 'nothing left: drain')
  t.same(seen, ['a', 'b', 'crash', 'c'], 'a barrier keeps its place in the order')
})

t.test('scheduler: time order, then scheduling order; cancel; never in the past', async t => {
  const s = new Scheduler()
  const seen: string[] = []
  s.at(10, () => seen.push('10a'))
  s.at(5, () => { seen.push('5'); s.after(5, () => seen.push('10c')); s.at(1, () => seen.push('past→5')) })
  s.at(10, () => seen.push('10b'))
  const cancel = s.at(7, () => seen.push('cancelled'))
  cancel()
  while (s.step(Infinity)) {}
  t.same(seen, ['5', 'past→5', '10a', '10b', '10c'])
  t.equal(s.now, 10)
  t.equal(s.executed, 5, 'cancelled events are not counted')
  s.at(20, () => seen.push('late'))
  t.notOk(s.step(20), 'step stops before untilMs')
})

t.test('rng: same seed and path replay; forks are independent of draw order', async t => {
  const a = Rng.from(seed).fork('link').fork('a>b')
  const again = Rng.from(seed).fork('link').fork('a>b')
  const xs = Array.from({ length: 100 }, () => a.float())
  t.same(Array.from({ length: 100 }, () => again.float()), xs)
  t.ok(xs.every(x => x >= 0 && x < 1))
  const parent = Rng.from(seed)
  parent.float(); parent.float()
  t.same(Array.from({ length: 5 }, () => parent.fork('x').float()), Array.from({ length: 5 }, () => Rng.from(seed).fork('x').float()), 'fork ignores the parent position')
  t.not(Rng.from(seed).fork('x').float(), Rng.from(seed).fork('y').float())
  const r = Rng.from(seed)
  const counts = [0, 0, 0, 0]
  for (let i = 0; i < 4000; i++) counts[r.int(4)]++
  t.ok(counts.every(c => c > 850 && c < 1150), `roughly uniform: ${counts.join(',')}`)
  t.equal(r.bytes(7).length, 7)
})

t.test('node clock: skew, drift, timers in local time, retired timers never fire', async t => {
  const s = new Scheduler()
  const epoch = 1_000_000
  const ahead = new NodeClock(s, epoch, { skewMs: parseSkew('+24h'), driftPpm: 0 })
  const fast = new NodeClock(s, epoch, { skewMs: parseSkew('-90s'), driftPpm: parseDrift('1000ppm') })
  t.equal(ahead.nowMs(), epoch + 86_400_000)
  t.equal(fast.nowMs(), epoch - 90_000)
  const fired: number[] = []
  fast.schedule(1001, () => fired.push(s.now))
  const dead = new NodeClock(s, epoch, { skewMs: 0, driftPpm: 0 })
  dead.schedule(10, () => fired.push(-1))
  dead.retire()
  while (s.step(Infinity)) {}
  t.equal(fired.length, 1, 'the retired clock\'s timer never fired')
  t.ok(Math.abs(fired[0] - 1000) < 1e-6, `a clock 1000 ppm fast reaches 1001 ms of its time after 1000 ms of true time (${fired[0]})`)
  t.equal(fast.nowMs(), epoch - 90_000 + 1001)
  t.throws(() => parseDrift('5%'), { code: 'ERR_CONFIG' })
  t.throws(() => parseSkew('-1x'), { code: 'ERR_CONFIG' })
})

t.test('simulated store: a batch is durable only after writeMs; a crash loses it', async t => {
  const s = new Scheduler()
  const wake = { pending: false }
  const disk = new SimDisk()
  const first = new SimStore(disk, s, 1, wake)
  let durable = false
  void first.batch([{ type: 'put', key: b(1), value: b(1) }]).then(() => { durable = true })
  t.equal(disk.getSync(b(1)), undefined, 'not on disk before writeMs')
  s.step(Infinity)
  await Promise.resolve()
  t.ok(durable && wake.pending, 'resolved and the runner woken')
  t.same(disk.getSync(b(1)), b(1))
  let lost = true
  void first.batch([{ type: 'put', key: b(2), value: b(2) }]).then(() => { lost = false })
  first.crash()
  s.step(Infinity)
  await Promise.resolve()
  t.ok(lost, 'a batch in flight at the crash never resolves')
  t.equal(disk.getSync(b(2)), undefined, 'and never lands')
  t.equal(first.lost, 1)
  await t.rejects(first.get(b(1)), { code: 'ERR_STORAGE' }, 'the crashed incarnation is closed')
  const second = new SimStore(disk, s, 1, wake)
  t.same(await second.get(b(1)), b(1), 'the next incarnation sees what was durable')
  t.throws(() => second.batch([{ type: 'put', key: 'x' as unknown as Uint8Array, value: b() }]), { code: 'ERR_STORAGE' }, 'malformed batches fail when issued')
})

t.test('memoised verification answers only for identical bytes', async t => {
  const inner = createNodeCrypto()
  const crypto = memoisedCrypto(inner)
  const keys = inner.ed25519KeyPair(new Uint8Array(32).fill(seed & 0xff))
  const other = inner.ed25519KeyPair(new Uint8Array(32).fill((seed + 1) & 0xff))
  const msg = b(1, 2, 3, 4)
  const sig = inner.ed25519Sign(keys.privateKey, msg)
  t.ok(crypto.ed25519Verify(keys.publicKey, msg, sig))
  t.ok(crypto.ed25519Verify(keys.publicKey, msg, sig))
  t.same(crypto.verifyStats, { calls: 2, computed: 1 }, 'second call answered from the cache')
  t.notOk(crypto.ed25519Verify(keys.publicKey, b(1, 2, 3, 5), sig), 'same signature, altered message: verified afresh and refused')
  t.notOk(crypto.ed25519Verify(other.publicKey, msg, sig), 'same signature, another key: refused')
  t.equal(crypto.verifyStats.computed, 3)
  const bad = sig.slice()
  bad[0] ^= 1
  t.notOk(crypto.ed25519Verify(keys.publicKey, msg, bad), 'flipped first signature bit (filed under the same memo number): refused')
  t.equal(crypto.verifyStats.computed, 4, 'and verified afresh')
  t.ok(crypto.ed25519Verify(keys.publicKey, msg, sig), 'the original still verifies')
})

t.test('memoised SHA-256 answers only for identical bytes, with a copy', async t => {
  const inner = createNodeCrypto()
  const crypto = memoisedCrypto(inner)
  const data = Uint8Array.from({ length: 200 }, (_, i) => i)
  const first = crypto.sha256(data)
  const again = crypto.sha256(data.slice())
  t.same(again, inner.sha256(data), 'the real digest')
  t.same(crypto.digestStats, { calls: 2, computed: 1 }, 'second call answered from the memo')
  again[0] ^= 1
  t.same(crypto.sha256(data), first, 'a caller mutating its result does not poison the memo')
  const head = data.slice(); head[0] ^= 1
  t.same(crypto.sha256(head), inner.sha256(head), 'same tail, different head: hashed afresh')
  t.equal(crypto.digestStats.computed, 2)
  t.same(crypto.sha256(b(1, 2, 3)), inner.sha256(b(1, 2, 3)), 'short inputs pass straight through')
  t.equal(crypto.digestStats.calls, 4, 'short inputs are not counted')
})

t.test('shared decoder: one object for identical bytes, a fresh decode for anything else', async t => {
  const inner = createNodeCrypto()
  const { decode, stats } = sharedDecoder(inner)
  const keys = inner.ed25519KeyPair(new Uint8Array(32).fill(3))
  const env = signEnvelope(inner, { kind: Kind.message, precedence: 3, channel: new Uint8Array(8), author: authorRef(keys.publicKey), seq: 1, hlc: { ms: 1000, c: 0 }, ttlSeconds: 3600, epoch: 1, deps: [], body: new Uint8Array(40).fill(7) }, keys.privateKey)
  const first = decode(env.bytes)
  t.equal(decode(env.bytes.slice()), first, 'identical bytes: the same decoded object')
  t.same(stats, { calls: 2, computed: 1 })
  const altered = env.bytes.slice(); altered[20] ^= 1
  const other = decode(altered)
  t.not(other, first, 'same tail, other bytes: decoded on their own')
  t.equal(other.seq === first.seq && other.bytes[20] !== first.bytes[20], true)
  t.throws(() => decode(new Uint8Array(3)), { code: 'ERR_DECODE' }, 'junk still fails to decode')
})

t.test('workload schedules: every, at+count, poisson', async t => {
  const r = Rng.from(seed)
  t.same(scheduleTimes({ kind: 'every', intervalMs: { minMs: 100, maxMs: 100 }, startMs: 0, stopMs: 1000, count: 3 }, 10_000, r), [100, 200, 300])
  t.same(scheduleTimes({ kind: 'every', intervalMs: { minMs: 100, maxMs: 100 }, startMs: 50, stopMs: 400 }, 10_000, r), [150, 250, 350])
  t.same(scheduleTimes({ kind: 'at', atMs: 500, count: 3, spacingMs: 0 }, 10_000, r), [500, 500, 500])
  t.same(scheduleTimes({ kind: 'at', atMs: 900, count: 3, spacingMs: 100 }, 1000, r), [900], 'nothing at or after the end')
  const ranged = scheduleTimes({ kind: 'every', intervalMs: { minMs: 10, maxMs: 20 }, startMs: 0, stopMs: 10_000 }, 10_000, r)
  t.ok(ranged.every((x, i) => { const gap = x - (ranged[i - 1] ?? 0); return gap >= 10 && gap <= 20 }), 'gaps within the range')
  const p = scheduleTimes({ kind: 'poisson', ratePerMs: 1 / 1000, startMs: 0, stopMs: 4_000_000 }, 4_000_000, r)
  t.ok(p.length > 3700 && p.length < 4300, `about 4000 Poisson arrivals, got ${p.length}`)
  t.ok(p.every((x, i) => i === 0 || x >= p[i - 1]), 'in order')
})

t.test('membership: removal changes who later posts are expected at, and calls the hook', async t => {
  const { Membership } = await import('../sim/membership.ts')
  const { parseScenario } = await import('../sim/scenario.ts')
  const scenario = parseScenario('name: m\nduration: 1h\nnodes: [a, b, c]\nchannels: [{ name: ops, members: all }]\n', 'm.yaml')
  const calls: string[] = []
  const m = new Membership(scenario, { remove: ({ channel, member, atMs }) => { calls.push(`${channel}/${member}@${atMs}`) } })
  const post = (sender: string) => ({ atMs: 0, sender, target: { kind: 'channel' as const, channel: 'ops' }, sizeBytes: 1, precedence: 3 as const, precedenceName: 'routine' as const, ttlMs: 1000, stream: 0 })
  t.same(m.expected(post('a')), { expected: ['b', 'c'], nonMember: false })
  m.remove('ops', 'c', 5, [])
  t.same(calls, ['ops/c@5'])
  t.same(m.expected(post('a')), { expected: ['b'], nonMember: false }, 'c no longer expected')
  t.same(m.expected(post('c')), { expected: ['a', 'b'], nonMember: true }, 'a removed member posting is flagged, still expected at the members')
  t.same(m.expected({ ...post('a'), target: { kind: 'direct', to: 'c' } }), { expected: ['c'], nonMember: false })
})
