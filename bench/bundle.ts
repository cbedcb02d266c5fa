/**
 * Air-gap bundle benchmark (#27). Three real `ddil start` processes (LevelDB) on loopback.
 * A holds one governed channel of N encrypted texts (20,000; `--quick` 2,000), sent through
 * its client API by its operator's channel session, as `ddil send` does. Measured in the same
 * run, each from a relay that has not seen them:
 * - export: A writes the channel to a bundle file (`client.bundleExport`, from request to reply);
 * - import: B, never linked to anyone, imports that file (`client.bundleImport`, request to reply);
 * - network: C, started with A as its static peer, catches up over libp2p (TCP, Noise, yamux),
 *   from the first reading of C's /status that shows A linked until the first that shows
 *   every envelope stored (read every `pollEveryMs`).
 * The result is export and import envelopes/s as ratios of the network rate; absolute rates
 * move with the machine's load.
 *
 * @example
 * npm run bench -- bundle --quick
 * npm run bench -- bundle --json
 */
import { readFileSync } from 'node:fs'
import { loadavg } from 'node:os'
import { join } from 'node:path'
import { cleanupRelays, Relay, root, waitFor } from '../test/helpers/relays.ts'
import { requestRatePerSecondMax } from '../node/api/limits.ts'
import { allPrecedences } from '../protocol/bundle/format.ts'
import { round } from './_files-sim.ts'
import type { BenchOptions, BenchResult } from './types.ts'

type Row = Record<string, string | number | boolean | null>

/** Texts in the channel: a full run stays near 2 minutes on a shared 2-core machine; `--quick` keeps the smoke run near 10 s. */
const sizes = { full: 20_000, quick: 2_000 }
/** Texts in flight through A's client API while the channel is filled (as the relay benchmark). */
const inflight = 32
/** How often C's /status is read while it catches up, ms (the network time's resolution). */
const pollEveryMs = 20
const patienceMs = 600_000

/** Peak resident set of a process so far (VmHWM), MiB; NaN where unreadable. */
function peakRssMiB (pid: number | undefined): number {
  if (pid === undefined) return NaN
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m === null ? NaN : Math.round(Number(m[1]) / 1024)
}

/** Fills a new channel on A with `n` texts of about 100 characters; its reference. */
async function fill (a: Relay, n: number, log: (line: string) => void): Promise<{ channel: Uint8Array, ms: number }> {
  const sa = await a.channels()
  try {
    const { channel } = await sa.cc.createChannel({ name: 'bench-bundle' })
    let next = 0
    const t0 = performance.now()
    await Promise.all(Array.from({ length: inflight }, async () => {
      while (next < n) {
        const i = next++
        await sa.cc.sendText(channel, `bundle ${i} `.padEnd(100, '.'))
        if (i % 5_000 === 0 && i > 0) log(`  ${i} sent`)
      }
    }))
    return { channel, ms: performance.now() - t0 }
  } finally {
    await sa.close()
  }
}

/** C catches up from A: the window from link-up seen to all held, and the envelopes it covers. */
async function catchUp (a: Relay, c: Relay, target: number): Promise<{ fromStartMs: number, windowMs: number, envelopes: number, wireBytes: number }> {
  const sentBefore = (await a.status()).counters.payloadBytesSent as number
  const t0 = performance.now()
  await c.start()
  let linked: { t: number, held: number } | undefined
  const doneAt = await waitFor(`C to hold all ${target} envelopes`, async () => {
    const s = await c.status()
    const t = performance.now()
    if (linked === undefined && s.peers.some((p: { ready: boolean }) => p.ready)) linked = { t, held: s.envelopes }
    return linked !== undefined && s.envelopes >= target ? t : undefined
  }, { everyMs: pollEveryMs, patienceMs })
  const l = linked as { t: number, held: number }
  return { fromStartMs: doneAt - t0, windowMs: doneAt - l.t, envelopes: target - l.held, wireBytes: (await a.status()).counters.payloadBytesSent - sentBefore }
}

export async function bench (options: BenchOptions): Promise<BenchResult> {
  const n = options.quick ? sizes.quick : sizes.full
  const loadBefore = loadavg()[0]
  const [a, b, c] = await Promise.all(['a', 'b', 'c'].map(x => Relay.init(`bench-bundle-${x}`)))
  // A takes the texts through one client connection: its request rate raised as for a bulk import.
  a.writeConfig({ authors: [a], requestsPerSecond: requestRatePerSecondMax }); b.writeConfig({ authors: [a] }); c.writeConfig({ authors: [a], dial: [a] })
  const file = join(root, 'bench.ddil')
  try {
    await Promise.all([a.start(), b.start()])
    options.log(`filling A with ${n} texts…`)
    const filled = await fill(a, n, options.log)
    const held = (await a.status()).envelopes as number

    options.log('export from A…')
    const ca = await a.client()
    let t0 = performance.now()
    const exported = await ca.bundleExport({ path: file, channels: [filled.channel], precedences: allPrecedences, sinceMs: 0 })
    const exportMs = performance.now() - t0
    await ca.close()

    options.log('import into B…')
    const cb = await b.client()
    t0 = performance.now()
    const imported = await cb.bundleImport(file)
    const importMs = performance.now() - t0
    await cb.close()

    options.log('C catching up from A over libp2p…')
    const net = await catchUp(a, c, held)

    const rates = { export: exported.envelopes / (exportMs / 1000), import: imported.added / (importMs / 1000), network: net.envelopes / (net.windowMs / 1000) }
    const row = (path: string, envelopes: number, ms: number, rate: number, bytesPerEnvelope: number, relay: Relay): Row => ({
      path, envelopes, expected: held, seconds: round(ms / 1000, 3), envelopes_per_s: Math.round(rate),
      ratio_vs_network: round(rate / rates.network, 3), bytes_per_envelope: round(bytesPerEnvelope, 1), peak_rss_mib: peakRssMiB(relay.child?.pid),
    })
    const rows = [
      row('export (A writes the bundle)', exported.envelopes, exportMs, rates.export, exported.bytes / exported.envelopes, a),
      row('import (B, never linked)', imported.added, importMs, rates.import, exported.bytes / exported.envelopes, b),
      row('network (C dials A, loopback)', (await c.status()).envelopes, net.windowMs, rates.network, net.wireBytes / net.envelopes, c),
    ]
    return {
      rows,
      export_ratio: round(rates.export / rates.network, 3),
      import_ratio: round(rates.import / rates.network, 3),
      notes: [
        `A's channel: ${n} encrypted texts of 100 characters, ${held - n} governance and keys envelopes; sent through A's client API, ${inflight} in flight, at ${Math.round(n / (filled.ms / 1000))} texts/s (not a result)`,
        `bundle: ${exported.bytes} B for ${exported.envelopes} envelopes; import at B: ${imported.added} new, ${imported.held} held, ${imported.refused} refused`,
        `export and import: from the client API request until its reply (reading or writing the file included); network: from the first reading of C's /status showing A linked until the first showing all ${held} envelopes (every ${pollEveryMs} ms), ${round(net.fromStartMs / 1000, 3)} s from C's spawn; ${net.envelopes} envelopes arrived in that window`,
        'ratio_vs_network: envelopes/s of that path / the network\'s, same run; bytes_per_envelope: the bundle file\'s for export and import, the envelope bytes A handed to its link (payload_bytes_sent) for the network; peak_rss_mib: VmHWM of that relay process over its life (A\'s includes the filling)',
        `three relay processes and the bench process on one machine; load average (1 min) ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after`,
      ],
    }
  } finally {
    // Measured already, and the data directories go next: no graceful shutdown to wait for.
    await Promise.all([a.kill('SIGKILL'), b.kill('SIGKILL'), c.kill('SIGKILL')])
    cleanupRelays()
  }
}
