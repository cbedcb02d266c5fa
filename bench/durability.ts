/**
 * Durability (brief §6: acknowledged messages lost after kill -9 at random points = 0, over at
 * least 100 cycles): the child ingests through the real engine on LevelDB and is killed with
 * SIGKILL at a random point, cycle after cycle on one directory (test/helpers/durability.ts);
 * every acknowledged envelope must be there when the store is reopened.
 *
 * @example
 * npm run bench -- durability --json
 */
import { killCycles } from '../test/helpers/durability.ts'
import type { BenchOptions, BenchResult } from './types.ts'

export async function bench (options: BenchOptions): Promise<BenchResult> {
  const cycles = options.quick ? 5 : 100
  const seed = Number(process.env.DDIL_SEED ?? 1)
  options.log(`${cycles} kill -9 cycles, seed ${seed}`)
  const r = await killCycles({ cycles, seed })
  if (r.lost > 0) options.log(`LOST ${r.lost} acknowledged envelopes: replay with DDIL_SEED=${seed} npm run bench -- durability`)
  return {
    rows: [{ what: 'kill -9 at random points', cycles: r.cycles, attempted: r.attempted, acknowledged: r.acknowledged, lost: r.lost, recovered: r.recovered, ms_per_cycle: Math.round(r.wallMs / r.cycles), seed }],
    notes: ['Target: lost = 0 over at least 100 cycles (brief §6). A cycle starts a child process, opens LevelDB, ingests until killed, then reopens the store and checks every acknowledgement.'],
  }
}
