// The Transport acceptance suite (transport-acceptance.ts) against the simulator's links
// (sim/network.ts), on virtual time: a 1 Mbps, 5 ms link as scenarios default to; the same
// with loss and jitter (the stream retransmits and never reorders); and a link of infinite
// bandwidth, the engine tests' default (test/helpers/net.ts). The duplicate and reorder
// knobs are left out: they model a misbehaving relay, which no stream is.
import t from 'tap'
import { frameBytesMax } from '../protocol/limits.ts'
import type { LinkInfo } from '../protocol/ports.ts'
import { SimNetwork } from '../sim/network.ts'
import { Rng } from '../sim/rng.ts'
import { Scheduler } from '../sim/scheduler.ts'
import type { LinkState } from '../sim/timeline.ts'
import { testSeed } from './helpers/seed.ts'
import { runTransportAcceptance, type TransportFactory } from './transport-acceptance.ts'

const seed = testSeed(t)
/** Virtual time one `until` may take before it fails, ms. */
const untilMsMax = 600_000
/** Virtual time `settle` lets pass, ms: far longer than any link here takes to deliver. */
const settleMs = 5_000

function simFactory (knobs: Partial<LinkState>, promisedInfo: Partial<LinkInfo>): TransportFactory {
  return {
    open: async (handlers) => {
      const s = new Scheduler()
      const net = new SimNetwork(s, Rng.from(seed), { handler: (id) => id === 'a' || id === 'b' ? handlers[id] : undefined })
      net.addLink('a', 'b')
      const state: LinkState = { up: true, bandwidthBitsPerSecond: 1_000_000, latencyMs: 5, loss: 0, jitterMs: 0, duplicate: 0, reorder: 0, ...knobs }
      const set = (up: boolean): void => { for (const [x, y] of [['a', 'b'], ['b', 'a']]) net.setState(x, y, { ...state, up }) }
      return {
        ids: { a: 'a', b: 'b' },
        transports: { a: net.transport('a'), b: net.transport('b') },
        frameBytesMax,
        promisedInfo: { a: promisedInfo, b: promisedInfo },
        reported: () => [],
        connect: async () => { set(true) },
        cut: async () => { set(false) },
        until: async (what, done) => {
          const deadline = s.now + untilMsMax
          while (!done()) if (!s.step(deadline)) throw new Error(`${what}: not within ${untilMsMax} ms of virtual time (at ${s.now} ms)`)
        },
        settle: async () => {
          const until = s.now + settleMs
          while (s.step(until)) {}
          s.now = until
        },
        close: async () => {},
      }
    },
  }
}

runTransportAcceptance(t, 'sim 1 Mbps 5 ms', simFactory({}, { frameBytesMax, bandwidthBitsPerSecond: 1_000_000, latencyMs: 5 }))
runTransportAcceptance(t, 'sim 64 kbps 300 ms, 20% loss, 50 ms jitter', simFactory(
  { bandwidthBitsPerSecond: 64_000, latencyMs: 300, loss: 0.2, jitterMs: 50 },
  { frameBytesMax: 8000, bandwidthBitsPerSecond: 64_000, latencyMs: 300 },
))
runTransportAcceptance(t, 'sim infinite bandwidth (the engine tests\' links)', simFactory({ bandwidthBitsPerSecond: Infinity, latencyMs: 1 }, { frameBytesMax, latencyMs: 1 }))
