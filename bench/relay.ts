/**
 * Relay benchmark: three real `ddil start` processes on loopback in a chain A–B–C.
 * End-to-end latency A→C (submit at A's client API until C's client API delivers) at
 * low load, p50 and p99; sustained messages per second submitted at A and arriving at
 * C; RSS of each node at rest and after it stores `DDIL_BENCH_STORED` envelopes
 * (default 1,000,000; --quick 5,000, enough to see that it runs).
 *
 * @example
 * npm run bench -- relay --json
 */
import { readFileSync } from 'node:fs'
import { Relay, waitFor, cleanupRelays } from '../test/helpers/relays.ts'
import { toHex } from '../protocol/bytes.ts'
import type { BenchOptions, BenchResult } from './types.ts'

function rssMiB (pid: number | undefined): number {
  if (pid === undefined) return NaN
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? NaN : Math.round(Number(m[1]) / 1024)
}

function quantile (xs: number[], q: number): number {
  const s = [...xs].sort((x, y) => x - y)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}

export async function bench (options: BenchOptions): Promise<BenchResult> {
  const stored = Number(process.env.DDIL_BENCH_STORED ?? (options.quick ? 5_000 : 1_000_000))
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(n => Relay.init(`bench-${n}`)))
  const all = [a, b, c]
  // The load goes through one client connection, as a gateway's would: A's rate is raised as such an operator would.
  a.writeConfig({ authors: all, requestsPerSecond: 5000 }); b.writeConfig({ authors: all, dial: [a, c] }); c.writeConfig({ authors: all })
  try {
    await a.start(); await c.start(); await b.start()
    await waitFor('B linked', async () => (await b.status()).peers.filter((p: { ready: boolean }) => p.ready).length === 2 ? true : undefined)
    const rest = all.map(r => rssMiB(r.child?.pid))
    const sa = await a.channels()
    const { channel } = await sa.cc.createChannel({ name: 'bench' })
    await sa.cc.addMember(channel, { ed: c.user.ed25519.publicKey, x: c.user.x25519.publicKey })
    const sc = await c.channels()
    const arrived = new Map<string, number>()
    await sc.open(toHex(channel), r => { if (r.type === 'text') arrived.set(toHex(r.id), performance.now()) })
    await waitFor('C holds the channel keys', () => { try { return sc.cc.state(channel) !== undefined ? true : undefined } catch { return undefined } })

    options.log('latency at low load…')
    const latencies: number[] = []
    for (let i = 0; i < (options.quick ? 30 : 200); i++) {
      const t0 = performance.now()
      const env = await sa.cc.sendText(channel, `latency probe ${i}`)
      const key = toHex(env.id)
      await waitFor('probe at C', () => arrived.has(key) ? true : undefined)
      latencies.push((arrived.get(key) as number) - t0)
    }
    options.log(`throughput and storage: ${stored} envelopes…`)
    const inflight = 32
    let next = 0
    const t0 = performance.now()
    const ids: string[] = []
    await Promise.all(Array.from({ length: inflight }, async () => {
      while (next < stored) {
        const i = next++
        ids.push(toHex((await sa.cc.sendText(channel, `load ${i} `.padEnd(100, '.'))).id))
        if (i % 50_000 === 0 && i > 0) options.log(`  ${i} submitted`)
      }
    }))
    const submittedMs = performance.now() - t0
    await waitFor('all at C', async () => (await c.status()).envelopes >= stored + latencies.length + 3 ? true : undefined, { patienceMs: 3_600_000 })
    const arrivedMs = performance.now() - t0
    const loaded = all.map(r => rssMiB(r.child?.pid))
    await sa.close(); await sc.close()
    const rows = [
      { measure: 'latency A→C at low load, p50', value: Number(quantile(latencies, 0.5).toFixed(1)), unit: 'ms' },
      { measure: 'latency A→C at low load, p99', value: Number(quantile(latencies, 0.99).toFixed(1)), unit: 'ms' },
      { measure: 'submitted at A (acknowledged, durable)', value: Math.round(stored / (submittedMs / 1000)), unit: 'msg/s' },
      { measure: 'sustained A→C (all stored at C)', value: Math.round(stored / (arrivedMs / 1000)), unit: 'msg/s' },
      ...all.map((r, i) => ({ measure: `RSS ${r.name.slice(-1).toUpperCase()} at rest`, value: rest[i], unit: 'MiB' })),
      ...all.map((r, i) => ({ measure: `RSS ${r.name.slice(-1).toUpperCase()} holding ${stored + latencies.length} envelopes`, value: loaded[i], unit: 'MiB' })),
    ]
    return { rows, notes: [`${ids.length} encrypted text messages of 100 characters (about 230 B as envelopes), 32 in flight through A's client API (sequence numbers reserved durably before each), on a governed channel; three relay processes and the client on one 2-core machine.`] }
  } finally {
    for (const r of all) await r.kill('SIGTERM')
    cleanupRelays()
  }
}
