// An honest relay killed 100 times under load (engine level: 100 cycles of real processes
// would take about seven minutes here, ~3 s a start; test/relay-crash-catchup.test.ts runs
// a shorter cycle of real `ddil start` processes). Relay B's store is crash-faithful: a
// write lands only some milliseconds after it was issued, a kill at any moment drops the
// writes in flight or lands them whole (all or nothing, as LevelDB's batches), and nothing
// is acknowledged before its write landed. Alice posts at A throughout, Bob at B while B is
// up; twice B is away while Alice posts 12,000 and 25,000 envelopes (the old sequence window
// refused such jumps and cut the link; its queue dropped most of such a backlog). Afterwards
// both relays hold the same set, every acknowledged envelope is in it, and neither peer was
// ever penalised or cut.
import t from 'tap'
import { TestNet } from './helpers/net.ts'
import { prng, testSeed } from './helpers/seed.ts'
import { quickSigningCrypto } from './helpers/catchup.ts'
import { toHex } from '../protocol/bytes.ts'
import type { Engine } from '../protocol/engine/engine.ts'
import { authorRef, Kind, Precedence, signEnvelope } from '../protocol/envelope.ts'
import { MemoryStore } from '../protocol/memory-store.ts'
import type { Clock, Store, StoreOp, RangeOptions } from '../protocol/ports.ts'

type Rng = ReturnType<typeof prng>

/** A store whose writes land 1–4 ms after they are issued; `kill()` drops or lands (whole) each one in flight. */
class CrashingStore implements Store {
  readonly inner = new MemoryStore()
  readonly #clock: Clock
  readonly #rng: Rng
  #inFlight: Array<{ ops: StoreOp[] }> = []
  landedAtKill = 0
  droppedAtKill = 0
  /** Off while a node opens (nothing advances the clock then), on while it runs. */
  delayed = false

  constructor (clock: Clock, rng: Rng) { this.#clock = clock; this.#rng = rng }

  get (key: Uint8Array): Promise<Uint8Array | undefined> { return this.inner.get(key) }
  range (options: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]> { return this.inner.range(options) }
  async close (): Promise<void> {}

  batch (ops: StoreOp[]): Promise<void> {
    if (!this.delayed) return this.inner.batch(ops)
    const write = { ops }
    this.#inFlight.push(write)
    return new Promise((resolve, reject) => {
      this.#clock.schedule(1 + this.#rng.int(4), () => {
        if (!this.#inFlight.includes(write)) return // the process died first: never acknowledged
        this.#inFlight = this.#inFlight.filter(w => w !== write)
        this.inner.batch(ops).then(resolve, reject)
      })
    })
  }

  /** kill -9: each write in flight lands whole or not at all; none is acknowledged. */
  kill (): void {
    for (const w of this.#inFlight) {
      if (this.#rng.int(2) === 0) { this.inner.batchSync(w.ops); this.landedAtKill++ } else this.droppedAtKill++
    }
    this.#inFlight = []
  }
}

t.test('100 kill -9 cycles of a relay under load: both converge, nothing acknowledged is lost, nobody penalised', async t => {
  const rng = prng(testSeed(t))
  const penalties: string[] = []
  const signer = quickSigningCrypto() // the engines check 50,000 signatures of this test's own making: keyed hashes, not Ed25519
  const net = new TestNet({ reconcileIntervalMs: 5_000, gapGraceMs: 2_000 }, { penalised: (peer, reason) => { penalties.push(`${peer}: ${reason}`) } }, { record: false, crypto: signer })
  const store = new CrashingStore(net.clock, rng)
  const a = await net.node('a')
  const open = async (): Promise<Engine> => { store.delayed = false; const e = await net.node('b', {}, store); store.delayed = true; return e }
  let b = await open()
  const link = { latencyMs: 10, bandwidthBps: 20_000_000 }
  net.connect('a', 'b', link)
  const alice = net.author(1); const bob = net.author(2)
  const seqs = { alice: 0, bob: 0 }
  const acked = { alice: new Set<string>(), bob: new Set<string>() }
  const channel = new Uint8Array(8).fill(9)
  const post = (engine: Engine, who: 'alice' | 'bob'): void => {
    const keys = who === 'alice' ? alice : bob
    const env = signEnvelope(signer, {
      kind: Kind.message, precedence: rng.int(20) === 0 ? Precedence.flash : Precedence.routine, channel, author: authorRef(keys.publicKey),
      seq: ++seqs[who], hlc: engine.stamp(), ttlSeconds: 86_400, epoch: 1, deps: [], body: new Uint8Array(120).fill(seqs[who] % 251),
    }, keys.privateKey)
    engine.submit(env.bytes).then(() => { acked[who].add(toHex(env.id)) }, () => {}) // a submit cut short by the kill is not acknowledged
  }
  /** Runs `ms` in 50 ms steps, Alice posting at A and (if up) Bob at B in each; a link cut is redialled, as libp2p would. */
  const load = async (ms: number, bUp: boolean): Promise<void> => {
    for (let elapsed = 0; elapsed < ms; elapsed += 50) {
      for (let i = rng.int(4); i > 0; i--) post(a, 'alice')
      if (bUp && rng.int(2) === 0) post(b, 'bob')
      if (bUp && net.link('a', 'b') === undefined) net.connect('a', 'b', link)
      await net.run(Math.min(50, ms - elapsed))
    }
  }
  const cycles = Number(process.env.DDIL_CYCLES ?? 100)
  // Two long outages late on (the stores are small until then): Alice posts 12,000 and 25,000 meanwhile.
  const longOutages = new Map([[cycles - 16 - rng.int(10), 12_000], [cycles - 1 - rng.int(5), 25_000]])
  let lostAtRestart = 0
  for (let cycle = 0; cycle < cycles; cycle++) {
    await load(rng.int(3_000), true) // up, under load
    post(a, 'alice'); post(b, 'bob')
    await net.run(rng.int(5)) // the kill lands at a random moment, with writes in flight as often as not
    net.crash('b')
    store.kill()
    const outage = longOutages.get(cycle)
    if (outage !== undefined) {
      for (let i = 0; i < outage; i++) {
        post(a, 'alice')
        if (i % 500 === 499) await net.run(10) // Alice's client waits for acknowledgements now and then
      }
      await net.run(1_000)
    } else await load(rng.int(2_000), false)
    b = await open()
    lostAtRestart += [...acked.bob].filter(id => !b.probe.catalog.has(Buffer.from(id, 'hex').toString('latin1'))).length
    net.connect('a', 'b', link)
  }
  t.equal(lostAtRestart, 0, 'every envelope B acknowledged was in its store at each restart')

  const deadline = net.clock.now + 600_000
  while (net.clock.now < deadline && !(a.probe.catalog.size === b.probe.catalog.size && net.ids('a').join() === net.ids('b').join())) await load(1_000, true)
  const atA = new Set(net.ids('a')); const atB = new Set(net.ids('b'))
  t.same(net.ids('a'), net.ids('b'), `both relays hold the same ${atA.size} envelopes`)
  for (const who of ['alice', 'bob'] as const) {
    const missing = [...acked[who]].filter(id => !atA.has(id) || !atB.has(id))
    t.equal(missing.length, 0, `all ${acked[who].size} envelopes acknowledged to ${who} are at both relays`)
  }
  t.same(penalties, [], 'no peer was penalised off its link')
  t.same(net.disconnects, [], 'and no link was cut')
  t.equal(a.counters.refused + b.counters.refused, 0, 'nothing refused')
  t.comment(`${cycles} kills: ${store.landedAtKill} writes landed at the kill, ${store.droppedAtKill} dropped; ${acked.alice.size + acked.bob.size} acknowledged; long outages (cycle, posts) ${[...longOutages].map(([c, n]) => `${c}: ${n}`).join(', ')}`)
})
