/**
 * Ingest benchmark: verified, durably stored envelopes per second through the real
 * engine on LevelDB (decode, authorise, Ed25519 verify, group-committed batch,
 * indexing), beside the raw node:crypto Ed25519 verification rate measured in the
 * same run on the same envelopes. Target: ≥ 60% of the raw rate. Also peak RSS.
 *
 * @example
 * npm run bench -- ingest --json
 */
import nodeCrypto from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNodeCrypto } from '../node/crypto.ts'
import { openLevelStore } from '../node/store/level-store.ts'
import { createEngine } from '../protocol/engine/engine.ts'
import { authorRef, signEnvelope, signatureLabel, Kind, type Envelope } from '../protocol/envelope.ts'
import type { Clock } from '../protocol/ports.ts'
import type { BenchOptions, BenchResult } from './types.ts'

const realClock: Clock = { nowMs: () => Date.now(), monotonicMs: () => performance.now(), schedule: (ms, fn) => { const h = setTimeout(fn, ms); return () => clearTimeout(h) } }

export async function bench (options: BenchOptions): Promise<BenchResult> {
  const n = options.quick ? 3_000 : 30_000
  const concurrency = 64
  const crypto = createNodeCrypto()
  const authors = Array.from({ length: 16 }, (_, i) => crypto.ed25519KeyPair(new Uint8Array(32).fill(i + 1)))
  const keys = new Map(authors.map(a => [Buffer.from(authorRef(a.publicKey)).toString('hex'), a.publicKey]))
  options.log(`signing ${n} envelopes…`)
  const now = Date.now()
  const envs: Envelope[] = []
  for (let i = 0; i < n; i++) {
    const a = authors[i % authors.length]
    envs.push(signEnvelope(crypto, {
      kind: Kind.message, precedence: (i % 4) as 0, channel: new Uint8Array(8).fill(i % 7), author: authorRef(a.publicKey),
      seq: Math.floor(i / authors.length) + 1, hlc: { ms: now, c: i }, ttlSeconds: 86_400, epoch: 1, deps: [], body: new Uint8Array(240).fill(i % 256),
    }, a.privateKey))
  }

  // The bound: raw verification of the very same signed bytes with prepared KeyObjects.
  options.log('raw Ed25519 verify…')
  const pubs = new Map(authors.map(a => [Buffer.from(authorRef(a.publicKey)).toString('hex'), nodeCrypto.createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), a.publicKey]), format: 'der', type: 'spki' })]))
  const inputs = envs.map(e => ({ msg: Buffer.concat([signatureLabel(e.kind), e.bytes.subarray(0, e.signedLength)]), sig: e.signature, key: pubs.get(Buffer.from(e.author).toString('hex'))! }))
  const dir = mkdtempSync(join(tmpdir(), 'ddil-ingest-'))
  let peakRss = process.memoryUsage().rss
  try {
    const store = await openLevelStore(dir)
    const engine = createEngine({
      clock: realClock, crypto, store, transport: { send: () => false, disconnect () {} },
      logger: { debug () {}, info () {}, warn () {}, error () {} },
      authoriser: { authorise: (env) => { const k = keys.get(Buffer.from(env.author).toString('hex')); return k === undefined ? { ok: false, reason: 'unknown' } : { ok: true, publicKey: k } } },
    }, { nodeId: 'bench', purgeIntervalMs: 3_600_000, reconcileIntervalMs: 3_600_000 })
    await engine.open()
    // Alternate rounds of raw verification and engine ingest over the same envelopes, so that
    // load from other processes on a shared machine hits both sides alike.
    const rounds = 6
    const per = Math.floor(n / rounds)
    let rawMs = 0
    let ingestMs = 0
    for (let r = 0; r < rounds; r++) {
      options.log(`round ${r + 1}/${rounds}: raw verify, then ingest through engine + LevelDB…`)
      const slice = inputs.slice(r * per, (r + 1) * per)
      let t0 = performance.now()
      for (const x of slice) if (!nodeCrypto.verify(null, x.msg, x.key, x.sig)) throw new Error('raw verify failed')
      rawMs += performance.now() - t0
      let next = r * per
      const end = (r + 1) * per
      t0 = performance.now()
      await Promise.all(Array.from({ length: concurrency }, async () => {
        while (next < end) {
          const env = envs[next++]
          await engine.submit(env.bytes)
        }
      }))
      ingestMs += performance.now() - t0
      peakRss = Math.max(peakRss, process.memoryUsage().rss)
    }
    const rawPerSecond = per * rounds / (rawMs / 1000)
    const ingestPerSecond = per * rounds / (ingestMs / 1000)
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
    if (engine.probe.catalog.size !== per * rounds) throw new Error(`stored ${engine.probe.catalog.size} of ${per * rounds}`)
    engine.close()
    await store.close()
    const ratio = ingestPerSecond / rawPerSecond
    return {
      rows: [
        { measure: 'raw Ed25519 verify (node:crypto, same envelopes)', value: Math.round(rawPerSecond), unit: 'ops/s' },
        { measure: 'ingest: verified + stored through engine and LevelDB', value: Math.round(ingestPerSecond), unit: 'envelopes/s' },
        { measure: 'ingest / raw verify', value: Number(ratio.toFixed(3)), unit: 'ratio' },
        { measure: 'peak RSS', value: Math.round(peakRss / 2 ** 20), unit: 'MiB' },
      ],
      notes: [`${n} envelopes of ${envs[0].bytes.length} B from 16 authors, ${concurrency} submissions in flight; target ≥ 0.6 of raw verify: ${ratio >= 0.6 ? 'met' : 'NOT met'}.`],
      ratio,
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
