/**
 * Honest traffic under hostile peers (issue 28): two real relays on loopback, H posting
 * 20 messages a second to a channel that target T carries, and in each phase an
 * allowlisted attacker (a raw libp2p host speaking the sync protocol) flooding T one
 * way. For each phase: the honest messages' latency from H's client API to T's (p50,
 * p99, and p99 as a ratio to the unattacked phase in the same run), whether T cut the
 * attacker, and T's RSS growth.
 *
 * Phases: `none`; `reconcile-unread` (fresh reconciliation sessions, never reading the
 * replies); `have-unread` (announcements of ids T lacks, never reading its wants);
 * `prune` (prunes of random authors); `unknown-authors` (validly signed envelopes by
 * authors of no channel T knows, which it can only hold pending).
 *
 * @example
 * npm run bench -- hostile --json
 */
import { readFileSync } from 'node:fs'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { Relay, cleanupRelays, waitFor } from '../test/helpers/relays.ts'
import { createHost } from '../node/p2p/host.ts'
import { syncProtocol } from '../node/p2p/link.ts'
import { encodeFrame as lengthPrefixed } from '../node/p2p/frame-codec.ts'
import { createNodeCrypto } from '../node/crypto.ts'
import { encodeFrame, FrameType, linkVersion } from '../protocol/frames.ts'
import { authorRef, Kind, signEnvelope } from '../protocol/envelope.ts'
import { idKey } from '../protocol/engine/catalog.ts'
import { initiate, ReconcileSet } from '../protocol/reconcile/index.ts'
import { toHex } from '../protocol/bytes.ts'
import type { BenchOptions, BenchResult } from './types.ts'

const crypto = createNodeCrypto()
const honestPerSecond = 20

type Attack = (send: (frame: Uint8Array) => Promise<void>, i: number) => Uint8Array
const phases: Record<string, Attack | undefined> = {
  none: undefined,
  'reconcile-unread': (_s, i) => encodeFrame({ type: FrameType.reconcile, session: i + 1, payload: reconcileOpening }),
  'have-unread': (_s, i) => encodeFrame({ type: FrameType.have, ids: Array.from({ length: 1024 }, (_, k) => crypto.sha256(new Uint8Array([i & 255, i >> 8, i >> 16, k & 255, k >> 8]))) }),
  prune: (_s, i) => encodeFrame({ type: FrameType.prune, author: crypto.sha256(new Uint8Array([i & 255, i >> 8, i >> 16])).slice(0, 8) }),
  'unknown-authors': (_s, i) => encodeFrame({ type: FrameType.envelope, envelope: strangerEnvelope(i) }),
}

const reconcileOpening = ((): Uint8Array => {
  const set = new ReconcileSet()
  for (let i = 0; i < 5000; i++) set.add(idKey(crypto.sha256(new Uint8Array([i & 255, i >> 8]))))
  return initiate(set, { frameBytesMax: 60_000 }).message
})()

const stranger = crypto.ed25519KeyPair(new Uint8Array(32).fill(0x5a))
function strangerEnvelope (i: number): Uint8Array {
  return signEnvelope(crypto, { kind: Kind.message, precedence: 3, channel: crypto.sha256(new Uint8Array([i & 255, i >> 8])).slice(0, 8), author: authorRef(stranger.publicKey), seq: i + 1, hlc: { ms: Date.now(), c: 0 }, ttlSeconds: 600, epoch: 0, deps: [], body: new Uint8Array(200) }, stranger.privateKey).bytes
}

function rssMiB (pid: number | undefined): number {
  if (pid === undefined) return NaN
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? NaN : Math.round(Number(m[1]) / 1024)
}

function quantile (xs: number[], q: number): number {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((x, y) => x - y)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}

/** Floods T from a fresh attacker until `stop`; returns whether T cut it. */
async function attack (target: Relay, make: Attack, stop: Promise<void>): Promise<boolean> {
  const host = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: [], start: true })
  let stream: Stream | undefined
  try {
    stream = await host.dialProtocol(multiaddr(target.addr), syncProtocol)
    const s = stream
    const send = async (frame: Uint8Array): Promise<void> => {
      if (!s.send(lengthPrefixed(frame))) await Promise.race([new Promise(resolve => s.addEventListener('drain', resolve, { once: true })), stop])
    }
    await send(encodeFrame({ type: FrameType.hello, versionMin: linkVersion, versionMax: linkVersion, frameBytesMax: 65_536, nowMs: Date.now() }))
    let stopped = false
    void stop.then(() => { stopped = true })
    // Not reading: no 'message' listener, so T's replies back up on its side.
    for (let i = 0; !stopped && s.status === 'open'; i++) {
      await send(make(send, i))
      if (i % 64 === 0) await new Promise(resolve => setImmediate(resolve))
    }
    return s.status !== 'open'
  } catch {
    return true // refused or reset: cut
  } finally {
    await host.stop()
  }
}

export async function bench (options: BenchOptions): Promise<BenchResult> {
  const phaseMs = options.quick ? 3_000 : 15_000
  const [h, target] = await Promise.all(['hostile-h', 'hostile-t'].map(n => Relay.init(n)))
  h.writeConfig({ authors: [h, target], dial: [target] })
  target.writeConfig({ authors: [h, target] })
  try {
    await Promise.all([h.start(), target.start()])
    await waitFor('H linked to T', async () => (await h.status()).peers.some((p: { ready: boolean }) => p.ready) ? true : undefined)
    const sh = await h.channels()
    const { channel } = await sh.cc.createChannel({ name: 'hostile' })
    const tc = await target.client()
    const arrived = new Map<string, number>()
    await tc.subscribe(channel, { backlog: 0 }, env => { arrived.set(toHex(env.id), performance.now()) })
    const rows: Array<Record<string, number | string | boolean>> = []
    let baselineP99 = NaN
    for (const [name, make] of Object.entries(phases)) {
      options.log(`phase ${name}…`)
      const rssBefore = rssMiB(target.child?.pid)
      let endPhase = (): void => {}
      const stop = new Promise<void>(resolve => { endPhase = resolve })
      const attacked = make === undefined ? Promise.resolve(false) : attack(target, make, stop)
      const sent: Array<{ key: string, at: number }> = []
      const t0 = performance.now()
      while (performance.now() - t0 < phaseMs) {
        const at = performance.now()
        const env = await sh.cc.sendText(channel, `honest ${name} ${sent.length}`)
        sent.push({ key: toHex(env.id), at })
        const next = t0 + (sent.length * 1000) / honestPerSecond
        await new Promise(resolve => setTimeout(resolve, Math.max(0, next - performance.now())))
      }
      endPhase()
      const cut = await attacked
      await waitFor(`honest messages of ${name} at T`, () => sent.every(s => arrived.has(s.key)) ? true : undefined, { patienceMs: 600_000 })
      const latencies = sent.map(s => (arrived.get(s.key) as number) - s.at)
      const p99 = quantile(latencies, 0.99)
      if (name === 'none') baselineP99 = p99
      rows.push({
        phase: name, honest_messages: sent.length, latency_p50_ms: Math.round(quantile(latencies, 0.5) * 10) / 10, latency_p99_ms: Math.round(p99 * 10) / 10,
        p99_vs_unattacked: Math.round(p99 / baselineP99 * 100) / 100, attacker_cut: make === undefined ? 'n/a' : cut, target_rss_growth_mib: rssMiB(target.child?.pid) - rssBefore,
      })
    }
    await tc.close(); await sh.close()
    return { rows, notes: [`${honestPerSecond} honest messages/s from H through to T's client API; each phase ${phaseMs / 1000} s, a fresh attacker each; target: honest p99 within 2x of the unattacked phase`] }
  } finally {
    for (const r of [h, target]) await r.kill('SIGKILL')
    cleanupRelays()
  }
}
