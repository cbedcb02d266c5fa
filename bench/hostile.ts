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
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { Relay, cleanupRelays, waitFor } from '../test/helpers/relays.ts'
import { toHex } from '../protocol/bytes.ts'
import type { BenchOptions, BenchResult } from './types.ts'

const honestPerSecond = 20

/** The phases: the first unattacked, each other an attack bench/_hostile-attacker.ts makes. */
const phases = ['none', 'reconcile-unread', 'have-unread', 'prune', 'unknown-authors']
const attacker = new URL('./_hostile-attacker.ts', import.meta.url).pathname

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

/** Starts the attacker process for `phase` against T; `stop` ends it and says whether T cut it. */
async function attack (target: Relay, phase: string): Promise<{ stop: () => Promise<{ frames: number, cut: boolean }> }> {
  const child = spawn(process.execPath, [attacker, target.addr, target.nodeId, phase], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (c: Buffer) => { out += c.toString() })
  const exited = new Promise<void>(resolve => child.once('exit', () => { resolve() }))
  await waitFor(`the ${phase} attacker`, () => { if (child.exitCode !== null) throw new Error(`attacker exited ${child.exitCode}`); return out.includes('ready') ? true : undefined })
  return {
    stop: async () => {
      child.kill('SIGTERM')
      await exited
      return JSON.parse(out.trim().split('\n').at(-1) as string) as { frames: number, cut: boolean }
    },
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
    for (const name of phases) {
      options.log(`phase ${name}…`)
      const rssBefore = rssMiB(target.child?.pid)
      const attacking = name === 'none' ? undefined : await attack(target, name)
      const sent: Array<{ key: string, at: number }> = []
      const t0 = performance.now()
      while (performance.now() - t0 < phaseMs) {
        const at = performance.now()
        const env = await sh.cc.sendText(channel, `honest ${name} ${sent.length}`)
        sent.push({ key: toHex(env.id), at })
        const next = t0 + (sent.length * 1000) / honestPerSecond
        await new Promise(resolve => setTimeout(resolve, Math.max(0, next - performance.now())))
      }
      const rssGrowth = rssMiB(target.child?.pid) - rssBefore
      const result = await attacking?.stop()
      await waitFor(`honest messages of ${name} at T`, () => sent.every(s => arrived.has(s.key)) ? true : undefined, { patienceMs: 600_000 })
      const latencies = sent.map(s => (arrived.get(s.key) as number) - s.at)
      const p99 = quantile(latencies, 0.99)
      if (name === 'none') baselineP99 = p99
      rows.push({
        phase: name, honest_messages: sent.length, latency_p50_ms: Math.round(quantile(latencies, 0.5) * 10) / 10, latency_p99_ms: Math.round(p99 * 10) / 10,
        p99_vs_unattacked: Math.round(p99 / baselineP99 * 100) / 100, attack_frames: result?.frames ?? 0, attacker_cut: result === undefined ? 'n/a' : result.cut, target_rss_growth_mib: rssGrowth,
      })
    }
    await tc.close(); await sh.close()
    return { rows, notes: [`${honestPerSecond} honest messages/s from H through to T's client API; each phase ${phaseMs / 1000} s, a fresh attacker each; target: honest p99 within 2x of the unattacked phase`] }
  } finally {
    for (const r of [h, target]) await r.kill('SIGKILL')
    cleanupRelays()
  }
}
