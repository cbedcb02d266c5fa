// The relay benchmarks start real relay processes (quick runs: about 15 s each, unloaded), so
// each gets a file of its own (this one, bench-smoke-relay-store, bench-smoke-cli,
// bench-smoke-hostile): together in one file they passed tap's per-file timeout on a busy
// machine. `bench relay-store --quick` once failed with EADDRINUSE: two relays set up at once
// were handed the same port (test/helpers/relays.ts).
import { smokeBench } from './helpers/bench-smoke.ts'

smokeBench('relay')
