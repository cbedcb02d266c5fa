// Scenario files: the brief §5 example parses exactly as written (YAML and JSON alike), every
// section resolves to typed values with defaults applied, and every mistake is one ConfigError
// sentence that starts with file:line:col.
import t from 'tap'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { linkKnobs, parseScenario, type Scenario, type SimEvent } from '../sim/scenario.ts'
import { builtinLinkParams } from '../sim/knobs.ts'

const examplePath = 'scenarios/example.yaml'
const exampleText = readFileSync(new URL(`../${examplePath}`, import.meta.url), 'utf8')
const example = parseScenario(exampleText, new URL(`../${examplePath}`, import.meta.url).pathname)
const min = 60_000
const hour = 3_600_000

/** A small valid scenario; `extra` starts on line 9. */
function base (extra: string): string {
  return `name: t
duration: 1h
nodes: [hq, relay-a, truck]
links:
  - { between: [hq, relay-a] }
  - { between: [relay-a, truck] }
channels:
  - { name: ops, members: all }
${extra}`
}

function stripPos (s: Scenario): unknown {
  return JSON.parse(JSON.stringify(s, (k, v) => (k === 'pos' || k === 'fileName' || k === 'warnings') ? undefined : v))
}

t.test('the brief §5 example: nodes, groups, links', async t => {
  t.equal(example.name, 'example')
  t.equal(example.seed, 7)
  t.equal(example.durationMs, 4 * hour)
  t.same(example.nodes.map(n => n.id), ['hq', 'relay-a', 'truck', 'field-1', 'field-2', 'field-3', 'field-4', 'field-5', 'field-6'])
  t.same(example.groups, { field: ['field-1', 'field-2', 'field-3', 'field-4', 'field-5', 'field-6'] })
  t.equal(example.nodes.find(n => n.id === 'truck')?.storageBytes, 20e6)
  t.equal(example.nodes.find(n => n.id === 'hq')?.storageBytes, 1e9)
  t.equal(example.nodes.find(n => n.id === 'field-4')?.group, 'field')
  const declared = example.links.filter(l => l.origin === 'declared')
  t.equal(declared.length, 2 + 15 + 1, 'two explicit links, a 6-node mesh (15 pairs), truck–field-1')
  t.same(declared[0], { ...declared[0], a: 'hq', b: 'relay-a', params: { ...builtinLinkParams, bandwidthBitsPerSecond: 64_000, latencyMs: 600, loss: 0.02 } })
  t.same(declared[1].params, { ...builtinLinkParams, bandwidthBitsPerSecond: 9600, latencyMs: 40, loss: 0 })
  t.same(declared[17], { ...declared[17], a: 'truck', b: 'field-1', params: example.defaults.link })
  t.same(example.links.filter(l => l.origin === 'contact').map(l => [l.a, l.b]), [['hq', 'truck'], ['relay-a', 'field-3'], ['hq', 'field-2'], ['relay-a', 'field-4']])
  t.same(example.links[0].pos, { file: example.fileName, line: 32, col: 5 }, 'links remember where they were written')
})

t.test('the brief §5 example: channels, traffic, expect', async t => {
  t.same(example.channels.map(c => [c.name, c.members.length]), [['ops', 9], ['medics', 3]])
  t.same(example.channels[1].members, ['hq', 'field-1', 'field-2'])
  const [hq, field, flash] = example.traffic
  t.same(hq.schedule, { kind: 'every', intervalMs: { minMs: 2 * min, maxMs: 2 * min }, startMs: 0, stopMs: 4 * hour })
  t.same(hq.from, { mode: 'each', nodes: ['hq'] })
  t.same(hq.to, { kind: 'channel', channel: 'ops' })
  t.same([hq.size, hq.precedence, hq.ttlMs], [{ minBytes: 200, maxBytes: 200 }, 'routine', 24 * hour])
  t.same(field.from.nodes.length, 6)
  t.same(field.schedule, { kind: 'poisson', ratePerMs: 20 / hour, startMs: 0, stopMs: 4 * hour })
  t.same(field.size, { minBytes: 100, maxBytes: 1000 })
  t.same([flash.schedule, flash.precedence, flash.ttlMs], [{ kind: 'at', atMs: 50 * min, count: 3, spacingMs: 0 }, 'flash', hour])
  t.same(example.expect.map(c => [c.key, c.op, c.limit, c.unit]), [
    ['delivered_vs_oracle', 'min', 1, 'fraction'], ['latency_p95_vs_oracle', 'max', 2, 'ratio'], ['flash_latency_p95', 'max', 10 * min, 'ms'], ['duplicate_share', 'max', 0.02, 'fraction'],
  ])
  t.equal(example.warnings.length, 1, 'field-3 posts to medics without being a member: accepted, with a warning')
  t.match(example.warnings[0], /example\.yaml:42:5: traffic\[2\]: field-3 hosts no member of channel "medics", but this run is ungoverned/)
  t.match(example.warnings[0], /relays accept its posts and they are expected at every member$/, 'what the ungoverned run does, not what a governed one would')
  const governed = parseScenario(exampleText.replace('\nseed: 7\n', '\nseed: 7\ngovernance: true\n'), example.fileName)
  t.match(governed.warnings[0], /field-3 hosts no member of channel "medics", so its posts will be refused \(governance: true\) and are expected nowhere$/)
})

t.test('the brief §5 example: events sorted by time, contacts mapped', async t => {
  const summary = (e: SimEvent): string => `${e.atMs / min}:${e.kind}`
  t.same(example.events.map(summary), ['30:down', '40:crash', '55:restart', '60:flap', '90:up', '120:partition', '135:remove', '150:degrade', '180:heal'])
  const flap = example.events[3]
  t.same(flap.kind === 'flap' && [flap.toMs, flap.link, flap.upMs, flap.downMs], [3 * hour, { a: 'relay-a', b: 'truck' }, 2 * min, 10 * min])
  const partition = example.events[5]
  t.same(partition.kind === 'partition' && partition.sides, [['hq', 'relay-a'], ['truck', 'field-1', 'field-2', 'field-3', 'field-4', 'field-5', 'field-6']])
  const degrade = example.events[7]
  t.same(degrade.kind === 'degrade' && degrade.params, { bandwidthBitsPerSecond: 2400, loss: 0.1 })
  t.same(example.events[6], { ...example.events[6], kind: 'remove', channel: 'ops', member: 'field-6' })
  t.equal(example.contactsFile, 'traces/example.one')
  t.same(example.contacts.map(c => [c.atMs / 1000, c.a, c.b, c.up]).slice(0, 4), [
    [1200, 'hq', 'truck', true], [1500, 'hq', 'truck', false], [4200, 'relay-a', 'field-3', true], [4800, 'relay-a', 'field-3', false],
  ], 'host numbers count nodes from 0 in declaration order (1 = relay-a, 5 = field-3)')
})

t.test('JSON is accepted and means the same', async t => {
  const json = JSON.stringify(parseYaml(exampleText), null, 2)
  const fromJson = parseScenario(json, new URL('../scenarios/example.json', import.meta.url).pathname)
  t.same(stripPos(fromJson), stripPos(example))
  t.throws(() => parseScenario('{\n  "name": "x",\n  "duration": "1h",\n  "nodes": ["a", "b"],\n  "nodez": []\n}', 'x.json'),
    { code: 'ERR_CONFIG', message: /^x\.json:5:3: unknown key "nodez" in the scenario \(did you mean "nodes"\?\)$/ })
})

t.test('bad-input fixtures fail with the error their header names', async t => {
  const dir = new URL('./fixtures/scenarios/', import.meta.url)
  const files = readdirSync(dir).filter(f => f.endsWith('.yaml'))
  t.ok(files.length >= 6, `${files.length} fixtures`)
  for (const f of files) {
    const path = `test/fixtures/scenarios/${f}`
    const text = readFileSync(new URL(f, dir), 'utf8')
    const expected = /^# Expect: (.*)$/m.exec(text)?.[1] ?? ''
    t.not(expected, '', `${f} names its expected error`)
    t.throws(() => parseScenario(text, path, { readFile: p => readFileSync(p, 'utf8') }), { code: 'ERR_CONFIG', message: `test/fixtures/scenarios/${expected}` }, f)
  }
})

/** [why, scenario text, expected `x.yaml:line:col: …` message pattern] */
const badCases: Array<[string, string, RegExp]> = [
  ['missing name', 'duration: 1h\nnodes: [a, b]\n', /^x\.yaml:1:1: missing key "name" \(for example name: example\)$/],
  ['zero duration', 'name: t\nduration: 0\nnodes: [a, b]\n', /^x\.yaml:2:11: duration: the duration must be longer than 0 \(for example 4h\)$/],
  ['duplicate key', 'name: t\nname: u\nduration: 1h\nnodes: [a, b]\n', /^x\.yaml:2:1: YAML syntax error: the same key appears twice/],
  ['syntax error', 'name: t\nnodes: [a, b\n', /^x\.yaml:\d+:\d+: YAML syntax error: /],
  ['alias', 'name: t\nduration: &d 1h\nseed: *d\nnodes: [a, b]\n', /^x\.yaml:3:7: seed: anchors and aliases are not supported/],
  ['empty file', '', /^x\.yaml:1:1: the scenario is empty/],
  ['one node', 'name: t\nduration: 1h\nnodes: [a]\n', /^x\.yaml:3:8: nodes: a scenario needs at least two nodes$/],
  ['reserved id', 'name: t\nduration: 1h\nnodes: [a, all]\n', /^x\.yaml:3:12: nodes\[1\]: "all" is reserved/],
  ['bad id', 'name: t\nduration: 1h\nnodes: [a, 7up]\n', /^x\.yaml:3:12: nodes\[1\]: invalid node id "7up"/],
  ['duplicate node', 'name: t\nduration: 1h\nnodes: [field-1, { group: field, count: 2 }]\n', /^x\.yaml:3:18: nodes\[1\]: node id "field-1" is already defined$/],
  ['count on id', 'name: t\nduration: 1h\nnodes: [a, { id: b, count: 2 }]\n', /^x\.yaml:3:28: nodes\[1\]\.count: "count" only goes with "group"$/],
  ['self link', base('').replace('[hq, relay-a]', '[hq, hq]'), /^x\.yaml:5:16: links\[0\]\.between: a link needs two different nodes/],
  ['duplicate link', 'name: t\nduration: 1h\nnodes: [hq, relay-a, truck]\nlinks:\n  - { between: [hq, relay-a] }\n  - { mesh: [truck, relay-a, hq] }\n', /^x\.yaml:6:5: links\[1\]: the link between "hq" and "relay-a" is already declared at line 5$/],
  ['unknown channel', base('traffic:\n  - { from: hq, channel: opz, every: 1m, size: 1KB }\n'), /^x\.yaml:10:26: traffic\[0\]\.channel: unknown channel "opz"/],
  ['channel and to', base('traffic:\n  - { from: hq, channel: ops, to: truck, every: 1m, size: 1KB }\n'), /^x\.yaml:10:5: traffic\[0\]: write either channel/],
  ['no schedule', base('traffic:\n  - { from: hq, channel: ops, size: 1KB }\n'), /^x\.yaml:10:5: traffic\[0\]: give exactly one schedule/],
  ['poisson and every', base('traffic:\n  - { from: hq, channel: ops, poisson: 1/m, every: 1m, size: 1KB }\n'), /give exactly one schedule/],
  ['poisson count', base('traffic:\n  - { from: hq, channel: ops, poisson: 1/m, count: 3, size: 1KB }\n'), /^x\.yaml:10:52: traffic\[0\]\.count: "count" does not go with "poisson"/],
  ['bad precedence', base('traffic:\n  - { from: hq, channel: ops, every: 1m, size: 1KB, precedence: urgent }\n'), /^x\.yaml:10:65: traffic\[0\]\.precedence: unknown precedence "urgent" \(expected one of: flash, immediate, priority, routine\)$/],
  ['ttl too short', base('traffic:\n  - { from: hq, channel: ops, every: 1m, size: 1KB, ttl: 1s }\n'), /^x\.yaml:10:58: traffic\[0\]\.ttl: ttl 1s is outside 10s\.\.3650d$/],
  ['at after end', base('traffic:\n  - { from: hq, channel: ops, at: 2h, size: 1KB }\n'), /^x\.yaml:10:35: traffic\[0\]\.at: 2h is after the end of the scenario \(duration 1h\)$/],
  ['self send', base('traffic:\n  - { from: hq, to: hq, every: 1m, size: 1KB }\n'), /^x\.yaml:10:13: traffic\[0\].from: "hq" would only send to itself$/],
  ['bad size', base('traffic:\n  - { from: hq, channel: ops, every: 1m, size: 1KB..100B }\n'), /^x\.yaml:10:48: traffic\[0\]\.size: invalid size range "1KB\.\.100B"/],
  ['flap backwards', base('events:\n  - { from: 30m, to: 10m, flap: [hq, relay-a], up: 1m, down: 1m }\n'), /^x\.yaml:10:22: events\[0\]\.to: "to" must come after "from"$/],
  ['heal some', base('events:\n  - { at: 10m, heal: hq }\n'), /^x\.yaml:10:22: events\[0\]\.heal: only "heal: all" is supported$/],
  ['partition overlap', base('events:\n  - { at: 10m, partition: [[hq, relay-a], [relay-a, truck]] }\n'), /^x\.yaml:10:27: events\[0\]\.partition: "relay-a" is on more than one side/],
  ['partition one side', base('events:\n  - { at: 10m, partition: [[hq, relay-a]] }\n'), /partition needs at least two sides/],
  ['undeclared link', base('events:\n  - { at: 10m, down: [hq, truck] }\n'), /^x\.yaml:10:22: events\[0\]\.down: there is no link between "hq" and "truck" \(declare it under links:\)$/],
  ['crash twice', base('events:\n  - { at: 10m, crash: hq }\n  - { at: 20m, crash: hq }\n'), /^x\.yaml:11:5: "hq" crashes at 20m but is already down$/],
  ['restart running', base('events:\n  - { at: 10m, restart: hq }\n'), /^x\.yaml:10:5: "hq" restarts at 10m but is not down$/],
  ['degrade nothing', base('events:\n  - { at: 10m, degrade: [hq, relay-a] }\n'), /^x\.yaml:10:5: events\[0\]: degrade needs at least one of: bandwidth/],
  ['knob on down', base('events:\n  - { at: 10m, down: [hq, relay-a], loss: 5% }\n'), /^x\.yaml:10:43: events\[0\]\.loss: "loss" does not go with "down"$/],
  ['no action', base('events:\n  - { at: 10m }\n'), /^x\.yaml:10:5: events\[0\]: expected one action \(down, up, flap/],
  ['remove non-member', base('  - { name: med, members: [hq] }\nevents:\n  - { at: 1m, remove: { channel: med, member: truck } }\n'), /^x\.yaml:11:47: events\[0\]\.remove\.member: "truck" is not a member of channel "med"$/],
  ['expect typo', base('expect:\n  delivered_vs_orcale: 100%\n'), /^x\.yaml:10:3: unknown key "delivered_vs_orcale" in expect \(did you mean "delivered_vs_oracle"\?\)$/],
  ['expect ratio as text', base('expect:\n  latency_p95_vs_oracle: twice\n'), /^x\.yaml:10:26: expect\.latency_p95_vs_oracle: expected a ratio/],
  ['missing trace', base('contacts: traces/none.one\n'), /^x\.yaml:9:11: contacts: cannot read contact trace \/\S+\/traces\/none\.one \(ENOENT\): "traces\/none\.one" is resolved relative to the scenario file's directory, \/\S+$/],
  ['empty value', base('traffic:\n  - from:\n    channel: ops\n'), /^x\.yaml:10:5: traffic\[0\]\.from: expected a node id, a group or any but found null$/],
]

t.test('each mistake is one ConfigError sentence at file:line:col', async t => {
  for (const [why, text, message] of badCases) {
    t.throws(() => parseScenario(text, 'x.yaml', { readFile: p => readFileSync(p, 'utf8') }), { code: 'ERR_CONFIG', message }, why)
  }
  for (const [why, text] of badCases) {
    try { parseScenario(text, 'x.yaml') } catch (e) { t.notMatch((e as Error).message, /\n/, `${why}: one line`) }
  }
})

t.test('a scenario copied without its trace says where it looked for contacts:, and why there', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'ddil-scenario-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const copy = join(dir, 'example.yaml')
  writeFileSync(copy, exampleText)
  const message = `${copy}:53:11: contacts: cannot read contact trace ${join(dir, 'traces/example.one')} (ENOENT): "traces/example.one" is resolved relative to the scenario file's directory, ${dir}`
  t.throws(() => parseScenario(exampleText, copy), { code: 'ERR_CONFIG', message })
  const absolute = join(dir, 'none.one')
  t.throws(() => parseScenario(exampleText.replace('contacts: traces/example.one', `contacts: ${absolute}`), copy),
    { message: `${copy}:53:11: contacts: cannot read contact trace ${absolute} (ENOENT)` }, 'an absolute path needs no explaining')
})

t.test('defaults: built-in, then defaults:, then the link', async t => {
  const plain = parseScenario('name: t\nduration: 1h\nnodes: [a, b]\nlinks: [{ between: [a, b] }]\n', 'x.yaml')
  t.same(plain.links[0].params, builtinLinkParams)
  t.same([plain.seed, plain.description, plain.defaults.ttlMs, plain.nodes[0].storageBytes], [1, '', 24 * hour, 1e9])
  const custom = parseScenario('name: t\nduration: 1h\ndefaults: { ttl: 2h, link: { latency: 1s, jitter: 20ms }, node: { storage: 4KiB } }\nnodes: [a, b, { group: g, count: 2, storage: 1MB }]\nlinks: [{ between: [a, b], latency: 7ms }, { mesh: g, duplicate: 1% }]\n', 'x.yaml')
  t.same(custom.links[0].params, { ...builtinLinkParams, latencyMs: 7, jitterMs: 20 })
  t.same(custom.links[1].params, { ...builtinLinkParams, latencyMs: 1000, jitterMs: 20, duplicate: 0.01 })
  t.same(custom.nodes.map(n => n.storageBytes), [4096, 4096, 1e6, 1e6])
  t.equal(custom.defaults.ttlMs, 2 * hour)
})

t.test('every knob in linkKnobs is accepted on links and in degrade', async t => {
  const values: Record<string, [string, number]> = { rate: ['2.4kbps', 2400], duration: ['250ms', 250], percent: ['5%', 0.05] }
  for (const [key, knob] of Object.entries(linkKnobs)) {
    const [text, value] = values[knob.unit]
    const s = parseScenario(base(`events:\n  - { at: 1m, degrade: [hq, relay-a], ${key}: ${text} }\n`).replace('[hq, relay-a] }', `[hq, relay-a], ${key}: ${text} }`), 'x.yaml')
    const field = Object.keys(s.links[0].params).find(f => f.toLowerCase().startsWith(key)) as string
    t.equal((s.links[0].params as unknown as Record<string, number>)[field], value, `link ${key}`)
    const e = s.events[0]
    t.same(e.kind === 'degrade' && e.params, { [field]: value }, `degrade ${key}`)
  }
})

t.test('traffic forms: any-to-any with jittered interval, groups, spaced bursts, windows', async t => {
  const s = parseScenario(base(`traffic:
  - { from: any, to: any, every: 25s..35s, size: 1KB, count: 10 }
  - { from: hq, to: relay-a, at: 5m, count: 4, every: 10s, size: 200B, precedence: immediate }
  - { from: truck, channel: ops, poisson: 3/10m, start: 10m, stop: 40m, size: 140B }
`), 'x.yaml')
  t.same(s.traffic[0].from, { mode: 'random', nodes: ['hq', 'relay-a', 'truck'] })
  t.same(s.traffic[0].to, { kind: 'random', nodes: ['hq', 'relay-a', 'truck'] })
  t.same(s.traffic[0].schedule, { kind: 'every', intervalMs: { minMs: 25_000, maxMs: 35_000 }, startMs: 0, stopMs: hour, count: 10 })
  t.same(s.traffic[1].to, { kind: 'node', node: 'relay-a' })
  t.same(s.traffic[1].schedule, { kind: 'at', atMs: 5 * min, count: 4, spacingMs: 10_000 })
  t.same(s.traffic[2].schedule, { kind: 'poisson', ratePerMs: 3 / (10 * min), startMs: 10 * min, stopMs: 40 * min })
  const g = parseScenario('name: t\nduration: 1h\nnodes: [hq, { group: f, count: 3 }]\nchannels: [{ name: c, members: [f] }]\ntraffic:\n  - { from: hq, to: f, every: 1m, size: 1KB }\n  - { from: any, channel: c, every: 1m, size: 1KB }\n  - { from: f, to: f-1, every: 1m, size: 1KB }\n  - { from: any, to: hq, every: 1m, size: 1KB }\n', 'x.yaml')
  t.same(g.traffic[0].to, { kind: 'random', nodes: ['f-1', 'f-2', 'f-3'] })
  t.same(g.traffic[1].from, { mode: 'random', nodes: ['f-1', 'f-2', 'f-3'] }, 'from: any on a channel picks among its members')
  t.same(g.traffic[2].from, { mode: 'each', nodes: ['f-2', 'f-3'] }, 'a direct message is never sent to its own sender')
  t.same(g.traffic[3].from, { mode: 'random', nodes: ['f-1', 'f-2', 'f-3'] })
  t.same(g.warnings, [])
})

t.test('contacts: names and host numbers, sorted, clipped to the duration, links created', async t => {
  const trace = '# comment\n\n30 CONN a 2 up\n10 CONN 0 1 up\n20 CONN b a down\n7200 CONN a b down\n'
  const s = parseScenario('name: t\nduration: 1h\nnodes: [a, b, c]\nlinks: [{ between: [a, b] }]\ncontacts: t.one\nevents:\n  - { at: 1m, degrade: [a, c], loss: 50% }\n', 'dir/x.yaml', {
    readFile: p => { t.match(p, /dir\/t\.one$/, 'read relative to the scenario'); return trace },
  })
  t.same(s.contacts.map(c => [c.atMs, c.a, c.b, c.up]), [[10_000, 'a', 'b', true], [20_000, 'b', 'a', false], [30_000, 'a', 'c', true]])
  t.same(s.links.map(l => [l.a, l.b, l.origin]), [['a', 'b', 'declared'], ['a', 'c', 'contact']])
  t.same(s.contacts[2].pos, { file: 'dir/t.one', line: 3, col: 1 })
  for (const [bad, fragment] of [['10 CONN a b sideways', 'expected "<seconds> CONN'], ['x CONN a b up', 'invalid time "x"'], ['10 CONN a a up', 'a contact needs two different hosts'], ['10 C a b up', 'expected "<seconds> CONN']]) {
    t.throws(() => parseScenario('name: t\nduration: 1h\nnodes: [a, b]\ncontacts: t.one\n', 'x.yaml', { readFile: () => `\n${bad}\n` }),
      { code: 'ERR_CONFIG', message: new RegExp(`^t\\.one:2:1: ${fragment}`) }, bad)
  }
})
