// The report for people (sim/report-text.ts) must not leave a reader with two figures that
// seem to contradict each other. The brief §5 example is the case a user filed (issue 11):
// its flash row shows p95 40m9s while `flash_latency_p95: 10m` passes at 11ms, because
// the bound is judged only over the pairs the oracle could deliver within 10 minutes
// (brief §6) and the table counts every delivered pair. Both lines must say so. And the line
// about non-members' posts must describe the run's own mode: a governed run does not accept them.
import { crypto } from './helpers/fixtures.ts'
import t from 'tap'
import { fileURLToPath } from 'node:url'
import { readFileSync } from 'node:fs'
import { buildReport, type Report } from '../sim/report.ts'
import { formatReport } from '../sim/report-text.ts'
import { runScenario } from '../sim/runner.ts'
import { parseScenario } from '../sim/scenario.ts'

async function reportOf (name: string): Promise<Report> {
  const path = fileURLToPath(new URL(`../scenarios/${name}.yaml`, import.meta.url))
  return buildReport(await runScenario(parseScenario(readFileSync(path, 'utf8'), path), { crypto })).report
}

const example = await reportOf('example')
const ungoverned = { governed: false }

t.test('the table says which pairs its latency columns count', async t => {
  const lines = formatReport(example, ungoverned).split('\n')
  const all = lines.findIndex(l => l.startsWith('all '))
  t.match(lines[all + 1], /^lat p50\/p95: over every delivered pair/, 'right under the table')
})

t.test('an absolute latency bound says it leaves out what the oracle cannot deliver in time', async t => {
  const flash = example.expect.flash_latency_p95
  t.ok((flash.excluded ?? 0) > 0 && flash.ok && (example.by_precedence.flash.latency_ms.p95 ?? 0) > flash.limit,
    'the case from the issue: the table\'s flash p95 is above the bound, and the bound passes')
  const line = formatReport(example, ungoverned).split('\n').find(l => l.includes('expect flash_latency_p95')) ?? ''
  t.match(line, `judged over the ${flash.pairs} pairs the oracle can deliver within 10m; the table's latencies also count the ${flash.excluded} it cannot`)
  const none = { ...example, expect: { flash_latency_p95: { ...flash, excluded: 0 } } }
  const plain = formatReport(none, ungoverned).split('\n').find(l => l.includes('expect flash_latency_p95')) ?? ''
  t.match(plain, /\(judged over the \d+ pairs the oracle can deliver within 10m\)$/, 'nothing left out, nothing to explain')
})

t.test('non-members\' posts are described by the run\'s own mode', async t => {
  const line = (text: string): string => text.split('\n').find(l => l.includes('posts by non-members')) ?? ''
  t.ok(example.non_member_posts > 0, 'field-3 posts to medics, field-6 to ops after its removal')
  t.match(line(formatReport(example, ungoverned)), /ungoverned run: relays accept them and they are expected at every member/)
  const governed = await reportOf('membership-partition')
  t.ok(governed.non_member_posts > 0, 'the removed laptop posts before it learns of its removal')
  const text = line(formatReport(governed, { governed: true }))
  t.match(text, /governed run: expected nowhere; relays that know they are not members refuse them/)
  t.notMatch(text, /ungoverned/, 'never the other mode')
})
