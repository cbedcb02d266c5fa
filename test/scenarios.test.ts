// Every shipped scenario (but city-200, which is the benchmark) meets its `expect` block and
// its checkers on its own seed, the brief's contract, and again on a random seed, so that a
// tree, timer or race that only one seed's traffic exercises still shows up; and mirrored
// (sim/mirror.ts), so that a bug behind a tie the engine breaks by peer id shows up too
// (#26). On the random seed, scenarios with lossy links skip their latency-versus-oracle
// checks: the oracle charges nothing for loss (brief §5), so a seed that happens to lose
// frames on a slow hop pays retransmission time (≥ 200 ms each) that no protocol could avoid.
import { crypto } from './helpers/fixtures.ts'
import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { buildReport } from '../sim/report.ts'
import { runScenario } from '../sim/runner.ts'
import { mirrorNodeIds } from '../sim/mirror.ts'
import { parseScenario } from '../sim/scenario.ts'
import type { Scenario } from '../sim/scenario-types.ts'
import { testSeed } from './helpers/seed.ts'

const dir = fileURLToPath(new URL('../scenarios/', import.meta.url))
const files = readdirSync(dir).filter(f => f.endsWith('.yaml') && f !== 'city-200.yaml').sort()
const randomSeed = testSeed(t) % 100_000

function lossy (s: Scenario): boolean {
  return s.defaults.link.loss > 0 || s.links.some(l => l.params.loss > 0) || s.events.some(e => e.kind === 'degrade' && (e.params.loss ?? 0) > 0)
}

t.ok(files.length >= 11, `${files.length} shipped scenarios besides city-200`)

t.test('mirrored, node ids sort the other way round; channel names, groups and links follow', async t => {
  const path = dir + 'file-radio.yaml'
  const scenario = parseScenario(readFileSync(path, 'utf8'), path)
  const mirrored = mirrorNodeIds(scenario)
  const ids = scenario.nodes.map(n => n.id)
  const renamed = mirrored.nodes.map(n => n.id)
  t.same(renamed.map(id => id.replace(/^m\d+-/, '')), ids, 'each node keeps its name after a prefix')
  for (let i = 0; i < ids.length; i++) {
    for (let j = 0; j < ids.length; j++) if (i !== j) t.equal(ids[i] < ids[j], renamed[i] > renamed[j], `${ids[i]} and ${ids[j]} swap order`)
  }
  t.same(mirrored.channels.map(c => c.name), scenario.channels.map(c => c.name), 'channel names are not node ids')
  t.same(mirrored.channels[0].members, renamed, 'members renamed')
  t.same(mirrored.links.map(l => [l.a, l.b]), [['m2-cp', 'm0-op'], ['m0-op', 'm1-field']], 'links renamed')
  const grouped = mirrorNodeIds(parseScenario(readFileSync(dir + 'partition-heal.yaml', 'utf8'), dir + 'partition-heal.yaml'))
  t.same(Object.keys(grouped.groups), ['north', 'south'], 'group names kept')
  t.ok(grouped.groups.north.every(id => /^m\d+-north-\d$/.test(id)), `group members renamed: ${grouped.groups.north.join(', ')}`)
})

for (const file of files) {
  t.test(file, async t => {
    const path = dir + file
    const scenario = parseScenario(readFileSync(path, 'utf8'), path)
    // Mirrored: the node ids sort the other way round, so each tie the engine breaks by peer id
    // (who opens a link's reconciliation) goes the other way; the random seed takes either order.
    const runs = [{ seed: scenario.seed, mirror: false }, { seed: scenario.seed, mirror: true }, { seed: randomSeed, mirror: randomSeed % 2 === 1 }]
    for (const { seed, mirror } of runs) {
      const { report } = buildReport(await runScenario(mirror ? mirrorNodeIds(scenario) : scenario, { crypto, seed }), { command: `npx ddil sim scenarios/${file}${mirror ? ' --mirror' : ''}` })
      const skipLatency = seed !== scenario.seed && lossy(scenario)
      for (const [name, c] of Object.entries(report.checks)) t.ok(c.ok, `seed ${seed}: checker ${name}: ${c.detail} (replay: ${report.replay})`)
      for (const [key, e] of Object.entries(report.expect)) {
        if (skipLatency && /^latency_.*_vs_oracle$/.test(key)) continue
        t.ok(e.ok, `seed ${seed}: ${key} ${e.value} within ${e.limit} (replay: ${report.replay})`)
      }
    }
  })
}
