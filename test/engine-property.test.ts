// Property (seeded fast-check): random topology, random link flaps and posts, then a quiet phase with
// every link up: every node holds every unexpired envelope, and delivered each exactly once.
import t from 'tap'
import fc from 'fast-check'
import { TestNet } from './helpers/net.ts'
import { testSeed } from './helpers/seed.ts'
import { toHex } from '../protocol/bytes.ts'

interface Plan {
  nodes: number
  extraEdges: Array<[number, number]>
  steps: Array<{ kind: 'post', node: number, author: number } | { kind: 'flap', edge: number } | { kind: 'wait', ms: number }>
}

const arbPlan: fc.Arbitrary<Plan> = fc.integer({ min: 2, max: 6 }).chain(n => fc.record({
  nodes: fc.constant(n),
  extraEdges: fc.array(fc.tuple(fc.integer({ min: 0, max: n - 1 }), fc.integer({ min: 0, max: n - 1 })), { maxLength: 6 }),
  steps: fc.array(fc.oneof(
    fc.record({ kind: fc.constant('post' as const), node: fc.integer({ min: 0, max: n - 1 }), author: fc.integer({ min: 0, max: 2 }) }),
    fc.record({ kind: fc.constant('flap' as const), edge: fc.nat() }),
    fc.record({ kind: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 3000 }) }),
  ), { minLength: 1, maxLength: 40 }),
}))

async function runPlan (plan: Plan): Promise<string | null> {
  const net = new TestNet({ reconcileIntervalMs: 10_000, gapGraceMs: 1_000 })
  const names = Array.from({ length: plan.nodes }, (_, i) => `n${i}`)
  for (const id of names) await net.node(id)
  // A spanning chain keeps the graph connected once healed; extra edges make meshes and cycles.
  const edges: Array<[string, string]> = []
  for (let i = 1; i < plan.nodes; i++) edges.push([names[i - 1], names[i]])
  for (const [a, b] of plan.extraEdges) if (a !== b && !edges.some(([x, y]) => (x === names[a] && y === names[b]) || (x === names[b] && y === names[a]))) edges.push([names[a], names[b]])
  for (const [a, b] of edges) net.connect(a, b, { latencyMs: 5 })
  const authors = [net.author(21), net.author(22), net.author(23)]
  const seqs = [0, 0, 0]
  const posted = new Set<string>()
  for (const step of plan.steps) {
    if (step.kind === 'post') posted.add(toHex((await net.post(names[step.node], authors[step.author], ++seqs[step.author])).id))
    else if (step.kind === 'wait') await net.run(step.ms)
    else {
      const [a, b] = edges[step.edge % edges.length]
      if (net.link(a, b) !== undefined) net.cut(a, b)
      else net.connect(a, b, { latencyMs: 5 })
    }
  }
  for (const [a, b] of edges) if (net.link(a, b) === undefined) net.connect(a, b, { latencyMs: 5 })
  await net.run(30_000)
  for (const id of names) {
    const held = net.ids(id)
    if (held.length !== posted.size || held.some(h => !posted.has(h))) return `${id} holds ${held.length} of ${posted.size}`
    const delivered = (net.delivered.get(id) ?? []).map(e => toHex(e.id))
    if (new Set(delivered).size !== delivered.length) return `${id} delivered an envelope twice`
    if (delivered.length !== posted.size) return `${id} delivered ${delivered.length} of ${posted.size}`
  }
  return null
}

t.test('every node converges on every envelope, each delivered once', async t => {
  const seed = testSeed(t)
  let runs = 0
  await fc.assert(fc.asyncProperty(arbPlan, async plan => {
    runs++
    const problem = await runPlan(plan)
    if (problem !== null) throw new Error(problem)
  }), { seed, numRuns: Number(process.env.DDIL_RUNS ?? 40) })
  t.comment(`${runs} random plans explored (seed ${seed})`)
  t.ok(runs >= 1)
})
