// Durability (brief §6, §7 Storage): a child ingests through the engine on LevelDB and is killed with
// SIGKILL at random points, cycle after cycle on the same directory. Every envelope it acknowledged must
// be there when the store is reopened. Reports attempted, acknowledged, lost (must be 0), recovered.
// CI runs DDIL_CYCLES (default 25, about half a minute); the brief's 100 cycles are a benchmark
// (`npm run bench -- durability`, docs/MEASUREMENTS.md), as every target is.
import t from 'tap'
import { killCycles } from './helpers/durability.ts'
import { testSeed } from './helpers/seed.ts'

t.test('no acknowledged envelope is lost across SIGKILLs at random points', async t => {
  const cycles = Number(process.env.DDIL_CYCLES ?? 25)
  const { attempted, acknowledged, lost, recovered } = await killCycles({ cycles, seed: testSeed(t) })
  t.comment(`cycles ${cycles}: attempted ${attempted}, acknowledged ${acknowledged}, lost ${lost}, recovered ${recovered}`)
  t.equal(lost, 0, 'acknowledged envelopes lost')
  t.equal(recovered, acknowledged)
  t.ok(acknowledged > cycles, 'the children acknowledged work before being killed')
})
