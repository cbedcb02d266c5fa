// Real `ddil start` processes: relay B is killed with SIGKILL at random moments (seeded) while
// clients post at A and at B, and restarted, cycle after cycle; once B is away while A's user
// posts 12,000 messages (the old sequence window refused such a jump and cut the link). In
// the end both relays hold the same envelopes, every message either client was told was
// stored is in both stores, and neither relay penalised the other. A cycle takes about 6 s on
// two cores (a start is ~3 s), so 100 real cycles would take ten minutes: this runs
// DDIL_REAL_CYCLES (default 6, under a minute on an idle machine; 20 took two), and
// test/engine-crash-catchup.test.ts runs 100 on the engine with a crash-faithful store.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { Relay, waitFor, cleanupRelays, crypto } from './helpers/relays.ts'
import { prng, testSeed } from './helpers/seed.ts'
import { fromHex, toHex } from '../protocol/bytes.ts'
import { MessageLog } from '../protocol/engine/log.ts'
import { openLevelStore } from '../node/store/level-store.ts'
import { randomBytes } from 'node:crypto'
import { deviceSeed, nextSequence } from '../node/cli/local-channel.ts'
import { ChannelClient } from '../protocol/channel/client.ts'

const bin = new URL('../node/cli/bin.js', import.meta.url).pathname

t.teardown(cleanupRelays)

/**
 * Posts text messages with `send`, `inflight` at a time; acknowledged ids go to `acked`.
 * `continuous` posts until `stop()`; otherwise the loops rest until `count(n)` asks for n
 * more (the relay is loaded with what the test needs, not with whatever fits in its waits).
 * `count(n)` returns once n more were acknowledged (or the relay went away).
 */
function poster (send: (text: string) => Promise<Uint8Array>, label: string, acked: Set<string>, inflight: number, continuous: boolean): { stop: () => Promise<void>, count: (n: number) => Promise<void> } {
  let running = true
  let i = 0
  let target = continuous ? Infinity : 0
  let resting: Array<() => void> = []
  const wakeAll = (): void => { const rs = resting; resting = []; for (const r of rs) r() }
  const loop = async (): Promise<void> => {
    while (running) {
      if (i >= target) { await new Promise<void>(resolve => { resting.push(resolve) }); continue }
      i++
      try { acked.add(toHex(await send(`${label} ${i}`))) } catch { return } // the relay went away: not acknowledged
    }
  }
  const loops = Array.from({ length: inflight }, loop)
  return {
    stop: async () => { running = false; wakeAll(); await Promise.all(loops) },
    count: async (n) => {
      const goal = acked.size + n
      if (!continuous) { target = i + n; wakeAll() }
      await waitFor(`${n} more acknowledged`, () => acked.size >= goal || !running ? true : undefined, { patienceMs: 300_000 })
    },
  }
}

/** Audit entries in which `relay` refused `peer` (the engine's penalty disconnects are audited so). */
function refusalsOf (relay: Relay, peer: Relay): string[] {
  const out = spawnSync(process.execPath, [bin, 'audit', 'export', '--data', relay.dataDir], { encoding: 'utf8', timeout: 60_000 }).stdout
  return out.split('\n').filter(l => l.includes('"peer.refused"') && l.includes(peer.nodeId))
}

t.test('SIGKILL cycles of a relay under load: both converge, nothing acknowledged is lost, nobody penalised', async t => {
  const rng = prng(testSeed(t))
  const cycles = Number(process.env.DDIL_REAL_CYCLES ?? 6)
  const [a, b] = await Promise.all(['crash-a', 'crash-b'].map(n => Relay.init(n)))
  // A bulk load through one connection: the client API's per-connection rate (50/s by default) raised, as docs/CONFIG.md advises.
  a.writeConfig({ authors: [a, b], requestsPerSecond: 5000 })
  b.writeConfig({ authors: [a, b], dial: [a], requestsPerSecond: 5000 })
  t.teardown(async () => { for (const r of [a, b]) await r.kill('SIGKILL') })
  await a.start(); await b.start()
  const linked = async (): Promise<void> => { await waitFor('B linked to A', async () => (await b.status()).peers.some((p: any) => p.ready) ? true : undefined) }
  await linked()

  const sa = await a.channels()
  const { channel } = await sa.cc.createChannel({ name: 'ops' })
  await sa.cc.addMember(channel, { ed: b.user.ed25519.publicKey, x: b.user.x25519.publicKey })
  // B's user keeps one ChannelClient (it learns the channel's keys once, before the load) and
  // reconnects to B's client API after each restart; sequence numbers are reserved durably in
  // B's data directory, as the CLI does, so a kill never makes it reuse one.
  let clientB = await b.client()
  const ccB: ChannelClient = new ChannelClient({
    crypto, randomBytes: n => new Uint8Array(randomBytes(n)), nowMs: () => Date.now(), deviceSeed: deviceSeed(b.dataDir),
    node: { submit: bytes => clientB.submit(bytes), stamp: () => clientB.stamp() },
    reserveSeq: hex => nextSequence(b.dataDir, hex, ccB.highestSeq(fromHex(hex), b.user.ed25519.publicKey)),
  }, b.user)
  await clientB.subscribe(channel, { backlog: 1 }, env => { ccB.receiveAll(env.bytes) })
  await waitFor('B\'s user holds the channel keys', () => { try { return ccB.state(channel) !== undefined ? true : undefined } catch { return undefined } })
  const ackedA = new Set<string>(); const ackedB = new Set<string>()
  const atA = poster(async text => (await sa.cc.sendText(channel, text)).id, 'a', ackedA, 16, false)
  const longOutage = 1 + rng.int(Math.max(1, cycles - 2))
  const began = performance.now()
  for (let cycle = 0; cycle < cycles; cycle++) {
    if (cycle > 0) clientB = await b.client()
    const atB = poster(async text => (await ccB.sendText(channel, text)).id, 'b', ackedB, 2, true)
    const atAWhileUp = atA.count(20 + rng.int(200))
    await atB.count(1 + rng.int(40)) // up, under load at both, for a random while
    await b.kill('SIGKILL') // at a random moment: writes in flight at B as often as not
    await atB.stop(); await clientB.close().catch(() => {})
    await atAWhileUp
    if (cycle === longOutage) await atA.count(12_000)
    else await atA.count(rng.int(300))
    await b.start()
    await linked()
    t.comment(`cycle ${cycle + 1}: ${ackedA.size} acknowledged at A, ${ackedB.size} at B, ${Math.round(performance.now() - began)} ms`)
  }
  await atA.stop()

  const total = (): Promise<number[]> => Promise.all([a.status(), b.status()]).then(ss => ss.map(s => s.envelopes))
  const [na, nb] = await waitFor('both relays to hold the same envelopes', async () => {
    const [x, y] = await total()
    return x === y && x >= ackedA.size + ackedB.size ? [x, y] : undefined
  }, { patienceMs: 300_000 })
  t.equal(na, nb, `both hold ${na} envelopes`)
  t.equal((await a.status()).counters.peersPenalised, 0, 'A never cut B')
  await sa.close()
  await a.kill('SIGTERM'); await b.kill('SIGTERM')
  t.same(refusalsOf(a, b), [], 'A\'s audit log records no refusal of B')
  t.same(refusalsOf(b, a), [], 'B\'s audit log records no refusal of A')
  for (const relay of [a, b]) {
    const store = await openLevelStore(join(relay.dataDir, 'store'))
    const log = new MessageLog(store, x => crypto.sha256(x))
    let missing = 0
    for (const id of [...ackedA, ...ackedB]) if (await log.get(fromHex(id)) === undefined) missing++
    await store.close()
    t.equal(missing, 0, `${relay.name} holds all ${ackedA.size} messages acknowledged at A and ${ackedB.size} at B`)
  }
  t.comment(`${cycles} SIGKILLs of B; the long outage (12,000 messages at A) before restart ${longOutage + 1}`)
})
