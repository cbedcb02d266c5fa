// The situation board: edits merge across a partition, client ids are derived (not random),
// oversized edits are refused, and garbage updates leave the board unchanged.
import t from 'tap'
import { Board, clientIdFor, boardUpdateBytesMax } from '../protocol/channel/board.ts'
import { crypto, aliceKeys, bobKeys } from './helpers/fixtures.ts'
import { prng, testSeed } from './helpers/seed.ts'

const channel = 'c0ffee'
const seedA = new Uint8Array(16).fill(1)
const seedB = new Uint8Array(16).fill(2)

t.test('two halves edit during a partition and converge after heal, in either order', async t => {
  const a = new Board(channel, clientIdFor(crypto, aliceKeys.publicKey, seedA))
  const b = new Board(channel, clientIdFor(crypto, bobKeys.publicKey, seedB))
  const shared = a.edit(e => { e.setName('Grid outage, north'); e.addTask('Check substation 4') })
  b.apply(shared)
  // Partition: both edit.
  const ua = [a.edit(e => { e.setTopic('Restore feeders 1-3'); e.setDone(0, true) }), a.edit(e => e.addFact('Feeder 2 tripped at 04:10'))]
  const ub = [b.edit(e => { e.setStatus('north', 'generators on'); e.addTask('Fuel for hospital generator') })]
  // Heal: deliver in opposite orders.
  for (const u of ub) a.apply(u)
  for (const u of [...ua].reverse()) b.apply(u)
  t.same(a.view(), b.view(), 'one merged board')
  t.equal(a.view().tasks.length, 2)
  t.ok(a.view().tasks[0].done)
  t.same(a.view().status, { north: 'generators on' })
  t.equal(a.view().topic, 'Restore feeders 1-3')
})

t.test('client ids are derived from author and device, not random', async t => {
  t.equal(clientIdFor(crypto, aliceKeys.publicKey, seedA), clientIdFor(crypto, aliceKeys.publicKey, seedA))
  t.not(clientIdFor(crypto, aliceKeys.publicKey, seedA), clientIdFor(crypto, aliceKeys.publicKey, seedB))
  t.equal(new Board(channel, 42).doc.clientID, 42)
})

t.test('an update claiming our own client id is refused (Yjs would otherwise re-draw one at random)', async t => {
  const mine = new Board(channel, 7)
  const impostor = new Board(channel, 7)
  const update = impostor.edit(e => e.addFact('forged'))
  t.throws(() => mine.apply(update), { code: 'ERR_DECODE' })
  t.equal(mine.doc.clientID, 7)
  t.same(mine.view().facts, [])
})

t.test('oversized edits are refused before anything is sent', async t => {
  const a = new Board(channel, 1)
  t.throws(() => a.edit(e => e.setTopic('x'.repeat(501))), { code: 'ERR_LIMIT' })
  t.throws(() => a.edit(e => { for (let i = 0; i < 10; i++) e.addFact('y'.repeat(400)) }), { code: 'ERR_LIMIT' }, `more than ${boardUpdateBytesMax} bytes in one edit`)
})

t.test('garbage updates are refused in bounded time and leave the board unchanged', async t => {
  const seed = testSeed(t)
  const rand = prng(seed)
  const original = new Board(channel, 1)
  original.edit(e => { e.setName('ops'); e.addTask('one') })
  const good = new Board(channel, 2).edit(e => e.addFact('real'))
  let refused = 0
  let accepted = 0
  const started = performance.now()
  for (let i = 0; i < 300; i++) {
    const board = new Board(channel, 3)
    board.apply(original.snapshot())
    const before = board.snapshot()
    const junk = i % 2 === 0 ? rand.bytes(1 + rand.int(200)) : good.map((b, j) => j === rand.int(good.length) ? b ^ (1 + rand.int(255)) : b)
    try {
      board.apply(junk)
      accepted++ // a mutated update can still be a well-formed one
    } catch (e: any) {
      if (e.code !== 'ERR_DECODE' && e.code !== 'ERR_LIMIT') throw e
      refused++
      if (Buffer.compare(Buffer.from(board.snapshot()), Buffer.from(before)) !== 0) t.fail(`refused update ${i} changed the board`)
    }
  }
  t.ok(refused >= 150, `${refused} garbage updates refused, board unchanged each time (${accepted} mutations were well-formed)`)
  t.ok(performance.now() - started < 5000, 'bounded time')
  t.throws(() => original.apply(new Uint8Array(boardUpdateBytesMax + 1)), { code: 'ERR_LIMIT' })
})
