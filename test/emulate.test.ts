// `ddil emulate` as a tester runs it (#26): the real CLI, real relay processes in network
// namespaces, on two shipped scenarios side by side (their namespaces carry their pids):
// partition-heal 600 times faster than written (a two-hour partition of twelve relays, healed),
// and radio-burst in real time (a 9.6 kbps radio saturated by routine traffic, which took over
// from p2p-radio.test.ts: the loaded radio is never cut, and flash cuts through). Each must deliver
// what the oracle of the run that happened allows, meet the expectations real relays meet
// (`mustMeet`), print the rest, and leave no namespace behind. Needs root;
// skips with the reason otherwise. Also: Ctrl-C leaves nothing behind, and the command refuses
// what it cannot emulate, naming why.
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { emulateDrainMsMax } from '../node/emulate/limits.ts'

const bin = new URL('../node/cli/bin.js', import.meta.url).pathname
const scenarios = new URL('../scenarios/', import.meta.url).pathname
const isRoot = process.getuid?.() === 0
const canMakeNamespaces = isRoot && spawnSync('ip', ['netns', 'list']).status === 0

interface Run { code: number | null, stdout: string, stderr: string, pid: number }

/** Runs `ddil emulate …` to its end (no time limit of its own: tap's file timeout bounds it). */
function emulate (...args: string[]): Promise<Run> {
  return new Promise(resolve => {
    const child = spawn(process.execPath, [bin, 'emulate', ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.once('exit', code => resolve({ code, stdout, stderr, pid: child.pid as number }))
  })
}

/**
 * Runs `ddil emulate` on radio-burst and interrupts it (SIGINT, as Ctrl-C) once its clock runs;
 * what it left behind: its namespaces and relay processes, and how many relays ran before.
 */
async function interrupted (): Promise<{ signal: NodeJS.Signals | null, relaysBefore: number, namespacesAfter: string[], relaysAfter: string[] }> {
  const out = mkdtempSync(join(tmpdir(), 'ddil-emulate-int-'))
  try {
    const child = spawn(process.execPath, [bin, 'emulate', join(scenarios, 'radio-burst.yaml'), '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] })
    const exited = new Promise<NodeJS.Signals | null>(resolve => child.once('exit', (_code, signal) => resolve(signal)))
    let stderr = ''
    await new Promise<void>(resolve => child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); if (stderr.includes('running')) resolve() }))
    const relays = (): string[] => spawnSync('ps', ['-eo', 'args'], { encoding: 'utf8' }).stdout.split('\n').filter(l => l.includes(join(out, 'relays')) && l.includes(' start '))
    const relaysBefore = relays().length
    child.kill('SIGINT')
    const signal = await exited
    return { signal, relaysBefore, namespacesAfter: namespacesOf(child.pid as number), relaysAfter: relays() }
  } finally {
    rmSync(out, { recursive: true, force: true })
  }
}

/** The namespaces a `ddil emulate` process made (their names carry its pid: node/emulate/net.ts). */
const namespacesOf = (pid: number): string[] => spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout.split('\n').filter(l => new RegExp(`^dde${pid % 10_000}[nw]`).test(l))

t.test('what it cannot emulate is refused in one sentence naming the feature (exit 2)', { skip: isRoot ? false : 'needs root to get past the root check' }, async t => {
  const dir = mkdtempSync(join(tmpdir(), 'ddil-emulate-bad-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const lossy = join(dir, 'lossy.yaml')
  writeFileSync(lossy, 'name: lossy\nduration: 1m\nnodes: [a, b]\nlinks:\n  - { between: [a, b], loss: 5% }\nchannels:\n  - { name: c, members: all }\ntraffic:\n  - { from: a, channel: c, every: 10s, size: 100B }\n')
  const r = await emulate(lossy)
  t.equal(r.code, 2)
  t.match(r.stderr, /sets loss.*no sch_netem/)
  const fast = await emulate(join(scenarios, 'radio-burst.yaml'), '--time-scale', '5000')
  t.equal(fast.code, 2)
  t.match(fast.stderr, /--time-scale must be from 1 to/)
})

/**
 * What real relays must meet in each run: radio-burst all its expectations; partition-heal those on
 * delivery and flash. Not met by real relays, written down in docs/SIMULATOR.md ("How far the simulator and the
 * emulation agree") and printed here, not checked: partition-heal's `latency_p95_vs_oracle` (2.0; a LAN
 * hop through two relays and their client APIs costs about 9 ms against the oracle's 4.8 ms) and
 * `duplicate_share` (2%; the push trees' decisions meet real processing delays: "Duplicates").
 */
const mustMeet: Record<string, string[] | 'all'> = { 'radio-burst': 'all', 'partition-heal': ['delivered_vs_oracle', 'flash_latency_p95'] }

t.test('partition-heal (600x) and radio-burst (real time) against real relays: delivered as the oracle allows', { skip: canMakeNamespaces ? false : 'needs root and network namespaces (ip netns)' }, async t => {
  const [heal, radio, stopped] = await Promise.all([
    emulate(join(scenarios, 'partition-heal.yaml'), '--time-scale', '600', '--json'),
    emulate(join(scenarios, 'radio-burst.yaml'), '--json'),
    interrupted(),
  ])
  t.equal(stopped.signal, 'SIGINT', `Ctrl-C while it ran (${stopped.relaysBefore} relays): it ends on the signal`)
  t.equal(stopped.relaysBefore, 4, 'its four relays were running when it was interrupted')
  t.same([...stopped.namespacesAfter, ...stopped.relaysAfter], [], 'and it left no namespace and no relay process behind')
  for (const [name, r] of [['partition-heal', heal], ['radio-burst', radio]] as const) {
    t.comment(`${name}: ${r.stderr.trim().split('\n').filter(l => !l.startsWith('warning')).join(' | ')}`)
    const report = JSON.parse(r.stdout === '' ? '{}' : r.stdout)
    t.ok(r.code === 0 || r.code === 1, `${name}: ran to its report (exit ${r.code})`)
    const must = mustMeet[name]
    const judged = Object.entries(report.expect ?? {}).filter(([key]) => must === 'all' || must.includes(key))
    t.equal(judged.length, must === 'all' ? Object.keys(report.expect ?? {}).length : must.length, `${name}: its expectations were judged`)
    for (const [key, e] of judged as Array<[string, { ok: boolean, value: number | null, limit: number }]>) t.ok(e.ok, `${name}: expect ${key}: ${e.value} against ${e.limit}`)
    t.ok(report.pairs?.deliverable > 0, `${name}: ${report.pairs?.deliverable} deliverable pairs`)
    t.ok(report.wire?.payload_bytes > 0, `${name}: wire figures from the relays' counters`)
    t.comment(`${name}: latency p50 ${report.latency_ms?.p50} ms p95 ${report.latency_ms?.p95} ms, vs oracle p95 ${report.latency_vs_oracle?.p95}; flash max ${report.by_precedence?.flash?.latency_ms?.max} ms; duplicate share ${report.wire?.duplicate_share}; set-up ${report.setup_ms} ms`)
  }
  const healReport = JSON.parse(heal.stdout === '' ? '{}' : heal.stdout)
  t.equal(healReport.time_scale, 600, 'the report says how much faster than written it ran')
  t.ok(healReport.drain_ms >= 0 && healReport.drain_ms <= emulateDrainMsMax + 500, `and how long it waited after the end for pairs still crossing (${healReport.drain_ms} ms)`)
  t.match(healReport.unemulated?.[0] ?? '', /latency .* not emulated/, 'and which knobs this host did not emulate')
  t.equal(JSON.parse(radio.stdout === '' ? '{}' : radio.stdout).link_drops, 0, 'radio-burst: the saturated 9.6 kbps radio was never cut (no relay logged a peer disconnected)')
  t.ok(healReport.link_drops > 0, `partition-heal: the partition cut the bridges (${healReport.link_drops} link ends saw them go)`)
  t.same([...namespacesOf(heal.pid), ...namespacesOf(radio.pid)], [], 'no namespace left behind')
})

t.test('without root it says so in one sentence and exits 2', { skip: isRoot ? 'runs as root here; the check is the first line of runEmulate' : false }, async t => {
  const r = await emulate(join(scenarios, 'radio-burst.yaml'))
  t.equal(r.code, 2)
  t.match(r.stderr, /needs root/)
})
