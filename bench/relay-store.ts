/**
 * Relay at scale: fills a relay's LevelDB with N envelopes through the real engine
 * (DDIL_BENCH_STORED, default 1,000,000; --quick 50,000), then starts the real
 * `ddil start` daemon on that data directory and reports how long it took to open
 * (rebuilding its in-memory catalog and reconciliation set) and its RSS at rest,
 * beside a relay with an empty store measured in the same run.
 *
 * @example
 * DDIL_BENCH_STORED=200000 npm run bench -- relay-store
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { Relay, cleanupRelays, crypto } from '../test/helpers/relays.ts'
import { openLevelStore } from '../node/store/level-store.ts'
import { createEngine } from '../protocol/engine/engine.ts'
import { authorRef, Kind, signEnvelope } from '../protocol/envelope.ts'
import type { Clock } from '../protocol/ports.ts'
import type { BenchOptions, BenchResult } from './types.ts'

const clock: Clock = { nowMs: () => Date.now(), monotonicMs: () => performance.now(), schedule: (ms, fn) => { const h = setTimeout(fn, ms); return () => clearTimeout(h) } }

function rssMiB (pid: number | undefined): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? NaN : Math.round(Number(m[1]) / 1024)
}

async function preload (dataDir: string, n: number, log: (l: string) => void): Promise<number> {
  const store = await openLevelStore(join(dataDir, 'store'))
  const author = crypto.ed25519KeyPair(new Uint8Array(32).fill(77))
  const engine = createEngine({
    clock, crypto, store, transport: { send: () => false, disconnect () {} }, logger: { debug () {}, info () {}, warn () {}, error () {} },
    authoriser: { authorise: () => ({ ok: true, publicKey: author.publicKey }) },
  }, { nodeId: 'preload', purgeIntervalMs: 3_600_000, reconcileIntervalMs: 3_600_000, storageBytesMax: 16 * 1024 ** 3 })
  await engine.open()
  const t0 = performance.now()
  let next = 0
  const now = Date.now()
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (next < n) {
      const i = next++
      const env = signEnvelope(crypto, {
        kind: Kind.message, precedence: (i % 4) as 0, channel: new Uint8Array(8).fill(i % 13), author: authorRef(author.publicKey),
        seq: i + 1, hlc: { ms: now, c: i % 60000 }, ttlSeconds: 7 * 86400, epoch: 1, deps: [], body: new Uint8Array(140).fill(i % 251),
      }, author.privateKey)
      await engine.submit(env.bytes)
      if (i % 100_000 === 0 && i > 0) log(`  ${i} stored`)
    }
  }))
  const ms = performance.now() - t0
  engine.close()
  await store.close()
  return ms
}

export async function bench (options: BenchOptions): Promise<BenchResult> {
  const n = Number(process.env.DDIL_BENCH_STORED ?? (options.quick ? 50_000 : 1_000_000))
  const [empty, full] = await Promise.all(['store-empty', 'store-full'].map(name => Relay.init(name)))
  empty.writeConfig({ authors: [empty] }); full.writeConfig({ authors: [full] })
  try {
    options.log(`preloading ${n} envelopes…`)
    const loadMs = await preload(full.dataDir, n, options.log)
    let t0 = performance.now()
    await empty.start()
    const emptyStartMs = performance.now() - t0
    t0 = performance.now()
    await full.start()
    const fullStartMs = performance.now() - t0
    await new Promise(resolve => setTimeout(resolve, 2000))
    const s = await full.status()
    if (s.envelopes !== n) throw new Error(`relay opened with ${s.envelopes} of ${n} envelopes`)
    return {
      rows: [
        { measure: 'preload through engine + LevelDB', value: Math.round(n / (loadMs / 1000)), unit: 'envelopes/s' },
        { measure: 'start, empty store', value: Math.round(emptyStartMs), unit: 'ms' },
        { measure: `start, ${n} envelopes (catalog rebuilt)`, value: Math.round(fullStartMs), unit: 'ms' },
        { measure: 'RSS at rest, empty store', value: rssMiB(empty.child?.pid), unit: 'MiB' },
        { measure: `RSS at rest, ${n} envelopes`, value: rssMiB(full.child?.pid), unit: 'MiB' },
      ],
      notes: [`${n} envelopes of ${1 + 8 + 8 + 3 + 7 + 3 + 1 + 1 + 140 + 64} B in 13 channels; both relays started in the same run.`],
    }
  } finally {
    await empty.kill('SIGTERM'); await full.kill('SIGTERM')
    cleanupRelays()
  }
}
