/**
 * The shared acceptance suite for the `Store` port: every adapter (MemoryStore for the
 * simulator, LevelStore for the relay) must pass it, so the simulator cannot lie about
 * storage. Not a test file itself: test/store.test.ts runs it per adapter.
 *
 * @example
 * runStoreAcceptance(t, 'memory', { open: async () => new MemoryStore(), reopen: async (s) => (s as MemoryStore).clone() })
 */
import type { Test } from 'tap'
import type { Store, StoreOp } from '../protocol/ports.ts'
import { compareBytes, decodeKey, encodeKey, prefixRange, type KeyPart } from '../protocol/keys.ts'
import { prng } from './helpers/seed.ts'

export interface StoreFactory {
  open (): Promise<Store>
  /** Given a store that the suite has closed, opens the same data again. */
  reopen?: (old: Store) => Promise<Store>
}

const b = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes)
const text = (s: string): Uint8Array => new TextEncoder().encode(s)
const storageError = { name: 'StorageError', code: 'ERR_STORAGE' }

export async function collect (it: AsyncIterable<[Uint8Array, Uint8Array]>): Promise<Array<[Uint8Array, Uint8Array]>> {
  const out: Array<[Uint8Array, Uint8Array]> = []
  for await (const entry of it) out.push(entry)
  return out
}

async function keysOf (store: Store, options: Parameters<Store['range']>[0] = {}): Promise<Uint8Array[]> {
  return (await collect(store.range(options))).map(([k]) => k)
}

const put = (key: Uint8Array, value: Uint8Array): StoreOp => ({ type: 'put', key, value })

/** Keys chosen to catch signed-byte compares, length ties, and 0x00 / 0xFF edge bytes. */
const orderedKeys: Uint8Array[] = [
  b(), b(0), b(0, 0), b(0, 0, 0), b(0, 1), b(0, 0xff), b(1), b(0x7f), b(0x7f, 0xff), b(0x80),
  b(0x80, 0), b(0xfe, 0xff, 0xff), b(0xff), b(0xff, 0), b(0xff, 0xff), b(0xff, 0xff, 0xff),
]

export function runStoreAcceptance (t: Test, name: string, factory: StoreFactory, seed = 1): void {
  const withStore = (title: string, fn: (t: Test, store: Store) => Promise<void>): void => {
    t.test(`${name}: ${title}`, async t => {
      const store = await factory.open()
      try {
        await fn(t, store)
      } finally {
        await store.close()
      }
    })
  }

  withStore('get of a missing key is undefined; put, overwrite, delete', async (t, store) => {
    t.equal(await store.get(text('nope')), undefined)
    await store.batch([put(text('k'), b(1, 2, 3))])
    t.same(await store.get(text('k')), b(1, 2, 3))
    t.ok((await store.get(text('k'))) instanceof Uint8Array)
    await store.batch([put(text('k'), b(9))])
    t.same(await store.get(text('k')), b(9), 'overwrite replaces the value')
    await store.batch([{ type: 'del', key: text('k') }, { type: 'del', key: text('never-there') }])
    t.equal(await store.get(text('k')), undefined, 'deleted')
    await store.batch([])
    t.same(await keysOf(store), [], 'empty batch is a no-op')
  })

  withStore('empty keys and empty values are ordinary entries', async (t, store) => {
    await store.batch([put(b(), b(5)), put(b(1), b())])
    t.same(await store.get(b()), b(5))
    t.same(await store.get(b(1)), b())
    t.same(await collect(store.range({})), [[b(), b(5)], [b(1), b()]])
  })

  withStore('later ops in one batch win over earlier ones', async (t, store) => {
    await store.batch([put(b(1), b(1)), put(b(1), b(2)), put(b(2), b(2)), { type: 'del', key: b(2) }])
    t.same(await collect(store.range({})), [[b(1), b(2)]])
  })

  withStore('range orders keys bytewise (unsigned, shorter prefix first)', async (t, store) => {
    const shuffled = orderedKeys.map((k, i) => ({ k, r: (i * 7919) % 13 })).sort((x, y) => x.r - y.r).map(x => x.k)
    await store.batch(shuffled.map((k, i) => put(k, b(i))))
    t.same(await keysOf(store), orderedKeys)
    t.same(await keysOf(store, { reverse: true }), orderedKeys.toReversed())
  })

  withStore('bounded ranges: gte inclusive, lt exclusive, limit, reverse', async (t, store) => {
    await store.batch(orderedKeys.map(k => put(k, k)))
    const between = (lo: Uint8Array, hi: Uint8Array): Uint8Array[] =>
      orderedKeys.filter(k => compareBytes(k, lo) >= 0 && compareBytes(k, hi) < 0)
    t.same(await keysOf(store, { gte: b(0, 1), lt: b(0xff) }), between(b(0, 1), b(0xff)))
    t.same(await keysOf(store, { gte: b(0, 0, 0, 0) }), orderedKeys.filter(k => compareBytes(k, b(0, 0, 0, 0)) >= 0), 'gte between keys')
    t.same(await keysOf(store, { lt: b(0, 0) }), [b(), b(0)], 'lt alone')
    t.same(await keysOf(store, { gte: b(0x80), lt: b(0x80) }), [], 'gte == lt is empty')
    t.same(await keysOf(store, { gte: b(0xff), lt: b(1) }), [], 'gte > lt is empty')
    t.same(await keysOf(store, { limit: 3 }), orderedKeys.slice(0, 3))
    t.same(await keysOf(store, { limit: 0 }), [], 'limit 0')
    t.same(await keysOf(store, { limit: 1000 }), orderedKeys, 'limit above size')
    t.same(await keysOf(store, { reverse: true, limit: 2 }), orderedKeys.slice(-2).toReversed())
    t.same(await keysOf(store, { gte: b(0x7f), lt: b(0xff, 0), reverse: true, limit: 3 }),
      between(b(0x7f), b(0xff, 0)).toReversed().slice(0, 3), 'reverse with both bounds and a limit')
    const [first] = await collect(store.range({ gte: b(0x80, 0), limit: 1 }))
    t.same(first, [b(0x80, 0), b(0x80, 0)], 'range yields [key, value]')
  })

  withStore('prefixRange selects exactly the tuples that start with the prefix', async (t, store) => {
    const tuples: KeyPart[][] = [
      ['a'], ['a', 0], ['a', 1], ['a', 1, b(0)], ['a', 256], ['a', 'x'], ['a\u0000'], ['a\u0000', 1], ['ab'],
      ['b'], [''], [0], [1, 'a'], [b()], [b(0)], [b(0xff), 2],
    ]
    await store.batch(tuples.map((p, i) => put(encodeKey(p), b(i))))
    const startsWith = (tuple: KeyPart[], prefix: KeyPart[]): boolean =>
      prefix.every((p, i) => i < tuple.length && compareBytes(encodeKey([tuple[i]]), encodeKey([p])) === 0)
    for (const prefix of [['a'], ['a', 1], ['a\u0000'], [''], [b()], [b(0xff)], [], [1], ['zz']] as KeyPart[][]) {
      const got = (await keysOf(store, prefixRange(prefix))).map(k => decodeKey(k))
      const want = tuples.filter(tp => startsWith(tp, prefix)).map(tp => encodeKey(tp)).sort(compareBytes).map(k => decodeKey(k))
      t.same(got, want, `prefix ${JSON.stringify(prefix)}`)
    }
  })

  withStore('a batch with one invalid op rejects with StorageError and changes nothing', async (t, store) => {
    await store.batch([put(b(1), b(1)), put(b(2), b(2))])
    const before = await collect(store.range({}))
    const bad: unknown[] = [
      [put(b(3), b(3)), { type: 'del', key: b(1) }, { type: 'put', key: 'not-bytes', value: b(0) }],
      [{ type: 'del', key: b(2) }, { type: 'put', key: b(4), value: 'not-bytes' }],
      [put(b(1), b(7)), { type: 'merge', key: b(5) }],
      [put(b(1), b(7)), null],
      [{ type: 'del', key: [2] }],
    ]
    for (const ops of bad) {
      await t.rejects(store.batch(ops as StoreOp[]), storageError, JSON.stringify(ops))
      t.same(await collect(store.range({})), before, 'store unchanged')
    }
  })

  withStore('invalid keys and range options reject with StorageError', async (t, store) => {
    await t.rejects(store.get('k' as unknown as Uint8Array), storageError, 'string key')
    await t.rejects(collect(store.range({ gte: 'a' as unknown as Uint8Array })), storageError, 'string gte')
    await t.rejects(collect(store.range({ lt: [1] as unknown as Uint8Array })), storageError, 'array lt')
    await t.rejects(collect(store.range({ limit: -1 })), storageError, 'negative limit')
    await t.rejects(collect(store.range({ limit: 1.5 })), storageError, 'fractional limit')
  })

  withStore('values and keys are copied in and out (no aliasing)', async (t, store) => {
    const key = b(1, 2)
    const value = b(10, 20, 30)
    await store.batch([put(key, value)])
    value[0] = 99
    key[0] = 9
    t.same(await store.get(b(1, 2)), b(10, 20, 30), 'mutating the supplied value or key after put')
    t.equal(await store.get(b(9, 2)), undefined)
    const got = await store.get(b(1, 2)) as Uint8Array
    got[1] = 99
    t.same(await store.get(b(1, 2)), b(10, 20, 30), 'mutating a returned value')
    const [[k, v]] = await collect(store.range({}))
    k[0] = 7
    v[2] = 7
    t.same(await collect(store.range({})), [[b(1, 2), b(10, 20, 30)]], 'mutating ranged entries')
  })

  withStore('range sees the store as it was when range() was called', async (t, store) => {
    await store.batch([1, 2, 3, 4].map(i => put(b(i), b(i))))
    const it = store.range({})[Symbol.asyncIterator]()
    await store.batch([put(b(0), b(0)), put(b(2), b(22)), { type: 'del', key: b(4) }])
    const first = await it.next()
    await store.batch([put(b(3, 1), b(31)), { type: 'del', key: b(3) }])
    const seen = [first.value]
    for (let r = await it.next(); r.done !== true; r = await it.next()) seen.push(r.value)
    t.same(seen, [1, 2, 3, 4].map(i => [b(i), b(i)]), 'snapshot semantics')
    t.same(await keysOf(store), [b(0), b(1), b(2), b(3, 1)], 'later ranges see the writes')
  })

  withStore(`agrees with a reference model over seeded random batches (seed ${seed})`, async (t, store) => {
    const rnd = prng(seed)
    const model = new Map<string, Uint8Array>()
    const hex = (k: Uint8Array): string => Buffer.from(k).toString('hex')
    const randomKey = (): Uint8Array => rnd.bytes(1 + rnd.int(3)).map(x => x & 0x1f)
    for (let round = 0; round < 40; round++) {
      const ops: StoreOp[] = []
      for (let i = 0; i < 60; i++) {
        const key = randomKey()
        if (rnd.next() < 0.3) { ops.push({ type: 'del', key }); model.delete(hex(key)) } else {
          const value = rnd.bytes(rnd.int(4))
          ops.push(put(key, value))
          model.set(hex(key), value)
        }
      }
      await store.batch(ops)
      const [lo, hi] = [randomKey(), randomKey()].sort(compareBytes)
      const reverse = rnd.next() < 0.5
      const limit = rnd.next() < 0.5 ? rnd.int(50) : undefined
      let want = [...model.entries()].map(([k, v]): [Uint8Array, Uint8Array] => [Uint8Array.from(Buffer.from(k, 'hex')), v])
        .filter(([k]) => compareBytes(k, lo) >= 0 && compareBytes(k, hi) < 0).sort((x, y) => compareBytes(x[0], y[0]))
      if (reverse) want.reverse()
      if (limit !== undefined) want = want.slice(0, limit)
      const got = await collect(store.range({ gte: lo, lt: hi, reverse, limit }))
      if (!t.same(got, want, `round ${round}`)) break
    }
    t.equal((await keysOf(store)).length, model.size, 'same number of keys')
  })

  if (factory.reopen !== undefined) {
    const reopen = factory.reopen
    t.test(`${name}: data persists across close and reopen`, async t => {
      const first = await factory.open()
      const entries = orderedKeys.map((k, i): [Uint8Array, Uint8Array] => [k, b(i, i)])
      await first.batch(entries.map(([k, v]) => put(k, v)))
      await first.batch([{ type: 'del', key: b(0x80) }])
      await first.close()
      const second = await reopen(first)
      try {
        t.same(await collect(second.range({})), entries.filter(([k]) => compareBytes(k, b(0x80)) !== 0))
      } finally {
        await second.close()
      }
    })
  }

  t.test(`${name}: a closed store rejects further use`, async t => {
    const store = await factory.open()
    await store.batch([put(b(1), b(1))])
    await store.close()
    await t.rejects(store.get(b(1)), storageError, 'get')
    await t.rejects(store.batch([put(b(2), b(2))]), storageError, 'batch')
    await t.rejects(collect(store.range({})), storageError, 'range')
    await t.resolves(store.close(), 'a second close is harmless')
  })
}
