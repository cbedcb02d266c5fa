// Issue 6's acceptance path on real processes: two relays on loopback, each with its own user. Alice creates a
// channel and adds Bob by key; they exchange messages and edit the board; Alice removes Bob: Bob's later posts
// are refused and his node can no longer read new messages. Neither relay's data directory holds plaintext.
// Each relay's audit log records every governance change it verified and applied, and each key epoch (#25).
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { Relay, waitFor, cleanupRelays } from './helpers/relays.ts'
import { toHex } from '../protocol/bytes.ts'
import { authorRef } from '../protocol/envelope.ts'
import { exportAuditLog } from '../node/audit/index.ts'

const bin = new URL('../node/cli/bin.js', import.meta.url).pathname
const ddil = (...args: string[]): { code: number | null, stdout: string, stderr: string } => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

function filesUnder (dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? filesUnder(p) : [p]
  })
}

t.teardown(cleanupRelays)

/** The governance and key epochs each relay applied, in its audit log: A's from its own clients, B's from A (#25). */
async function auditsChannelEvents (t: Test, a: Relay, b: Relay, ref: string): Promise<void> {
  const alice = toHex(authorRef(a.user.ed25519.publicKey))
  const bob = toHex(authorRef(b.user.ed25519.publicKey))
  for (const r of [a, b]) {
    const entries: any[] = []
    for await (const line of exportAuditLog(r.dataDir)) entries.push(JSON.parse(line))
    const from = r === a ? 'local' : a.nodeId
    const changes = entries.filter(e => e.what === 'membership.changed')
    t.same(changes.map(e => [e.detail.op, e.detail.member, e.detail.role ?? null]), [['create', alice, 'owner'], ['add', bob, 'member'], ['remove', bob, null]], `${r.name}: create, add and remove, in order`)
    for (const e of changes) {
      t.match(e, { who: alice, outcome: 'ok', where: { node: r.nodeId, remote: r === a ? null : `/p2p/${a.nodeId}` }, detail: { channel: ref, from, id: /^[0-9a-f]{64}$/ } }, `${r.name}: ${e.detail.op} by Alice, from ${from}`)
    }
    t.equal(changes[2].detail.memberKey, toHex(b.user.ed25519.publicKey), 'the removed member in full')
    t.match(changes[0].detail.policy, { precedences: Array, whoMayPost: /member|admin/ }, 'the genesis policy')
    const epochs = entries.filter(e => e.what === 'key.rotated')
    t.ok(epochs.length >= 2 && epochs.every(e => e.who === alice && e.detail.channel === ref && e.detail.chunks >= 1), `${r.name}: ${epochs.length} key epochs, by Alice`)
    t.ok(epochs.at(-1).detail.epoch > epochs[0].detail.epoch, 'the removal brought a new epoch')
    const config = entries.find(e => e.what === 'config.changed')
    t.match(config, { who: 'operator', outcome: 'ok', detail: { previous: null, hash: /^[0-9a-f]{64}$/ } }, `${r.name}: the first start records its configuration`)
    t.ok(config.detail.changed.includes('log.level'), 'naming its keys')
    t.equal(entries.find(e => e.what === 'node.started').detail.config, config.detail.hash, 'node.started names the configuration it ran')
  }
}

t.test('two relays, two users: add, talk, board, remove', async t => {
  const [a, b] = await Promise.all(['ch-a', 'ch-b'].map(n => Relay.init(n)))
  a.writeConfig({ authors: [a, b] })
  b.writeConfig({ authors: [a, b], dial: [a] })
  t.teardown(async () => { for (const r of [a, b]) await r.kill('SIGKILL') })
  await a.start(); await b.start()
  await waitFor('A and B linked', async () => (await a.status()).peers.some((p: any) => p.ready) ? true : undefined)

  const created = ddil('channel', 'create', '--data', a.dataDir, 'north-grid', '--topic', 'feeder restoration')
  t.equal(created.code, 0, created.stderr)
  const ref = /reference ([0-9a-f]{16})/.exec(created.stdout)?.[1] as string
  t.equal(ddil('channel', 'add', '--data', a.dataDir, 'north-grid', b.user.publicKey).code, 0)
  t.equal(ddil('send', '--data', a.dataDir, 'north-grid', 'Feeder 2 tripped at 04:10').code, 0)
  const atB = await waitFor('Alice\'s message at Bob', () => {
    const out = ddil('tail', '--data', b.dataDir, ref).stdout
    return out.includes('Feeder 2 tripped') ? out : undefined
  })
  t.match(atB, /Feeder 2 tripped at 04:10/)
  const bobSays = ddil('send', '--data', b.dataDir, ref, 'Crew 2 on site')
  t.equal(bobSays.code, 0, `Bob can post: ${bobSays.stderr}`)
  t.equal(ddil('board', '--data', b.dataDir, ref, '--task', 'Fuel for hospital generator').code, 0)
  await waitFor('Bob\'s message and board edit at Alice', () => {
    const out = ddil('tail', '--data', a.dataDir, 'north-grid').stdout
    const board = ddil('board', '--data', a.dataDir, 'north-grid').stdout
    return out.includes('Crew 2 on site') && board.includes('Fuel for hospital generator') ? true : undefined
  })
  t.pass('Alice reads Bob and sees his board edit')

  const removed = ddil('channel', 'remove', '--data', a.dataDir, 'north-grid', b.user.publicKey)
  t.equal(removed.code, 0, removed.stderr)
  const secret = ddil('send', '--data', a.dataDir, 'north-grid', 'New staging area: depot 7', '--json')
  t.equal(secret.code, 0, secret.stderr)
  const secretId = JSON.parse(secret.stdout).id as string
  // Bob's client receives that very envelope from his relay, and cannot open it.
  const sb = await b.channels()
  let outcome: string | undefined
  await sb.open(ref, r => { if (toHex(r.id) === secretId) outcome = r.type })
  await waitFor('the post-removal message at Bob\'s client', () => outcome)
  t.equal(outcome, 'held', 'Bob\'s client holds it but has no key for it')
  await sb.close()
  const bobView = ddil('tail', '--data', b.dataDir, ref).stdout
  t.notMatch(bobView, /depot 7/, 'the removed member cannot read new messages')
  const bobPosts = ddil('send', '--data', b.dataDir, ref, 'still here?')
  t.equal(bobPosts.code, 1, 'the removed member cannot post')
  t.match(bobPosts.stderr, /key|not allowed|removed/i)
  t.notMatch(ddil('tail', '--data', a.dataDir, 'north-grid').stdout, /still here/)

  // Relays carry ciphertext only: no plaintext in either data directory's store.
  await a.kill('SIGTERM'); await b.kill('SIGTERM')
  await auditsChannelEvents(t, a, b, ref)
  for (const r of [a, b]) {
    const bytes = Buffer.concat(filesUnder(join(r.dataDir, 'store')).map(f => readFileSync(f)))
    for (const text of ['Feeder 2 tripped', 'Crew 2 on site', 'depot 7', 'north-grid', 'feeder restoration', 'Fuel for hospital']) {
      t.notOk(bytes.includes(Buffer.from(text)), `${r.name}'s store holds no "${text}"`)
    }
  }
})
