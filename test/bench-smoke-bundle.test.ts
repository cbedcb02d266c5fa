// `bench bundle --quick` starts three real relays (about 6 s unloaded, 8 to 11 s at load 4), so
// it has a file of its own: see bench-smoke-relays.test.ts. Each row counts what its path moved: every envelope of
// A's channel exported, imported new at B, and held by C after its catch-up.
import { smokeBench } from './helpers/bench-smoke.ts'

smokeBench('bundle', [], row => typeof row.path === 'string' && typeof row.expected === 'number' && row.expected >= 1_000 && row.envelopes === row.expected && typeof row.ratio_vs_network === 'number' && row.ratio_vs_network > 0)
