/**
 * Rotation and retention of the audit log (docs/AUDIT.md, *Rotation*): the chain runs on
 * across files with a signed checkpoint at each seam, `verify` and `export` span every file,
 * retention leaves a span that verifies from a signed checkpoint, and each kind of tampering
 * with the files is still located (a file deleted from the middle, the start of the oldest
 * file cut, an entry edited in a rotated file, a rollback past an anchor). A stop between
 * renaming a file and beginning the next is recovered.
 */
import t from 'tap'
import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNodeCrypto } from '../node/crypto.ts'
import { exportAuditHead, exportAuditLog, openAuditLog, verifyAuditLog, type AuditLogOptions, type AuditProblem } from '../node/audit/index.ts'
import type { AuditEntry } from '../node/audit/format.ts'
import { verifyReport } from '../node/audit/report.ts'

const crypto = createNodeCrypto()
const root = mkdtempSync(join(tmpdir(), 'ddil-audit-rotate-'))
t.teardown(() => rmSync(root, { recursive: true, force: true }))
const nodeKey = crypto.ed25519KeyPair(new Uint8Array(32).fill(1))
const t0 = Date.UTC(2026, 0, 2)
const hourMs = 3_600_000

let dirs = 0
/** A log rotated every ~3 KB (about seven entries), with `n` events one second apart. */
async function written (n: number, keepFiles = 100, extra: Partial<AuditLogOptions> = {}): Promise<{ dir: string, opts: AuditLogOptions }> {
  const dir = join(root, `d${++dirs}`)
  mkdirSync(dir)
  let clock = t0
  const opts: AuditLogOptions = { dataDir: dir, crypto, key: nodeKey, node: 'node-a', now: () => (clock += 1000), rotate: { bytes: 3000, ageMs: 24 * hourMs, keepFiles }, ...extra }
  const log = await openAuditLog(opts)
  for (let i = 0; i < n; i++) await log.append({ who: `peer-${i}`, what: 'peer.accepted', outcome: 'ok', detail: { i } })
  await log.close()
  return { dir, opts }
}

const auditDir = (dir: string): string => join(dir, 'audit')
const logNames = (dir: string): string[] => readdirSync(auditDir(dir)).filter(f => f.startsWith('audit.log')).sort()
const entriesOf = (dir: string, name: string): AuditEntry[] => readFileSync(join(auditDir(dir), name), 'utf8').split('\n').slice(0, -1).map(l => JSON.parse(l) as AuditEntry)
const verify = async (dir: string) => await verifyAuditLog(dir, crypto, { publicKey: nodeKey.publicKey })
const brief = (ps: AuditProblem[]): Array<[string | undefined, number, string]> => ps.map(p => [p.file, p.line, p.kind])

t.test('by size: the chain runs on across files, a signed checkpoint at each seam; verify and export span them', async t => {
  const { dir } = await written(40)
  const names = logNames(dir)
  t.ok(names.length >= 5, `rotated into ${names.length} files`)
  t.same(names.slice(0, 2), ['audit.log', 'audit.log.000001'])
  const files = [...names.slice(1), 'audit.log'].map(n => entriesOf(dir, n))
  for (let i = 1; i < files.length; i++) {
    const [ended, begun] = [files[i - 1].at(-1) as AuditEntry, files[i][0]]
    t.match([ended.what, ended.detail.reason], ['audit.checkpoint', 'rotate'], `file ${i} ends with a rotate checkpoint`)
    t.match([begun.what, begun.detail.reason, begun.detail.previous], ['audit.checkpoint', 'rotated', names[i]], `file ${i + 1} begins with a rotated checkpoint naming its predecessor`)
    t.equal(begun.prev, ended.hash, 'prev continues the chain')
  }
  const r = await verify(dir)
  t.same([r.ok, r.firstSeq, r.rotatedOut, r.files], [true, 1, 0, [...names.slice(1), 'audit.log']])
  const seqs: number[] = []
  for await (const l of exportAuditLog(dir)) seqs.push((JSON.parse(l) as AuditEntry).seq)
  t.same(seqs, seqs.map((_, i) => i + 1), 'export: every file in order, seq 1, 2, 3, … without a gap')
  t.equal(r.entries, seqs.length)
})

t.test('by age: the first append a day after the file began rotates it', async t => {
  let clock = t0
  const { dir, opts } = await written(1, 100, { now: () => clock })
  const log = await openAuditLog({ ...opts, now: () => clock })
  await log.append({ who: 'a', what: 'peer.accepted', outcome: 'ok' })
  t.same(logNames(dir), ['audit.log'], 'the same day: no rotation (3 KB not reached)')
  clock += 24 * hourMs
  await log.append({ who: 'b', what: 'peer.accepted', outcome: 'ok' })
  await log.close()
  t.same(logNames(dir), ['audit.log', 'audit.log.000001'])
  t.equal(entriesOf(dir, 'audit.log')[1].who, 'b', 'the entry that came a day later starts the new file, after its checkpoint')
  t.ok((await verify(dir)).ok)
})

t.test('retention: the oldest files go; verify starts from the oldest kept, at its signed checkpoint', async t => {
  const { dir } = await written(60, 2)
  const names = logNames(dir)
  t.equal(names.length, 3, 'two rotated files and the current one')
  t.notOk(names.includes('audit.log.000001'))
  const r = await verify(dir)
  t.ok(r.ok, JSON.stringify(r.problems))
  t.ok(r.firstSeq > 1 && r.rotatedOut === r.firstSeq - 1)
  t.match(verifyReport(r), new RegExp(`^audit log intact: ${r.entries} entries in 3 files, starting at seq ${r.firstSeq} after ${r.rotatedOut} rotated-out entries`))
  const begun = entriesOf(dir, 'audit.log')[0]
  t.ok((begun.detail.removed as string[]).length === 1, 'the rotated checkpoint names the file retention removed')
})

t.test('tampering across files is still located', async t => {
  const { dir } = await written(40)
  const names = logNames(dir) // audit.log, .000001, .000002, …
  const a = auditDir(dir)

  const middle = names[3]
  const saved = readFileSync(join(a, middle))
  rmSync(join(a, middle))
  const gone = await verify(dir)
  t.same(brief(gone.problems).map(p => p[2]), ['deleted'], `a file deleted from the middle (${middle}) is reported`)
  t.equal(gone.problems[0].file, names[4], 'at the first line after the gap')
  writeFileSync(join(a, middle), saved)

  const second = join(a, names[2])
  const lines = readFileSync(second, 'utf8').split('\n')
  writeFileSync(second, lines.map((l, i) => i === 3 ? l.replace('"peer-', '"PEER-') : l).join('\n'))
  t.same(brief((await verify(dir)).problems), [[names[2], 4, 'modified']], 'an edited entry in a rotated file is located at its file and line')
  writeFileSync(second, lines.join('\n'))
  const current = readFileSync(join(a, 'audit.log'))
  appendFileSync(join(a, 'audit.log'), `${lines[3]}\n`) // a replayed copy, in another file
  const copied = await verify(dir)
  t.same(brief(copied.problems).map(p => [p[0], p[2]]), [['audit.log', 'inserted']])
  t.match(copied.problems[0].message, new RegExp(`a second copy of the entry at line ${names[2].replaceAll('.', '\\.')}:4$`), 'messages name the file of the line they point to')
  writeFileSync(join(a, 'audit.log'), current)

  rmSync(join(a, names[1])) // what retention does: the span starts at the next file's checkpoint
  t.ok((await verify(dir)).ok)
  const oldest = join(a, names[2])
  const kept = readFileSync(oldest, 'utf8').split('\n')
  writeFileSync(oldest, kept.slice(2).join('\n')) // but cutting the start of the oldest file is not retention
  const cut = await verify(dir)
  t.same(brief(cut.problems).map(p => p[2]), ['deleted'], 'entries cut from the start of the oldest file are reported')
  t.equal(cut.firstSeq, 1, 'no signed checkpoint to start from: the span is checked from seq 1')
})

t.test('rolled back across a rotation: an anchor catches it; an anchor older than the span is not a rollback', async t => {
  const { dir, opts } = await written(10, 2)
  const a = auditDir(dir)
  const copy = join(root, 'copy')
  mkdirSync(copy)
  for (const f of readdirSync(a)) writeFileSync(join(copy, f), readFileSync(join(a, f)))
  const early = await exportAuditHead(dir)
  const log = await openAuditLog(opts)
  for (let i = 0; i < 40; i++) await log.append({ who: `later-${i}`, what: 'peer.accepted', outcome: 'ok' })
  await log.close()
  const anchor = await exportAuditHead(dir)
  const r = await verifyAuditLog(dir, crypto, { publicKey: nodeKey.publicKey, anchor: early })
  t.ok(r.ok && r.firstSeq > JSON.parse(early).seq, 'the early anchor is before the span retention kept: nothing to report')

  rmSync(a, { recursive: true })
  renameSync(copy, a) // every file and the head put back from the copy
  t.ok((await verify(dir)).ok, 'consistent on its own')
  const caught = await verifyAuditLog(dir, crypto, { publicKey: nodeKey.publicKey, anchor })
  t.same(brief(caught.problems).map(p => p[2]), ['rolled-back'])
})

t.test('a stop between renaming a file and beginning the next: reopened, the chain continues', async t => {
  const { dir, opts } = await written(3)
  const a = auditDir(dir)
  renameSync(join(a, 'audit.log'), join(a, 'audit.log.000001')) // as a rotation leaves it just after the rename
  const log = await openAuditLog(opts)
  await log.append({ who: 'after', what: 'peer.accepted', outcome: 'ok' })
  await log.close()
  t.match(entriesOf(dir, 'audit.log')[0].detail, { reason: 'rotated', previous: 'audit.log.000001' }, 'the new file begins with the checkpoint the rotation would have written')
  t.ok((await verify(dir)).ok)

  renameSync(join(a, 'audit.log'), join(a, 'audit.log.000002'))
  appendFileSync(join(a, 'audit.log'), '{"v":1,"seq":99,"half a li') // and a write that failed half-way into the new file
  const again = await openAuditLog(opts)
  await again.close()
  const current = entriesOf(dir, 'audit.log')
  t.same(current.map(e => `${e.what} ${String(e.detail.reason).slice(0, 5)}`), ['audit.checkpoint rotat', 'audit.recovered bytes', 'audit.checkpoint open', 'audit.checkpoint close'])
  t.match(current[1], { what: 'audit.recovered', detail: { quarantined_bytes: 26 } }, 'the unconfirmed bytes are quarantined and recorded')
  t.ok((await verify(dir)).ok)
})
