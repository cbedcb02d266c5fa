// A relay benchmark smoke run in a file of its own: see bench-smoke-relays.test.ts.
import { smokeBench } from './helpers/bench-smoke.ts'

smokeBench('relay-store')
