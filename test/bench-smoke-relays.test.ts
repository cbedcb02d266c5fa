// The relay benchmarks, and bench cli (ddil run against a relay), start real relay
// processes (quick runs: about 15 s each), so they get their own file and run beside
// the rest. `bench relay-store --quick` once failed with EADDRINUSE: two relays set up
// at once were handed the same port (test/helpers/relays.ts).
import { smokeBench } from './helpers/bench-smoke.ts'

for (const name of ['relay', 'relay-store', 'cli']) smokeBench(name)
