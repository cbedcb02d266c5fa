// Runs one benchmark with --quick --json as a tap subtest: it must exit 0 with rows of finite numbers.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('../..', import.meta.url))

export function smokeBench (name: string, args: string[] = [], rowOk?: (row: Record<string, unknown>) => boolean): void {
  const command = [name, '--quick', ...args].join(' ')
  t.test(`bench ${command}`, async t => {
    const r = spawnSync(process.execPath, ['bench/run.ts', name, '--quick', '--json', ...args], { cwd: root, encoding: 'utf8' }) // bounded by tap's per-file timeout, not a tighter one of its own
    t.equal(r.status, 0, `exit 0 (replay: npm run bench -- ${command}; stderr: ${r.stderr.split('\n').slice(-5).join(' ')})`)
    const out = JSON.parse(r.stdout) as { bench: string, rows: Array<Record<string, unknown>> }
    t.equal(out.bench, name)
    t.ok(out.rows.length > 0, `${out.rows.length} rows`)
    const bad = out.rows.flatMap(row => Object.entries(row).filter(([, v]) => typeof v === 'number' && !Number.isFinite(v)).map(([k]) => k))
    t.same(bad, [], 'every figure is a finite number')
    if (rowOk !== undefined) t.ok(out.rows.every(rowOk), 'rows carry the expected fields')
  })
}
