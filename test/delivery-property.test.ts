// "Delivered to k of N" (issue 20): whatever order a client receives messages and receipts in
// (the relay's backlog, live pushes, a reconnect), k is the number of distinct members other than
// the author whose receipt naming the message has arrived, and never exceeds N. Receipts by the
// author itself and repeated receipts are generated on purpose: both once made "2 of 1".
import t from 'tap'
import fc from 'fast-check'
import { testSeed } from './helpers/seed.ts'
import type { ChannelClient } from '../protocol/channel/client.ts'
import { authorRef, decodeEnvelope } from '../protocol/envelope.ts'
import { toHex } from '../protocol/bytes.ts'
import { crypto } from './helpers/fixtures.ts'
import { channelClient as client, relayLog as node, users } from './helpers/channel-clients.ts'

t.test('property: k counts distinct other members whose receipt arrived, in any arrival order', async t => {
  const seed = testSeed(t)
  const n = node()
  const clients = users.map((u, i) => client(u, i, n.link))
  const { channel } = await clients[0].createChannel({ name: 'ops' })
  for (const u of users.slice(1)) await clients[0].addMember(channel, { ed: u.ed25519.publicKey, x: u.x25519.publicKey })
  const setup = [...n.log]
  for (const c of clients.slice(1)) for (const b of setup) c.receive(b)
  const plan = fc.record({
    // Each message: its author (a user index).
    messages: fc.array(fc.nat(3), { minLength: 1, maxLength: 4 }),
    // Each receipt: its reader (any member, the author included) and which messages it names (bit mask).
    receipts: fc.array(fc.tuple(fc.nat(3), fc.integer({ min: 1, max: 15 })), { maxLength: 10 }),
    order: fc.array(fc.nat(), { minLength: 14, maxLength: 14 }),
  })
  await fc.assert(fc.asyncProperty(plan, async ({ messages, receipts, order }) => {
    const sent: Array<{ id: Uint8Array, author: number }> = []
    const items: Array<{ bytes: Uint8Array, receipt?: { reader: number, ids: number[] } }> = []
    for (const author of messages) {
      const env = await clients[author].sendText(channel, `from ${author}`)
      sent.push({ id: env.id, author })
      items.push({ bytes: env.bytes })
    }
    for (const [reader, mask] of receipts) {
      const ids = sent.map((_, i) => i).filter(i => (mask & (1 << i)) !== 0)
      if (ids.length === 0) continue
      items.push({ bytes: (await clients[reader].sendReceipt(channel, ids.map(i => sent[i].id))).bytes, receipt: { reader, ids } })
    }
    // A fresh device of the owner's sees the channel's history, then the items in a random order.
    const observer = client(users[0], 9, node().link)
    for (const b of setup) observer.receive(b)
    const arrival = items.map((item, i) => ({ item, rank: order[i % order.length] + i / 100 })).sort((a, b) => a.rank - b.rank).map(x => x.item)
    const arrived: Array<{ reader: number, ids: number[] }> = []
    for (const item of arrival) {
      observer.receive(item.bytes)
      if (item.receipt !== undefined) arrived.push(item.receipt)
      for (const [i, m] of sent.entries()) {
        const readers = new Set(arrived.filter(r => r.ids.includes(i) && r.reader !== m.author).map(r => r.reader))
        const { k, n: of } = observer.delivery(channel, m.id, users[m.author].ed25519.publicKey)
        if (of !== users.length - 1 || k !== readers.size || k > of) return false
      }
    }
    return true
  }), { seed, numRuns: Number(process.env.DDIL_RUNS ?? 100) })
  t.pass('held for every generated arrival order')
})

t.test('a member added with shared history reads earlier messages; one added without is told it cannot', async t => {
  const n = node()
  const [alice, bob, carol] = users.map((u, i) => client(u, i, n.link))
  const { channel } = await alice.createChannel({ name: 'ops' })
  await alice.sendText(channel, 'before anyone joined')
  await alice.addMember(channel, { ed: users[1].ed25519.publicKey, x: users[1].x25519.publicKey }, 'member', { shareHistory: true })
  await alice.addMember(channel, { ed: users[2].ed25519.publicKey, x: users[2].x25519.publicKey })
  const seen = (c: ChannelClient): string[] => n.log.flatMap(b => c.receiveAll(b)).map(r => r.type === 'text' ? r.text : r.type === 'held' && r.unreadable && r.kind === 0 ? 'unreadable' : '').filter(x => x !== '')
  t.same(seen(bob), ['unreadable', 'before anyone joined'], 'Bob, added with history, reads the earlier message once the shared key comes')
  t.same(seen(carol), ['unreadable'], 'Carol, added without, is told the earlier message was sealed before she could read it')
  await alice.sendText(channel, 'after both joined')
  t.same(seen(carol).slice(-1), ['after both joined'], 'and reads what follows')
  t.equal(toHex(authorRef(users[2].ed25519.publicKey)).length, 16)
})

t.test('two concurrent epoch upkeeps seal one epoch, not two instances of it', async t => {
  const n = node()
  const [alice] = users.map((u, i) => client(u, i, n.link))
  const { channel } = await alice.createChannel({ name: 'ops' })
  alice.rotation = { intervalMs: 0 } // an epoch is due at every call
  const before = n.log.length
  const [a, b] = await Promise.all([alice.maintainEpochs(channel), alice.maintainEpochs(channel)])
  t.same([a, b].filter(Boolean).length >= 1, true, 'one of them rotated')
  const sealed = n.log.slice(before).map(bytes => alice.receive(bytes)).filter(r => r.type === 'keys').length
  t.equal(sealed, [a, b].filter(Boolean).length, 'each rotation published one keys envelope')
  const epochs = new Set(n.log.slice(before).map(bytes => decodeEnvelope(bytes, x => crypto.sha256(x)).epoch))
  t.equal(epochs.size, sealed, 'each under its own epoch number: never two instances of one epoch')
})
