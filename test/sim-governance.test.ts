// Governed mode of the simulator (issue 6): scenarios/membership-partition.yaml removes a field laptop
// from an end-to-end encrypted channel while its site is cut off. After the heal no relay holds its
// envelopes above the cut, it decrypted nothing sent after the removal by members who knew, everyone
// else decrypted everything; relays did refuse and discard its late posts (so this fails if they stop
// enforcing removal). Same seed twice gives the same trace. `governance:` is validated by the parser.
import { crypto } from './helpers/fixtures.ts'
import t from 'tap'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { buildReport } from '../sim/report.ts'
import { runScenario } from '../sim/runner.ts'
import { parseScenario } from '../sim/scenario.ts'

const path = fileURLToPath(new URL('../scenarios/membership-partition.yaml', import.meta.url))
const text = readFileSync(path, 'utf8')

t.test('membership-partition: removal during a partition is enforced everywhere after the heal', async t => {
  const scenario = parseScenario(text, path)
  t.equal(scenario.governance, true)
  const result = await runScenario(scenario, { crypto })
  const { report } = buildReport(result)
  const replay = `npx ddil sim ${path} --seed ${scenario.seed}`
  for (const name of ['removal_enforced', 'removed_cannot_read', 'members_read_everything']) {
    t.ok(report.checks[name]?.ok, `${name}: ${report.checks[name]?.detail} (replay: ${replay})`)
  }
  t.ok(report.ok, `the whole report passes (replay: ${replay})`)
  t.equal(report.delivered_vs_oracle, 1, 'every deliverable pair decrypted at its recipient')
  const g = result.governance
  if (g === undefined) { t.fail('a governed run reports its governance outcome'); return }
  t.equal(g.removals.length, 1)
  t.ok((g.removals[0].cutSeq ?? 0) > 0, 'the removal carries the cut the owner had seen')
  t.ok(g.removedRefused > 0, `relays refused the removed member's late envelopes (${g.removedRefused})`)
  t.ok(g.discarded > 0, `relays discarded what they had stored above the cut (${g.discarded})`)
  t.ok((g.refusedAtSource.ERR_CRYPTO ?? 0) > 0, 'once it learns of its removal the laptop\'s own client cannot send')
  const laptop = result.nodeIds.indexOf('laptop')
  const late = result.ledger.records.filter(r => r.sender === laptop && r.createdAtMs > g.removals[0].atMs)
  t.ok(late.length > 0 && late.every(r => r.expected.length === 0), 'its posts after the removal are expected nowhere')
  t.ok(late.every(r => r.acked), 'its own relay accepted them while it did not know')
  const hq = result.nodeIds.indexOf('hq')
  t.ok(late.every(r => g.decrypted.get(r.index)?.has(hq) !== true), 'the owner never read them')
})

t.test('membership-partition: same seed twice gives the same trace', async t => {
  const a = await runScenario(parseScenario(text, path), { crypto, seed: 11 })
  const b = await runScenario(parseScenario(text, path), { crypto, seed: 11 })
  t.equal(b.traceHash, a.traceHash, `same trace hash (replay: npx ddil sim ${path} --seed 11)`)
  const ra = buildReport(a).report
  const rb = buildReport(b).report
  t.same({ ...rb, wall_ms: 0 }, { ...ra, wall_ms: 0 }, 'same report except wall time')
})

t.test('governance: defaults to false and must be true or false', async t => {
  const base = text.replace('\ngovernance: true\n', '\n')
  t.equal(parseScenario(base, 'x.yaml').governance, false)
  t.throws(() => parseScenario(text.replace('\ngovernance: true\n', '\ngovernance: yes please\n'), 'x.yaml'), { code: 'ERR_CONFIG', message: /governance: expected true or false/ })
})
