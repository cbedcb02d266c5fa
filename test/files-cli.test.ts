// #23 through what a user types, between two real relays on loopback: a long message and a file sent
// with `ddil send`, followed and fetched on the other relay (`tail --follow`, `get`), the sender seeing
// it delivered once fetched whole; the policy's limits and a relay's quota refusing a file whole with a
// clear error; and a receiver whose disk fills mid-file keeping nothing half-written.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ddil, follow } from './helpers/cli.ts'
import { cleanupRelays, Relay } from './helpers/relays.ts'

t.teardown(cleanupRelays)
const work = mkdtempSync(join(tmpdir(), 'ddil-files-'))
t.teardown(() => { rmSync(work, { recursive: true, force: true }) })

t.test('send a long message and a file; the other relay follows, gets it whole, and the sender sees it delivered', async t => {
  const [a, b] = await Promise.all(['files-a', 'files-b'].map(n => Relay.init(n)))
  a.writeConfig({ authors: [a, b] })
  b.writeConfig({ authors: [a, b], dial: [a] })
  t.teardown(async () => { for (const r of [a, b]) await r.kill('SIGKILL') })
  await a.start(); await b.start()
  const created = await ddil(['channel', 'create', '--data', a.dataDir, 'levee'])
  t.equal(created.code, 0, created.stderr)
  const ref = (/reference ([0-9a-f]{16})/.exec(created.stdout) as RegExpExecArray)[1]
  t.equal((await ddil(['channel', 'add', '--data', a.dataDir, 'levee', b.user.publicKey])).code, 0)

  const watch = follow(['tail', ref, '--follow', '--data', b.dataDir])
  t.teardown(() => { watch.child.kill('SIGKILL') })

  const report = 'Levee breach at km 12: evacuate sectors 4 to 9 via route B. '.repeat(60)
  const sentText = await ddil(['send', '--data', a.dataDir, 'levee', report])
  t.equal(sentText.code, 0, sentText.stderr)
  await watch.line(/Levee breach at km 12: evacuate sectors 4 to 9 via route B\. Levee breach/)

  const photo = new Uint8Array(randomBytes(300_000))
  writeFileSync(join(work, 'breach.jpg'), photo)
  const sent = await ddil(['send', '--data', a.dataDir, 'levee', '--file', join(work, 'breach.jpg'), '--caption', 'north bank', '--precedence', 'priority', '--json'])
  t.equal(sent.code, 0, sent.stderr)
  const id = JSON.parse(sent.stdout).id as string
  t.match(JSON.parse(sent.stdout), { file: { name: 'breach.jpg', mediaType: 'image/jpeg', size: 300_000 }, precedence: 'priority' })
  await watch.line(/\[priority\]\s+file breach\.jpg \(image\/jpeg, 300KB, .*\) "north bank"/)
  await watch.line(new RegExp(`breach\\.jpg complete \\(300KB, hash checked\\): ddil get ${ref} ${id.slice(0, 16)}`))

  const out = join(work, 'got.jpg')
  const got = await ddil(['get', '--data', b.dataDir, ref, id.slice(0, 16), '--out', out])
  t.equal(got.code, 0, got.stderr)
  t.match(got.stderr, /saved breach\.jpg \(image\/jpeg, 300KB, hash checked\)/)
  t.same(new Uint8Array(readFileSync(out)), photo, 'the bytes sent')
  const again = await ddil(['get', '--data', b.dataDir, ref, id, '--out', out])
  t.not(again.code, 0, 'an existing file is not overwritten')
  t.match(again.stderr, /exists; choose another --out, or --force/)

  const longText = await ddil(['get', '--data', b.dataDir, ref, JSON.parse((await ddil(['tail', '--data', b.dataDir, ref, '--json'])).stdout.split('\n')[0]).id])
  t.equal(longText.code, 0, longText.stderr)
  t.equal(longText.stdout, report + '\n', 'get prints a long message')

  // The sender's view: the file, delivered to its one other member once b held it whole.
  const tail = follow(['tail', 'levee', '--follow', '--data', a.dataDir])
  t.teardown(() => { tail.child.kill('SIGKILL') })
  await tail.line(/\(you\)\s+\[priority\]\s+file breach\.jpg \(image\/jpeg, 300KB, sent\) "north bank"\s+\(delivered to 1 of 1\)/)
})

t.test('what cannot be sent: over the channel limits, over the relay quota (refused whole), bad input', async t => {
  const c = await Relay.init('files-c')
  c.writeConfig({ authors: [], quota: '2MB' })
  t.teardown(async () => { await c.kill('SIGKILL') })
  await c.start()
  t.equal((await ddil(['channel', 'create', '--data', c.dataDir, 'ops'])).code, 0)
  const tooLong = await ddil(['send', '--data', c.dataDir, 'ops', 'x'.repeat(64 * 1024 + 1)])
  t.equal(tooLong.code, 1)
  t.match(tooLong.stderr, /a message of 65537 bytes is over this channel's limit of 65536 bytes/)
  writeFileSync(join(work, 'big.bin'), new Uint8Array(25_000_001))
  const tooBig = await ddil(['send', '--data', c.dataDir, 'ops', '--file', join(work, 'big.bin')])
  t.equal(tooBig.code, 1)
  t.match(tooBig.stderr, /a file of 25000001 bytes is over this channel's limit of 25000000 bytes/)

  writeFileSync(join(work, 'over-quota.bin'), randomBytes(3_000_000))
  const before = (await c.status()).envelopes
  const overQuota = await ddil(['send', '--data', c.dataDir, 'ops', '--file', join(work, 'over-quota.bin')])
  t.not(overQuota.code, 0, 'a file the quota cannot hold whole is refused')
  t.match(overQuota.stderr, /refused whole/)
  t.equal((await c.status()).envelopes, before, 'and nothing of it was stored')
  const after = await ddil(['send', '--data', c.dataDir, 'ops', 'still working'])
  t.equal(after.code, 0, 'the relay takes the next message')

  const missing = await ddil(['send', '--data', c.dataDir, 'ops', '--file', join(work, 'nope.jpg')])
  t.equal(missing.code, 2)
  t.match(missing.stderr, /--file .*nope\.jpg: no such file/)
  const both = await ddil(['send', '--data', c.dataDir, 'ops', 'words', '--file', join(work, 'big.bin')])
  t.match(both.stderr, /with --file, write the text as --caption "words"/)
  const badId = await ddil(['get', '--data', c.dataDir, 'ops', 'xyz'])
  t.match(badId.stderr, /the id must be 16 or 64 hex digits/)
  const unknown = await ddil(['get', '--data', c.dataDir, 'ops', '0'.repeat(64)])
  t.not(unknown.code, 0)
  t.match(unknown.stderr, /no file 0000000000000000 is held in channel/)
})

t.test('a receiver whose disk fills mid-file keeps nothing half-written', async t => {
  const d = await Relay.init('files-d')
  d.writeConfig({ authors: [] })
  t.teardown(async () => { await d.kill('SIGKILL') })
  await d.start()
  t.equal((await ddil(['channel', 'create', '--data', d.dataDir, 'ops'])).code, 0)
  writeFileSync(join(work, 'map.pdf'), randomBytes(200_000))
  const sent = await ddil(['send', '--data', d.dataDir, 'ops', '--file', join(work, 'map.pdf'), '--json'])
  t.equal(sent.code, 0, sent.stderr)
  const small = join(work, 'small-disk')
  mkdirSync(small)
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', small], { encoding: 'utf8' })
  t.equal(mounted.status, 0, `a 64 KB tmpfs to fill (needs root): ${mounted.stderr}`)
  t.teardown(() => { spawnSync('umount', [small]) })
  const got = await ddil(['get', '--data', d.dataDir, 'ops', JSON.parse(sent.stdout).id, '--out', join(small, 'map.pdf')])
  t.not(got.code, 0)
  t.match(got.stderr, /no space left/i)
  t.same(readdirSync(small), [], 'the partial file is removed')
  t.notOk(existsSync(join(small, 'map.pdf')))
})
