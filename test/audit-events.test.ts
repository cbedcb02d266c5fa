// Security events a relay writes about what it carries and how it runs (#25): governance changes and
// key epochs mapped from stored envelopes (node/channel-audit.ts), evictions, the budget that keeps a
// catch-up or a full store from flooding the log (node/audit/budget.ts), and configuration changes
// recorded at start-up (node/config-audit.ts); and a running relay's evictions. Governance and key epochs
// in real relays' logs are checked in channels-integration.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNodeCrypto } from '../node/crypto.ts'
import { AuditBudget } from '../node/audit/budget.ts'
import type { AuditEvent } from '../node/audit/sanitise.ts'
import { channelAuditEvent, evictionAuditEvent } from '../node/channel-audit.ts'
import { configAuditedFileName, configChanges, configDigest, recordConfig } from '../node/config-audit.ts'
import { loadConfig, renderConfigTemplate } from '../node/config/index.ts'
import { startNode } from '../node/daemon.ts'
import { exportAuditLog } from '../node/audit/index.ts'
import { Relay, cleanupRelays } from './helpers/relays.ts'
import { toHex } from '../protocol/bytes.ts'
import { authorRef, Kind, Precedence, signEnvelope, type Envelope } from '../protocol/envelope.ts'
import { createChannel, signChange, type UserKeys } from '../protocol/channel/builders.ts'
import { encodeKeysBody } from '../protocol/channel/keys.ts'
import type { Change, Policy } from '../protocol/channel/governance.ts'
import { fileBytesMaxDefault, longTextBytesMaxDefault, ttlSecondsMax } from '../protocol/limits.ts'

const crypto = createNodeCrypto()
const user = (n: number): UserKeys => ({ ed25519: crypto.ed25519KeyPair(new Uint8Array(32).fill(n)), x25519: crypto.x25519KeyPair(new Uint8Array(32).fill(n + 0x80)) })
const owner = user(1); const bob = user(2)
const policy: Policy = { retentionSeconds: 604800, allowedPrecedence: [0, 3], whoMayPost: 'member' }
const genesis = createChannel(crypto, owner, policy, new Uint8Array(16).fill(7), { ms: 1795348800000, c: 0 })
const channel = toHex(genesis.channel)
const alice = toHex(authorRef(owner.ed25519.publicKey))
const change = (c: Change, seq: number): Envelope => signChange(crypto, owner, { channel: genesis.channel, heads: [genesis.id] }, c, seq, { ms: 1795348800000 + seq, c: 0 })
const keys = (epoch: number, chunkIndex: number, chunkCount = 2, body?: Uint8Array): Envelope => signEnvelope(crypto, {
  kind: Kind.keys, precedence: Precedence.flash, channel: genesis.channel, author: authorRef(owner.ed25519.publicKey), seq: 10 + chunkIndex,
  hlc: { ms: 1795348800100, c: chunkIndex }, ttlSeconds: ttlSecondsMax, epoch, deps: [],
  body: body ?? encodeKeysBody({ epoch, ephemeralPublic: new Uint8Array(32).fill(3), entries: [{ recipient: bob.ed25519.publicKey.slice(0, 8), sealed: new Uint8Array(48).fill(chunkIndex) }], chunkIndex, chunkCount }),
}, owner.ed25519.privateKey)

t.test('each governance change maps to one entry: who made it, what it did, where it came from', async t => {
  const created = channelAuditEvent(genesis, 'local')
  t.same(created?.event, {
    who: alice, what: 'membership.changed', outcome: 'ok',
    detail: { channel, op: 'create', member: alice, memberKey: toHex(owner.ed25519.publicKey), role: 'owner', policy: { retentionSeconds: 604800, fileRetentionSeconds: 604800, legalHold: false, closedAtMs: null, precedences: ['flash', 'routine'], whoMayPost: 'member', textBytesMax: longTextBytesMaxDefault, fileBytesMax: fileBytesMaxDefault }, id: toHex(genesis.id), from: 'local' },
  }, 'a genesis: the owner joins, with the policy')
  const peer = '12D3KooWPeer'
  const added = channelAuditEvent(change({ op: 'add', memberEd: bob.ed25519.publicKey, memberX: bob.x25519.publicKey, role: 'admin' }, 2), peer)
  t.match(added?.event, { who: alice, what: 'membership.changed', remote: `/p2p/${peer}`, detail: { op: 'add', member: toHex(authorRef(bob.ed25519.publicKey)), role: 'admin', from: peer } }, 'from a peer: named in where.remote')
  t.match(channelAuditEvent(change({ op: 'remove', memberEd: bob.ed25519.publicKey, cutSeq: 4 }, 3), peer)?.event.detail, { op: 'remove', cutSeq: 4 })
  t.match(channelAuditEvent(change({ op: 'role', memberEd: bob.ed25519.publicKey, role: 'reader' }, 4), peer)?.event.detail, { op: 'role', role: 'reader' })
  const policied = channelAuditEvent(change({ op: 'policy', policy: { ...policy, whoMayPost: 'admin', textBytesMax: 100 } }, 5), 'local')
  t.equal(policied?.event.what, 'policy.changed')
  t.match(policied?.event.detail, { op: 'policy', policy: { whoMayPost: 'admin', textBytesMax: 100 } })
  const held = channelAuditEvent(change({ op: 'policy', policy: { ...policy, legalHold: true, closedAtMs: 1_795_000_000_000 } }, 6), 'local')
  t.match(held?.event.detail, { policy: { legalHold: true, closedAtMs: 1_795_000_000_000 } }, 'a legal hold and a close are audited as the policy changes they are')
  t.same(policied?.fold, { budget: 'channel', key: `policy.changed ${channel}`, keep: { channel }, sums: { policy: 1 } }, 'folded per channel once the budget is spent')
})

t.test('a key epoch is one entry, at its first chunk; other kinds are not audited here', async t => {
  const first = channelAuditEvent(keys(3, 0), 'local')
  t.same(first?.event.detail, { channel, epoch: 3, chunks: 2, recipientsFirstChunk: 1, id: toHex(keys(3, 0).id), from: 'local' })
  t.match(first?.event, { who: alice, what: 'key.rotated', outcome: 'ok' })
  t.equal(channelAuditEvent(keys(3, 1), 'local'), undefined, 'later chunks of the epoch add nothing')
  t.match(channelAuditEvent(keys(4, 0, 1, new Uint8Array([1, 2])), 'local')?.event.detail, { epoch: 4, chunks: null }, 'a malformed chunk is still on record, from its header')
  t.equal(channelAuditEvent({ ...genesis, kind: Kind.message }, 'local'), undefined)
})

t.test('an eviction batch is one entry with its counts and bytes', async t => {
  t.same(evictionAuditEvent(5, 9000).event, { who: 'node', what: 'store.evicted', outcome: 'ok', detail: { envelopes: 5, bytes: 9000, reason: 'storage quota full' } })
})

function budgetSetup (budgets: Record<string, number>, keysMax?: number): { b: AuditBudget, out: AuditEvent[], tick: () => void } {
  const out: AuditEvent[] = []
  let timers: Array<() => void> = []
  const b = new AuditBudget({ append: (e) => { out.push(e) }, schedule: (fn) => { timers.push(fn); return () => { timers = timers.filter(f => f !== fn) } }, budgets, windowMs: 60_000, keysMax })
  return { b, out, tick: () => { const due = timers; timers = []; for (const f of due) f() } }
}

t.test('a burst past the budget is counted per key and summarised when the window ends', async t => {
  const { b, out, tick } = budgetSetup({ channel: 3 })
  const ev = (i: number, ch: string): AuditEvent => ({ who: `u${i % 2}`, what: 'membership.changed', outcome: 'ok', detail: { channel: ch, n: i } })
  for (let i = 0; i < 100_000; i++) b.record(ev(i, i % 3 === 0 ? 'c1' : 'c2'), { budget: 'channel', key: i % 3 === 0 ? 'c1' : 'c2', keep: { channel: i % 3 === 0 ? 'c1' : 'c2' }, sums: { add: 1 } })
  t.equal(out.length, 3, 'the budget is written in full')
  tick()
  t.same(out.slice(3).map(e => e.detail), [
    { channel: 'c1', add: 33333, events: 33333, windowMs: 60_000, summary: true },
    { channel: 'c2', add: 66664, events: 66664, windowMs: 60_000, summary: true },
  ], 'then one summary per channel: every event written or counted')
  t.equal(out[3].who, '2 actors')
  b.record(ev(0, 'c1'), { budget: 'channel', key: 'c1', keep: {}, sums: {} })
  t.equal(out.length, 6, 'a new window has its budget again')
})

t.test('past keysMax keys, events are counted together per type; close writes what is open', async t => {
  const { b, out } = budgetSetup({ eviction: 1 }, 2)
  for (let i = 0; i < 5; i++) b.record(evictionAuditEvent(1, 100).event, { ...evictionAuditEvent(1, 100).fold, key: `k${i}` })
  t.equal(out.length, 1)
  b.close()
  t.same(out.slice(1).map(e => e.detail), [
    { reason: 'storage quota full', envelopes: 1, bytes: 100, events: 1, windowMs: 60_000, summary: true },
    { reason: 'storage quota full', envelopes: 1, bytes: 100, events: 1, windowMs: 60_000, summary: true },
    { reason: 'more keys than tracked in one window', envelopes: 2, bytes: 200, events: 2, windowMs: 60_000, summary: true },
  ])
  b.record(evictionAuditEvent(1, 100).event, evictionAuditEvent(1, 100).fold)
  t.equal(out.length, 5, 'after close, written in full')
})

t.test('config.changed at start-up: the first start, a changed key, an unchanged restart', async t => {
  const dataDir = mkdtempSync(join(tmpdir(), 'ddil-config-audit-'))
  t.teardown(() => { rmSync(dataDir, { recursive: true, force: true }) })
  writeFileSync(join(dataDir, 'config.yaml'), renderConfigTemplate())
  const start = async (env: Record<string, string>): Promise<{ hash: string, events: AuditEvent[] }> => {
    const events: AuditEvent[] = []
    const hash = await recordConfig({ dataDir, config: loadConfig({ dataDir, env }).config, audit: async (e) => { events.push(e) } })
    return { hash, events }
  }
  const first = await start({})
  t.equal(first.events.length, 1)
  t.match(first.events[0], { who: 'operator', what: 'config.changed', outcome: 'ok', detail: { hash: first.hash, previous: null } })
  t.ok((first.events[0].detail?.changed as string[]).includes('log.level'), 'every key is new at a first start')
  t.same(JSON.parse(readFileSync(join(dataDir, configAuditedFileName), 'utf8')).hash, first.hash, 'remembered for the next start')
  const again = await start({})
  t.same(again, { hash: first.hash, events: [] }, 'an unchanged restart writes nothing (node.started names the hash)')
  const changed = await start({ DDIL_LOG_LEVEL: 'debug' })
  t.not(changed.hash, first.hash)
  t.same(changed.events[0].detail, { hash: changed.hash, previous: first.hash, changed: ['log.level'], keys: { 'log.level': configDigest(loadConfig({ dataDir, env: { DDIL_LOG_LEVEL: 'debug' } }).config).keys['log.level'] } }, 'only the key that changed, with its new value\'s hash')
  t.same(configChanges({ hash: 'x', keys: { a: '1', gone: '2' } }, { hash: 'y', keys: { a: '1', b: '3' } }), ['b', 'gone'], 'keys set and gone count as changed')
})

t.test('a running relay whose store is full: the first eviction in full, the rest summed at the stop', async t => {
  t.teardown(cleanupRelays)
  const r = await Relay.init('evict')
  r.writeConfig({ authors: [], quota: '20KB', logLevel: 'error' })
  const node = await startNode({ dataDir: r.dataDir, env: {}, flags: {}, prettyLogs: false })
  t.teardown(() => node.stop())
  const me: UserKeys = { ed25519: r.user.ed25519, x25519: r.user.x25519 }
  const ch = createChannel(crypto, me, policy, new Uint8Array(16).fill(9), { ms: Date.now(), c: 0 })
  await node.engine.importEnvelope(ch.bytes) // a bundle's envelopes are not in custody here: evictable
  const posts = 40
  for (let seq = 2; seq < posts + 2; seq++) {
    await node.engine.importEnvelope(signEnvelope(crypto, {
      kind: Kind.message, precedence: Precedence.routine, channel: ch.channel, author: authorRef(me.ed25519.publicKey), seq,
      hlc: { ms: Date.now(), c: seq }, ttlSeconds: 3600, epoch: 1, deps: [], body: new Uint8Array(1000).fill(seq),
    }, me.ed25519.privateKey).bytes)
  }
  const evicted = node.status().counters.evicted
  t.ok(evicted > 10, `${evicted} of ${posts} posts evicted`)
  await node.stop()
  const entries: any[] = []
  for await (const line of exportAuditLog(r.dataDir)) entries.push(JSON.parse(line))
  const evictions = entries.filter(e => e.what === 'store.evicted')
  t.equal(evictions.length, 2, 'one entry in full, one summary')
  t.match(evictions[0], { who: 'node', outcome: 'ok', where: { node: node.nodeId }, detail: { envelopes: 1, bytes: Number, reason: 'storage quota full' } })
  t.ok(evictions[0].detail.bytes > 1000, 'the bytes it freed')
  t.match(evictions[1].detail, { events: evicted - 1, envelopes: evicted - 1, summary: true })
  t.ok(entries.findIndex(e => e.what === 'store.evicted' && e.detail.summary === true) < entries.findIndex(e => e.what === 'node.stopped'), 'written before node.stopped')
  t.match(entries.find(e => e.what === 'membership.changed'), { who: toHex(authorRef(me.ed25519.publicKey)), detail: { op: 'create', from: 'local' } }, 'the imported genesis, from local')
})
