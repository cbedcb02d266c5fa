// Peer scores (protocol/limits.ts): penalties subtract, and a peer wins back
// `peerScorePerHourRecovered` points an hour up to the initial score. Forgers still lose
// their link at once; honest edge cases spread over days never add up to a disconnect.
import t from 'tap'
import { TestNet } from './helpers/net.ts'
import { peerPenaltyUntimely, peerScoreInitial, peerScorePerHourRecovered } from '../protocol/limits.ts'

const hourMs = 3_600_000

async function pair (): Promise<{ net: TestNet, penalise: (points: number) => void, score: () => number, linked: () => boolean }> {
  const net = new TestNet()
  const victim = await net.node('victim'); await net.node('peer')
  net.connect('victim', 'peer')
  await net.run(100)
  return {
    net,
    penalise: (points) => { victim.probe.penalise('peer', points, 'test') },
    score: () => victim.status().peers.find(p => p.id === 'peer')?.score ?? Number.NaN,
    linked: () => victim.probe.links.has('peer') && !net.disconnects.some(d => d.peer === 'peer'),
  }
}

t.test('150 untimely penalties over 25 hours do not cost an honest link', async t => {
  const p = await pair()
  for (let i = 0; i < 150; i++) {
    p.penalise(peerPenaltyUntimely)
    await p.net.run(hourMs / 6)
  }
  t.ok(p.linked(), 'still linked (without recovery the 101st penalty cut it)')
  t.ok(p.score() > 80, `score ${p.score()}: one point every 10 minutes is won back faster than it is lost`)
})

t.test('the same penalties in a burst, or ten forgeries in a minute, still cut the link', async t => {
  const burst = await pair()
  for (let i = 0; i <= peerScoreInitial; i++) burst.penalise(peerPenaltyUntimely)
  t.notOk(burst.linked(), '101 untimely envelopes at once: disconnected')

  const forger = await pair()
  for (let i = 0; i < 11; i++) { forger.penalise(10); await forger.net.run(5_000) }
  t.notOk(forger.linked(), 'eleven 10-point penalties within a minute: disconnected')
})

t.test('recovery is 10 points an hour and stops at the initial score', async t => {
  const p = await pair()
  p.penalise(50)
  t.equal(p.score(), peerScoreInitial - 50)
  await p.net.run(2 * hourMs)
  t.equal(p.score(), peerScoreInitial - 50 + 2 * peerScorePerHourRecovered, 'two hours later')
  await p.net.run(20 * hourMs)
  t.equal(p.score(), peerScoreInitial, 'never above the initial score')
})
