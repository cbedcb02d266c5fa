// The emulation's pure parts (#26), without root: what `ddil emulate` plans from a scenario (the
// simulator's own posts and timeline, sped up; a channel per pair exchanging direct messages;
// what it refuses, naming why) and when a post has arrived (every piece of a long one).
import t from 'tap'
import { directChannelName, planEmulation } from '../node/emulate/plan.ts'
import { postArrivals } from '../node/emulate/report.ts'
import { nodeLines, planNet } from '../node/emulate/net-commands.ts'
import { rtoMinAdvisedMs as rtoMinMs } from '../node/p2p/route-check.ts'
import { UsageError } from '../protocol/errors.ts'
import { Rng } from '../sim/rng.ts'
import { parseScenario } from '../sim/scenario.ts'
import { compileTimeline } from '../sim/timeline.ts'
import { buildWorkload } from '../sim/workload.ts'

const base = `name: plan
seed: 4
duration: 1h
nodes: [a, b, c]
links:
  - { between: [a, b], bandwidth: 64kbps, latency: 20ms }
  - { between: [b, c] }
channels:
  - { name: ops, members: all }
traffic:
  - { from: a, channel: ops, every: 5m, size: 200B, ttl: 2h }
  - { from: c, to: a, at: 10m, count: 2, every: 1m, size: 100B }
events:
  - { at: 20m, down: [a, b] }
  - { at: 40m, up: [a, b] }
expect:
  delivered_vs_oracle: 100%
  latency_p95: 10m
`
const parse = (text: string) => parseScenario(text, 'plan.yaml')

t.test('the simulator\'s posts and timeline, every time divided by the speed-up, bandwidths kept', async t => {
  const scenario = parse(base)
  const plan = planEmulation(scenario, { seed: 4, timeScale: 10 })
  const posts = buildWorkload(scenario, Rng.from(4).fork('traffic'))
  t.same(plan.posts.map(p => [p.atMs, p.ttlMs, p.sender]), posts.map(p => [p.atMs / 10, p.ttlMs / 10, p.sender]), 'the same posts from the same seed, ten times sooner')
  t.equal(plan.timeline.durationMs, 360_000)
  const ab = plan.timeline.links.get('a\u0000b')?.intervals ?? []
  const original = compileTimeline(scenario).links.get('a\u0000b')?.intervals ?? []
  t.same(ab.map(iv => [iv.startMs, iv.state.up, iv.state.bandwidthBitsPerSecond]), original.map(iv => [iv.startMs / 10, iv.state.up, iv.state.bandwidthBitsPerSecond]), 'the link goes down at 2 min and up at 4 min, still 64 kbps')
  t.same(plan.scenario.expect.map(x => [x.key, x.limit]), [['delivered_vs_oracle', 1], ['latency_p95', 60_000]], 'a duration limit is sped up too; a share is not')
  t.same(plan.channels.map(c => [c.name, c.members]), [['ops', ['a', 'b', 'c']], [directChannelName('c', 'a'), ['a', 'c']]], 'direct messages between a and c go in a two-member channel')
  t.match(plan.unemulated.join(' '), /latency \(5ms, 20ms\) is not emulated/, 'latency is said not to be emulated')
})

t.test('what it cannot emulate is refused in one sentence naming the feature', async t => {
  const refuses = (text: string, timeScale: number, pattern: RegExp, what: string): void => {
    t.throws(() => planEmulation(parse(text), { seed: 1, timeScale }), { name: UsageError.name, message: pattern }, what)
  }
  refuses(base.replace('bandwidth: 64kbps, latency: 20ms', 'loss: 2%'), 1, /sets loss, duplicate or reorder .*no sch_netem/, 'loss')
  refuses(base.replace('nodes: [a, b, c]', 'nodes:\n  - a\n  - { id: b, skew: 5m }\n  - c'), 1, /gives node b a clock skew or drift/, 'clock skew')
  refuses(base.replace('  - { at: 40m, up: [a, b] }', '  - { at: 40m, clog: [a, b] }'), 1, /one-way clog/, 'a one-way clog')
  refuses(base.replace('nodes: [a, b, c]', 'nodes:\n  - { id: a, org: w }\n  - { id: b, org: w }\n  - { id: c, org: w }'), 1, /puts node a in an organisation; ddil emulate does not yet issue certificates/, 'organisations')
  refuses(base.replace('nodes: [a, b, c]', 'nodes:\n  - a\n  - b\n  - c\n  - { group: x, count: 40 }'), 1, /43 nodes; one machine emulates at most 40/, 'too many relays')
  refuses(base, 0.5, /--time-scale must be from 1 to 1000/, 'slower than written')
  refuses(base, 5000, /--time-scale must be from 1 to 1000/, 'beyond the fastest speed-up')
})

t.test('a post has arrived where all its envelopes have: the message, or every piece of a long one', async t => {
  const id = (n: number): Uint8Array => new Uint8Array(32).fill(n)
  const hex = (n: number): string => Buffer.from(id(n)).toString('hex')
  const index = new Map([['a', 0], ['b', 1], ['c', 2]])
  const byId = new Map([
    [hex(1), new Map([['a', 10], ['b', 12]])],
    [hex(2), new Map([['a', 30]])],
  ])
  t.same([...postArrivals([{ id: id(1) }], byId, index)], [10, 12, NaN], 'a text: when it came')
  t.same([...postArrivals([{ id: id(1) }, { id: id(2) }], byId, index)], [30, NaN, NaN], 'a long post: when its last piece came; b lacks one, c both')
})

t.test('a slow link\'s route gets TCP\'s rto_min for its rate; a fast one keeps the default', async t => {
  t.equal(rtoMinMs(9_600), 3785, '9.6 kbps: three full packets, 3.8 s')
  t.equal(rtoMinMs(64_000), 568, '64 kbps: 568 ms')
  t.equal(rtoMinMs(1_000_000), 200, '1 Mbps: Linux\'s own 200 ms')
  const plan = planNet(['cp', 'op', 'staff'], [{ a: 'cp', b: 'op' }, { a: 'cp', b: 'staff' }], 7)
  const rate = (from: string, to: string): number => [from, to].includes('op') ? (from === 'op' ? 9_600 : 64_000) : 100e6
  const cp = nodeLines(plan, plan.nodes[0], rate)
  t.same(cp.filter(l => l.startsWith('route')), ['route replace 10.200.0.0/30 dev l0 src 10.200.0.1 rto_min 3785ms'], 'the radio\'s route, at its slower direction; none for the LAN')
  const op = nodeLines(plan, plan.nodes[1], rate)
  t.ok(op.includes('route replace 10.200.0.0/30 dev l0 src 10.200.0.2 rto_min 3785ms'), 'both ends')
})
