/**
 * Air-gap bundle benchmark (#27). Three real `ddil start` processes (LevelDB) on loopback.
 * A holds one governed channel of N encrypted texts (20,000; `--quick` 1,000), sent through
 * its client API by its operator's channel session, as `ddil send` does. Measured in the same
 * run, each from a relay that has not seen them:
 * - export: A writes the channel to a bundle file (`client.bundleExport`, from request to reply);
 * - import: B, never linked to anyone, imports that file (`client.bundleImport`, request to reply);
 * - network: C, started with A as its static peer, catches up over libp2p (TCP, Noise, yamux),
 *   from the first reading of C's /status that shows A linked until the first that shows
 *   every envelope stored (read every `pollEveryMs`).
 * Three rounds of the three (`--quick` one), each with a fresh B and C; reported are medians.
 * The result is export and import envelopes/s as ratios of the network rate, each round's
 * measured side by side; absolute rates move with the machine's load.
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
import type { Client } from '../node/api/client.ts'
import type { BenchOptions, BenchResult } from './types.ts'

type Row = Record<string, string | number | boolean | null>

/**
 * Texts in the channel: a full run takes about a minute on a shared 2-core machine. `--quick` is
 * the smoke test's: with 2,000 it took 12.6 to 19.8 s under tap at load 2 to 3.5, with 1,000 8 to 11 s.
 */
const sizes = { full: 20_000, quick: 1_000 }
/** Texts in flight through A's client API while the channel is filled (as the relay benchmark). */
const inflight = 32
/** Rounds of export, import and catch-up: medians over three, as the machines are shared; `--quick` one. */
const rounds = { full: 3, quick: 1 }
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
async function catchUp (a: Relay, c: Relay, target: number): Promise<Network> {
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
  return { fromStartMs: doneAt - t0, windowMs: doneAt - l.t, envelopes: target - l.held, held: (await c.status()).envelopes, wireBytes: (await a.status()).counters.payloadBytesSent - sentBefore }
}

interface Network { fromStartMs: number, windowMs: number, envelopes: number, held: number, wireBytes: number }
type Imported = Awaited<ReturnType<Client['bundleImport']>>

/** One round: A exports, a fresh B (started, idle) imports, a fresh C catches up; B and C are stopped after (their peak RSS read first). */
interface Round {
  exported: { envelopes: number, bytes: number, ms: number }
  imported: Imported & { ms: number }
  net: Network
  rates: { export: number, import: number, network: number }
  rssB: number
  rssC: number
}

async function measureOnce (a: Relay, b: Relay, c: Relay, channel: Uint8Array, held: number, file: string, log: (line: string) => void): Promise<Round> {
  log('  export from A…')
  const ca = await a.client()
  let t0 = performance.now()
  const exported = await ca.bundleExport({ path: file, channels: [channel], precedences: allPrecedences, sinceMs: 0 })
  const exportMs = performance.now() - t0
  await ca.close()

  log('  import into a fresh B…')
  const cb = await b.client()
  t0 = performance.now()
  const imported = await cb.bundleImport(file)
  const importMs = performance.now() - t0
  await cb.close()
  const rssB = peakRssMiB(b.child?.pid)
  await b.kill('SIGKILL') // measured: out of the way of C's catch-up

  log('  a fresh C catching up from A over libp2p…')
  const net = await catchUp(a, c, held)
  const rssC = peakRssMiB(c.child?.pid)
  await c.kill('SIGKILL')
  return {
    exported: { envelopes: exported.envelopes, bytes: exported.bytes, ms: exportMs },
    imported: { ...imported, ms: importMs },
    net,
    rates: { export: exported.envelopes / (exportMs / 1000), import: imported.added / (importMs / 1000), network: net.envelopes / (net.windowMs / 1000) },
    rssB,
    rssC,
  }
}

function median (xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

export async function bench (options: BenchOptions): Promise<BenchResult> {
  const n = options.quick ? sizes.quick : sizes.full
  const roundsCount = options.quick ? rounds.quick : rounds.full
  const loadBefore = loadavg()[0]
  const a = await Relay.init('bench-bundle-a')
  const bs = await Promise.all(Array.from({ length: roundsCount }, (_, r) => Relay.init(`bench-bundle-b${r}`)))
  const cs = await Promise.all(Array.from({ length: roundsCount }, (_, r) => Relay.init(`bench-bundle-c${r}`)))
  // A takes the texts through one client connection: its request rate raised as for a bulk import.
  a.writeConfig({ authors: [a], requestsPerSecond: requestRatePerSecondMax })
  for (const b of bs) b.writeConfig({ authors: [a] })
  for (const c of cs) c.writeConfig({ authors: [a], dial: [a] })
  const file = join(root, 'bench.ddil')
  try {
    await Promise.all([a, ...bs].map(r => r.start())) // the Bs idle until their round: they link to nobody
    options.log(`filling A with ${n} texts…`)
    const filled = await fill(a, n, options.log)
    const held = (await a.status()).envelopes as number
    const done: Round[] = []
    for (let r = 0; r < roundsCount; r++) {
      options.log(`round ${r + 1}/${roundsCount}:`)
      done.push(await measureOnce(a, bs[r], cs[r], filled.channel, held, file, options.log))
    }
    const ratios = { export: done.map(x => x.rates.export / x.rates.network), import: done.map(x => x.rates.import / x.rates.network) }
    const bundleBytesPerEnvelope = done[0].exported.bytes / done[0].exported.envelopes
    const row = (path: string, envelopes: number[], ms: number[], rate: number[], ratio: number[], bytesPerEnvelope: number, rssMiB: number): Row => ({
      path, envelopes: Math.min(...envelopes), expected: held, seconds: round(median(ms) / 1000, 3), envelopes_per_s: Math.round(median(rate)),
      ratio_vs_network: round(median(ratio), 3), bytes_per_envelope: round(bytesPerEnvelope, 1), peak_rss_mib: rssMiB,
    })
    const rows = [
      row('export (A writes the bundle)', done.map(x => x.exported.envelopes), done.map(x => x.exported.ms), done.map(x => x.rates.export), ratios.export, bundleBytesPerEnvelope, peakRssMiB(a.child?.pid)),
      row('import (B, never linked)', done.map(x => x.imported.added), done.map(x => x.imported.ms), done.map(x => x.rates.import), ratios.import, bundleBytesPerEnvelope, Math.max(...done.map(x => x.rssB))),
      row('network (C dials A, loopback)', done.map(x => x.net.held), done.map(x => x.net.windowMs), done.map(x => x.rates.network), done.map(() => 1), median(done.map(x => x.net.wireBytes / x.net.envelopes)), Math.max(...done.map(x => x.rssC))),
    ]
    const list = (xs: number[], digits: number): string => xs.map(x => round(x, digits)).join(', ')
    return {
      rows,
      export_ratio: rows[0].ratio_vs_network,
      import_ratio: rows[1].ratio_vs_network,
      notes: [
        `A's channel: ${n} encrypted texts of 100 characters, ${held - n} governance and keys envelopes; sent through A's client API, ${inflight} in flight, at ${Math.round(n / (filled.ms / 1000))} texts/s (not a result)`,
        `${roundsCount} round(s), each: A exports, a fresh B imports, a fresh C catches up (B stopped first); figures are medians over the rounds, ratios the median of each round's own ratio; per round, export/network ${list(ratios.export, 3)}, import/network ${list(ratios.import, 3)}, network envelopes/s ${list(done.map(x => x.rates.network), 0)}`,
        `bundle: ${done[0].exported.bytes} B for ${done[0].exported.envelopes} envelopes; imports at B: ${done.map(x => `${x.imported.added} new, ${x.imported.held} held, ${x.imported.refused} refused`).join('; ')}`,
        `export and import: from the client API request until its reply (reading or writing the file included); network: from the first reading of C's /status showing A linked until the first showing all ${held} envelopes (every ${pollEveryMs} ms); from C's spawn ${list(done.map(x => x.net.fromStartMs / 1000), 3)} s; in that window ${done.map(x => x.net.envelopes).join(', ')} envelopes arrived`,
        'bytes_per_envelope: the bundle file\'s for export and import, the envelope bytes A handed to its link (payload_bytes_sent) for the network; peak_rss_mib: VmHWM of the relay process over its life (A\'s includes the filling; B and C: the highest over the rounds)',
        `A, the Bs not yet measured (idle, linked to nobody), at most one C and the bench process on one machine; load average (1 min) ${loadBefore.toFixed(2)} before, ${loadavg()[0].toFixed(2)} after`,
      ],
    }
  } finally {
    // Measured already, and the data directories go next: no graceful shutdown to wait for.
    await Promise.all([a, ...bs, ...cs].map(r => r.kill('SIGKILL')))
    cleanupRelays()
  }
}
