/**
 * The engine's catalog, held as columns of slots: the orders it hands out (expiry,
 * eviction), slot reuse after removal, and bounded heaps under churn.
 */
import t from 'tap'
import { Catalog, idFromKey, type Entry } from '../protocol/engine/catalog.ts'
import { streamAuthorKey, streamChannelKey, streamKey } from '../protocol/engine/stream-key.ts'
import { authorRef, Kind, signEnvelope } from '../protocol/envelope.ts'
import { aliceKeys, crypto, messageFields } from './helpers/fixtures.ts'
import { Rng } from '../sim/rng.ts'
import { testSeed } from './helpers/seed.ts'

const seed = testSeed(t)

function entry (n: number, over: Partial<Entry> = {}): Entry {
  return { key: `id-${String(n).padStart(6, '0')}`, expiresAtMs: 1e6 + n, precedence: 3, kind: 0, hlcMs: 5000 + n, hlcC: 0, size: 300, stream: 'chan' + 'auth', seq: n, custody: false, ...over }
}

t.test('get hands out a snapshot of every field', async t => {
  const c = new Catalog()
  const e = entry(1, { precedence: 1, kind: 5, hlcC: 65535, custody: true, expiresAtMs: 1795348800000 + 0.5, seq: 2 ** 40 })
  c.add(e)
  t.same(c.get(e.key), e)
  const got = c.get(e.key) as Entry
  got.seq = 9
  t.equal(c.get(e.key)?.seq, 2 ** 40, 'changing a snapshot changes nothing held')
  t.equal(c.get('nope'), undefined)
})

t.test('expired: earliest first, at most max, each once; removed entries never come back', async t => {
  const c = new Catalog()
  for (const n of [5, 3, 9, 1, 7]) c.add(entry(n))
  c.remove(entry(3).key)
  t.same(c.expired(1e6 + 6, 2).map(e => e.key), [entry(1).key, entry(5).key])
  t.same(c.expired(1e6 + 6, 10).map(e => e.key), [], 'handed out once: the caller removes them')
  for (const k of [entry(1).key, entry(5).key]) c.remove(k)
  t.same(c.expired(Infinity, 10).map(e => e.key), [entry(7).key, entry(9).key])
})

t.test('eviction: lowest precedence first, then oldest by full HLC; custody never', async t => {
  const c = new Catalog()
  c.add(entry(1, { precedence: 0 }))
  c.add(entry(2, { precedence: 3, hlcMs: 7000, hlcC: 2 }))
  c.add(entry(3, { precedence: 3, hlcMs: 7000, hlcC: 1 }))
  c.add(entry(4, { precedence: 3, hlcMs: 1000, custody: true }))
  t.equal(c.evictionCandidate(0)?.key, entry(3).key, 'same millisecond: the lower counter is older')
  c.remove(entry(3).key)
  t.equal(c.evictionCandidate(0)?.key, entry(2).key)
  c.remove(entry(2).key)
  t.equal(c.evictionCandidate(1), undefined, 'a flash envelope is not evicted for a routine one')
  t.equal(c.evictionCandidate(0)?.key, entry(1).key)
})

t.test(`churn through reused slots matches a model, and the heaps stay bounded (seed ${seed})`, async t => {
  const rng = Rng.from(seed).fork('catalog')
  const c = new Catalog()
  const model = new Map<string, Entry>()
  let next = 0
  let bytes = 0
  const wrong: string[] = []
  for (let round = 0; round < 20_000; round++) {
    if (model.size > 0 && rng.float() < 0.5) {
      const keys = [...model.keys()]
      const k = keys[Math.floor(rng.float() * keys.length)]
      bytes -= (model.get(k) as Entry).size
      if (JSON.stringify(c.remove(k)) !== JSON.stringify(model.get(k))) wrong.push(`round ${round}: removing ${k}`)
      model.delete(k)
    } else {
      const e = entry(next++, { precedence: Math.floor(rng.float() * 4), hlcMs: Math.floor(rng.float() * 1e6), expiresAtMs: Math.floor(rng.float() * 1e6), custody: rng.float() < 0.1, size: 100 + Math.floor(rng.float() * 500) })
      c.add(e)
      model.set(e.key, e)
      bytes += e.size
    }
  }
  t.same(wrong.slice(0, 5), [], 'every removal hands back the entry as added')
  t.equal(c.size, model.size)
  t.equal(c.bytesUsed, bytes)
  t.ok([...model.values()].every(e => JSON.stringify(c.get(e.key)) === JSON.stringify(e)), 'every held entry reads back as added')
  t.ok(c.queuedSlots <= 5 * (2 * model.size + 1024), `heaps hold ${c.queuedSlots} slots for ${model.size} entries`)
  const oldest = [...model.values()].filter(e => !e.custody && e.precedence === 3).sort((a, b) => a.hlcMs - b.hlcMs || (a.key < b.key ? -1 : 1))[0]
  t.equal(c.evictionCandidate(3)?.key, oldest?.key, 'the eviction order skips every dead slot')
  const due = [...model.values()].sort((a, b) => a.expiresAtMs - b.expiresAtMs).slice(0, 50)
  t.same(c.expired(Infinity, 50).map(e => e.expiresAtMs), due.map(e => e.expiresAtMs), 'so does the expiry order')
})

t.test('a relay that only purges does not keep its eviction slots', async t => {
  const c = new Catalog()
  for (let n = 0; n < 50_000; n++) {
    c.add(entry(n))
    for (const e of c.expired(1e6 + n - 100, 10)) c.remove(e.key)
  }
  t.ok(c.size <= 101, `${c.size} held`)
  t.ok(c.queuedSlots < 3000, `${c.queuedSlots} slots queued for ${c.size} entries`)
})

t.test('a stream key is the channel reference then the author reference, and is taken apart by name', async t => {
  const env = signEnvelope(crypto, messageFields(), aliceKeys.privateKey)
  t.equal(streamKey(env), env.stream, 'as the envelope carries it')
  t.same(idFromKey(streamChannelKey(env.stream)), env.channel)
  t.same(idFromKey(streamAuthorKey(env.stream)), authorRef(aliceKeys.publicKey))
})

t.test('eviction never takes governance or keys (#25): a channel cannot be read or verified without them', async t => {
  const c = new Catalog()
  c.add(entry(1, { kind: Kind.governance }))
  c.add(entry(2, { kind: Kind.keys }))
  c.add(entry(3, { kind: Kind.message }))
  t.equal(c.evictableBytes(0), entry(3).size, 'only the message counts as evictable')
  t.equal(c.evictionCandidate(0)?.key, entry(3).key)
  c.remove(entry(3).key)
  t.equal(c.evictionCandidate(0), undefined, 'nothing else is a candidate')
  c.remove(entry(1).key)
  t.equal(c.evictableBytes(0), 0, 'removing a lasting entry leaves the evictable count alone')
})
