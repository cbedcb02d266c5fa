// The benchmarks are not timed here (figures belong in notes, measured side by side), but
// they must keep running: `bench push` failed for a whole session after the engine's stamps
// changed, and nothing else noticed. Each quick run must exit 0 with rows of finite numbers.
// relay and relay-store, which start real relays, are in bench-smoke-relays.test.ts.
import { smokeBench } from './helpers/bench-smoke.ts'

for (const name of ['cbor', 'ingest', 'org', 'protocol', 'push', 'reconcile', 'sim']) smokeBench(name)
// Every catch-up converges with each missed envelope sent once and nobody penalised.
// Governance verified from scratch, and every audit export format, on a small log.
smokeBench('compliance', [], row => typeof row.what === 'string' && (typeof row.verify_ms === 'number' || typeof row.per_s === 'number'))
smokeBench('catchup', [], row => row.converged === true && row.envelopes_sent === row.missed && row.penalised === 0 && typeof row.ratio === 'number')

// --against runs another checkout beside this one; this checkout against itself must work.
smokeBench('sim', ['--against=.'], row => ['against_wall_s', 'wall_ratio_vs_against', 'cpu_ratio_vs_against'].every(k => typeof row[k] === 'number') &&
  typeof row.pinned === 'boolean' && String(row.wall_ratios_per_pair).split(' ').length === row.against_pairs)
// --minutes=N cuts the run short, and then says nothing about the target.
smokeBench('sim', ['--minutes=30'], row => row.simulated_s === 1800 && row.within_target === null)
