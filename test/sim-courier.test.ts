// The simulator's courier (#27): a `carry` event moves everything one node holds to a node it
// has no link with, imported as `ddil bundle import` imports (the engine's `importEnvelope`),
// and the oracle counts the courier as a path, on to further nodes over links.
import t from 'tap'
import { crypto } from './helpers/fixtures.ts'
import { courierLegs } from '../sim/courier.ts'
import { buildOracleGraph, earliestArrivals } from '../sim/oracle.ts'
import { buildReport } from '../sim/report.ts'
import { runScenario } from '../sim/runner.ts'
import { parseScenario } from '../sim/scenario.ts'
import { compileTimeline } from '../sim/timeline.ts'

const min = 60_000

function scenario (body: string): ReturnType<typeof parseScenario> {
  return parseScenario(`name: t\nseed: 5\nduration: 1h\n${body}`, 'x.yaml')
}

// a has no link at all; b and c share one. Posts from a to c at 10m and at 40m.
const island = [
  'nodes: [a, b, c]',
  'links:',
  '  - { between: [b, c], latency: 5ms }',
  'traffic:',
  '  - { from: a, to: c, at: 10m, size: 300B }',
  '  - { from: a, to: c, at: 40m, size: 300B }',
  '  - { from: a, to: c, at: 12m, size: 200KB }',
  'events:',
].join('\n') + '\n'

t.test('parsing: a carry names two nodes and a journey longer than 0; errors say where', async t => {
  const s = scenario(`${island}  - { at: 30m, carry: { from: a, to: b, after: 10m } }\n`)
  t.same(s.events.map(e => e.kind === 'carry' ? { at: e.atMs, from: e.from, to: e.to, after: e.afterMs } : e.kind), [{ at: 30 * min, from: 'a', to: 'b', after: 10 * min }])
  const bad: Array<[string, string, string]> = [
    ['{ at: 30m, carry: { from: a, to: z, after: 10m } }', 'x.yaml:12:38: events[0].carry.to: unknown node "z" (did you mean "a"?)', 'an unknown node'],
    ['{ at: 30m, carry: { from: a, after: 10m } }', 'x.yaml:12:23: events[0].carry: missing key "to" (for example to: site-b)', 'no "to"'],
    ['{ at: 30m, carry: { from: a, to: b } }', 'x.yaml:12:23: events[0].carry: missing key "after" (for example after: 40m)', 'no "after"'],
    ['{ at: 30m, carry: { from: a, to: b, after: 0s } }', 'x.yaml:12:48: events[0].carry.after: the courier\'s journey must take longer than 0', 'after 0'],
    ['{ at: 30m, carry: { from: a, to: a, after: 5m } }', 'x.yaml:12:38: events[0].carry.to: a courier carries between two nodes, not from "a" to itself', 'to itself'],
    ['{ at: 30m, carry: { from: a, to: b, after: 5m, via: c } }', 'x.yaml:12:52: unknown key "via" in events[0].carry (expected one of: from, to, after)', 'an unknown key'],
    ['{ at: 30m, carry: [a, b] }', 'x.yaml:12:23: events[0].carry: expected { from: site-a, to: site-b, after: 40m } but found a list', 'not a map'],
    ['{ carry: { from: a, to: b, after: 5m } }', 'x.yaml:12:5: events[0]: missing key "at" (for example at: 30m)', 'no "at"'],
  ]
  for (const [event, message, why] of bad) t.throws(() => scenario(`${island}  - ${event}\n`), { code: 'ERR_CONFIG', message }, why)
})

t.test('a carry delivers what "from" held at "at", on over links, and nothing posted after; the oracle agrees', async t => {
  const s = scenario(`${island}  - { at: 30m, carry: { from: a, to: b, after: 10m } }\n`)
  const { report, pairs } = buildReport(await runScenario(s, { crypto }))
  const at = (createdMin: number) => pairs.find(p => p.rec.createdAtMs === createdMin * min)
  const early = at(10)
  const file = at(12)
  const late = at(40)
  t.ok(early?.deliverable && early.delivered, 'the message posted before the courier left is delivered')
  t.ok((early?.oracleAtMs ?? 0) >= 40 * min && (early?.oracleAtMs ?? 0) < 40 * min + 1000, `the oracle: at b when the courier arrives, then one LAN hop to c (${early?.oracleAtMs} ms)`)
  t.ok(early !== undefined && early.deliveredAtMs >= early.oracleAtMs, 'never before the oracle')
  t.ok(file?.deliverable && file.delivered, 'a file travels whole in the bundle and is delivered')
  t.ok(late !== undefined && !late.deliverable && !late.delivered, 'the message posted after the courier left: neither deliverable nor delivered')
  t.equal(report.delivered_vs_oracle, 1)
  t.match(report.carries, [{ from: 'a', to: 'b', at_ms: 30 * min, imported_ms: 40 * min, status: 'carried', held: 0, refused: {} }])
  t.equal(report.carries?.[0].added, report.carries?.[0].envelopes, 'everything carried was new at b')
  t.ok(report.ok, 'every check passes')

  // Without the courier, nothing crosses.
  const none = buildReport(await runScenario(scenario(island.replace('events:\n', '')), { crypto }))
  t.equal(none.report.pairs.deliverable, 0, 'without it the oracle finds no path')
  t.equal(none.report.pairs.delivered, 0, 'and nothing is delivered')
  t.equal(none.report.carries, undefined, 'and the report has no carries entry')
})

t.test('the oracle: a courier leg is a path from its "at" to its arrival, and only for what is there by "at"', async t => {
  const s = scenario(`${island}  - { at: 30m, carry: { from: a, to: b, after: 10m } }\n`)
  const tl = compileTimeline(s)
  const graph = buildOracleGraph(tl, courierLegs(s, tl))
  const before = earliestArrivals(graph, 'a', 10 * min, 300, Infinity, tl.durationMs)
  t.equal(before.get('b'), 40 * min, 'at b when the courier arrives')
  t.ok((before.get('c') as number) > 40 * min, 'and on to c over the link')
  t.equal(earliestArrivals(graph, 'a', 30 * min, 300, Infinity, tl.durationMs).get('b'), 40 * min, 'posted at the very moment the courier leaves: counted (a bound)')
  t.same([...earliestArrivals(graph, 'a', 31 * min, 300, Infinity, tl.durationMs).keys()], ['a'], 'posted after: nowhere else')
  t.same([...earliestArrivals(graph, 'a', 10 * min, 300, 35 * min, tl.durationMs).keys()], ['a'], 'expiring before the courier arrives: nowhere else')
  t.same([...earliestArrivals(graph, 'c', 10 * min, 300, Infinity, tl.durationMs).keys()].sort(), ['b', 'c'], 'one way only: nothing goes from b to a')
  t.same([...earliestArrivals(buildOracleGraph(tl), 'a', 10 * min, 300, Infinity, tl.durationMs).keys()], ['a'], 'the graph without legs: no path')
})

t.test('the down-relay rule: from down at "at" carries nothing; to down on arrival waits for its restart', async t => {
  const s = scenario(`${island}  - { at: 20m, crash: a }\n  - { at: 25m, restart: a }\n  - { at: 22m, carry: { from: a, to: b, after: 10m } }\n  - { at: 26m, carry: { from: a, to: b, after: 4m } }\n  - { at: 29m, crash: b }\n  - { at: 33m, restart: b }\n`)
  const tl = compileTimeline(s)
  t.match(courierLegs(s, tl), [{ atMs: 22 * min, skipped: true }, { atMs: 26 * min, arriveMs: 33 * min, skipped: false }])
  const { report, pairs } = buildReport(await runScenario(s, { crypto }))
  t.match(report.carries, [{ status: 'skipped', envelopes: 0, imported_ms: null }, { status: 'carried' }])
  t.ok((report.carries?.[1].imported_ms as number) >= 33 * min, 'imported once b runs again')
  const early = pairs.find(p => p.rec.createdAtMs === 10 * min)
  t.ok(early?.deliverable && early.delivered && early.oracleAtMs >= 33 * min, 'delivered, no earlier than the restart')
  t.equal(report.delivered_vs_oracle, 1)
})

t.test('a bundle carried twice delivers once, and the run replays with the same trace hash', async t => {
  const text = `${island}  - { at: 30m, carry: { from: a, to: b, after: 10m } }\n  - { at: 35m, carry: { from: a, to: b, after: 10m } }\n`
  const first = buildReport(await runScenario(scenario(text), { crypto })).report
  const [one, two] = first.carries ?? []
  t.equal(two.envelopes, one.envelopes, 'the same content both times')
  t.equal(two.added, 0, 'the second import stores nothing new')
  t.equal(two.held, two.envelopes, 'every envelope already held')
  t.equal(first.checks.no_duplicate_deliveries.ok, true, 'no message stored twice anywhere')
  t.equal(first.engine.duplicates_received, 0)
  const again = buildReport(await runScenario(scenario(text), { crypto })).report
  t.equal(again.trace_hash, first.trace_hash, 'same trace hash')
  t.same({ ...again, wall_ms: 0 }, { ...first, wall_ms: 0 }, 'same report')
})
