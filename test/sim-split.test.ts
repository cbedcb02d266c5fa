// The split benchmark's child (bench/_sim-split-child.ts): how it cuts a fleet, and that it
// refuses what it cannot run (faults before the end of the stretch).
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { lookaheadMs, partition } from '../bench/_sim-split-share.ts'
import { parseScenario } from '../sim/scenario.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const file = 'scenarios/city-200.yaml'
const city = parseScenario(readFileSync(new URL(`../${file}`, import.meta.url), 'utf8'), file)
const sideOf = (side: number[], id: string): number => side[city.nodes.findIndex(n => n.id === id)]

t.test('groups: whole districts per side, cut on the 20 ms backbone', async t => {
  const side = partition(city, 'groups')
  t.same([side.filter(s => s === 0).length, side.filter(s => s === 1).length], [110, 90])
  for (const d of city.groups.d1) t.equal(sideOf(side, d), sideOf(side, 'd1-1'), `${d} with its hub`)
  t.equal(lookaheadMs(city, side, 45 * 60_000), 20)
})

t.test('interleaved: alternate relays of each district, hubs on alternate sides', async t => {
  const side = partition(city, 'interleaved')
  t.same([side.filter(s => s === 0).length, side.filter(s => s === 1).length], [100, 100])
  t.not(sideOf(side, 'd1-1'), sideOf(side, 'd1-2'))
  t.not(sideOf(side, 'd1-1'), sideOf(side, 'd2-1'))
  t.equal(lookaheadMs(city, side, 45 * 60_000), 2)
})

t.test('a stretch with a fault in it is refused, with the reason', async t => {
  t.throws(() => lookaheadMs(city, partition(city, 'groups'), 61 * 60_000), /fault-free stretch/)
  const r = spawnSync(process.execPath, ['bench/_sim-split-child.ts', file, '61', 'groups'], { cwd: root, encoding: 'utf8', timeout: 60_000 })
  t.not(r.status, 0)
  t.match(r.stderr, /a link change at 60 min; a split run handles only a fault-free stretch/)
  const bad = spawnSync(process.execPath, ['bench/_sim-split-child.ts', file, '5', 'diagonal'], { cwd: root, encoding: 'utf8', timeout: 60_000 })
  t.not(bad.status, 0)
  t.match(bad.stderr, /partition must be groups or interleaved/)
})
