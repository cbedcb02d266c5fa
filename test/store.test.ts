/**
 * Runs the shared Store acceptance suite against MemoryStore and LevelStore, then tests
 * what only one adapter has: MemoryStore's scale, clone and sync views; LevelStore's
 * directory lock across processes, open failures, and durability after SIGKILL.
 *
 * Replay: DDIL_SEED=<seed> npx tap test/store.test.ts
 */
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MemoryStore } from '../protocol/memory-store.ts'
import { openLevelStore, type LevelStore } from '../node/store/level-store.ts'
import { compareBytes, decodeKey, encodeKey, prefixRange } from '../protocol/keys.ts'
import { collect, runStoreAcceptance } from './store-acceptance.ts'
import { batchSize } from './fixtures/store-child.ts'
import { prng, testSeed } from './helpers/seed.ts'

const seed = testSeed(t)
const root = mkdtempSync(join(tmpdir(), 'ddil-store-test-'))
t.teardown(() => rmSync(root, { recursive: true, force: true }))
const freshDir = (): string => mkdtempSync(join(root, 'db-'))
const child = fileURLToPath(new URL('./fixtures/store-child.ts', import.meta.url))
const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes)

runStoreAcceptance(t, 'MemoryStore', {
  open: async () => new MemoryStore(),
  reopen: async (old) => (old as MemoryStore).clone(),
}, seed)

runStoreAcceptance(t, 'LevelStore', {
  open: async () => await openLevelStore(freshDir()),
  reopen: async (old) => await openLevelStore((old as LevelStore).dir),
}, seed)

t.test('MemoryStore: many keys across chunk splits and merges agree with a sorted model', async t => {
  const rnd = prng(seed)
  const store = new MemoryStore()
  const model = new Map<string, Uint8Array>()
  const n = 20_000
  for (let i = 0; i < n; i++) {
    const key = encodeKey(['k', rnd.int(1 << 30)])
    store.batchSync([{ type: 'put', key, value: key }])
    model.set(Buffer.from(key).toString('latin1'), key)
  }
  // Delete a contiguous run (empties whole chunks) and a scattering of others.
  const sorted = [...model.values()].sort(compareBytes)
  const doomed = [...sorted.slice(1000, 4000), ...sorted.filter((_, i) => i % 7 === 0)]
  store.batchSync(doomed.map(key => ({ type: 'del', key })))
  for (const key of doomed) model.delete(Buffer.from(key).toString('latin1'))
  const want = [...model.values()].sort(compareBytes)
  t.equal(store.size, want.length)
  t.equal(store.bytes, want.reduce((sum, k) => sum + 2 * k.length, 0), 'bytes counts keys and values')
  t.same(store.rangeSync().map(([k]) => k), want, 'forward')
  t.same(store.rangeSync({ reverse: true }).map(([k]) => k), want.toReversed(), 'reverse')
  const lo = want[500]
  const hi = want[9000]
  t.same(store.rangeSync({ gte: lo, lt: hi, reverse: true, limit: 700 }).map(([k]) => k), want.slice(500, 9000).toReversed().slice(0, 700))
  store.batchSync(want.map(key => ({ type: 'del', key })))
  t.equal(store.size, 0)
  t.equal(store.bytes, 0)
  t.same(store.rangeSync(), [], 'empty after deleting everything')
  store.batchSync([{ type: 'put', key: b(1), value: b(2) }])
  t.same(store.rangeSync(), [[b(1), b(2)]], 'usable again after emptying')
})

t.test('MemoryStore: clone is independent and works on a closed store', async t => {
  const store = new MemoryStore()
  await store.batch([{ type: 'put', key: b(1), value: b(1) }, { type: 'put', key: b(2), value: b(2) }])
  const copy = store.clone()
  copy.batchSync([{ type: 'put', key: b(1), value: b(9) }, { type: 'del', key: b(2) }, { type: 'put', key: b(3), value: b(3) }])
  t.same(store.rangeSync(), [[b(1), b(1)], [b(2), b(2)]], 'original untouched by the clone')
  store.batchSync([{ type: 'put', key: b(4), value: b(4) }])
  t.same(copy.rangeSync(), [[b(1), b(9)], [b(3), b(3)]], 'clone untouched by the original')
  await store.close()
  t.throws(() => store.getSync(b(1)), { code: 'ERR_STORAGE' }, 'getSync on a closed store')
  t.throws(() => store.rangeSync(), { code: 'ERR_STORAGE' }, 'rangeSync on a closed store')
  t.throws(() => store.batchSync([]), { code: 'ERR_STORAGE' }, 'batchSync on a closed store')
  const reopened = store.clone()
  t.same(reopened.getSync(b(4)), b(4), 'a closed store clones into an open one')
})

t.test('LevelStore: getSync, sync batches and approximate size', async t => {
  const dir = freshDir()
  const store = await openLevelStore(dir, { sync: true })
  t.equal(store.sync, true)
  const value = prng(seed).bytes(4096) // random, so Snappy cannot shrink it
  const ops = Array.from({ length: 256 }, (_, i) => ({ type: 'put' as const, key: encodeKey(['big', i]), value }))
  await store.batch(ops)
  t.same(store.getSync(encodeKey(['big', 3])), value)
  t.equal(store.getSync(encodeKey(['big', 999])), undefined)
  await store.close()
  t.throws(() => store.getSync(b(1)), { code: 'ERR_STORAGE' })
  const again = await openLevelStore(dir) // recovery writes the log into a table file
  t.ok(await again.approximateSize() > 500_000, 'about 1 MiB on disk is reported (incompressible values)')
  t.equal(await again.approximateSize(encodeKey(['small']), encodeKey(['small', 1])), 0, 'an empty key range has no size')
  await again.close()
})

t.test('LevelStore: a second open in this process fails fast with "in use"', async t => {
  const dir = freshDir()
  const store = await openLevelStore(dir)
  await t.rejects(openLevelStore(dir), { name: 'StorageError', code: 'ERR_STORAGE', message: `data directory ${dir} is in use by another process` })
  await store.close()
  const after = await openLevelStore(dir)
  await after.close()
  t.pass('opens again once the holder closed')
})

t.test('LevelStore: other open failures are StorageError with the cause attached', async t => {
  const file = join(root, 'not-a-directory')
  writeFileSync(file, 'x')
  const err = await openLevelStore(file).then(() => undefined, (e: unknown) => e) as { code?: string, message?: string, cause?: unknown }
  t.equal(err?.code, 'ERR_STORAGE')
  t.match(err?.message, /cannot open data directory .*not-a-directory/)
  t.ok(err?.cause instanceof Error, 'cause attached')
  t.notMatch(err?.message, /in use/, 'not mistaken for a lock')
})

function runChild (args: string[], onLine: (line: string, kill: () => void) => void = () => {}): Promise<{ lines: string[], code: number | null, signal: string | null, stderr: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 })
    const lines: string[] = []
    let buffered = ''
    let stderr = ''
    proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk
      let nl
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl)
        buffered = buffered.slice(nl + 1)
        lines.push(line)
        onLine(line, () => proc.kill('SIGKILL'))
      }
    })
    proc.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    proc.on('error', reject)
    proc.on('close', (code, signal) => resolve({ lines, code, signal, stderr }))
  })
}

t.test('LevelStore: a second process on the same directory fails fast with "in use"', async t => {
  const dir = freshDir()
  const store = await openLevelStore(dir)
  const held = await runChild(['open', dir])
  await store.close()
  t.equal(held.signal, null, `child finished on its own (stderr: ${held.stderr})`)
  t.same(JSON.parse(held.lines[0]), { ok: false, name: 'StorageError', code: 'ERR_STORAGE', message: `data directory ${dir} is in use by another process` })
  const free = await runChild(['open', dir])
  t.same(JSON.parse(free.lines[0]), { ok: true }, 'the child opens it once this process let go')
})

t.test('LevelStore: acknowledged batches survive SIGKILL, and batches are all or nothing', async t => {
  const rnd = prng(seed ^ 0x5eed)
  for (let cycle = 0; cycle < 3; cycle++) {
    const dir = freshDir()
    const killAt = 1 + rnd.int(40)
    let acked = -1
    const run = await runChild(['write', dir], (line, kill) => {
      const n = Number(line.split(' ')[1])
      acked = Math.max(acked, n)
      if (n >= killAt) kill()
    })
    t.equal(run.signal, 'SIGKILL', `cycle ${cycle}: killed after ack ${acked} (stderr: ${run.stderr})`)
    const store = await openLevelStore(dir)
    const counts = new Map<number, number>()
    for (const [key, value] of await collect(store.range(prefixRange(['batch'])))) {
      const [, n, j] = decodeKey(key) as [string, number, number]
      if (value[0] !== n % 256 || value[1] !== j) t.fail(`batch ${n} entry ${j} has the wrong value`)
      counts.set(n, (counts.get(n) ?? 0) + 1)
    }
    await store.close()
    const present = [...counts.keys()].sort((x, y) => x - y)
    t.ok(present.length >= acked + 1, `cycle ${cycle}: every acknowledged batch (0…${acked}) is present`)
    t.same(present, present.map((_, i) => i), 'present batches are a prefix 0…m')
    t.ok([...counts.values()].every(c => c === batchSize), 'every present batch is whole')
  }
})
