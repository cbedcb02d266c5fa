/**
 * Logging failure (brief §7, Audit): while the audit log cannot be written, security-relevant
 * changes are refused with AuditError before anything is stored, and accepted again once the
 * log works. A real log on disk is broken by replacing its directory with a file (works as
 * root, where a read-only mode would not stop writes), then mended; all in-process, the
 * last test through a running relay's client API.
 */
import t from 'tap'
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openAuditLog, type AuditEvent } from '../node/audit/index.ts'
import { auditGate } from '../node/audit-gate.ts'
import { createFacade, EngineEventHub } from '../node/facade.ts'
import { createBundles, type BundleDeps } from '../node/bundle.ts'
import type { Engine } from '../protocol/engine/engine.ts'
import { authorRef, Kind, signEnvelope } from '../protocol/envelope.ts'
import { AuditError } from '../protocol/errors.ts'
import { aliceKeys, crypto, messageFields } from './helpers/fixtures.ts'
import { waitUntil } from './helpers/wait.ts'
import { initDataDir } from '../node/data-dir.ts'
import { startNode } from '../node/daemon.ts'
import { loadUserIdentity } from '../node/user-identity.ts'
import { connectClient } from '../node/api/client.ts'

const dir = mkdtempSync(join(tmpdir(), 'ddil-audit-gate-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))
const auditDir = join(dir, 'audit')
const retries: Array<() => void> = []
const log = await openAuditLog({
  dataDir: dir, crypto, key: crypto.ed25519KeyPair(new Uint8Array(32).fill(9)), node: 'node-a', now: () => 0,
  schedule: (fn) => { retries.push(fn); return () => {} }, // the test recovers by hand
})
t.teardown(() => log.close())
const gate = auditGate(log, crypto.sha256)

const bytesOf = (kind: number): Uint8Array => signEnvelope(crypto, messageFields({ kind: kind as 0 }), aliceKeys.privateKey).bytes
const stored: number[] = []
const engine = { submit: async (bytes: Uint8Array) => { stored.push(bytes[0]); return { key: String(stored.length), id: new Uint8Array(32) } } } as unknown as Engine
const facade = createFacade(engine, new EngineEventHub(), {
  nodeId: 'node-a', registry: {} as never, channels: () => [], status: () => ({}), admit: gate.submission,
})
const touched: string[] = []
const untouchable = new Proxy({}, { get: (_o, name) => { touched.push(String(name)); throw new Error(`touched ${String(name)}`) } })
const bundles = createBundles({
  engine: untouchable, channels: () => [], crypto, nodeId: 'node-a', nodeKey: aliceKeys, peerHolds: untouchable,
  audit: (e: AuditEvent) => log.append(e).then(() => {}), auditReady: gate.require, nowMs: () => 0,
} as unknown as BundleDeps)
const submit = (kind: number): Promise<unknown> => facade.submit(bytesOf(kind), { user: aliceKeys.publicKey })

t.test('a healthy log lets every change through', async t => {
  await submit(Kind.governance)
  await submit(Kind.message)
  t.equal(stored.length, 2)
})

t.test('a failed log: governance and bundles refused before anything is stored; messages and key envelopes still flow', async t => {
  renameSync(auditDir, `${auditDir}.away`)
  writeFileSync(auditDir, 'not a directory') // the next write cannot complete: the log fails
  await t.rejects(log.append({ who: 'operator', what: 'config.changed', outcome: 'ok' }), AuditError)
  t.ok(log.failure instanceof AuditError, 'the log is in its failed state')
  const before = stored.length
  await t.rejects(submit(Kind.governance), { code: 'ERR_AUDIT', message: /a channel governance change is refused while the audit log cannot record it/ })
  t.equal(stored.length, before, 'nothing refused reached the engine')
  await submit(Kind.message)
  await submit(Kind.keys)
  t.equal(stored.length, before + 2, 'messages are not security changes, and a new epoch key after a removal must not wait')
  t.doesNotThrow(() => { gate.submission(new Uint8Array([1, 2, 3])) }, 'junk passes on to the engine, which refuses it with its own error')
  await t.rejects(bundles.import({ path: join(dir, 'some.bundle') }), { code: 'ERR_AUDIT', message: /a bundle import is refused/ })
  await t.rejects(bundles.export({ path: join(dir, 'out.bundle'), channels: [], precedences: 15, sinceMs: 0 } as never), { code: 'ERR_AUDIT', message: /a bundle export is refused/ })
  t.same(touched, [], 'the bundle was neither read nor written, and no store touched')
})

t.test('once the log works again, the same changes are accepted with no restart', async t => {
  rmSync(auditDir)
  renameSync(`${auditDir}.away`, auditDir)
  t.ok(retries.length > 0, 'the failed log scheduled its own retry')
  await log.recover()
  t.equal(log.failure, undefined)
  const before = stored.length
  await submit(Kind.governance)
  t.equal(stored.length, before + 1)
  t.doesNotThrow(() => { gate.require('a bundle import') })
})

t.test('the running relay: its client API refuses these changes while its log is broken, then accepts them', async t => {
  const data = join(dir, 'relay')
  await initDataDir({ dataDir: data })
  writeFileSync(join(data, 'config.yaml'), [
    'node:', '  listen: [/ip4/127.0.0.1/tcp/0]', 'discovery:', '  mdns: false', 'api:', '  listen: 127.0.0.1:0',
    'admin:', '  listen: 127.0.0.1:0', 'log:', '  level: error', '',
  ].join('\n'), { mode: 0o600 })
  const node = await startNode({ dataDir: data, env: {}, flags: {}, prettyLogs: false })
  t.teardown(() => node.stop())
  const user = (await loadUserIdentity(data, crypto)).ed25519
  const client = await connectClient({ url: `ws://${node.api.host}:${node.api.port}`, user, crypto, nodeId: node.nodeId })
  t.teardown(() => client.close())
  const governance = signEnvelope(crypto, messageFields({ kind: Kind.governance as 0, author: authorRef(user.publicKey) }), user.privateKey).bytes
  const relayAudit = join(data, 'audit')

  renameSync(relayAudit, `${relayAudit}.away`)
  writeFileSync(relayAudit, 'not a directory')
  await t.rejects(client.issueEnrolment({ name: 'x', ttlMs: 60_000 }), { code: 'ERR_AUDIT' }, 'the append that finds the log broken')
  await t.rejects(client.submit(governance), { code: 'ERR_AUDIT', message: /governance change is refused/ })
  await t.rejects(client.bundleExport({ path: join(dir, 'relay.bundle'), channels: [], precedences: 15, sinceMs: 0 }), { code: 'ERR_AUDIT', message: /bundle export is refused/ })

  rmSync(relayAudit)
  renameSync(`${relayAudit}.away`, relayAudit)
  await waitUntil('the relay\'s log to recover by itself', () => client.issueEnrolment({ name: 'y', ttlMs: 60_000 }).catch(() => undefined), { patienceMs: 30_000, everyMs: 50 })
  const after = await client.submit(governance).then(() => 'stored', (e: { code?: string }) => e.code)
  t.not(after, 'ERR_AUDIT', `governance is judged on its merits again (${after})`)
  t.match(await client.bundleExport({ path: join(dir, 'relay.bundle'), channels: [], precedences: 15, sinceMs: 0 }), { envelopes: Number })
})
