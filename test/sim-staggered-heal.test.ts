// Two bridges of a partition that come back a moment apart (#26). Under emulation a heal is
// never simultaneous: each relay redials on its own jittered timer. With partition-heal's
// two bridges healed 200 ms apart, the first bridge's catch-up floods one side, and the
// second bridge's catch-up, listed a moment later, sent the same envelopes in the same
// order just behind the flood's copies: 4.4% of payload bytes were duplicates (0.2% healed
// at once). An eager copy that beats a promised one now cancels the promised copy (`have`)
// and prunes the eager sender for that author (protocol/engine/sync.ts `arrived`).
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { crypto } from './helpers/fixtures.ts'
import { buildReport } from '../sim/report.ts'
import { runScenario } from '../sim/runner.ts'
import { parseScenario } from '../sim/scenario.ts'

const path = fileURLToPath(new URL('../scenarios/partition-heal.yaml', import.meta.url))

/** partition-heal with its two bridges cut at 30m and back at 2h30m, the second `lagMs` after the first. */
function staggered (lagMs: number): string {
  const text = readFileSync(path, 'utf8')
  const cut = '  - { at: 30m, partition: [[north], [south]] }\n  - { at: 2h30m, heal: all }\n'
  if (!text.includes(cut)) throw new Error('partition-heal.yaml no longer cuts and heals as this test expects')
  return text.replace(cut, [
    '  - { at: 30m, down: [north-1, south-1] }', '  - { at: 30m, down: [north-4, south-4] }',
    '  - { at: 2h30m, up: [north-1, south-1] }', `  - { at: ${9_000_000 + lagMs}ms, up: [north-4, south-4] }`, '',
  ].join('\n'))
}

t.test('bridges healed 200 ms apart: everything delivered, duplicates within the 2% the scenario allows', async t => {
  const scenario = parseScenario(staggered(200), path)
  const { report } = buildReport(await runScenario(scenario, { crypto, seed: scenario.seed }), { command: 'test/sim-staggered-heal.test.ts' })
  t.equal(report.expect.delivered_vs_oracle.ok, true, `delivered ${report.expect.delivered_vs_oracle.value}`)
  const share = report.wire.duplicate_share ?? Number.NaN
  t.ok(share <= 0.02, `duplicate share ${(100 * share).toFixed(2)}% (4.4% before the fix)`)
  for (const [name, c] of Object.entries(report.checks)) t.ok(c.ok, `checker ${name}: ${c.detail}`)
})
