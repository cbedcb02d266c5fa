// Per-author push trees start with every link eager, so an author's first envelope costs a
// duplicate on every redundant link. A relay remembers where the envelopes of authors a
// peer pruned reached it from, and announces (rather than pushes) a new author's first
// envelope arriving the same way. Where the guess is wrong, the peer grafts and gets it
// one graft delay later; nothing is lost.
import t from 'tap'
import { TestNet } from './helpers/net.ts'
import { toHex } from '../protocol/bytes.ts'

/** A four-cycle: src reaches d through b (5 + 5 ms) and through c (5 + 6 ms). */
async function square (): Promise<TestNet> {
  const net = new TestNet()
  for (const id of ['src', 'b', 'c', 'd']) await net.node(id)
  net.connect('src', 'b', { latencyMs: 5 })
  net.connect('src', 'c', { latencyMs: 5 })
  net.connect('b', 'd', { latencyMs: 5 })
  net.connect('c', 'd', { latencyMs: 6 })
  await net.run(2_000)
  return net
}

t.test('a new author\'s first envelope is announced where a co-located author\'s was pruned', async t => {
  const net = await square()
  const d = net.engines.get('d')!
  await net.post('src', net.author(1), 1)
  await net.run(1_000)
  t.equal(d.counters.duplicatesReceived, 1, 'the first author\'s first envelope: one duplicate at d (from c), and d prunes c')
  for (let author = 2; author <= 5; author++) {
    const env = await net.post('src', net.author(author), 1)
    await net.run(1_000)
    t.ok(net.ids('d').includes(toHex(env.id)), `author ${author}'s first envelope reached d`)
  }
  t.equal(d.counters.duplicatesReceived, 1, 'four more authors at src: no more duplicates (c announced them to d)')
  t.equal(net.engines.get('c')!.probe.links.get('d')!.lazyAuthors.size, 5, 'c announces all five authors to d')
})

t.test('where the guess is wrong the peer grafts, and gets the envelope a graft delay later', async t => {
  const net = await square()
  await net.post('src', net.author(1), 1)
  await net.run(1_000)
  net.cut('b', 'd') // d now hears from src only through c, which would announce a new author to it
  await net.run(1_000)
  const env = await net.post('src', net.author(2), 1)
  const postedAt = net.clock.now
  await net.run(2_000)
  const arrival = net.arrivals.find(a => a.node === 'd' && a.id === toHex(env.id))
  t.ok(arrival !== undefined, 'd got author 2\'s first envelope')
  t.equal(arrival?.from, 'c', 'from c')
  t.ok(arrival!.at - postedAt < 600, `within a graft delay and a round trip (${(arrival!.at - postedAt).toFixed(0)} ms)`)
  t.equal(net.engines.get('d')!.counters.grafts, 1, 'by a graft')
  const next = await net.post('src', net.author(2), 2)
  const nextAt = net.clock.now
  await net.run(1_000)
  const second = net.arrivals.find(a => a.node === 'd' && a.id === toHex(next.id))!
  t.ok(second.at - nextAt < 20, `after the graft c pushes author 2 eagerly (${(second.at - nextAt).toFixed(0)} ms)`)
})
