// The field client benchmark's smoke run, in a file of its own (two relays and two browsers; see bench-smoke-relays.test.ts).
import { smokeBench } from './helpers/bench-smoke.ts'

smokeBench('web', [], row => !('p50_ms' in row) || (typeof row.p50_ms === 'number' && row.p50_ms > 0))
