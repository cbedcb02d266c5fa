// Two real relays joined by a 9.6 kbps link: a veth pair into a network namespace, rate-limited
// by tbf both ways (the kernel's netem is not available here; tbf is). A burst of routine
// traffic then one flash message must cross without the link ever dropping (libp2p's
// connection monitor used to cut it: a ping behind the radio's queue took longer than libp2p's
// 5 s floor, limits.hostPingTimeoutMsMin), and the flash message must overtake the routine
// ones still waiting (the declared link is paced, node/p2p/pacer.ts). Needs root, as the
// brief's multi-host tests do.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { Precedence } from '../protocol/envelope.ts'
import { Relay, waitFor, cleanupRelays } from './helpers/relays.ts'
import { addressEnds, createChannelFor, followInNamespace, must } from './helpers/netns.ts'

const messages = 24
const textChars = 700

/** A namespace with one end of a veth pair; the other end stays here. Both ends send at `rate`. */
function radioLink (rate: string): { ns: string, here: string, there: string, teardown: () => void } {
  const id = process.pid % 100_000
  const ns = `ddil-radio-${id}`
  const [hereDev, thereDev] = [`dra${id}`, `drb${id}`]
  const subnet = `10.213.${id % 250}`
  const link = { ns, here: `${subnet}.1`, there: `${subnet}.2`, teardown: () => { spawnSync('ip', ['netns', 'del', ns]) } }
  must('ip', 'netns', 'add', ns)
  try {
    must('ip', 'link', 'add', hereDev, 'type', 'veth', 'peer', 'name', thereDev, 'netns', ns)
    addressEnds(hereDev, link.here, ns, thereDev, link.there)
    // A queue of up to 3 s each way, as a radio modem buffers.
    must('tc', 'qdisc', 'add', 'dev', hereDev, 'root', 'tbf', 'rate', rate, 'burst', '1600', 'latency', '3s')
    must('tc', '-n', ns, 'qdisc', 'add', 'dev', thereDev, 'root', 'tbf', 'rate', rate, 'burst', '1600', 'latency', '3s')
  } catch (e) {
    link.teardown() // the veth pair goes with the namespace
    throw e
  }
  return link
}

t.teardown(cleanupRelays)

t.test('a loaded 9.6 kbps link stays up, carries every message, and lets a flash message overtake', async t => {
  const link = radioLink('9600bit')
  t.teardown(link.teardown)
  const [a, b] = await Promise.all(['radio-a', 'radio-b'].map(n => Relay.init(n)))
  a.host = link.here
  b.host = link.there
  b.wrap = ['ip', 'netns', 'exec', link.ns]
  a.writeConfig({ authors: [a, b], links: [[b, '9.6kbps 40ms']], logLevel: 'info' })
  b.writeConfig({ authors: [a, b], dial: [a], links: [[a, '9.6kbps 40ms']] })
  t.teardown(async () => { for (const r of [a, b]) await r.kill('SIGKILL') })
  await a.start(); await b.start()
  await waitFor('A linked to B', async () => (await a.status()).peers.some((p: any) => p.id === b.nodeId && p.ready) ? true : undefined)

  const ref = createChannelFor(a, b, 'radio')
  // B's client API listens inside the namespace: B's user follows the channel from there.
  const follow = followInNamespace(link.ns, b, ref)
  t.teardown(follow.kill)
  const arrivals = (): string[] => [...follow.printed().matchAll(/"text":"radio (\w+)/g)].map(m => m[1])

  const sa = await a.channels()
  const ch = await sa.open(ref)
  await sa.cc.sendText(ch, 'radio ready')
  await waitFor('B to follow the channel', () => arrivals().includes('ready') ? true : undefined)
    .catch(e => { for (const r of [a, b]) t.comment(`${r.name}'s output, last part:\n${r.output.slice(-3000)}`); t.comment(`tail printed: ${follow.printed().slice(-2000)}`); throw e })
  // Each link-up is logged at A ("peer connected"; the audit log folds repeated ones into a
  // summary a minute). A slow start may open the sync stream twice (an opener's timeout);
  // what must not happen is a drop while the link carries traffic.
  const linkUpsOfB = (): number => a.output.split('\n').filter(l => l.includes('"peer connected"') && l.includes(b.nodeId)).length
  const linkUpsBefore = linkUpsOfB()
  t.comment(`A linked to B ${linkUpsBefore} time(s) before the load`)
  const sent: string[] = []
  for (let i = 0; i < messages; i++) { await sa.cc.sendText(ch, `radio ${i} ${'x'.repeat(textChars)}`); sent.push(String(i)) }
  await sa.cc.sendText(ch, 'radio flash', { precedence: Precedence.flash })
  await sa.close()

  const order = await waitFor(`all ${messages + 1} messages at B`, () => arrivals().length === messages + 2 ? arrivals().slice(1) : undefined)
  t.same(order.filter(x => x !== 'flash').sort((x, y) => Number(x) - Number(y)), sent, `B got all ${messages} routine messages (${messages * textChars} bytes of text at 9.6 kbps)`)
  // Unpaced, every routine message went down to the socket and the radio's queue at once,
  // and the flash message arrived last.
  const overtaken = messages - order.indexOf('flash')
  t.ok(overtaken >= messages - 10, `the flash message overtook ${overtaken} of the ${messages} routine messages sent before it`)
  const linkUps = linkUpsOfB() - linkUpsBefore
  if (!t.equal(linkUps, 0, `A linked to B again ${linkUps} time(s) under load; never: the link never dropped`)) {
    for (const r of [a, b]) t.comment(`${r.name}'s output, last part:\n${r.output.slice(-3000)}`)
  }
})
