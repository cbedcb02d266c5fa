// `bench hostile` starts two real relays and four attackers (about 20 s quick, unloaded), so it has a
// file of its own: with the other relay benchmarks it could pass tap's per-file timeout on a busy machine.
import { smokeBench } from './helpers/bench-smoke.ts'

smokeBench('hostile', [], row => typeof row.phase === 'string' && typeof row.latency_p99_ms === 'number')
