// `ddil sim` end to end: the brief §5 example runs and its --json carries every
// contract field (brief §5, a contract other people's tools read); --out writes the
// CSV and the plots; a bad scenario is one clear error with file and line, exit 2;
// a failed expectation is exit 1 with the replay command.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runSim } from '../node/cli/commands/sim.ts'

const root = fileURLToPath(new URL('..', import.meta.url))
const bin = join(root, 'node/cli/bin.js')
const spread = { p50: 'number', p95: 'number', max: 'number' }
const sliceShape = { pairs: { expected: 'number', deliverable: 'number', delivered: 'number' }, delivered_vs_oracle: 'number', delivery_prob: 'number', latency_ms: spread, latency_vs_oracle: spread }
const contract = {
  scenario: 'string', seed: 'number', duration_ms: 'number', wall_ms: 'number', events: 'number', created: 'number',
  ...sliceShape,
  by_precedence: { flash: sliceShape, routine: sliceShape },
  wire: { bytes: 'number', payload_bytes: 'number', duplicate_payload_bytes: 'number', overhead_ratio: 'number' },
  one: { created: 'number', delivered: 'number', delivery_prob: 'number', overhead_ratio: 'number', latency_avg: 'number', latency_med: 'number', hopcount_avg: 'number', buffertime_avg: 'number' },
  expect: 'object', trace_hash: 'string',
}

/** Paths of fields missing or of the wrong type. */
function missing (obj: unknown, shape: unknown, path = ''): string[] {
  if (typeof shape === 'string') return typeof obj === shape && obj !== null ? [] : [`${path} (${typeof shape === 'string' ? shape : ''}, got ${JSON.stringify(obj)})`]
  return Object.entries(shape as Record<string, unknown>).flatMap(([k, s]) => {
    const v = (obj as Record<string, unknown> | undefined)?.[k]
    return v === undefined ? [`${path}${k}`] : missing(v, s, `${path}${k}.`)
  })
}

function capture (): { io: { stdout: (s: string) => void, stderr: (s: string) => void }, out: string[], err: string[] } {
  const out: string[] = []
  const err: string[] = []
  return { io: { stdout: s => { out.push(s) }, stderr: s => { err.push(s) } }, out, err }
}

t.test('the brief §5 example passes and --json carries every contract field', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'ddil-sim-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const c = capture()
  const code = await runSim(join(root, 'scenarios/example.yaml'), { json: true, out: dir }, c.io)
  t.equal(code, 0, `exit 0 (stderr: ${c.err.join('')})`)
  t.equal(c.out.length, 1, 'one JSON object on stdout, nothing else')
  const report = JSON.parse(c.out[0]) as Record<string, unknown>
  t.same(missing(report, contract), [], 'every contract field present with its type')
  for (const [key, e] of Object.entries(report.expect as Record<string, Record<string, unknown>>)) {
    t.same(missing(e, { value: 'number', limit: 'number', ok: 'boolean' }), [], `expect.${key} has value, limit, ok`)
  }
  t.same(Object.keys(report.expect as object).sort(), ['delivered_vs_oracle', 'duplicate_share', 'flash_latency_p95', 'latency_p95_vs_oracle'])
  t.equal(report.seed, 7)
  t.ok((report.pairs as { deliverable: number }).deliverable > 1000, 'a real workload')
  t.same(readdirSync(dir).sort(), ['delivery.svg', 'latency-cdf.svg', 'links.svg', 'messages.csv', 'report.json'])
  for (const svg of ['delivery.svg', 'latency-cdf.svg', 'links.svg']) t.match(readFileSync(join(dir, svg), 'utf8'), /^<svg[\s\S]*<\/svg>$/, `${svg} is an SVG`)
  const csv = readFileSync(join(dir, 'messages.csv'), 'utf8').trim().split('\n')
  t.equal(csv.length - 1, report.created as number + (report.posts_unacknowledged as number), 'one CSV row per message')
  t.match(csv[0], /^message,created_ms,from,to,precedence,/)
  t.match(c.err.join(''), /warning: .*example\.yaml:\d+:\d+: traffic\[2\]/, 'parse warnings go to stderr')
})

t.test('an invalid scenario is one error naming file and line, exit 2', async t => {
  for (const [file, pattern] of [
    ['test/fixtures/scenarios/unknown-key.yaml', /unknown-key\.yaml:\d+:\d+: .*unknown key/],
    ['test/fixtures/scenarios/bad-unit.yaml', /bad-unit\.yaml:\d+:\d+: /],
    ['test/fixtures/scenarios/unknown-node.yaml', /unknown-node\.yaml:\d+:\d+: .*unknown node/],
  ] as const) {
    const r = spawnSync(process.execPath, [bin, 'sim', file], { cwd: root, encoding: 'utf8' })
    t.equal(r.status, 2, `${file}: exit 2`)
    t.match(r.stderr, pattern, `${file}: ${r.stderr.trim()}`)
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line')
    t.equal(r.stdout, '', 'nothing on stdout')
  }
  const r = spawnSync(process.execPath, [bin, 'sim', 'scenarios/example.yaml', '--seed', 'x'], { cwd: root, encoding: 'utf8' })
  t.equal(r.status, 2, 'a bad --seed is bad usage')
  t.match(r.stderr, /--seed must be a whole number/)
  const missingFile = spawnSync(process.execPath, [bin, 'sim', 'scenarios/nope.yaml'], { cwd: root, encoding: 'utf8' })
  t.equal(missingFile.status, 2)
  t.match(missingFile.stderr, /cannot read scenario scenarios\/nope\.yaml/)
})

t.test('a failed expectation is exit 1 with the replay command', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'ddil-sim-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const text = readFileSync(join(root, 'test/fixtures/sim/sim-small.yaml'), 'utf8').replace('delivered_vs_oracle: 90%', 'latency_max: 1ms')
  const path = join(dir, 'strict.yaml')
  writeFileSync(path, text)
  const r = spawnSync(process.execPath, [bin, 'sim', path, '--seed', '9'], { cwd: root, encoding: 'utf8' })
  t.equal(r.status, 1, 'exit 1')
  t.match(r.stdout, /FAIL {2}expect latency_max/)
  t.match(r.stderr, new RegExp(`failed \\(expect latency_max\\); replay: npx ddil sim ${path.replaceAll('/', '\\/')} --seed 9`))
})
