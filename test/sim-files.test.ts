// Large posts in the simulator (#23): any size up to the largest file a channel accepts, split
// into file pieces as a client splits them, delivered as one message once its last piece is
// stored, and scored against an oracle that carries all of its bytes over every hop.
import t from 'tap'
import { crypto } from './helpers/fixtures.ts'
import { idFromKey } from '../protocol/engine/catalog.ts'
import { Kind, Precedence } from '../protocol/envelope.ts'
import { sealPieces } from '../protocol/files/send.ts'
import { decodePiece, FileForm, pieceProblem } from '../protocol/files/piece.ts'
import { splitFile } from '../protocol/files/split.ts'
import { fileBytesMaxDefault, fileChunkBytes, longTextBytesMaxDefault } from '../protocol/limits.ts'
import { pieceBodies, pieceForm } from '../sim/files.ts'
import { bridgesOf, buildOracleGraph, earliestArrivals, earliestFileArrivals } from '../sim/oracle.ts'
import { buildReport } from '../sim/report.ts'
import { runScenario } from '../sim/runner.ts'
import { parseScenario } from '../sim/scenario.ts'
import { compileTimeline } from '../sim/timeline.ts'
import { prng, testSeed } from './helpers/seed.ts'

const sec = 1000
const min = 60_000

function scenario (body: string, duration = '10m'): ReturnType<typeof parseScenario> {
  return parseScenario(`name: t\nseed: 5\nduration: ${duration}\n${body}`, 'x.yaml')
}

const twoNodes = 'nodes: [a, b]\nlinks:\n  - { between: [a, b] }\nchannels:\n  - { name: ops, members: all }\n'

t.test('traffic sizes: any size up to the largest file, refused beyond it with its position', async t => {
  for (const [size, min, max] of [['2KB', 2000, 2000], ['500KB', 500_000, 500_000], ['200B..2MB', 200, 2_000_000], ['25MB', 25e6, 25e6]] as const) {
    const s = scenario(`${twoNodes}traffic:\n  - { from: a, channel: ops, at: 1m, size: ${size} }\n`)
    t.same(s.traffic[0].size, { minBytes: min, maxBytes: max }, size)
  }
  t.equal(fileBytesMaxDefault, 25_000_000, 'the limit the messages below name')
  t.throws(() => scenario(`${twoNodes}traffic:\n  - { from: a, channel: ops, at: 1m, size: 200B..26MB }\n`), {
    code: 'ERR_CONFIG',
    message: 'x.yaml:10:44: traffic[0].size: 26MB is more than the largest file a channel accepts (25MB); split it into several posts',
  })
  t.throws(() => scenario(`governance: true\n${twoNodes}traffic:\n  - { from: a, channel: ops, at: 1m, size: 2KB }\n`), {
    code: 'ERR_CONFIG', message: /^x\.yaml:11:44: traffic\[0\]\.size: 2KB is more than one envelope \(1200B\): governed runs post channel texts of one envelope/,
  }, 'a governed channel post is one envelope: governed runs do not track pieces yet')
  const direct = scenario(`governance: true\n${twoNodes}traffic:\n  - { from: a, to: b, at: 1m, size: 2KB }\n`)
  t.equal(direct.traffic[0].size.maxBytes, 2000, 'a governed run\'s direct messages are raw envelopes and may be files')
})

t.test('piece bodies: the heads and sizes a client\'s sealed pieces have', async t => {
  const author = crypto.ed25519KeyPair(new Uint8Array(32).fill(7))
  const sealer = { channelId: new Uint8Array(32).fill(3), channel: new Uint8Array(8).fill(4), epoch: 1, epochKey: new Uint8Array(32).fill(5), author }
  for (const size of [1201, 2 * fileChunkBytes, 70_000, 300_001]) {
    const content = new Uint8Array(size).map((_, i) => (i * 31) & 0xff)
    const form = pieceForm(size)
    t.equal(form, size <= longTextBytesMaxDefault ? FileForm.text : FileForm.file, `${size} B: ${form === FileForm.text ? 'a long text' : 'a file'}`)
    const file = splitFile(crypto, { name: 'post.bin', mediaType: 'application/octet-stream', content })
    const real = sealPieces(crypto, sealer, file, { form, precedence: Precedence.routine, hlc: { ms: 1, c: 0 }, ttlSeconds: 3600, firstSeq: 1 })
    const sim = pieceBodies(content)
    t.same(sim.map(b => b.length), real.map(e => e.body.length), `${size} B: ${sim.length} pieces, every body as long as the sealed one`)
    t.same(sim.map(b => decodePiece(b).head), real.map(e => decodePiece(e.body).head), `${size} B: the same public heads`)
  }
})

/** a — b at 9.6 kbps; a posts a 20 KB file at 1m (19 pieces, about 20 s of radio). */
function radio (events: string, duration = '10m'): ReturnType<typeof parseScenario> {
  return scenario(`nodes: [a, b]
links:
  - { between: [a, b], bandwidth: 9.6kbps, latency: 40ms }
channels:
  - { name: ops, members: all }
traffic:
  - { from: a, channel: ops, at: 1m, size: 20KB, precedence: priority }
${events}`, duration)
}

t.test('a file counts as delivered once, when its last piece is stored, and not before', async t => {
  const cut = await runScenario(radio('events:\n  - { at: 1m10s, down: [a, b] }\n'), { crypto })
  const [rec] = cut.ledger.records
  t.equal(cut.ledger.records.length, 1, 'one record for the post, not one per piece')
  const pieces = rec.file?.keys.length ?? 0
  t.equal(pieces, 1 + Math.ceil(20_000 / fileChunkBytes), 'a manifest and its chunks')
  const heldAtB = rec.file?.held[1] ?? 0
  t.ok(heldAtB > 0 && heldAtB < pieces, `the cut link left b with ${heldAtB} of ${pieces} pieces`)
  t.ok(Number.isNaN(rec.arrivedAt[1]), 'so b has not received the post')
  const cutReport = buildReport(cut).report
  t.same(cutReport.pairs, { expected: 1, deliverable: 0, delivered: 0, delivered_deliverable: 0 }, 'nor could it: the oracle needs every byte across')
  t.ok(cutReport.checks.no_duplicate_deliveries.ok)

  const healed = await runScenario(radio('events:\n  - { at: 1m10s, down: [a, b] }\n  - { at: 3m, up: [a, b] }\n'), { crypto })
  const { report, pairs } = buildReport(healed)
  const [whole] = healed.ledger.records
  t.same(report.pairs, { expected: 1, deliverable: 1, delivered: 1, delivered_deliverable: 1 }, 'one pair, delivered once')
  t.equal(report.created, 1)
  t.equal(report.one.relayed, 1, 'relayed once to b, not once per piece')
  t.equal(whole.file?.held[1], pieces, 'b holds every piece')
  t.ok(whole.arrivedAt[1] > 3 * min, `delivered at ${whole.arrivedAt[1]} ms, after the link came back`)
  t.ok(pairs[0].oracleAtMs > 3 * min && pairs[0].latencyMs >= pairs[0].oracleAtMs - whole.createdAtMs, `not before the oracle (${pairs[0].oracleAtMs} ms)`)
  t.ok(report.checks.no_duplicate_deliveries.ok && report.checks.convergence.ok && report.checks.all_deliverable_delivered.ok)
  t.ok(whole.envelopeBytes > 20_000 && whole.frameBytes === whole.envelopeBytes + pieces, `sizes are the pieces' summed (${whole.envelopeBytes} B)`)

  // What b stored is what a client's file gives a relay: kind file, heads, the manifest as the one dependency, one stamp.
  const engine = healed.nodes[1].engine
  const envs = await Promise.all((whole.file?.keys ?? []).map(async k => await engine?.get(idFromKey(k))))
  t.ok(envs.every(e => e?.kind === Kind.file), 'every piece is a file envelope')
  t.same(envs.map(e => e === undefined ? -1 : decodePiece(e.body).head.index), envs.map((_, i) => i), 'indices in order')
  t.ok(envs.slice(1).every(e => e?.deps.length === 1 && e.deps[0].every((x, i) => x === envs[0]?.id[i])), 'each chunk depends on the manifest')
  t.same(envs.map(e => e?.seq), envs.map((_, i) => (envs[0]?.seq ?? 0) + i), 'consecutive sequence numbers')
  t.ok(envs.every(e => e?.hlc.ms === envs[0]?.hlc.ms && e?.hlc.c === envs[0]?.hlc.c && e?.ttlSeconds === envs[0]?.ttlSeconds), 'one stamp and ttl')
  t.ok(envs.every(e => e !== undefined && pieceProblem(e, { textBytesMax: longTextBytesMaxDefault, fileBytesMax: fileBytesMaxDefault }) === undefined), 'a governed relay would accept every piece')

  const again = await runScenario(radio('events:\n  - { at: 1m10s, down: [a, b] }\n  - { at: 3m, up: [a, b] }\n'), { crypto })
  t.equal(again.traceHash, healed.traceHash, 'the same scenario and seed replay the same run, pieces and all')
})

t.test('oracle: a file carries all its bytes over every hop, pipelined, across down periods', async t => {
  const s = scenario(`nodes: [a, b, c]
links:
  - { between: [a, b], bandwidth: 9.6kbps, latency: 40ms }
  - { between: [b, c], bandwidth: 9.6kbps, latency: 40ms }
events:
  - { at: 3m, down: [a, b] }
  - { at: 5m, up: [a, b] }
`, '1h')
  const graph = buildOracleGraph(compileTimeline(s))
  const size = { bytes: 240_000, pieceBytesMin: 240 } // 200 s at 9.6 kbps; the smallest piece 200 ms
  const at = Object.fromEntries(earliestFileArrivals(graph, 'a', 0, size, Infinity, s.durationMs))
  // 180 s sent before the cut, the other 20 s after 5m: the last byte leaves at 320 s.
  t.ok(Math.abs(at.b - (320 * sec + 40)) < 1e-6, `b: ${at.b} ms (all the bytes over the hop, both up periods)`)
  t.ok(Math.abs(at.c - (at.b + 40 + 200)) < 1e-6, `c: ${at.c} ms (relays forward pieces as they arrive: one more piece's hop)`)
  const alone = Object.fromEntries(earliestArrivals(graph, 'a', 0, 240, Infinity, s.durationMs))
  t.ok(alone.c < at.c / 2, 'one piece alone would be far earlier: the bytes are what count')
  t.same(Object.fromEntries(earliestFileArrivals(graph, 'a', 0, size, 4 * min, s.durationMs)), { a: 0 }, 'expiring before the bytes can cross: deliverable nowhere')
  t.same(Object.keys(Object.fromEntries(earliestFileArrivals(graph, 'a', 0, size, Infinity, 5 * min + 30 * sec))).sort(), ['a', 'b', 'c'], 'ending just after: still in time')
  t.same(Object.fromEntries(earliestFileArrivals(graph, 'a', 4 * min, size, Infinity, s.durationMs)), { a: 4 * min, b: 500_040, c: 500_280 }, 'posted while the hop is down: it starts when the hop returns')
})

t.test('oracle: where pieces can take parallel paths, cuts bound the file instead of one path', async t => {
  // a, b, c in a triangle of 9.6 kbps links, d hanging off c by a 64 kbps bridge.
  const s = scenario(`nodes: [a, b, c, d]
links:
  - { between: [a, b], bandwidth: 9.6kbps, latency: 40ms }
  - { between: [b, c], bandwidth: 9.6kbps, latency: 40ms }
  - { between: [a, c], bandwidth: 9.6kbps, latency: 40ms }
  - { between: [c, d], bandwidth: 64kbps, latency: 40ms }
`, '1h')
  const graph = buildOracleGraph(compileTimeline(s))
  const bridged = graph.adjacency.flatMap((edges, i) => edges.map((e, k) => `${graph.timeline.nodes[i]}>${e.to}:${bridgesOf(graph)[i][k] ? 'bridge' : 'cycle'}`)).sort()
  t.same(bridged, ['a>b:cycle', 'a>c:cycle', 'b>a:cycle', 'b>c:cycle', 'c>a:cycle', 'c>b:cycle', 'c>d:bridge', 'd>c:bridge'])
  const size = { bytes: 240_000, pieceBytesMin: 240 } // 200 s over one 9.6 kbps link
  const at = Object.fromEntries(earliestFileArrivals(graph, 'a', 0, size, Infinity, s.durationMs))
  // c can take pieces from a and, through b, from a's other link: together 19.2 kbps into c, 100 s.
  t.ok(Math.abs(at.c - (100 * sec + 40)) < 0.01, `c: ${at.c} ms, a's two links sending at once (one path alone: 200 s)`)
  t.ok(Math.abs(at.d - (at.c + 40 + 30)) < 1e-6, `d: ${at.d} ms: every piece crosses the bridge, the last one after c could hold it (30 ms for the smallest piece)`)
})

t.test('oracle: no run delivers a file before it (random links, flaps and sizes)', async t => {
  const rand = prng(testSeed(t))
  const pick = <T>(xs: readonly T[]): T => xs[rand.int(xs.length)]
  let filePairs = 0
  for (let k = 0; k < 6; k++) {
    const knobs = (): string => `bandwidth: ${pick(['9.6kbps', '64kbps', '256kbps', '2Mbps'])}, latency: ${pick(['5ms', '40ms', '300ms'])}`
    const triangle = rand.next() < 0.5
    const [x, y] = pick(triangle ? [['a', 'b'], ['b', 'c'], ['a', 'c']] : [['a', 'b'], ['b', 'c']])
    const text = `nodes: [a, b, c]
links:
  - { between: [a, b], ${knobs()} }
  - { between: [b, c], ${knobs()} }
${triangle ? `  - { between: [a, c], ${knobs()} }\n` : ''}channels:
  - { name: ops, members: all }
traffic:
  - { from: a, channel: ops, at: ${30 + rand.int(60)}s, size: 1300B..40KB, precedence: ${pick(['flash', 'routine'])} }
  - { from: c, channel: ops, at: ${30 + rand.int(60)}s, count: 2, every: 20s, size: 200B..12KB, precedence: priority }
events:
  - { from: ${rand.int(60)}s, to: 8m, flap: [${x}, ${y}], up: ${10 + rand.int(50)}s, down: ${5 + rand.int(60)}s }
`
    const { report, pairs } = buildReport(await runScenario(scenario(text, '12m'), { crypto }))
    const files = pairs.filter(p => p.rec.file !== undefined && p.delivered && p.deliverable)
    filePairs += files.length
    const early = files.filter(p => p.latencyMs < p.oracleAtMs - p.rec.createdAtMs - 1e-6)
    t.same(early.map(p => `message ${p.rec.index} at ${p.node}: ${p.latencyMs} ms, oracle ${p.oracleAtMs - p.rec.createdAtMs} ms`), [], `run ${k}: ${files.length} file pairs, none before the oracle`)
    t.ok(report.checks.no_duplicate_deliveries.ok && report.checks.all_deliverable_delivered.ok, `run ${k}: ${report.checks.all_deliverable_delivered.detail}`)
  }
  t.ok(filePairs > 0, `the runs delivered files to compare with the oracle (${filePairs} pairs)`)
})
