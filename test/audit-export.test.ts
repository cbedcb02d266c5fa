/**
 * `ddil audit export` formats and windows, and `--head` / `--anchor` (docs/AUDIT.md, *Export*
 * and *Anchoring externally*): pinned CSV and syslog vectors with the quoting and escaping
 * cases, a peer-chosen string that tries to break a record in two, the time window, and the
 * CLI run in-process: an anchor exported earlier catches a log rolled back with its head.
 */
import t from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNodeCrypto } from '../node/crypto.ts'
import { UsageError } from '../protocol/errors.ts'
import { exportAuditRecords, openAuditLog, type AuditEvent, type ExportedRecord } from '../node/audit/index.ts'
import { csvHeader, csvRecord, exportFormat, parseTimeBound, sdParamValue, syslogRecord } from '../node/audit/formats.ts'
import type { AuditEntry } from '../node/audit/format.ts'
import { buildProgram } from '../node/cli/main.ts'

const crypto = createNodeCrypto()
const root = mkdtempSync(join(tmpdir(), 'ddil-audit-export-'))
t.teardown(() => rmSync(root, { recursive: true, force: true }))
const nodeKey = crypto.ed25519KeyPair(new Uint8Array(32).fill(1))
const t0 = Date.UTC(2026, 0, 2, 3, 4, 5, 6)
const hash = 'ab'.repeat(32)

const entry = (who: string, detail: AuditEntry['detail'], remote: string | null = null): AuditEntry => ({
  v: 1, seq: 7, ts: '2026-01-02T03:04:12.006Z', who, what: 'peer.refused', where: { node: '12D3KooWnode', remote },
  outcome: 'refused', detail, prev: '0'.repeat(64), hash, sig: 'cd'.repeat(64),
})
const record = (e: AuditEntry): ExportedRecord => ({ file: 'audit.log', line: 3, text: '{"stored":"line"}', entry: e })

t.test('csv: fixed header, RFC 4180 quoting (vectors)', async t => {
  t.equal(csvHeader, 'seq,ts,who,what,node,remote,outcome,detail-json,hash')
  t.equal(csvRecord(record(entry('peer-1', { reason: 'not in allowlist' }, '/ip4/10.0.0.7/tcp/4401'))),
    `7,2026-01-02T03:04:12.006Z,peer-1,peer.refused,12D3KooWnode,/ip4/10.0.0.7/tcp/4401,refused,"{""reason"":""not in allowlist""}",${hash}`)
  t.equal(csvRecord(record(entry('a "quoted", who\r\nline', {}))),
    `7,2026-01-02T03:04:12.006Z,"a ""quoted"", who\r\nline",peer.refused,12D3KooWnode,,refused,{},${hash}`, 'quotes doubled; comma and CRLF inside one quoted field')
  t.equal(csvRecord({ file: 'audit.log', line: 9, text: 'not, json', problem: 'not JSON' }),
    ',,,,,,,"{""unreadable"":{""file"":""audit.log"",""line"":9,""problem"":""not JSON"",""text"":""not, json""}}",', 'a damaged line keeps its place, saying why')
  t.equal(exportFormat('csv').eol, '\r\n')
})

t.test('syslog: RFC 5424 line, SD-PARAM escaping, one entry is always one record (vectors)', async t => {
  t.equal(syslogRecord(record(entry('peer-1', {}, '/ip4/10.0.0.7'))),
    `<108>1 2026-01-02T03:04:12.006Z 12D3KooWnode ddil - peer.refused [ddil@32473 seq="7" hash="${hash}" who="peer-1" outcome="refused" remote="/ip4/10.0.0.7"] {"stored":"line"}`)
  t.equal(sdParamValue('a"b\\c]d'), 'a\\"b\\\\c\\]d', '" \\ ] escaped (§6.3.3)')
  const forged = syslogRecord({ ...record(entry('x\n<110>1 2026-01-01T00:00:00.000Z evil ddil - node.started -', {})), text: '{"v":1,\r"x":1}' })
  t.notMatch(forged, /[\r\n]/, 'a newline in who or a CR in the stored line cannot start a second record')
  t.match(forged, /who="x\\u000a<110>1 /)
  t.match(forged, /\{"v":1,\\u000d"x":1\}$/)
  const ok = syslogRecord(record({ ...entry('node', {}), what: 'audit.checkpoint', outcome: 'ok', where: { node: 'has space', remote: null } }))
  t.match(ok, /^<110>1 \S+ - ddil - audit\.checkpoint \[/, 'ok is informational (13*8+6); a HOSTNAME with a space becomes the NILVALUE')
  t.match(syslogRecord(record({ ...entry('n', {}), outcome: 'failed' })), /^<107>1 /)
  t.equal(syslogRecord({ file: 'audit.log.000002', line: 4, text: 'junk', problem: 'not JSON' }),
    '<107>1 - - ddil - - [ddil@32473 file="audit.log.000002" line="4"] {"unreadable":{"file":"audit.log.000002","line":4,"problem":"not JSON","text":"junk"}}')
  t.throws(() => exportFormat('xml'), UsageError)
})

t.test('--since / --until: a time ago or an ISO time with its zone', async t => {
  const now = Date.UTC(2026, 0, 3)
  t.equal(parseTimeBound('24h', now, '--since'), Date.UTC(2026, 0, 2))
  t.equal(parseTimeBound('2026-01-02', now, '--since'), Date.UTC(2026, 0, 2))
  t.equal(parseTimeBound('2026-01-02T03:04:05.5+01:00', now, '--until'), Date.UTC(2026, 0, 2, 2, 4, 5, 500))
  for (const bad of ['yesterday', '2026-01-02T03:04:05', '-1h', '2026-13-45', '']) t.throws(() => parseTimeBound(bad, now, '--since'), UsageError, bad)
})

/** A log of `n` events one second apart from `t0`, in a data directory of its own. */
async function written (name: string, n: number): Promise<string> {
  const dir = join(root, name)
  mkdirSync(dir)
  let clock = t0
  const log = await openAuditLog({ dataDir: dir, crypto, key: nodeKey, node: 'node-a', now: () => (clock += 1000) })
  for (let i = 0; i < n; i++) await log.append({ who: `peer-${i}`, what: 'peer.accepted', outcome: 'ok' } satisfies AuditEvent)
  await log.close()
  return dir
}

t.test('the window keeps entries stamped in [since, until); damaged lines are always kept', async t => {
  const dir = await written('window', 6) // seq 1 open checkpoint at t0+1s, peers at +2s … +7s, close at +8s
  appendFileSync(join(dir, 'audit', 'audit.log'), 'junk\n')
  const whos: string[] = []
  for await (const r of exportAuditRecords(dir, { sinceMs: t0 + 3000, untilMs: t0 + 5000 })) whos.push(r.entry?.who ?? `damaged: ${r.problem}`)
  t.same(whos, ['peer-1', 'peer-2', 'damaged: not JSON'])
})

/** Runs `ddil …` in this process; returns its stdout and exit status. */
async function ddil (...args: string[]): Promise<{ out: string, code: number }> {
  const write = process.stdout.write
  let out = ''
  process.stdout.write = ((s: string) => { out += s; return true }) as typeof process.stdout.write
  try {
    await buildProgram().parseAsync(args, { from: 'user' })
  } finally {
    process.stdout.write = write
  }
  const code = typeof process.exitCode === 'number' ? process.exitCode : 0
  process.exitCode = undefined
  return { out, code }
}

t.test('CLI: export --head is an anchor; verify --anchor catches log and head rolled back together', async t => {
  const dir = await written('anchor', 3)
  const audit = join(dir, 'audit')
  const old = { log: readFileSync(join(audit, 'audit.log')), head: readFileSync(join(audit, 'audit.head')) }
  const csv = await ddil('audit', 'export', '--data', dir, '--format', 'csv', '--since', '2026-01-02T03:04:08.006Z')
  t.same(csv.out.split('\r\n').slice(0, -1).map(l => l.split(',')[2]), ['who', 'peer-1', 'peer-2', 'node'], 'csv with the header, from --since on')
  t.match((await ddil('audit', 'export', '--data', dir, '--format', 'syslog')).out.split('\n')[1], /^<110>1 2026-01-02T03:04:07\.006Z node-a ddil - peer\.accepted \[ddil@32473 seq="2" /)

  const log = await openAuditLog({ dataDir: dir, crypto, key: nodeKey, node: 'node-a', now: () => t0 + 60_000 })
  await log.append({ who: 'operator', what: 'client.revoked', outcome: 'ok' })
  await log.close()
  const anchors = join(root, 'anchors.txt')
  writeFileSync(anchors, (await ddil('audit', 'export', '--data', dir, '--head')).out)
  t.same(await ddil('audit', 'verify', '--data', dir, '--anchor', anchors), { out: 'audit log intact: 8 entries, all signed checkpoints and the head verify\n', code: 0 })

  writeFileSync(join(audit, 'audit.log'), old.log) // both put back from a copy: consistent on their own
  writeFileSync(join(audit, 'audit.head'), old.head)
  t.equal((await ddil('audit', 'verify', '--data', dir)).code, 0, 'without the anchor the rollback cannot be seen')
  const caught = await ddil('audit', 'verify', '--data', dir, '--anchor', anchors)
  t.equal(caught.code, 1)
  t.match(caught.out, /rolled-back: the anchor names seq 8 but the log's signed entries end at seq 5/)
  const text = readFileSync(anchors, 'utf8').trim()
  t.match((await ddil('audit', 'verify', '--data', dir, '--json', '--anchor', text)).out, /"kind":"rolled-back"/, 'the head line itself works too')
  await t.rejects(ddil('audit', 'verify', '--data', dir, '--anchor', join(root, 'no-such-file')), UsageError)
})
