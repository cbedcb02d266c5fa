/**
 * The message log's store layout (version 2): what one stored envelope writes, the
 * record's byte format, and the migration from version 1, whose three unread indexes
 * (by expiry, precedence and stream sequence) are deleted when such a store is opened.
 */
import t from 'tap'
import { toHex } from '../protocol/bytes.ts'
import { signEnvelope, type Envelope } from '../protocol/envelope.ts'
import { StorageError } from '../protocol/errors.ts'
import { decodeKey, encodeKey } from '../protocol/keys.ts'
import { decodeRecord, encodeRecord, fieldsOf, logFormatVersion, MessageLog } from '../protocol/engine/log.ts'
import { MemoryStore } from '../protocol/memory-store.ts'
import type { Store, StoreOp } from '../protocol/ports.ts'
import { aliceKeys, crypto, messageFields, nowMs } from './helpers/fixtures.ts'

const sha256 = (b: Uint8Array): Uint8Array => crypto.sha256(b)

function envelope (seq: number): Envelope {
  return signEnvelope(crypto, messageFields({ seq, hlc: { ms: nowMs + seq, c: 0 } }), aliceKeys.privateKey)
}

/** Every key in the store, decoded. */
async function keysOf (store: MemoryStore): Promise<unknown[][]> {
  const out: unknown[][] = []
  for await (const [key] of store.range({})) out.push(decodeKey(key))
  return out
}

/** The four index keys layout version 1 wrote for an envelope (its channel index had no HLC counter). */
function v1IndexKeys (env: Envelope): Uint8Array[] {
  return [
    encodeKey(['x', env.expiresAtMs, env.id]),
    encodeKey(['p', env.precedence, env.hlc.ms, env.id]),
    encodeKey(['s', env.channel, env.author, env.seq, env.id]),
    encodeKey(['c', env.channel, env.kind, env.hlc.ms, env.id]),
  ]
}

t.test('one envelope writes its record and one index entry', async t => {
  const env = envelope(1)
  const log = new MessageLog(new MemoryStore(), sha256)
  const ops = log.appendOps(env, true, nowMs)
  t.same(ops.map(op => decodeKey(op.key)), [['e', env.id], ['c', env.channel, env.kind, env.hlc.ms, env.hlc.c, env.id]])
  t.same(log.removeOps(fieldsOf(env), false).map(op => [op.type, toHex(op.key)]), ops.map(op => ['del', toHex(op.key)]), 'removal deletes exactly what append wrote')
  const withTombstone = log.removeOps(fieldsOf(env), true)
  t.same(decodeKey(withTombstone[2].key), ['t', env.id])
})

t.test('the channel index orders envelopes of one millisecond by HLC counter, not by id', async t => {
  const log = new MessageLog(new MemoryStore(), sha256)
  await log.open()
  const envs = [0, 1, 2, 3, 4, 5].map(c => signEnvelope(crypto, messageFields({ seq: c + 1, hlc: { ms: nowMs, c } }), aliceKeys.privateKey))
  await log.batch(envs.flatMap(env => log.appendOps(env, false, nowMs)))
  t.not(envs.map(e => toHex(e.id)).join(), envs.map(e => toHex(e.id)).sort().join(), 'fixture: id order differs from HLC order')
  const newest = await log.byChannel(envs[0].channel, envs[0].kind, 4)
  t.same(newest.map(x => toHex(x.id)), envs.slice(2).map(e => toHex(e.id)), 'newest four, oldest first')
  t.same(newest.map(x => x.hlc), envs.slice(2).map(e => e.hlc))
})

t.test('record format: version, custody flag, 48-bit receive time, envelope bytes', async t => {
  const env = envelope(2)
  const value = encodeRecord(env, true, 0x0102_0304_0506)
  t.equal(toHex(value.subarray(0, 8)), '0101010203040506')
  t.same(value.subarray(8), env.bytes)
  const back = decodeRecord(value, sha256)
  t.same({ custody: back.custody, receivedAtMs: back.receivedAtMs, id: toHex(back.envelope.id) }, { custody: true, receivedAtMs: 0x0102_0304_0506, id: toHex(env.id) })
  t.equal(decodeRecord(encodeRecord(env, false, 7), sha256).custody, false)
  const unknown = value.slice(); unknown[0] = 9
  t.throws(() => decodeRecord(unknown, sha256), StorageError)
})

t.test('a new store is written as the current version; an unknown version is refused', async t => {
  const store = new MemoryStore()
  await new MessageLog(store, sha256).open()
  t.same(await store.get(encodeKey(['v'])), Uint8Array.of(logFormatVersion))
  t.equal(logFormatVersion, 2)
  await store.batch([{ type: 'put', key: encodeKey(['v']), value: Uint8Array.of(3) }])
  await t.rejects(new MessageLog(store, sha256).open(), { name: 'StorageError', message: /layout version 3 is not 2/ })
})

/** A store as layout version 1 left it: `count` envelopes with all five keys each. */
async function v1Store (count: number): Promise<{ store: MemoryStore, envs: Envelope[] }> {
  const store = new MemoryStore()
  const envs = Array.from({ length: count }, (_, i) => envelope(i + 1))
  const ops: StoreOp[] = [{ type: 'put', key: encodeKey(['v']), value: Uint8Array.of(1) }]
  for (const env of envs) {
    ops.push({ type: 'put', key: encodeKey(['e', env.id]), value: encodeRecord(env, false, nowMs) })
    for (const key of v1IndexKeys(env)) ops.push({ type: 'put', key, value: new Uint8Array(0) })
  }
  await store.batch(ops)
  return { store, envs }
}

t.test('opening a version 1 store deletes its unread indexes and keeps every record', async t => {
  // More keys per prefix than one migration batch deletes, so the loop must go round.
  const { store, envs } = await v1Store(1200)
  const log = new MessageLog(store, sha256)
  await log.open()
  t.same(await store.get(encodeKey(['v'])), Uint8Array.of(2))
  const prefixes = new Map<unknown, number>()
  for (const key of await keysOf(store)) prefixes.set(key[0], (prefixes.get(key[0]) ?? 0) + 1)
  t.same(Object.fromEntries(prefixes), { c: 1200, e: 1200, v: 1 })
  t.ok((await keysOf(store)).filter(k => k[0] === 'c').every(k => k.length === 6), 'every channel index key was rebuilt with the HLC counter')
  let loaded = 0
  for await (const rec of log.loadAll()) if ('envelope' in rec) loaded++
  t.equal(loaded, envs.length)
  t.same((await log.byChannel(envs[0].channel, envs[0].kind, 2)).map(x => toHex(x.id)), envs.slice(-2).map(e => toHex(e.id)), 'the channel index still answers')
})

t.test('a migration cut short by a failed write resumes on the next open', async t => {
  const { store } = await v1Store(1500)
  let writes = 0
  const failing: Store = {
    get: key => store.get(key),
    range: options => store.range(options),
    close: () => store.close(),
    batch: async ops => { if (++writes === 2) throw new Error('disk unplugged'); return store.batch(ops) },
  }
  await t.rejects(new MessageLog(failing, sha256).open(), /disk unplugged/)
  t.same(await store.get(encodeKey(['v'])), Uint8Array.of(1), 'still version 1 after the failed attempt')
  await new MessageLog(store, sha256).open()
  t.same(await store.get(encodeKey(['v'])), Uint8Array.of(2))
  const keys = await keysOf(store)
  t.notOk(keys.some(k => k[0] === 'x' || k[0] === 'p' || k[0] === 's'), 'no version 1 index key is left')
  t.equal(keys.filter(k => k[0] === 'c' && k.length === 6).length, 1500, 'and the channel index is complete')
})
