/**
 * Push benchmark: duplicate payload bytes (envelopes delivered to a node that already
 * had them) as a share of all envelope bytes sent, in 10-node meshes on the engine tests'
 * network (TestNet, on the simulator's links): a full mesh with equal links, and random meshes (degree ≈ 4) with mixed
 * satcom / radio / LAN links. Target ≤ 2%. Also latency against the shortest path
 * (latency + serialisation per hop, an idle-network bound) and frames per delivery.
 *
 * @example
 * npm run bench -- push --json
 */
import { TestNet } from '../test/helpers/net.ts'
import { prng } from '../test/helpers/seed.ts'
import { toHex } from '../protocol/bytes.ts'
import type { BenchOptions, BenchResult } from './types.ts'

type Edge = [string, string, number, number | undefined]

/** Earliest arrival from `src` on an idle network: Dijkstra over latency + serialisation. */
function shortest (edges: Edge[], src: string, bytes: number): Map<string, number> {
  const dist = new Map<string, number>([[src, 0]])
  const done = new Set<string>()
  for (;;) {
    let u: string | undefined
    for (const [n, d] of dist) if (!done.has(n) && (u === undefined || d < (dist.get(u) as number))) u = n
    if (u === undefined) return dist
    done.add(u)
    for (const [a, b, lat, bw] of edges) {
      const v = a === u ? b : b === u ? a : undefined
      if (v === undefined) continue
      const d = (dist.get(u) as number) + lat + (bw === undefined ? 0 : bytes * 8000 / bw)
      if (d < (dist.get(v) ?? Infinity)) dist.set(v, d)
    }
  }
}

function quantile (xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}

async function mesh (name: string, seed: number, messages: number, makeEdges: (n: string[], rand: ReturnType<typeof prng>) => Edge[]): Promise<Record<string, string | number>> {
  const rand = prng(seed)
  const net = new TestNet({ reconcileIntervalMs: 60_000 })
  const ids = Array.from({ length: 10 }, (_, i) => `n${i}`)
  for (const id of ids) await net.node(id)
  const edges = makeEdges(ids, rand)
  for (const [a, b, latencyMs, bandwidthBps] of edges) net.connect(a, b, { latencyMs, bandwidthBps })
  await net.run(3000) // every link up before the first post: a 600 ms satcom link's handshake takes 2.4 s
  const authors = ids.map((_, i) => net.author(40 + i))
  const seqs = ids.map(() => 0)
  const created = new Map<string, { at: number, best: Map<string, number> }>()
  for (let k = 0; k < messages; k++) {
    const i = rand.int(10)
    const env = await net.post(ids[i], authors[i], ++seqs[i], { ttlSeconds: 86_400 })
    created.set(toHex(env.id), { at: net.clock.now, best: shortest(edges, ids[i], env.bytes.length + 1) })
    await net.run(rand.int(2000))
  }
  await net.run(120_000)
  let sent = 0; let dup = 0; let frames = 0; let held = 0
  for (const id of ids) {
    const c = net.engines.get(id)!.counters
    sent += c.payloadBytesSent
    dup += c.duplicatePayloadBytesReceived
    frames += c.framesSent.reduce((x, y) => x + y, 0)
    held += net.ids(id).length
  }
  if (held !== messages * 10) throw new Error(`${name}: ${held} of ${messages * 10} held`)
  const ratios = net.arrivals.filter(a => a.from !== 'local').map(a => {
    const c = created.get(a.id)!
    return (a.at - c.at) / Math.max(1, c.best.get(a.node) as number)
  })
  return {
    mesh: name, messages, payload_bytes_sent: sent, duplicate_payload_bytes: dup,
    duplicate_share_pct: Number((100 * dup / sent).toFixed(2)),
    latency_vs_shortest_p50: Number(quantile(ratios, 0.5).toFixed(2)), latency_vs_shortest_p95: Number(quantile(ratios, 0.95).toFixed(2)),
    frames_per_delivery: Number((frames / (messages * 9)).toFixed(2)),
  }
}

function randomMesh (ids: string[], rand: ReturnType<typeof prng>): Edge[] {
  const out: Edge[] = []
  const has = new Set<string>()
  const add = (a: string, b: string): void => {
    const k = [a, b].sort().join('|')
    if (a === b || has.has(k)) return
    has.add(k)
    const kind = rand.int(3) // satcom, tactical radio, LAN
    out.push([a, b, kind === 0 ? 600 : kind === 1 ? 40 : 5, kind === 0 ? 64_000 : kind === 1 ? 9_600 : 1_000_000])
  }
  for (let i = 1; i < ids.length; i++) add(ids[rand.int(i)], ids[i]) // a random spanning tree keeps it connected
  while (out.length < 20) add(ids[rand.int(10)], ids[rand.int(10)])
  return out
}

export async function bench (options: BenchOptions): Promise<BenchResult> {
  const messages = options.quick ? 100 : 500
  const rows = []
  // Duplicates happen while each (link, author) pair learns to prune; the long run shows the steady state.
  if (!options.quick) {
    options.log('random mesh seed 2, 4000 messages…')
    rows.push(await mesh('random degree≈4, mixed links (seed 2), long run', 2, 4000, randomMesh))
  }
  options.log('full mesh…')
  rows.push(await mesh('full mesh, 10 ms links', 1, messages, (ids) => ids.flatMap((a, i) => ids.slice(i + 1).map(b => [a, b, 10, undefined] as Edge))))
  for (const seed of [2, 3, 4]) {
    options.log(`random mesh seed ${seed}…`)
    rows.push(await mesh(`random degree≈4, mixed links (seed ${seed})`, seed, messages, randomMesh))
  }
  const worst = Math.max(...rows.map(r => r.duplicate_share_pct as number))
  const long = rows.find(r => (r.messages as number) > 1000)
  return {
    rows,
    notes: [
      `worst duplicate share ${worst}% over runs of ${messages} messages (target ≤ 2%): duplicates are warm-up, one per (redundant link, author) before that link is pruned for that author, and the pushes a graft brings before the path it replaced is pruned.`,
      long !== undefined ? `steady state (${long.messages} messages): ${long.duplicate_share_pct}% duplicates.` : 'run without --quick for the steady-state row.',
    ],
    worst_duplicate_share_pct: worst,
  }
}
