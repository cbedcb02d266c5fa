/**
 * Compliance costs (#25), each as a ratio to a bound measured beside it in the same run:
 *
 * - A standing channel's governance verified from scratch by a relay that never saw it
 *   (`GovernanceStore.add` of every change, in order: signature, causal verdicts, resolution),
 *   at 1,024, 10,000 and 100,000 changes (#25's standing channel): bytes per channel, time, and the
 *   time as a ratio of bare Ed25519 verification of the same envelopes' signatures; and a
 *   relay's intake of the same history (authorisation and removal enforcement).
 * - The audit log: entries written a second, and export rates per format (jsonl, csv,
 *   syslog) as a ratio of reading the same log's lines; `audit verify` entries a second.
 *
 * @example
 * npm run bench -- compliance --json
 */
import nodeCrypto from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { createNodeCrypto } from '../node/crypto.ts'
import { openAuditLog } from '../node/audit/log.ts'
import { exportAuditRecords } from '../node/audit/export.ts'
import { auditPaths } from '../node/audit/files.ts'
import { auditExportFormats, exportFormat } from '../node/audit/formats.ts'
import { verifyAuditLog } from '../node/audit/verify.ts'
import { numberedUser, standingHistory } from '../test/helpers/governance-history.ts'
import { GovernanceStore } from '../protocol/channel/store.ts'
import { RelayChannelPolicy, type PolicyEngine } from '../protocol/channel/relay.ts'
import { signatureLabel } from '../protocol/envelope.ts'
import { governanceChangesMax, governanceWindowChangesMax } from '../protocol/limits.ts'
import type { BenchOptions, BenchResult } from './types.ts'

const crypto = createNodeCrypto()
// What the store keeps, not what it allocated on the way: collect before and after measuring.
setFlagsFromString('--expose-gc')
const collectGarbage = runInNewContext('gc') as () => void
type Row = Record<string, string | number | boolean | null>
const round = (x: number, places = 2): number => Math.round(x * 10 ** places) / 10 ** places

async function governanceRow (changes: number): Promise<Row> {
  const envs = standingHistory(changes, 50, 1_795_000_000_000)
  const raw = envs.map(e => ({ msg: Buffer.concat([signatureLabel(e.kind), e.bytes.subarray(0, e.signedLength)]), sig: e.signature }))
  const key = nodeCrypto.createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), numberedUser(0).ed25519.publicKey]), format: 'der', type: 'spki' })
  let t = performance.now()
  for (const x of raw) if (!nodeCrypto.verify(null, x.msg, key, x.sig)) throw new Error('raw verify failed')
  const rawMs = performance.now() - t
  collectGarbage()
  const heap = process.memoryUsage().heapUsed
  t = performance.now()
  const store = new GovernanceStore(crypto)
  for (const env of envs) if (store.add(env).status !== 'accepted') throw new Error('a change was not accepted')
  const members = store.state(envs[0].channel)?.members.size
  const verifyMs = performance.now() - t
  const held = store.holding(envs[0].channel)
  collectGarbage()
  const retained = process.memoryUsage().heapUsed - heap
  // A relay's intake of the same history: authorisation (the store's add) and, for every change
  // stored, enforcement of removals, with an engine that only counts what it is asked to purge.
  let purges = 0
  const engine: PolicyEngine = { retryPending: () => {}, discardStream: async () => { purges++; return 0 } }
  t = performance.now()
  const relay = new RelayChannelPolicy(crypto, () => true)
  for (const env of envs) {
    if (!relay.authorise(env).ok) throw new Error('the relay refused a change')
    await relay.stored(engine, env)
  }
  const relayMs = performance.now() - t
  return {
    what: `governance, ${changes} changes`, bytes: envs.reduce((n, e) => n + e.bytes.length, 0), verify_ms: round(verifyMs),
    raw_verify_ms: round(rawMs), ratio_to_raw: round(verifyMs / rawMs), heap_mb: round(retained / 1e6, 1), envelope_mb: round(envs.reduce((n, e) => n + e.bytes.length, 0) / 1e6, 1), members: members ?? null,
    window: held?.window ?? null, compactions: held?.compactions ?? null, relay_ms: round(relayMs), relay_ratio_to_raw: round(relayMs / rawMs), purges,
  }
}

async function auditRows (entries: number, log: (line: string) => void): Promise<Row[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ddil-bench-audit-'))
  try {
    const audit = await openAuditLog({ dataDir, crypto, key: crypto.ed25519KeyPair(new Uint8Array(32).fill(9)), node: '12D3KooWBench', now: () => Date.now() })
    log(`audit: writing ${entries} entries…`)
    let t = performance.now()
    const writes: Array<Promise<unknown>> = []
    for (let i = 0; i < entries; i++) {
      writes.push(audit.append({ who: 'a1b2c3d4e5f60708', what: 'membership.changed', outcome: 'ok', remote: '/p2p/12D3KooWPeer', detail: { channel: '0011223344556677', op: 'add', member: 'ffeeddccbbaa9988', role: 'member', id: 'ab'.repeat(32) } }))
    }
    await Promise.all(writes)
    const appendMs = performance.now() - t
    await audit.close()
    // The bound: reading the same lines and parsing each as JSON.
    t = performance.now()
    const lines = readFileSync(auditPaths(dataDir).log, 'utf8').split('\n').filter(l => l.length > 0)
    for (const l of lines) JSON.parse(l)
    const readPerS = lines.length / ((performance.now() - t) / 1000)
    const rows: Row[] = [{ what: 'audit append', entries, per_s: Math.round(entries / (appendMs / 1000)), ratio_to_read: null, bytes_per_record: null }]
    for (const name of auditExportFormats) {
      const format = exportFormat(name)
      let bytes = 0
      let count = 0
      t = performance.now()
      for await (const r of exportAuditRecords(dataDir)) { bytes += format.record(r).length + format.eol.length; count++ }
      const perS = count / ((performance.now() - t) / 1000)
      rows.push({ what: `audit export --format ${name}`, entries: count, per_s: Math.round(perS), ratio_to_read: round(perS / readPerS), bytes_per_record: Math.round(bytes / count) })
    }
    t = performance.now()
    const verified = await verifyAuditLog(dataDir, crypto)
    rows.push({ what: 'audit verify', entries: verified.entries, per_s: Math.round(verified.entries / ((performance.now() - t) / 1000)), ratio_to_read: null, bytes_per_record: null })
    rows.push({ what: 'audit read + JSON.parse (bound)', entries: lines.length, per_s: Math.round(readPerS), ratio_to_read: 1, bytes_per_record: null })
    return rows
  } finally {
    rmSync(dataDir, { recursive: true, force: true })
  }
}

export async function bench (options: BenchOptions): Promise<BenchResult> {
  const sizes = options.quick ? [64, 2_048] : [1_024, 10_000, 100_000]
  const rows: Row[] = []
  for (const n of sizes) {
    options.log(`governance: ${n} changes…`)
    rows.push(await governanceRow(n))
  }
  rows.push(...await auditRows(options.quick ? 2_000 : 50_000, options.log))
  return {
    rows,
    notes: [
      `A channel holds at most governanceChangesMax = ${governanceChangesMax} changes. Resolution works over a window of at most`,
      `${governanceWindowChangesMax} above a compacted root (protocol/channel/compact.ts), so time and memory grow with the count, not its square.`,
    ],
  }
}
