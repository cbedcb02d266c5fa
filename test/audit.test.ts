/**
 * The audit log (node/audit): the format's pinned vectors, then each tampering class of the
 * threat catalogue (§7 Audit) done to a real log on disk and located by `verifyAuditLog`,
 * rollback of the head, logging failure (appends refused until recovered), bounds on odd
 * input, and a seeded property test over random tampering.
 *
 * Replay: DDIL_SEED=<seed> npx tap test/audit.test.ts
 */
import t from 'tap'
import fc from 'fast-check'
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { createNodeCrypto } from '../node/crypto.ts'
import { AuditError } from '../protocol/errors.ts'
import { auditLineBytesMax, auditDetailBytesMax, auditStringCharsMax } from '../protocol/limits.ts'
import type { KeyPair } from '../protocol/ports.ts'
import {
  auditKeyFromNodeKey, exportAuditHead, exportAuditLog, openAuditLog, verifyAuditLog,
  type AuditEvent, type AuditLogOptions, type AuditProblem,
} from '../node/audit/index.ts'
import { encodeHead, encodeLine, entryHash, parseEntryLine, sealEntry, signHead, toHex, type AuditEntry, type AuditFields } from '../node/audit/format.ts'
import { canonicalJson } from '../node/audit/canonical.ts'
import { testSeed } from './helpers/seed.ts'
import { waitUntil } from './helpers/wait.ts'

const seed = testSeed(t)
const crypto = createNodeCrypto()
const root = mkdtempSync(join(tmpdir(), 'ddil-audit-test-'))
t.teardown(() => rmSync(root, { recursive: true, force: true }))

const nodeKey = crypto.ed25519KeyPair(new Uint8Array(32).fill(1))
const attackerKey = crypto.ed25519KeyPair(new Uint8Array(32).fill(2))
const t0 = Date.UTC(2026, 0, 2, 3, 4, 5, 6)

interface Fixture { dir: string, opts: AuditLogOptions, logPath: string, headPath: string }

let dirs = 0
function fixture (extra: Partial<AuditLogOptions> = {}): Fixture {
  const dir = join(root, `d${++dirs}`)
  mkdirSync(dir)
  let clock = t0
  const opts: AuditLogOptions = { dataDir: dir, crypto, key: nodeKey, node: 'node-a', now: () => (clock += 1000), checkpointEvery: 5, ...extra }
  return { dir, opts, logPath: join(dir, 'audit', 'audit.log'), headPath: join(dir, 'audit', 'audit.head') }
}

const event = (i: number): AuditEvent => ({ who: `peer-${i}`, what: 'peer.refused', outcome: 'refused', remote: `127.0.0.1:${4000 + i}`, detail: { reason: 'not in allowlist', i } })

/** A closed log of `n` caller events (plus the checkpoints the log adds). */
async function written (n: number, extra: Partial<AuditLogOptions> = {}): Promise<Fixture> {
  const f = fixture(extra)
  const log = await openAuditLog(f.opts)
  for (let i = 0; i < n; i++) await log.append(event(i))
  await log.close()
  return f
}

const readLog = (f: Fixture): string[] => readFileSync(f.logPath, 'utf8').split('\n').slice(0, -1)
const writeLog = (f: Fixture, lines: string[]): void => writeFileSync(f.logPath, lines.map(l => `${l}\n`).join(''))
const verify = async (f: Fixture) => await verifyAuditLog(f.dir, crypto, { publicKey: nodeKey.publicKey })
const brief = (ps: AuditProblem[]): Array<[number, string, number | undefined]> => ps.map(p => [p.line, p.kind, p.seq])
const parsed = (line: string): AuditEntry => JSON.parse(line) as AuditEntry

/** Re-seal entries from index `from` on with `key`, renumbering and re-chaining: what an attacker without the node key can do. */
function rechain (lines: string[], from: number, key: KeyPair): string[] {
  const out = lines.slice(0, from)
  let prev = from === 0 ? '0'.repeat(64) : parsed(out[from - 1]).hash
  for (let i = from; i < lines.length; i++) {
    const { hash: _h, sig: _s, ...fields } = parsed(lines[i])
    const { entry, line } = sealEntry({ ...fields, seq: i + 1, prev } as AuditFields, crypto, key)
    out.push(line); prev = entry.hash
  }
  return out
}

t.test('format: pinned vector, symmetric encode/parse, canonical JSON', async t => {
  const fields: AuditFields = {
    v: 1, seq: 1, ts: '2026-01-02T03:04:05.006Z', who: 'operator', what: 'config.changed',
    where: { node: 'node-a', remote: null }, outcome: 'ok', detail: { key: 'log.level', to: 'debug' }, prev: '0'.repeat(64),
  }
  const { entry, line } = sealEntry(fields, crypto, nodeKey)
  t.equal(line, '{"v":1,"seq":1,"ts":"2026-01-02T03:04:05.006Z","who":"operator","what":"config.changed","where":{"node":"node-a","remote":null},' +
    '"outcome":"ok","detail":{"key":"log.level","to":"debug"},"prev":"0000000000000000000000000000000000000000000000000000000000000000",' +
    `"hash":"${entry.hash}","sig":"${entry.sig}"}`)
  t.equal(entry.hash, '3f47678ab05aa62c4f1b479ab0a89219c3bb72b0164425e26973c6c8e9fb8c0c', 'hash pinned (SHA-256 of the canonical body, checked with Python hashlib)')
  t.equal(entry.sig.slice(0, 32), '8730ef31f52ca28a44a6f370e52925ee', 'Ed25519 signature pinned (deterministic)')
  const back = parseEntryLine(line, crypto, nodeKey.publicKey)
  if (typeof back === 'string') throw new Error(back)
  t.same([back.canonical, back.hashOk, back.sigOk], [true, true, true])
  t.equal(encodeLine(back.entry), line, 'parse then encode gives the same line')
  t.equal(canonicalJson({ b: [1, 'x', null, true], a: { d: 1.5, c: -0 } }), '{"a":{"c":0,"d":1.5},"b":[1,"x",null,true]}')

  // Domain separation: a checkpoint entry signed under the plain entry label does not verify.
  const cp: AuditFields = { ...fields, what: 'audit.checkpoint', who: 'node' }
  const hash = entryHash(cp, crypto)
  const wrongLabel = crypto.ed25519Sign(nodeKey.privateKey, new Uint8Array([...new TextEncoder().encode('ddil/v1/audit-entry\n'), ...Buffer.from(hash, 'hex')]))
  const forged = parseEntryLine(encodeLine({ ...cp, hash, sig: toHex(wrongLabel) }), crypto, nodeKey.publicKey)
  t.equal(typeof forged === 'object' && forged.sigOk, false, 'entry-label signature rejected on a checkpoint')
})

t.test('a clean log verifies, with the key taken from node.key; checkpoints and the clock are as configured', async t => {
  const f = fixture()
  const libp2pKey = await generateKeyPair('Ed25519')
  writeFileSync(join(f.dir, 'node.key'), privateKeyToProtobuf(libp2pKey), { mode: 0o600 })
  const key = auditKeyFromNodeKey(libp2pKey)
  const log = await openAuditLog({ ...f.opts, key })
  const entries = await Promise.all(Array.from({ length: 12 }, (_, i) => log.append(event(i)))) // concurrent: serialised in call order
  t.same(entries.map(e => e.who), Array.from({ length: 12 }, (_, i) => `peer-${i}`))
  await log.close()
  const lines = readLog(f).map(parsed)
  t.same(lines.map(e => e.seq), lines.map((_, i) => i + 1), 'seq consecutive from 1')
  t.same(lines.filter(e => e.what === 'audit.checkpoint').map(e => e.seq), [1, 7, 13, 16], 'checkpoint on open, every 5 entries, on close')
  t.equal(lines[0].ts, new Date(t0 + 1000).toISOString(), 'ts from the injected clock')
  const r = await verifyAuditLog(f.dir, crypto)
  t.same([r.ok, r.entries, r.authentic, r.keySource, r.problems], [true, 16, 16, 'node.key', []])
  const exported: string[] = []
  for await (const l of exportAuditLog(f.dir)) exported.push(l)
  t.same(exported, readLog(f), 'export yields the stored lines')
  t.equal(await exportAuditHead(f.dir), readFileSync(f.headPath, 'utf8').trimEnd())

  const reopened = await openAuditLog({ ...f.opts, key })
  await reopened.append(event(99))
  await reopened.close()
  t.ok((await verifyAuditLog(f.dir, crypto)).ok, 'reopen continues the chain')
  await t.rejects(openAuditLog({ ...f.opts, key: attackerKey }), AuditError, 'a log signed by another key is refused')
})

t.test('modified: one byte of an entry, whitespace, broken JSON', async t => {
  const f = await written(10)
  const lines = readLog(f)
  const original = lines.slice()
  lines[4] = lines[4].replace('"who":"peer-3"', '"who":"peer-9"')
  writeLog(f, lines)
  t.same(brief((await verify(f)).problems), [[5, 'modified', 5]], 'one changed byte found at its line')

  const spaced = original.slice()
  spaced[3] = spaced[3].replace('"outcome":', '"outcome": ')
  writeLog(f, spaced)
  const r = await verify(f)
  t.same(brief(r.problems), [[4, 'modified', 4]], 'a space that breaks canonical form is a modification')
  t.match(r.problems[0].message, /canonical/)

  const broken = original.slice()
  broken[6] = broken[6].slice(0, 20) + broken[6].slice(21)
  writeLog(f, broken)
  t.same(brief((await verify(f)).problems).map(p => p.slice(0, 2)), [[7, 'malformed']], 'broken JSON is malformed at its line')
})

t.test('deleted: a middle entry', async t => {
  const f = await written(10)
  const lines = readLog(f)
  lines.splice(5, 1)
  writeLog(f, lines)
  t.same(brief((await verify(f)).problems), [[6, 'deleted', 6]])
})

t.test('inserted: a forged entry with the chain recomputed after it, and a replayed copy', async t => {
  const f = await written(10)
  const lines = readLog(f)
  const forged = parsed(lines[3])
  lines.splice(4, 0, JSON.stringify({ ...forged, who: 'mallory' })) // placeholder, re-sealed by rechain
  writeLog(f, rechain(lines, 4, attackerKey))
  const r = await verify(f)
  t.same(brief(r.problems), [[5, 'inserted', 5]], 'found at the forged line, though every hash and prev link checks out')

  const g = await written(10)
  const again = readLog(g)
  again.splice(7, 0, again[2])
  writeLog(g, again)
  t.same(brief((await verify(g)).problems), [[8, 'inserted', 3]], 'a replayed authentic line is a second copy')
})

t.test('reordered: two entries swapped', async t => {
  const f = await written(10)
  const lines = readLog(f)
  ;[lines[3], lines[4]] = [lines[4], lines[3]]
  writeLog(f, lines)
  t.same(brief((await verify(f)).problems), [[4, 'reordered', 4], [5, 'reordered', 4]])
})

t.test('truncated: tail removed, the signed head says more', async t => {
  const f = await written(10)
  const lines = readLog(f)
  writeLog(f, lines.slice(0, lines.length - 3))
  const r = await verify(f)
  t.same(brief(r.problems), [[lines.length - 2, 'truncated', lines.length - 2]])
})

t.test('whole chain rewritten consistently without the node key', async t => {
  const f = await written(10)
  const lines = readLog(f)
  const rewritten = rechain(lines.map(l => l.replace('not in allowlist', 'allowed')), 0, attackerKey)
  writeLog(f, rewritten)
  const last = parsed(rewritten[rewritten.length - 1])
  writeFileSync(f.headPath, `${encodeHead(signHead(last.seq, last.hash, crypto, attackerKey))}\n`)
  const r = await verify(f)
  t.same(brief(r.problems), [[0, 'bad-signature', last.seq], [1, 'bad-signature', 1]], 'head and every entry fail the node key')
  t.match(r.problems[1].message, new RegExp(`lines 1–${rewritten.length}`))

  // With no trusted key at all (no node.key, none given), only self-consistency can be checked.
  const tofu = await verifyAuditLog(f.dir, crypto)
  t.same([tofu.ok, tofu.keySource], [true, 'head'], 'documented limit: pin the key (node.key) to catch this')

  // Content changed mid-log and the chain recomputed from there (through a checkpoint); the signed head kept.
  const g = await written(10)
  const edited = readLog(g)
  edited[5] = edited[5].replace('peer-4', 'peer-X')
  const forged = rechain(edited, 5, attackerKey)
  t.ok(forged.slice(5).some(l => parsed(l).what === 'audit.checkpoint'), 'the forged stretch includes a checkpoint')
  writeLog(g, forged)
  t.same(brief((await verify(g)).problems), [[6, 'bad-signature', 6]], 'caught from the first changed line')
})

t.test('rollback: an older signed head', async t => {
  const f = fixture()
  const log = await openAuditLog(f.opts)
  for (let i = 0; i < 4; i++) await log.append(event(i))
  const oldHead = await exportAuditHead(f.dir)
  const oldLines = readLog(f)
  for (let i = 4; i < 8; i++) await log.append(event(i))
  await log.close()
  const newHead = await exportAuditHead(f.dir)
  const fullLines = readLog(f)

  writeFileSync(f.headPath, `${oldHead}\n`)
  const r = await verify(f)
  t.same(brief(r.problems), [[oldLines.length + 1, 'rolled-back', oldLines.length + 1]], 'head older than the signed entries: detected')

  writeLog(f, oldLines)
  t.ok((await verify(f)).ok, 'log and head rolled back together: not detectable from the data directory alone')
  const anchored = await verifyAuditLog(f.dir, crypto, { publicKey: nodeKey.publicKey, anchor: newHead })
  t.same(brief(anchored.problems), [[oldLines.length + 1, 'rolled-back', parsed(fullLines[fullLines.length - 1]).seq]], 'caught by an exported head')

  // Reopening with the stale head: the node moves the unconfirmed tail aside and records it.
  writeLog(f, fullLines)
  const reopened = await openAuditLog(f.opts)
  await reopened.close()
  const after = readLog(f).map(parsed)
  const recovered = after.find(e => e.what === 'audit.recovered')
  t.equal(recovered?.seq, oldLines.length + 1)
  t.equal(recovered?.detail.quarantined_bytes, Buffer.byteLength(fullLines.slice(oldLines.length).map(l => `${l}\n`).join('')))
  const q = readdirSync(join(f.dir, 'audit')).filter(n => n.startsWith('quarantine-'))
  t.equal(q.length, 1)
  t.equal(readFileSync(join(f.dir, 'audit', q[0]), 'utf8'), fullLines.slice(oldLines.length).map(l => `${l}\n`).join(''), 'quarantined bytes kept as evidence')
  t.ok((await verify(f)).ok)
})

t.test('rolled back, then written again: an anchor catches it; spliced histories are located', async t => {
  const f = fixture()
  const log = await openAuditLog(f.opts)
  for (let i = 0; i < 3; i++) await log.append(event(i))
  const oldHead = readFileSync(f.headPath, 'utf8')
  const oldLines = readLog(f)
  for (let i = 3; i < 6; i++) await log.append(event(i))
  await log.close()
  const anchor = await exportAuditHead(f.dir)
  const historyA = readLog(f)

  writeLog(f, oldLines) // both files restored from a "backup"; the node carries on from there
  writeFileSync(f.headPath, oldHead)
  const again = await openAuditLog(f.opts)
  for (let i = 0; i < 8; i++) await again.append({ ...event(i), who: `later-${i}` })
  await again.close()
  const historyB = readLog(f)
  t.ok((await verify(f)).ok, 'locally consistent')
  const seq = parsed(anchor).seq
  const line = historyB.findIndex(l => parsed(l).seq === seq) + 1
  const r = await verifyAuditLog(f.dir, crypto, { publicKey: nodeKey.publicKey, anchor })
  t.same(brief(r.problems), [[line, 'rolled-back', seq]], 'the anchor names a different entry at its seq')

  const m = oldLines.length + 2 // both histories are signed, but diverge after the old head
  writeLog(f, [...historyA.slice(0, m), ...historyB.slice(m)])
  const spliced = await verify(f)
  t.same(brief(spliced.problems), [[m + 1, 'modified', m + 1]])
  t.match(spliced.problems[0].message, /two histories/)
})

t.test('a deleted or forged head: open refuses, verify reports it', async t => {
  const f = await written(3)
  const head = readFileSync(f.headPath, 'utf8')
  rmSync(f.headPath)
  t.same(brief((await verify(f)).problems), [[0, 'deleted', undefined]])
  await t.rejects(openAuditLog(f.opts), { code: 'ERR_AUDIT' })

  // Claims a longer log under the node's key, but the signature is not the node's.
  const lines = readLog(f)
  const last = parsed(lines[lines.length - 1])
  const fake = { ...signHead(last.seq, last.hash, crypto, attackerKey), key: toHex(nodeKey.publicKey) }
  writeFileSync(f.headPath, `${encodeHead(fake)}\n`)
  t.same(brief((await verify(f)).problems), [[0, 'bad-signature', last.seq]])
  await t.rejects(openAuditLog(f.opts), { code: 'ERR_AUDIT', message: /signature/ })
  writeFileSync(f.headPath, head)
  t.ok((await verify(f)).ok, 'the real head restores a clean report')
})

/**
 * Root-proof write failure: the audit directory moves away and a regular file takes its name,
 * so creating the head's temp file fails with ENOTDIR whatever our privileges.
 */
function breakAuditDir (f: Fixture): void {
  const auditDir = join(f.dir, 'audit')
  renameSync(auditDir, `${auditDir}.away`)
  writeFileSync(auditDir, 'not a directory')
}

function mendAuditDir (f: Fixture): void {
  const auditDir = join(f.dir, 'audit')
  rmSync(auditDir)
  renameSync(`${auditDir}.away`, auditDir)
}

t.test('logging failure: appends refused until recover() succeeds', async t => {
  const retries: Array<() => void> = []
  const f = fixture({ schedule: (fn) => { retries.push(fn); return () => {} } }) // retries held back: the test recovers by hand
  const log = await openAuditLog(f.opts)
  await log.append(event(0))
  breakAuditDir(f)
  await t.rejects(log.append(event(1)), AuditError, 'the write that cannot complete throws AuditError')
  t.ok(log.failure instanceof AuditError)
  t.equal(retries.length, 1, 'the failed log schedules its own retry')
  mendAuditDir(f)
  await t.rejects(log.append(event(2)), AuditError, 'still refused after the cause goes away, until recovered')
  await t.rejects(log.checkpoint(), AuditError)

  breakAuditDir(f)
  await t.rejects(log.recover(), AuditError, 'recover fails while the directory is unusable')
  await t.rejects(log.append(event(3)), AuditError)
  mendAuditDir(f)

  await log.recover()
  t.equal(log.failure, undefined)
  const e = await log.append(event(4))
  t.equal(e.who, 'peer-4')
  await log.close()
  const entries = readLog(f).map(parsed)
  const rec = entries.find(x => x.what === 'audit.recovered')
  t.match(rec?.detail, { after_failure: /cannot write the audit log/, quarantine_file: /^quarantine-/, refused_appends: 3 }, 'the unconfirmed entry is moved aside, the failure recorded, the refused appends counted')
  t.notOk(entries.some(x => x.who === 'peer-1'), 'the append that threw is not in the log')
  t.ok((await verify(f)).ok)
  writeFileSync(join(root, 'blocker'), '')
  await t.rejects(openAuditLog({ ...fixture().opts, dataDir: join(root, 'blocker', 'sub') }), AuditError, 'a data directory under a regular file cannot be opened')
})

t.test('logging failure: the log resumes by itself once the cause has gone, and still verifies', async t => {
  const f = fixture()
  const log = await openAuditLog(f.opts)
  await log.append(event(0))
  breakAuditDir(f)
  await t.rejects(log.append(event(1)), AuditError, 'the write that cannot complete throws AuditError')
  await t.rejects(log.append(event(2)), AuditError, 'refused at once while failed: the daemon refuses what it cannot record')
  mendAuditDir(f)
  // Nobody calls recover(): the log's own retries must bring it back.
  const entry = await waitUntil('the log to accept appends again', () => log.append(event(3)).catch(() => undefined), { patienceMs: 30_000, everyMs: 50 })
  t.equal(entry.who, 'peer-3')
  t.equal(log.failure, undefined)
  await log.close()
  const entries = readLog(f).map(parsed)
  const rec = entries.find(x => x.what === 'audit.recovered')
  t.match(rec?.detail, { after_failure: /cannot write the audit log/ }, 'the recovery is recorded in the log')
  t.ok((rec?.detail.refused_appends as number) >= 2, `the appends refused meanwhile are counted (${String(rec?.detail.refused_appends)})`)
  t.ok((await verify(f)).ok, 'the log verifies after the episode')
})

t.test('a torn last line (crash mid-write) is reported, then quarantined on open', async t => {
  const f = await written(4)
  const lines = readLog(f)
  writeFileSync(f.logPath, lines.map(l => `${l}\n`).join('') + lines[2].slice(0, 50))
  t.same(brief((await verify(f)).problems).map(p => p.slice(0, 2)), [[lines.length + 1, 'malformed']])
  const log = await openAuditLog(f.opts)
  await log.close()
  t.ok((await verify(f)).ok)
})

t.test('odd input is bounded and never throws', async t => {
  const f = fixture()
  const log = await openAuditLog(f.opts)
  const cyclic: Record<string, unknown> = { a: 1 }
  cyclic.self = cyclic
  const hostile = { get boom () { throw new Error('getter') } }
  const escapes = '\u0001'.repeat(auditStringCharsMax * 4)
  const odd: unknown[] = [
    null, 42, { who: escapes, what: 'nope', outcome: 'maybe', remote: escapes, detail: { s: escapes } },
    { who: 'x', what: 'store.purged', outcome: 'ok', detail: { big: 'y'.repeat(10_000), n: 10n, f: () => 1, sym: Symbol('s'), inf: Infinity, deep: { a: { b: { c: { d: { e: 1 } } } } } } },
    { who: 'x', what: 'store.evicted', outcome: 'ok', detail: cyclic },
    { who: 'x', what: 'store.evicted', outcome: 'ok', detail: hostile },
    { who: 'x', what: 'key.rotated', outcome: 'ok', detail: Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, 'v'.repeat(100)])) },
    { who: 'x', what: 'audit.checkpoint', outcome: 'ok', detail: { secretKey: 'abc', token: 'def', ['__proto__']: 'p' } },
  ]
  const out = []
  for (const e of odd) out.push(await log.append(e as AuditEvent))
  await log.close()
  t.same(out.map(e => e.what), ['audit.invalid-event', 'audit.invalid-event', 'audit.invalid-event', 'store.purged', 'store.evicted', 'store.evicted', 'key.rotated', 'audit.invalid-event'])
  t.equal(out[2].who.length, auditStringCharsMax)
  t.match(out[2].who, /…\[truncated from 1024 chars\]$/)
  t.match(out[3].detail, { big: /truncated from 10000/, n: '10', f: '[function]', sym: '[symbol]', inf: 'Infinity' })
  t.equal(out[5].detail._unserialisable, true)
  t.equal(out[6].detail._truncated, true)
  t.match(out[7].detail, { secretKey: '[redacted]', token: '[redacted]', given_what: 'audit.checkpoint' })
  for (const e of out) t.ok(Buffer.byteLength(canonicalJson(e.detail)) <= auditDetailBytesMax)
  for (const l of readLog(f)) t.ok(Buffer.byteLength(l) <= auditLineBytesMax, `line within ${auditLineBytesMax} bytes`)
  t.ok((await verify(f)).ok, 'odd input still gives a verifiable log')
})

t.test('property: any single tampering is reported at its line', async t => {
  const f = await written(20, { checkpointEvery: 7 })
  const clean = readLog(f)
  const n = clean.length
  const op = fc.oneof(
    fc.record({ kind: fc.constant('delete' as const), i: fc.integer({ min: 1, max: n - 2 }) }),
    fc.record({ kind: fc.constant('swap' as const), i: fc.integer({ min: 0, max: n - 2 }) }),
    fc.record({ kind: fc.constant('flip' as const), i: fc.integer({ min: 0, max: n - 1 }), at: fc.nat() }),
    fc.record({ kind: fc.constant('copy' as const), i: fc.integer({ min: 0, max: n - 1 }), to: fc.integer({ min: 0, max: n }) }),
  )
  await fc.assert(fc.asyncProperty(op, async o => {
    const lines = clean.slice()
    let line: number
    if (o.kind === 'delete') { lines.splice(o.i, 1); line = o.i + 1 }
    else if (o.kind === 'swap') { [lines[o.i], lines[o.i + 1]] = [lines[o.i + 1], lines[o.i]]; line = o.i + 1 }
    else if (o.kind === 'copy') { lines.splice(o.to, 0, clean[o.i]); line = o.to === o.i ? o.i + 2 : o.to + 1 } // a copy next to its original: the second one is the extra
    else {
      const s = lines[o.i]; const at = o.at % s.length
      lines[o.i] = s.slice(0, at) + (s[at] === 'a' ? 'b' : 'a') + s.slice(at + 1); line = o.i + 1
    }
    writeLog(f, lines)
    const r = await verify(f)
    return !r.ok && r.problems.some(p => p.line === line)
  }), { seed, numRuns: 150 })
  t.pass('150 random tamperings located')
})

t.test('verify while the node appends: entries in flight are not reported as tampering', async t => {
  const f = fixture({ checkpointEvery: 50 })
  const log = await openAuditLog(f.opts)
  for (let i = 0; i < 5; i++) await log.append(event(i))
  let appending = true
  const appender = (async () => { for (let i = 5; appending; i++) await log.append(event(i)) })()
  const reports = []
  for (let k = 0; k < 20; k++) reports.push(await verify(f))
  appending = false
  await appender
  await log.close()
  t.same(reports.filter(r => !r.ok).map(r => brief(r.problems)), [], 'every verification during the appends is clean')
  t.ok(reports[reports.length - 1].entries > 5, 'the log grew meanwhile')
})

t.test('an append caught between its lines and its head, or mid-line, settles; a node that stopped is still reported', async t => {
  const f = fixture()
  const log = await openAuditLog(f.opts)
  for (let i = 0; i < 4; i++) await log.append(event(i))
  const oldHead = await exportAuditHead(f.dir)
  const oldLines = readLog(f)
  for (let i = 4; i < 6; i++) await log.append(event(i))
  await log.close()
  const newHead = await exportAuditHead(f.dir)
  const fullLines = readLog(f)

  // As the node does: the head is replaced by a rename (a reader never sees it half-written),
  // the log only grows. Rewriting either in place would show a verifier a truncated file.
  const replaceHead = (text: string): void => { writeFileSync(`${f.headPath}.tmp`, `${text}\n`); renameSync(`${f.headPath}.tmp`, f.headPath) }
  replaceHead(oldHead) // lines written, head not yet replaced
  const pending = verify(f)
  setTimeout(() => replaceHead(newHead), 15)
  t.same(brief((await pending).problems), [], 'the head caught up: nothing to report')

  const last = fullLines[fullLines.length - 1]
  writeFileSync(f.logPath, fullLines.slice(0, -1).map(l => `${l}\n`).join('') + last.slice(0, 40)) // mid-write
  replaceHead(oldHead)
  const torn = verify(f)
  setTimeout(() => { appendFileSync(f.logPath, `${last.slice(40)}\n`); replaceHead(newHead) }, 15)
  t.same(brief((await torn).problems), [], 'the line was finished and confirmed: nothing to report')

  writeFileSync(f.headPath, `${oldHead}\n`)
  t.same(brief((await verify(f)).problems), [[oldLines.length + 1, 'rolled-back', oldLines.length + 1]], 'the head never caught up: reported')
})
