/**
 * Catch-up benchmark: a relay that missed N envelopes (10,000, 100,000, 1,000,000;
 * `--quick`: 3,000) links up with one that holds them, over one link. Both also hold
 * 10,000 envelopes in common. Reported: the simulated time until both hold the same set,
 * as a ratio of the time the same envelopes take when sent back to back over the same
 * link, measured in the same run (frames of the same sizes pushed through an identical
 * link, paced by its back-pressure, no engine). The engines are real (reconciliation,
 * catch-up pacing, Ed25519 verification, in-memory stores); the link is TestNet's model,
 * the simulator's links: latency plus serialisation at its bandwidth, one frame on the wire
 * per direction, up after a handshake of two round trips (both times start at link-up).
 * The relay behind is the one that starts reconciliation in one row, the other in the next
 * (from copies of the same two stores).
 *
 * @example
 * npm run bench -- catchup --quick
 * npm run bench -- catchup --json
 */
import { TestNet } from '../test/helpers/net.ts'
import { crypto } from '../test/helpers/fixtures.ts'
import type { Engine } from '../protocol/engine/engine.ts'
import { MessageLog } from '../protocol/engine/log.ts'
import { authorRef, Kind, Precedence, signEnvelope } from '../protocol/envelope.ts'
import { FrameType } from '../protocol/frames.ts'
import { MemoryStore } from '../protocol/memory-store.ts'
import type { BenchOptions, BenchResult } from './types.ts'

type Row = Record<string, string | number | boolean | null>

/** The link: a 10 Mbps radio or microwave backhaul with 20 ms one way. */
const link = { latencyMs: 20, bandwidthBps: 10_000_000 }
const linkName = '10 Mbps, 20 ms'
const sharedCount = 10_000
/** About 300 B envelopes, the brief's typical message. */
const bodyBytes = 180
const authorsCount = 16
const writeBatch = 1000

interface Authors { keys: Array<{ publicKey: Uint8Array, privateKey: Uint8Array }>, seqs: number[] }

/**
 * Signs `count` envelopes round-robin over the authors (each author's sequence continues)
 * and writes them to each of `stores`; returns their frame lengths (envelope + type byte).
 */
async function fill (stores: MemoryStore[], authors: Authors, count: number, startMs: number): Promise<Uint16Array> {
  const logs = stores.map(s => new MessageLog(s, b => crypto.sha256(b)))
  for (const log of logs) await log.open()
  const lengths = new Uint16Array(count)
  for (let from = 0; from < count; from += writeBatch) {
    const ops = stores.map(() => [] as ReturnType<MessageLog['appendOps']>)
    for (let i = from; i < Math.min(count, from + writeBatch); i++) {
      const k = i % authorsCount
      const env = signEnvelope(crypto, {
        kind: Kind.message, precedence: i % 50 === 0 ? Precedence.priority : Precedence.routine, channel: new Uint8Array(8).fill(1 + (k % 4)),
        author: authorRef(authors.keys[k].publicKey), seq: ++authors.seqs[k], hlc: { ms: startMs + Math.floor(i / 8), c: i % 8 },
        ttlSeconds: 7 * 86_400, epoch: 1, deps: [], body: new Uint8Array(bodyBytes).fill(i % 251),
      }, authors.keys[k].privateKey)
      lengths[i] = env.bytes.length + 1
      logs.forEach((log, j) => ops[j].push(...log.appendOps(env, false, startMs)))
    }
    for (let j = 0; j < stores.length; j++) await stores[j].batch(ops[j])
  }
  return lengths
}

/** Simulated time for frames of these lengths, back to back over the link, until the last has arrived, ms. */
async function sendTimeMs (lengths: Uint16Array): Promise<number> {
  const net = new TestNet({}, {}, { record: false })
  const buffers = new Map<number, Uint8Array>()
  let next = 0
  let received = 0
  let doneAt = Infinity
  const push = (): void => {
    while (next < lengths.length) {
      const n = lengths[next]
      let frame = buffers.get(n)
      if (frame === undefined) { frame = new Uint8Array(n); frame[0] = FrameType.envelope; buffers.set(n, frame) }
      if (!tx.send('rx', frame)) return
      next++
    }
  }
  let began = Infinity
  const tx = net.endpoint('tx', { receive () {}, drain: push, linkUp: () => { began = net.clock.now; push() } })
  net.endpoint('rx', { receive: () => { if (++received === lengths.length) doneAt = net.clock.now }, drain () {} })
  net.connect('tx', 'rx', link)
  const stepMs = Math.max(1000, lengths.length / 10)
  while (doneAt === Infinity) await net.run(stepMs)
  return doneAt - began
}

function cpuMs (): number {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** A copy of a store's records (each run starts from the same two stores). */
async function copyOf (store: MemoryStore): Promise<MemoryStore> {
  const copy = new MemoryStore()
  let ops: Array<{ type: 'put', key: Uint8Array, value: Uint8Array }> = []
  for await (const [key, value] of store.range({})) {
    ops.push({ type: 'put', key, value })
    if (ops.length === writeBatch) { await copy.batch(ops); ops = [] }
  }
  await copy.batch(ops)
  return copy
}

/** The two relays' stores before they meet: both hold `sharedCount`; the one ahead also what the other missed. */
interface Apart { ahead: MemoryStore, behind: MemoryStore, lengths: Uint16Array, sendMs: number }

async function apart (missed: number, log: (line: string) => void): Promise<Apart> {
  const net = new TestNet({}, {}, { record: false })
  const authors: Authors = { keys: Array.from({ length: authorsCount }, (_, i) => net.author(100 + i)), seqs: new Array(authorsCount).fill(0) }
  const startMs = net.clock.nowMs() - 5 * 86_400_000 // missed over the last days; nothing expires during a run (7-day ttl)
  const ahead = new MemoryStore()
  const behind = new MemoryStore()
  log(`missed ${missed}: signing and storing…`)
  await fill([ahead, behind], authors, sharedCount, startMs - 3_600_000)
  const lengths = await fill([ahead], authors, missed, startMs)
  log(`missed ${missed}: baseline (the same frames back to back)…`)
  return { ahead, behind, lengths, sendMs: await sendTimeMs(lengths) }
}

/** One run: `behind` ('a' starts reconciliation, 'b' answers) missed what the other holds. */
async function catchUp (stores: Apart, behind: 'a' | 'b', log: (line: string) => void): Promise<Row> {
  const net = new TestNet({}, {}, { record: false })
  for (let i = 0; i < authorsCount; i++) net.author(100 + i)
  const ahead = behind === 'a' ? 'b' : 'a'
  const { lengths, sendMs } = stores
  const missed = lengths.length
  const copies = { [ahead]: await copyOf(stores.ahead), [behind]: await copyOf(stores.behind) } as Record<'a' | 'b', MemoryStore>
  const wall0 = performance.now()
  const cpu0 = cpuMs()
  const engines: Record<'a' | 'b', Engine> = { a: await net.node('a', {}, copies.a), b: await net.node('b', {}, copies.b) }
  const total = sharedCount + missed
  log(`missed ${missed}, behind ${behind}: catching up (the envelopes alone take ${(sendMs / 1000).toFixed(1)} s simulated)…`)
  net.connect('a', 'b', link)
  while (!net.network.isConnected('a', 'b')) await net.run(1) // timed from link-up, after the handshake
  const began = net.clock.now
  const stepMs = Math.max(100, sendMs / 500)
  let convergedMs = Infinity
  while (net.clock.now - began < 10 * sendMs + 600_000) {
    await net.run(stepMs)
    if (engines.a.probe.catalog.size === total && engines.b.probe.catalog.size === total) { convergedMs = net.clock.now - began; break }
  }
  const wallMs = performance.now() - wall0
  const cpu = cpuMs() - cpu0
  const [x, y] = [engines[ahead], engines[behind]]
  const reconcileBytes = x.counters.bytesSent[FrameType.reconcile] + y.counters.bytesSent[FrameType.reconcile]
  const controlBytes = [x, y].reduce((n, e) => n + e.counters.bytesSent.reduce((m, b, type) => m + (type === FrameType.envelope || type === FrameType.reconcile ? 0 : b), 0), 0)
  const envelopeBytes = lengths.reduce((n, l) => n + l, 0)
  for (const e of Object.values(engines)) e.close()
  return {
    missed,
    shared: sharedCount,
    behind: behind === 'a' ? 'initiator' : 'responder',
    link: linkName,
    envelope_bytes: Math.round(envelopeBytes / missed) - 1,
    send_s: round(sendMs / 1000),
    converge_s: round(convergedMs / 1000),
    ratio: round(convergedMs / sendMs, 3),
    converged: convergedMs < Infinity,
    sessions: engines.a.counters.reconcileSessions,
    envelopes_sent: x.counters.framesSent[FrameType.envelope],
    duplicates: x.counters.duplicatesReceived + y.counters.duplicatesReceived,
    gap_requests: x.counters.gapRequests + y.counters.gapRequests,
    reconcile_bytes_per_envelope: round(reconcileBytes / missed, 1),
    other_control_bytes_per_envelope: round(controlBytes / missed, 1),
    penalised: x.counters.peersPenalised + y.counters.peersPenalised,
    wall_s: round(wallMs / 1000),
    cpu_s: round(cpu / 1000),
  }
}

function round (x: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

export async function bench (options: BenchOptions): Promise<BenchResult> {
  const sizes = options.quick ? [3_000] : [10_000, 100_000, 1_000_000]
  const rows: Row[] = []
  for (const missed of sizes) {
    const stores = await apart(missed, options.log)
    for (const behind of ['b', 'a'] as const) rows.push(await catchUp(stores, behind, options.log))
  }
  return { rows, notes: notes(rows) }
}

function notes (rows: Row[]): string[] {
  const out: string[] = []
  const bad = rows.filter(r => r.converged !== true || r.envelopes_sent !== r.missed || r.penalised !== 0)
  out.push(bad.length === 0
    ? 'every run converged, each missed envelope sent once, nobody penalised'
    : `PROBLEMS: ${bad.map(r => `${r.missed} behind ${r.behind}: converged ${r.converged}, sent ${r.envelopes_sent}, penalised ${r.penalised}`).join('; ')}`)
  for (const r of rows) out.push(`${r.missed} missed (behind: ${r.behind}): converged in ${r.ratio} × the time the envelopes alone take on the link (${r.converge_s} s vs ${r.send_s} s simulated), ${r.sessions} sessions`)
  out.push(`link ${linkName} (TestNet's model); ratio = simulated time from link-up until both hold the same set / simulated time for the same frames sent back to back over an identical link in the same run; wall_s and cpu_s are this process's, for the catch-up alone (opening both stores, verifying and storing every missed envelope; signing them beforehand excluded)`)
  out.push('reconcile_bytes_per_envelope: reconciliation messages both ways per missed envelope (symbols, id lists); other_control_bytes_per_envelope: every other non-envelope frame (have, wantSeq, neighbours, ...)')
  return out
}
