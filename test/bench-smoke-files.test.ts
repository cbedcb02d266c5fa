// `bench files --quick` starts two real relays and a libp2p host and runs the simulator three
// times (about 10 s unloaded), so it has a file of its own: see bench-smoke-relays.test.ts.
import { smokeBench } from './helpers/bench-smoke.ts'

smokeBench('files', [], row => typeof row.part === 'string' && typeof row.file_bytes === 'number' && row.file_bytes > 0)
