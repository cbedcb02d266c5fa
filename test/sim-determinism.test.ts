// Determinism (STYLE.md 5): the same scenario and seed give byte-identical reports
// except wall_ms, and the same trace hash; a different seed gives a different trace.
// On failure the test prints the command that replays the run.
import { crypto } from './helpers/fixtures.ts'
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { buildReport } from '../sim/report.ts'
import { runScenario } from '../sim/runner.ts'
import { parseScenario } from '../sim/scenario.ts'
import { testSeed } from './helpers/seed.ts'

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url))

async function reportOf (path: string, seed: number): Promise<Record<string, unknown>> {
  const scenario = parseScenario(readFileSync(path, 'utf8'), path)
  const { report } = buildReport(await runScenario(scenario, { crypto, seed }))
  const { wall_ms: _wall, ...rest } = report
  return rest
}

const seed = testSeed(t) % 1000
for (const file of ['fixtures/sim/sim-small.yaml', '../scenarios/crash-restart.yaml']) {
  t.test(`${file}: two runs with seed ${seed} are identical`, async t => {
    const path = here(file)
    const first = await reportOf(path, seed)
    const second = await reportOf(path, seed)
    const same = JSON.stringify(first) === JSON.stringify(second)
    t.ok(same, `identical JSON (replay: npx ddil sim ${path} --seed ${seed} --json)`)
    if (!same) t.same(second, first)
    t.equal(second.trace_hash, first.trace_hash, 'same trace hash')
    t.match(first.trace_hash, /^[0-9a-f]{16}$/)
    t.ok((first.events as number) > 1000, `a real run (${String(first.events)} events)`)
  })
}

t.test('a different seed changes the trace', async t => {
  const path = here('fixtures/sim/sim-small.yaml')
  const a = await reportOf(path, seed)
  const b = await reportOf(path, seed + 1)
  t.not(a.trace_hash, b.trace_hash, `seeds ${seed} and ${seed + 1} differ`)
})
