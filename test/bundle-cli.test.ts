// #27 through what an operator types, on real relay processes that never connect: Alice's relay
// and Bob's relay dial nobody, yet both users are members of one channel (Alice adds Bob by key)
// and its governance, keys and messages cross only in bundle files, both ways, a member removal
// included. A bundle imported twice delivers once; `--for` Bob carries only what Bob's last bundle
// did not say he holds; truncated, corrupted, oversized and forged bundles are refused with a clear
// sentence and change nothing; both sides are audited.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ddil } from './helpers/cli.ts'
import { cleanupRelays, Relay } from './helpers/relays.ts'
import { bundleBytesMax } from '../protocol/limits.ts'
import { decodeBundle, encodeBundle } from '../protocol/bundle/format.ts'
import { connectClient } from '../node/api/client.ts'
import { crypto } from './helpers/relays.ts'

t.teardown(cleanupRelays)
const work = mkdtempSync(join(tmpdir(), 'ddil-bundle-'))
t.teardown(() => { rmSync(work, { recursive: true, force: true }) })

interface Imported { nodeId: string, envelopes: number, added: number, held: number, refused: number, reasons: Record<string, number> }

async function ok (args: string[]): Promise<string> {
  const r = await ddil(args)
  if (r.code !== 0) throw new Error(`ddil ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r.stdout
}
const exportTo = async (r: Relay, file: string, channel: string): Promise<{ envelopes: number, hash: string }> =>
  JSON.parse(await ok(['bundle', 'export', '--data', r.dataDir, '--to', join(work, file), '--channel', channel, '--json']))
const importInto = async (r: Relay, file: string): Promise<Imported> =>
  JSON.parse(await ok(['bundle', 'import', '--data', r.dataDir, join(work, file), '--json']))
const tail = async (r: Relay, channel: string): Promise<string> => await ok(['tail', '--data', r.dataDir, channel])

t.test('two relays that never connect share a channel through bundle files, removal included', async t => {
  const [a, b] = await Promise.all(['bundle-a', 'bundle-b'].map(n => Relay.init(n)))
  a.writeConfig({ authors: [a, b] })
  b.writeConfig({ authors: [a, b] }) // no dial either way
  t.teardown(async () => { for (const r of [a, b]) await r.kill('SIGKILL') })
  await Promise.all([a.start(), b.start()])

  const created = await ok(['channel', 'create', '--data', a.dataDir, 'levee'])
  const ref = (/reference ([0-9a-f]{16})/.exec(created) as RegExpExecArray)[1]
  await ok(['channel', 'add', '--data', a.dataDir, 'levee', b.user.publicKey])
  await ok(['send', '--data', a.dataDir, 'levee', 'Levee breach at km 12', '--precedence', 'flash'])
  await ok(['send', '--data', a.dataDir, 'levee', 'Sandbags at depot 3', '--precedence', 'routine'])

  // A flash-only export still carries the governance and keys that let Bob verify and read it.
  const flashOnly = JSON.parse(await ok(['bundle', 'export', '--data', a.dataDir, '--to', join(work, 'a-flash.ddil'), '--channel', 'levee', '--precedence', 'flash', '--json']))
  const everything = await exportTo(a, 'a1.ddil', 'levee')
  t.ok(flashOnly.envelopes < everything.envelopes)
  t.match(await importInto(b, 'a-flash.ddil'), { nodeId: a.nodeId, added: flashOnly.envelopes, held: 0, refused: 0 })
  const flashView = await tail(b, ref)
  t.match(flashView, /Levee breach at km 12/, 'Bob reads the flash message: its governance and keys came with it')
  t.notMatch(flashView, /Sandbags/, 'the routine message stayed behind')

  const before = (await b.status()).envelopes
  const first = await importInto(b, 'a1.ddil')
  t.match(first, { envelopes: everything.envelopes, added: everything.envelopes - flashOnly.envelopes, held: flashOnly.envelopes, refused: 0 })
  t.equal((await b.status()).envelopes, before + first.added, 'Bob\'s relay stores what is new in the bundle')
  t.match(await tail(b, ref), /Levee breach at km 12[\s\S]*Sandbags at depot 3/, 'Bob reads all of Alice\'s messages')

  const held = (await b.status()).envelopes // Bob's reading added his receipts
  const again = await importInto(b, 'a1.ddil')
  t.match(again, { envelopes: everything.envelopes, added: 0, held: everything.envelopes, refused: 0 }, 'importing it again stores nothing')
  t.equal((await b.status()).envelopes, held)
  t.equal((await tail(b, ref)).match(/Levee breach/g)?.length, 1, 'delivered once')

  await ok(['send', '--data', b.dataDir, ref, 'Crew 2 on site'])
  const back = await importInto(a, (await exportTo(b, 'b1.ddil', ref), 'b1.ddil'))
  const aliceHeld = (await a.status()).envelopes // all Bob held when he exported b1, as b1 told Alice
  t.ok(back.added >= 1, 'Bob\'s message (and his receipts) reach Alice')
  t.equal(back.refused, 0)
  t.match(await tail(a, 'levee'), /Crew 2 on site/, 'Alice reads Bob')

  // --for Bob: b1 told Alice what Bob holds, so only what Alice stored since goes (her receipts, one message).
  await ok(['send', '--data', a.dataDir, 'levee', 'Pumps running at km 12'])
  const since = (await a.status()).envelopes - aliceHeld
  const forBob = JSON.parse(await ok(['bundle', 'export', '--data', a.dataDir, '--to', join(work, 'a-for-b.ddil'), '--channel', 'levee', '--for', b.nodeId, '--json']))
  t.match(forBob, { envelopes: since, leftOut: aliceHeld }, 'the stick carries only the difference')
  t.match(await importInto(b, 'a-for-b.ddil'), { envelopes: since, added: since, held: 0, refused: 0 }, 'all of it new to Bob')
  t.match(await tail(b, ref), /Pumps running at km 12/)
  const stranger = await ddil(['bundle', 'export', '--data', a.dataDir, '--to', join(work, 'x.ddil'), '--for', '12D3KooWNeverImportedFrom'])
  t.equal(stranger.code, 2, '--for a node nothing was imported from is refused')
  t.match(stranger.stderr, /node 12D3KooWNeverImportedFrom has told this relay nothing of what it holds: import a bundle from it first, or export without --for/)
  const both = await ddil(['bundle', 'export', '--data', a.dataDir, '--to', join(work, 'x.ddil'), '--for', b.nodeId, '--since', '1d'])
  t.equal(both.code, 2, '--for with --since is bad usage')
  t.match(both.stderr, /--for and --since exclude each other/)

  await ok(['channel', 'remove', '--data', a.dataDir, 'levee', b.user.publicKey])
  await ok(['send', '--data', a.dataDir, 'levee', 'New staging area: depot 7'])
  const removal = await importInto(b, (await exportTo(a, 'a2.ddil', 'levee'), 'a2.ddil'))
  t.ok(removal.added >= 3, 'the removal, the new epoch\'s keys and the message arrive')
  t.equal(removal.refused, 0)
  const bobPosts = await ddil(['send', '--data', b.dataDir, ref, 'still here?'])
  t.equal(bobPosts.code, 1, 'the removed member cannot post once the removal crossed the gap')
  t.notMatch(await tail(b, ref), /depot 7/, 'nor read what was sent after it')

  t.same([(await a.status()).peers, (await b.status()).peers], [[], []], 'neither relay ever had a peer')
  const audit = await ok(['audit', 'export', '--data', b.dataDir])
  const imports = audit.split('\n').filter(l => l.includes('"bundle.imported"')).map(l => JSON.parse(l))
  t.equal(imports.length, 5)
  t.match(imports[1], { outcome: 'ok', detail: { from: a.nodeId, hash: everything.hash, added: first.added, held: flashOnly.envelopes } })
  const exports = (await ok(['audit', 'export', '--data', a.dataDir])).split('\n').filter(l => l.includes('"bundle.exported"')).map(l => JSON.parse(l))
  t.match(exports.find(e => e.detail.for !== undefined), { outcome: 'ok', detail: { for: b.nodeId, leftOut: aliceHeld, envelopes: since, hash: forBob.hash } }, 'an export --for is audited with whom and what it left out')
})

t.test('bad bundles are refused with a clear error and change nothing', async t => {
  const [a, c] = await Promise.all(['bundle-bad-a', 'bundle-bad-c'].map(n => Relay.init(n)))
  a.writeConfig({ authors: [] })
  c.writeConfig({ authors: [a], clients: [a.user.publicKey] }) // Alice may use c's API, but is not its operator
  t.teardown(async () => { for (const r of [a, c]) await r.kill('SIGKILL') })
  await Promise.all([a.start(), c.start()])
  await ok(['channel', 'create', '--data', a.dataDir, 'ops'])
  await ok(['send', '--data', a.dataDir, 'ops', 'hello across the gap'])
  await exportTo(a, 'good.ddil', 'ops')
  const good = readFileSync(join(work, 'good.ddil'))

  const bad = (name: string, bytes: Uint8Array): string => { writeFileSync(join(work, name), bytes); return name }
  const flipped = (at: number): Uint8Array => { const b = new Uint8Array(good); b[at] ^= 0x01; return b }
  const oversized = bad('oversized.ddil', good); truncateSync(join(work, oversized), bundleBytesMax + 1) // sparse: costs no disk
  const other = crypto.ed25519KeyPair(crypto.sha256(new TextEncoder().encode('another node')))
  const reSigned = encodeBundle({ ...decodeBundle(good, crypto), publicKey: other.publicKey }, crypto, other.privateKey)
  const cases: Array<[string, RegExp]> = [
    [bad('impostor.ddil', reSigned), new RegExp(`claims to come from node ${a.nodeId} but is signed by the key of node 12D3Koo`)],
    [bad('truncated.ddil', good.subarray(0, good.length - 200)), /checksum does not match: the file is corrupted or truncated/],
    [bad('corrupted.ddil', flipped(100)), /checksum does not match/],
    [bad('forged.ddil', flipped(good.length - 1)), /signature does not verify for the key of node/],
    [oversized, /is \d+ bytes; a bundle is at most \d+/],
    [bad('text.ddil', new TextEncoder().encode('not a bundle\n'.repeat(20))), /not a ddil bundle/],
  ]
  const before = (await c.status()).envelopes
  for (const [name, message] of cases) {
    const r = await ddil(['bundle', 'import', '--data', c.dataDir, join(work, name)])
    t.equal(r.code, 1, `${name}: refused`)
    t.match(r.stderr, message, `${name}: ${r.stderr.trim()}`)
    t.equal((await c.status()).envelopes, before, `${name}: nothing stored`)
  }
  const missing = await ddil(['bundle', 'import', '--data', c.dataDir, join(work, 'no-such.ddil')])
  t.equal(missing.code, 2, 'a missing file is bad usage')
  t.match(missing.stderr, /cannot read bundle .*no-such\.ddil: ENOENT/)
  const alice = await connectClient({ url: `ws://127.0.0.1:${c.apiPort}`, user: a.user.ed25519, crypto })
  t.teardown(() => alice.close())
  await t.rejects(alice.bundleImport(join(work, 'good.ddil')), { code: 'ERR_UNAUTHORISED', message: /only the relay's operator may export or import bundles/ }, 'a user who is not the operator cannot import')
  await t.rejects(alice.bundleExport({ path: join(work, 'stolen.ddil'), channels: [], precedences: 15, sinceMs: 0 }), { code: 'ERR_UNAUTHORISED' }, 'nor export')
  t.equal((await c.status()).envelopes, before)
  const audit = await ok(['audit', 'export', '--data', c.dataDir])
  t.equal(audit.split('\n').filter(l => l.includes('"bundle.imported"') && l.includes('"refused"')).length, cases.length + 1, 'each refusal audited, the missing file too')
  const fine = await importInto(c, 'good.ddil')
  t.ok(fine.added > 0 && fine.refused === 0, 'the intact bundle still imports')
})
