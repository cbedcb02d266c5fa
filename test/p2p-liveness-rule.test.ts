// Link liveness (node/p2p/liveness.ts, #26) without a network: the rule on a hand-moved
// clock; the watch over stand-in connections (a probe answered keeps a quiet link, an
// unanswered one cuts it); the muxer ping it relies on, present on our hosts' connections;
// and the redialer's quick, abandoned-and-renewed dials to a peer that was just connected.
// The same over real relays and a silent wire: p2p-liveness.test.ts.
import t from 'tap'
import type { Connection, Libp2p, PeerId as Libp2pPeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { LinkLiveness, LivenessWatch, defaultLivenessLimits, muxerPing } from '../node/p2p/liveness.ts'
import { startRedialer } from '../node/p2p/redial.ts'
import { createHost } from '../node/p2p/host.ts'
import { seededKey } from './helpers/p2p-hosts.ts'
import { waitUntil } from './helpers/wait.ts'

t.test('the rule: probe after a third of the limit, dead after all of it; slow links wait longer', async t => {
  const lan = new LinkLiveness(defaultLivenessLimits, 0, 0, 0.3)
  t.equal(lan.silenceMsMax, 3000, 'a LAN link: the 3 s floor')
  t.equal(lan.verdict(999), 'ok', 'quiet for less: fine')
  t.equal(lan.verdict(1000), 'probe', 'quiet for a third of it: probe')
  t.equal(lan.verdict(3000), 'dead', 'quiet for all of it: dead')
  lan.heard(2900)
  t.equal(lan.verdict(3000), 'ok', 'anything arriving starts the count again')
  lan.heard(100)
  t.equal(lan.quietMs(3000), 100, 'an older arrival changes nothing')

  // 9.6 kbps paced at 90%, 2 KiB frames: 1896 ms each; 80 ms round trip (2 × the declared 40 ms).
  const frameMs = 2048 * 8000 / 8640
  const radio = new LinkLiveness(defaultLivenessLimits, 0, frameMs, 80)
  t.equal(Math.round(radio.silenceMsMax), Math.round(3 * (80 + 2 * frameMs)), `a 9.6 kbps radio idle: ${Math.round(radio.silenceMsMax)} ms`)
  radio.measured(2000)
  const loaded = radio.silenceMsMax
  t.equal(Math.round(loaded), Math.round(3 * (2000 + 2 * frameMs)), `loaded (a 2 s round trip behind its queue): ${Math.round(loaded)} ms`)
  radio.measured(80)
  t.ok(radio.silenceMsMax < loaded && radio.silenceMsMax > loaded - 3000, 'a shorter round trip is taken in slowly')
  radio.measured(Number.NaN)
  radio.measured(-1)
  t.ok(Number.isFinite(radio.silenceMsMax), 'nonsense measurements are ignored')
})

/**
 * A stand-in connection whose muxer ping answers at once, reporting `answerMs` as its round
 * trip, or never. At once, not after a timer: on a loaded machine a timer can fire after the
 * probe's own deadline, and the test would cut a link that did answer.
 */
function standIn (answerMs: number | undefined): Connection & { aborted: boolean } {
  const c = {
    rtt: undefined,
    aborted: false,
    muxer: {
      ping: async ({ signal }: { signal: AbortSignal }) => await new Promise<number>((resolve, reject) => {
        if (answerMs !== undefined) queueMicrotask(() => { resolve(answerMs) })
        signal.addEventListener('abort', () => { reject(signal.reason) })
      }),
    },
    abort: () => { c.aborted = true },
  }
  return c as unknown as Connection & { aborted: boolean }
}

t.test('the watch probes quiet links: an answered link stays, a silent one is cut', async t => {
  const silent: string[] = []
  const watch = new LivenessWatch({
    limits: { silenceMsMin: 300, roundTrips: 3, checkEveryMs: 20 },
    onSilent: (peer, connection) => { silent.push(peer); connection.abort(new Error('silent')) },
  })
  t.teardown(() => { watch.close() })
  const [answering, dead, noMuxer] = [standIn(5), standIn(undefined), { rtt: undefined } as unknown as Connection]
  const never = (): number => Number.NEGATIVE_INFINITY
  watch.add('answering', answering, { heardAtMs: never, frameMs: 0, rttMs: undefined })
  watch.add('dead', dead, { heardAtMs: never, frameMs: 0, rttMs: undefined })
  watch.add('no-muxer', noMuxer, { heardAtMs: never, frameMs: 0, rttMs: undefined })
  const started = performance.now()
  await waitUntil('the silent link cut', () => dead.aborted)
  const tookMs = performance.now() - started
  t.ok(tookMs >= 300, `cut after ${Math.round(tookMs)} ms of silence, not before its 300 ms limit`)
  // Three more limits' worth: the answering link is probed again and again and stays.
  await waitUntil('three more limits to pass', () => performance.now() - started > 1200 ? true : undefined)
  t.same(silent, ['dead'], 'only the link whose probes went unanswered was cut; one whose muxer cannot ping is not watched')
  t.notOk(answering.aborted, 'the answering link is still open')
})

t.test('our hosts\' connections have the muxer ping the watch relies on', async t => {
  const hosts = await Promise.all([31, 32].map(async seed => {
    const host = await createHost({ privateKey: await seededKey(seed), listen: ['/ip4/127.0.0.1/tcp/0'] })
    t.teardown(async () => { await host.stop() })
    return host
  }))
  const connection = await hosts[0].dial(multiaddr(hosts[1].getMultiaddrs()[0]))
  const ping = muxerPing(connection)
  t.ok(ping !== undefined, 'yamux exposes ping on the connection\'s muxer (not libp2p\'s public API: this test guards it)')
  const rtt = await ping?.({ signal: AbortSignal.timeout(5000) })
  t.ok(typeof rtt === 'number' && rtt >= 0, `answered: ${rtt} ms`)
})

t.test('a peer just connected is redialled quickly while out of reach, each dial abandoned unless it connects in time', async t => {
  const peer = (await createHost({ privateKey: await seededKey(33), listen: [], start: false })).peerId
  const events = new EventTarget()
  const dials: Array<{ atMs: number, abortedAtMs?: number }> = []
  let reachable = false
  const fakeHost = {
    status: 'started',
    getConnections: () => [],
    addEventListener: events.addEventListener.bind(events),
    removeEventListener: events.removeEventListener.bind(events),
    // Out of reach, nothing ever connects and the dial ends only when its signal aborts;
    // reachable, the transport connects and the handshake is refused.
    dial: async (_addrs: unknown, options: { signal: AbortSignal, onProgress: (evt: { type: string }) => void }) => await new Promise((_resolve, reject) => {
      const dial: { atMs: number, abortedAtMs?: number } = { atMs: performance.now() }
      dials.push(dial)
      if (reachable) {
        options.onProgress({ type: 'upgrader:encrypt-outbound-connection' })
        dial.abortedAtMs = performance.now()
        reject(new Error('refused'))
        return
      }
      options.signal.addEventListener('abort', () => { dial.abortedAtMs = performance.now(); reject(options.signal.reason) })
    }),
  } as unknown as Libp2p
  const redialer = startRedialer(fakeHost, [{ peer, addrs: [multiaddr(`/ip4/127.0.0.1/tcp/9/p2p/${peer.toString()}`)] }], {
    delayMsMin: 1000, delayMsMax: 60_000, backoffFactor: 2, jitterFraction: 0, recentForMs: 60_000, recentDelayMs: 20, connectWaitMs: 100, dialTimeoutMs: 10_000,
  })
  t.teardown(() => { redialer.stop() })
  await waitUntil('the first dial abandoned', () => dials[0]?.abortedAtMs !== undefined)
  t.ok((dials[0].abortedAtMs as number) - dials[0].atMs < 1000, 'a dial that does not connect is abandoned after connectWaitMs, not the whole dial timeout')
  // The peer was connected and dropped (a link cut for silence): from now on, no backoff.
  events.dispatchEvent(new CustomEvent<Libp2pPeerId>('peer:connect', { detail: peer }))
  events.dispatchEvent(new CustomEvent<Libp2pPeerId>('peer:disconnect', { detail: peer }))
  const first = dials.length
  await waitUntil('four more dials', () => dials.length >= first + 4 ? true : undefined)
  const gaps = dials.slice(first).map((d, i, all) => i === 0 ? 0 : d.atMs - (all[i - 1].abortedAtMs as number)).slice(1)
  t.ok(gaps.every(ms => ms < 500), `redialled ${gaps.map(Math.round).join(', ')} ms after each abandoned dial, not after a doubling delay from 1 s`)
  // Now the peer answers and refuses (its gater keeps us away): back to the backoff.
  reachable = true
  const refusedFrom = dials.length
  await waitUntil('a dial that reaches the peer', () => dials.length > refusedFrom ? true : undefined)
  const refusedAtMs = performance.now()
  await waitUntil('another half a second', () => performance.now() - refusedAtMs > 500 ? true : undefined)
  t.equal(dials.length, refusedFrom + 1, 'a peer that was reached and refused is not redialled at the quick pace but backs off (from 1 s here)')
})
