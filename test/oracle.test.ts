// Timeline and oracle: the link/node timeline follows the documented layer rules (flaps start up,
// heal ends partitions, clogs and degradations but not explicit downs), and the oracle's earliest
// arrivals are exact on hand-computed cases and agree with a brute-force search on random scenarios.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { parseScenario } from '../sim/scenario.ts'
import { compileTimeline, linkStateAt, nodeUpAt, timelineChanges, type Timeline } from '../sim/timeline.ts'
import { buildOracleGraph, earliestArrivals, isDeliverable } from '../sim/oracle.ts'
import { prng, testSeed } from './helpers/seed.ts'

const min = 60_000

/** Compile a scenario written inline (nodes first), with an optional contact trace. */
function timeline (body: string, trace = '', duration = '1h'): Timeline {
  return compileTimeline(parseScenario(`name: t\nduration: ${duration}\n${body}`, 'x.yaml', { readFile: () => trace }))
}

function arrivals (tl: Timeline, source: string, createdAtMs: number, sizeBytes = 1000, expiresAtMs = Infinity): Record<string, number> {
  return Object.fromEntries(earliestArrivals(tl, source, createdAtMs, sizeBytes, expiresAtMs, tl.durationMs))
}

/** Equal within float noise (833.33… ms is not exact in binary). */
function near (actual: number | undefined, expected: number): boolean {
  return actual !== undefined && Math.abs(actual - expected) < 1e-6
}

const fast = 'bandwidth: 1Mbps, latency: 5ms' // 1000 B: 8 ms + 5 ms = 13 ms, exact in binary floating point

t.test('timeline: flaps start up, partitions and clogs end at heal, explicit down does not', async t => {
  const tl = timeline(`nodes: [a, b, c]
links:
  - { between: [a, b] }
  - { between: [b, c] }
events:
  - { from: 1m, to: 10m, flap: [a, b], up: 1m, down: 2m }
  - { at: 12m, down: [b, c] }
  - { at: 12m, partition: [[a], [b, c]] }
  - { at: 13m, degrade: [a, b], latency: 1s }
  - { at: 14m, clog: [b, a] }
  - { at: 20m, heal: all }
`)
  const ab = tl.links.get('a\u0000b')?.intervals.map(i => `${i.startMs / min}-${i.endMs / min}:${i.state.up ? 'up' : 'down'}:${i.state.latencyMs}`)
  t.same(ab, ['0-2:up:5', '2-4:down:5', '4-5:up:5', '5-7:down:5', '7-8:up:5', '8-10:down:5', '10-12:up:5', '12-13:down:5', '13-20:down:1000', '20-60:up:5'])
  t.equal(linkStateAt(tl, 'b', 'a', 15 * min)?.up, false)
  t.equal(linkStateAt(tl, 'a', 'b', 25 * min)?.latencyMs, 5, 'heal ends the degradation')
  t.equal(linkStateAt(tl, 'b', 'c', 25 * min)?.up, false, 'heal does not undo an explicit down')
  t.equal(linkStateAt(tl, 'a', 'c', 0), undefined, 'no such link')
  t.equal(linkStateAt(tl, 'a', 'b', 60 * min), undefined, 'outside the scenario')
})

t.test('timeline: one-way clogs, contact-only links start down, crashes and the change list', async t => {
  const tl = timeline(`nodes: [a, b, c]
links: [{ between: [a, b] }]
contacts: t.one
events:
  - { at: 1m, clog: [a, b] }
  - { at: 2m, unclog: [a, b] }
  - { at: 3m, crash: c }
  - { at: 4m, restart: c }
`, '120 CONN c b up\n300 CONN b c down\n')
  t.same([linkStateAt(tl, 'a', 'b', 90_000)?.up, linkStateAt(tl, 'b', 'a', 90_000)?.up], [false, true])
  t.same([0, 2, 4.99, 5].map(m => linkStateAt(tl, 'b', 'c', m * min)?.up), [false, true, true, false])
  t.same([nodeUpAt(tl, 'c', 3 * min - 1), nodeUpAt(tl, 'c', 3 * min), nodeUpAt(tl, 'c', 4 * min)], [true, false, true])
  const changes = timelineChanges(tl).map(c => c.kind === 'node' ? `${c.atMs / min} ${c.node} ${c.up ? 'up' : 'down'}` : `${c.atMs / min} ${c.from}>${c.to} ${c.state.up ? 'up' : 'down'}`)
  t.same(changes, ['0 a>b up', '0 b>a up', '0 c>b down', '0 b>c down', '1 a>b down', '2 a>b up', '2 c>b up', '2 b>c up', '3 c down', '4 c up', '5 c>b down', '5 b>c down'])
})

t.test('oracle: a single link costs latency plus serialisation', async t => {
  const tl = timeline('nodes: [a, b]\nlinks: [{ between: [a, b], bandwidth: 9.6kbps, latency: 40ms }]\n')
  const got = arrivals(tl, 'a', 0)
  t.equal(got.a, 0, 'the source holds it at creation')
  t.ok(near(got.b, 40 + 8000 / 9.6), '1000 B over 9.6 kbps = 833.33 ms, plus 40 ms')
})

t.test('oracle: a chain sums each hop', async t => {
  const tl = timeline('nodes: [a, b, c]\nlinks:\n  - { between: [a, b], bandwidth: 9.6kbps, latency: 40ms }\n  - { between: [b, c], bandwidth: 64kbps, latency: 600ms }\n')
  t.ok(near(arrivals(tl, 'a', 1000).c, 1000 + 873.3333333 + 725), '873.33 + 600 + 125 ms')
})

t.test('oracle: waits for a link that comes up later', async t => {
  const tl = timeline(`nodes: [a, b]\nlinks: [{ between: [a, b], ${fast} }]\nevents:\n  - { at: 0, down: [a, b] }\n  - { at: 10m, up: [a, b] }\n`)
  t.equal(arrivals(tl, 'a', 30_000).b, 10 * min + 13)
})

t.test('oracle: a hop must finish before the link goes down', async t => {
  const tl = timeline(`nodes: [a, b]\nlinks: [{ between: [a, b], ${fast} }]\nevents:\n  - { at: 10m, down: [a, b] }\n  - { at: 20m, up: [a, b] }\n`)
  t.equal(arrivals(tl, 'a', 10 * min - 13).b, 10 * min, 'arriving exactly as the link drops counts')
  t.equal(arrivals(tl, 'a', 10 * min - 12).b, 20 * min + 13, 'one millisecond later it is cut off and waits for the next up')
})

t.test('oracle: a data mule carries messages only forward in time', async t => {
  const forward = timeline('nodes: [a, m, b]\ncontacts: t.one\n', '100 CONN a m up\n200 CONN a m down\n300 CONN m b up\n400 CONN m b down\n')
  t.same(arrivals(forward, 'a', 0), { a: 0, m: 100_000 + 13, b: 300_000 + 13 })
  const backward = timeline('nodes: [a, m, b]\ncontacts: t.one\n', '100 CONN m b up\n200 CONN m b down\n300 CONN a m up\n400 CONN a m down\n')
  const got = arrivals(backward, 'a', 0)
  t.same(got, { a: 0, m: 300_000 + 13 }, 'm meets b before it meets a: b cannot get it')
  t.notOk(isDeliverable(got.b, backward.durationMs, Infinity))
})

t.test('oracle: crashed nodes neither receive nor forward, but keep their store', async t => {
  const chain = `nodes: [a, r, b]\nlinks:\n  - { between: [a, r], ${fast} }\n  - { between: [r, b], ${fast} }\n`
  const blocked = timeline(`${chain}events:\n  - { at: 0, crash: r }\n`, '', '2h')
  t.same(arrivals(blocked, 'a', 0), { a: 0 }, 'a relay down for the whole run blocks the path')
  const restarts = timeline(`${chain}events:\n  - { at: 0, crash: r }\n  - { at: 1h, restart: r }\n`, '', '2h')
  t.same(arrivals(restarts, 'a', 0), { a: 0, r: 60 * min + 13, b: 60 * min + 26 })
  const keeps = timeline(`${chain}events:\n  - { at: 0, down: [r, b] }\n  - { at: 20m, up: [r, b] }\n  - { at: 5m, crash: r }\n  - { at: 30m, restart: r }\n`)
  t.same(arrivals(keeps, 'a', 0), { a: 0, r: 13, b: 30 * min + 13 }, 'received before the crash, forwarded after the restart')
  t.same(arrivals(keeps, 'r', 6 * min), {}, 'a source that is down at creation sends nothing')
  const midway = timeline('nodes: [a, b]\nlinks: [{ between: [a, b], bandwidth: 9.6kbps, latency: 40ms }]\nevents:\n  - { at: 500ms, crash: b }\n  - { at: 10s, restart: b }\n')
  t.ok(near(arrivals(midway, 'a', 0).b, 10_000 + 873.3333333), 'a receiver crashing mid-transmission loses that copy')
})

t.test('oracle: expiry and the end cut deliverability', async t => {
  const tl = timeline(`nodes: [a, b]\nlinks: [{ between: [a, b], ${fast} }]\nevents:\n  - { at: 0, down: [a, b] }\n  - { at: 10m, up: [a, b] }\n`)
  t.same(arrivals(tl, 'a', 0, 1000, 5 * min), { a: 0 }, 'expires before the link comes up')
  t.same(arrivals(tl, 'a', 0, 1000, 10 * min + 13), { a: 0 }, 'arriving exactly at expiry is too late')
  t.same(arrivals(tl, 'a', 0, 1000, 10 * min + 14), { a: 0, b: 10 * min + 13 })
  t.same(Object.fromEntries(earliestArrivals(tl, 'a', 0, 1000, Infinity, 10 * min)), { a: 0 }, 'the run ends first')
  t.ok(isDeliverable(10, 11, 12))
  t.notOk(isDeliverable(11, 11, 12))
  t.notOk(isDeliverable(11, 20, 11))
  t.notOk(isDeliverable(undefined, 20, 20))
})

t.test('oracle: a fast multi-hop path beats a slow direct one', async t => {
  const tl = timeline(`nodes: [a, b, c]\nlinks:\n  - { between: [a, b], bandwidth: 2.4kbps, latency: 1s }\n  - { between: [a, c], ${fast} }\n  - { between: [c, b], ${fast} }\n`)
  t.same(arrivals(tl, 'a', 0), { a: 0, c: 13, b: 26 })
})

t.test('oracle: departing later on a faster segment can arrive earlier', async t => {
  const tl = timeline('nodes: [a, b]\nlinks: [{ between: [a, b], bandwidth: 2.4kbps, latency: 5ms }]\nevents:\n  - { at: 1s, degrade: [a, b], bandwidth: 1Mbps }\n')
  t.equal(arrivals(tl, 'a', 0).b, 1013, 'waits 1 s for 1 Mbps instead of 3.3 s at 2.4 kbps')
})

t.test('oracle: 100% loss blocks a link, 99% does not; clogs block one way', async t => {
  t.same(arrivals(timeline(`nodes: [a, b]\nlinks: [{ between: [a, b], ${fast}, loss: 100% }]\n`), 'a', 0), { a: 0 })
  t.same(arrivals(timeline(`nodes: [a, b]\nlinks: [{ between: [a, b], ${fast}, loss: 99% }]\n`), 'a', 0), { a: 0, b: 13 })
  const clogged = timeline(`nodes: [a, b]\nlinks: [{ between: [a, b], ${fast} }]\nevents: [{ at: 0, clog: [a, b] }]\n`)
  t.same([arrivals(clogged, 'a', 0), arrivals(clogged, 'b', 0)], [{ a: 0 }, { b: 0, a: 13 }])
})

t.test('oracle: partitions hold until heal', async t => {
  const tl = timeline(`nodes: [a, b, c]\nlinks:\n  - { between: [a, b], ${fast} }\n  - { between: [b, c], ${fast} }\nevents:\n  - { at: 10m, partition: [[a], [b]] }\n  - { at: 20m, heal: all }\n`)
  t.same(arrivals(tl, 'b', 11 * min), { b: 11 * min, c: 11 * min + 13, a: 20 * min + 13 }, 'c is on no side and stays reachable')
})

/** Brute force: try every millisecond as a departure, check usability at every state change the hop spans. */
function reference (tl: Timeline, source: string, createdAtMs: number, sizeBytes: number, limitMs: number): Record<string, number> {
  const usable = (u: string, v: string, at: number): boolean => {
    const s = linkStateAt(tl, u, v, at)
    return s !== undefined && s.up && s.loss < 1 && nodeUpAt(tl, u, at) && nodeUpAt(tl, v, at)
  }
  const hop = (u: string, v: string, ready: number, best: number): number => {
    for (let d = ready; d < Math.min(limitMs, best); d = d === ready ? Math.floor(ready) + 1 : d + 1) {
      if (!usable(u, v, d)) continue
      const s = linkStateAt(tl, u, v, d)!
      const arrival = d + s.latencyMs + (sizeBytes * 8 * 1000) / s.bandwidthBitsPerSecond
      let ok = arrival < limitMs
      for (let c = Math.floor(d / 1000) * 1000 + 1000; ok && c < arrival; c += 1000) ok = usable(u, v, c)
      if (ok && arrival < best) best = arrival
    }
    return best
  }
  const dist: Record<string, number> = {}
  if (!nodeUpAt(tl, source, createdAtMs) || createdAtMs >= limitMs) return dist
  dist[source] = createdAtMs
  for (let changed = true; changed;) {
    changed = false
    for (const link of tl.links.values()) {
      if (dist[link.from] === undefined) continue
      const got = hop(link.from, link.to, dist[link.from], dist[link.to] ?? Infinity)
      if (got < (dist[link.to] ?? Infinity)) { dist[link.to] = got; changed = true }
    }
  }
  return dist
}

function randomScenario (r: ReturnType<typeof prng>): string {
  const nodes = ['a', 'b', 'c', 'd']
  const pairs = nodes.flatMap((x, i) => nodes.slice(i + 1).map(y => [x, y])).filter(() => r.next() < 0.7)
  if (pairs.length === 0) pairs.push(['a', 'b'])
  const bw = ['8kbps', '64kbps', '1Mbps']
  const links = pairs.map(([x, y]) => `  - { between: [${x}, ${y}], bandwidth: ${bw[r.int(3)]}, latency: ${r.int(300)}ms }`)
  const events: string[] = []
  const sec = (): string => `${1 + r.int(18)}s`
  for (let i = r.int(8); i > 0; i--) {
    const [x, y] = pairs[r.int(pairs.length)]
    const kind = r.int(6)
    if (kind === 0) events.push(`  - { at: ${sec()}, down: [${x}, ${y}] }`, `  - { at: ${sec()}, up: [${x}, ${y}] }`)
    if (kind === 1) events.push(`  - { at: ${sec()}, degrade: [${x}, ${y}], bandwidth: ${bw[r.int(3)]}, latency: ${r.int(300)}ms }`)
    if (kind === 2) events.push(`  - { at: ${sec()}, clog: [${x}, ${y}] }`)
    if (kind === 3) events.push(`  - { at: ${sec()}, partition: [[${x}], [${y}]] }`, `  - { at: ${sec()}, heal: all }`)
    if (kind === 4) events.push(`  - { from: ${1 + r.int(5)}s, to: ${8 + r.int(10)}s, flap: [${x}, ${y}], up: ${1 + r.int(3)}s, down: ${1 + r.int(3)}s }`)
  }
  for (const n of nodes) {
    if (r.next() < 0.3) { const at = 1 + r.int(15); events.push(`  - { at: ${at}s, crash: ${n} }`, `  - { at: ${at + 1 + r.int(3)}s, restart: ${n} }`) }
  }
  return `name: random\nduration: 20s\nnodes: [a, b, c, d]\nlinks:\n${links.join('\n')}\n${events.length > 0 ? `events:\n${events.join('\n')}\n` : ''}`
}

t.test('oracle agrees with a brute-force search on random timelines', async t => {
  const seed = testSeed(t)
  const r = prng(seed)
  let compared = 0
  for (let run = 0; run < 25; run++) {
    const text = randomScenario(r)
    const tl = compileTimeline(parseScenario(text, 'random.yaml'))
    const graph = buildOracleGraph(tl)
    const created = r.int(10_000)
    const size = [100, 1000][r.int(2)]
    const expires = created + 2000 + r.int(15_000)
    const want = reference(tl, 'a', created, size, Math.min(expires, tl.durationMs))
    const got = Object.fromEntries(earliestArrivals(graph, 'a', created, size, expires, tl.durationMs))
    const same = Object.keys(want).length === Object.keys(got).length && Object.keys(want).every(k => Math.abs(want[k] - got[k]) < 1e-6)
    if (!same) t.fail(`run ${run}: oracle ${JSON.stringify(got)} but brute force ${JSON.stringify(want)}\n${text}`)
    compared += Object.keys(want).length
  }
  t.ok(compared > 25, `${compared} arrivals compared (seed ${seed})`)
})

t.test('the shipped example compiles and its flash messages have an oracle answer', async t => {
  const path = new URL('../scenarios/example.yaml', import.meta.url).pathname
  const scenario = parseScenario(readFileSync(path, 'utf8'), path)
  const tl = compileTimeline(scenario)
  t.equal(linkStateAt(tl, 'hq', 'relay-a', 45 * min)?.up, false, 'satcom down 30m–90m')
  t.equal(linkStateAt(tl, 'relay-a', 'truck', 165 * min)?.bandwidthBitsPerSecond, 2400, 'degraded from 2h30m')
  t.equal(linkStateAt(tl, 'relay-a', 'truck', 190 * min)?.bandwidthBitsPerSecond, 9600, 'healed at 3h')
  t.equal(nodeUpAt(tl, 'truck', 50 * min), false)
  const got = earliestArrivals(buildOracleGraph(tl), 'field-3', 50 * min, 140, 110 * min, scenario.durationMs)
  t.equal(got.get('field-1'), 50 * min + 5 + 1.12, 'one mesh hop: 5 ms + 140 B at 1 Mbps')
  t.equal(got.get('hq'), 90 * min + 600 + 17.5, 'via the truck after its restart, then relay-a, waiting for the satcom to return at 90m')
})
