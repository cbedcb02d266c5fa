// Random-waypoint contact traces (#24): seeded and reproducible, in The ONE's format as the
// simulator reads it, physically consistent (contacts open and close in pairs; nodes within
// range of everything are always in contact), bounded, and refused clearly through the CLI.
import t from 'tap'
import { parseContacts } from '../sim/contacts.ts'
import { randomWaypointTrace, type RwpOptions } from '../sim/rwp.ts'
import { ddil } from './helpers/cli.ts'

const base: RwpOptions = { nodes: 10, widthM: 500, heightM: 200, rangeM: 60, speedMps: [0.5, 10], pauseS: [0, 30], durationMs: 600_000, stepMs: 100, seed: 7 }
const ids = Array.from({ length: 10 }, (_, i) => `n-${i + 1}`)

t.test('the same options and seed give the same trace; another seed another one', async t => {
  const a = randomWaypointTrace(base)
  t.equal(randomWaypointTrace(base), a)
  t.not(randomWaypointTrace({ ...base, seed: 8 }), a)
  t.ok(a.split('\n').length > 10, 'nodes meet and part')
})

t.test('the simulator reads it; each pair alternates up and down, in time order', async t => {
  const events = parseContacts(randomWaypointTrace(base), 'rwp.one', ids)
  const state = new Map<string, boolean>()
  const wrong: string[] = []
  let last = 0
  for (const e of events) {
    const pair = `${e.a}|${e.b}`
    if ((state.get(pair) ?? false) === e.up) wrong.push(`${pair} goes ${e.up ? 'up' : 'down'} twice at ${e.atMs} ms`)
    if (e.atMs < last) wrong.push(`${pair} at ${e.atMs} ms after ${last} ms`)
    state.set(pair, e.up)
    last = e.atMs
  }
  t.ok(events.length > 10)
  t.same(wrong, [])
})

t.test('in range of everything, every pair meets at once and never parts', async t => {
  const lines = randomWaypointTrace({ ...base, rangeM: 10_000 }).trim().split('\n')
  t.equal(lines.length, 45, 'one up line per pair of 10 nodes')
  t.ok(lines.every(l => /^0 CONN \d+ \d+ up$/.test(l)))
})

t.test('bounds are refused with what to change', async t => {
  t.throws(() => randomWaypointTrace({ ...base, nodes: 1 }), { code: 'ERR_LIMIT', message: /--nodes must be 2 to/ })
  t.throws(() => randomWaypointTrace({ ...base, speedMps: [0, 1] }), { code: 'ERR_LIMIT', message: /--speed/ })
  t.throws(() => randomWaypointTrace({ ...base, stepMs: 1, durationMs: 10_000_000 }), { code: 'ERR_LIMIT', message: /node-steps/ })
})

t.test('ddil contacts rwp: a trace with the command that made it; bad input exits 2', async t => {
  const ok = await ddil(['contacts', 'rwp', '--nodes', '5', '--area', '300mx100m', '--range', '50m', '--speed', '1..5', '--pause', '0..10', '--duration', '120s', '--seed', '3'])
  t.equal(ok.code, 0, ok.stderr)
  t.match(ok.stdout, /^# ddil contacts rwp --nodes 5 --area 300mx100m .* --seed 3\n/)
  t.equal(ok.stdout.split('\n').slice(1).join('\n'), randomWaypointTrace({ nodes: 5, widthM: 300, heightM: 100, rangeM: 50, speedMps: [1, 5], pauseS: [0, 10], durationMs: 120_000, stepMs: 100, seed: 3 }))
  const bad = await ddil(['contacts', 'rwp', '--nodes', '5', '--area', '300x', '--range', '50m', '--duration', '120s'])
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--area "300x" is not an area; write e.g. 1500mx300m/)
})
