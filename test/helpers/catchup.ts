/**
 * Two relays that each hold what the other lacks, on TestNet, for the catch-up tests:
 * signed envelopes written straight into a store (as after a restart: nothing is
 * submitted one by one), and a run that links them and checks the transfer.
 *
 * @example
 * await crossOver(t, 20_000, { peerQueueBytesMax: 256 * 1024 }, { sessionsMax: 2, ratioMax: 3 })
 */
import type { Test } from 'tap'
import { createHash } from 'node:crypto'
import { TestNet } from './net.ts'
import { crypto } from './fixtures.ts'
import { binaryString } from '../../protocol/bytes.ts'
import { entryOverheadBytes } from '../../protocol/engine/catalog.ts'
import type { Engine } from '../../protocol/engine/engine.ts'
import { MessageLog } from '../../protocol/engine/log.ts'
import type { EngineConfig } from '../../protocol/engine/types.ts'
import { authorRef, Kind, Precedence, signEnvelope, type Envelope } from '../../protocol/envelope.ts'
import { FrameType } from '../../protocol/frames.ts'
import { MemoryStore } from '../../protocol/memory-store.ts'
import type { Crypto } from '../../protocol/ports.ts'

/** Signs `count` envelopes of one author, one a millisecond from `startMs`, small bodies. */
export function envelopes (signer: Crypto, author: { publicKey: Uint8Array, privateKey: Uint8Array }, count: number, startMs: number): Envelope[] {
  const out: Envelope[] = []
  for (let seq = 1; seq <= count; seq++) {
    out.push(signEnvelope(signer, {
      kind: Kind.message, precedence: Precedence.routine, channel: new Uint8Array(8).fill(9), author: authorRef(author.publicKey),
      seq, hlc: { ms: startMs + seq, c: 0 }, ttlSeconds: 86_400, epoch: 1, deps: [], body: new Uint8Array(48).fill(seq % 251),
    }, author.privateKey))
  }
  return out
}

/** A node whose store already holds `envs` (as after a restart), so a test need not submit them one by one. */
export async function holding (net: TestNet, id: string, envs: Envelope[]): Promise<Engine> {
  const store = new MemoryStore()
  const log = new MessageLog(store, b => crypto.sha256(b))
  await log.open()
  for (let i = 0; i < envs.length; i += 1000) await store.batch(envs.slice(i, i + 1000).flatMap(e => log.appendOps(e, false, net.clock.nowMs())))
  return await net.node(id, {}, store)
}

/**
 * node:crypto, except that an Ed25519 signature by a key this object has signed with is a
 * keyed hash (SHA-512 over the private key and the message), checked as such: a test moving
 * 200,000 envelopes otherwise spends most of its CPU making and checking real signatures,
 * which test/envelope*.test.ts cover. A changed byte or another key still fails to verify;
 * signatures by any other key are verified for real.
 */
export function quickSigningCrypto (): Crypto {
  const privateOf = new Map<string, Uint8Array>()
  const publicOf = new Map<string, Uint8Array>()
  const keyedHash = (privateKey: Uint8Array, message: Uint8Array): Uint8Array =>
    new Uint8Array(createHash('sha512').update(privateKey).update(message).digest())
  return {
    ...crypto,
    ed25519Sign (privateKey, message) {
      const k = binaryString(privateKey)
      if (!publicOf.has(k)) {
        const publicKey = crypto.ed25519KeyPair(privateKey).publicKey
        publicOf.set(k, publicKey)
        privateOf.set(binaryString(publicKey), privateKey)
      }
      return keyedHash(privateKey, message)
    },
    ed25519Verify (publicKey, message, signature) {
      const privateKey = privateOf.get(binaryString(publicKey))
      if (privateKey === undefined) return crypto.ed25519Verify(publicKey, message, signature)
      return binaryString(keyedHash(privateKey, message)) === binaryString(signature)
    },
  }
}

export interface CrossOverLimits {
  /** Most reconciliation sessions (no rediscovery round per batch). */
  sessionsMax: number
  /** Longest convergence, as a multiple of one direction's envelopes back to back on the link. */
  ratioMax: number
  /** Signs and verifies the envelopes (quickSigningCrypto() unless given). */
  crypto?: Crypto
}

/**
 * Links two nodes holding `each` envelopes apiece that the other lacks, runs until both hold
 * everything, and checks the transfer: each envelope sent once (nothing lost from an
 * overflowing queue and re-sent), no duplicate, nobody penalised, few sessions, and the time
 * against the envelopes' own time on the link.
 */
export async function crossOver (t: Test, each: number, config: Partial<EngineConfig>, limits: CrossOverLimits): Promise<void> {
  const signer = limits.crypto ?? quickSigningCrypto()
  const net = new TestNet(config, {}, { record: false, crypto: signer })
  const startMs = net.clock.nowMs() - 3_600_000
  const alice = net.author(1); const bob = net.author(2)
  const a = await holding(net, 'a', envelopes(signer, alice, each, startMs))
  const b = await holding(net, 'b', envelopes(signer, bob, each, startMs))
  const bandwidthBps = 20_000_000
  net.connect('a', 'b', { latencyMs: 20, bandwidthBps })
  let frameBytes = 0
  for (const k of a.probe.catalog.keys()) frameBytes += (a.probe.catalog.get(k)?.size ?? 0) - entryOverheadBytes + 1
  const sendMs = frameBytes * 8000 / bandwidthBps // one direction's envelopes back to back (both directions run at once)
  const began = net.clock.now
  let convergedMs = Infinity
  while (net.clock.now - began < 20 * sendMs + 120_000) {
    await net.run(250)
    if (a.probe.catalog.size === 2 * each && b.probe.catalog.size === 2 * each) { convergedMs = net.clock.now - began; break }
  }
  t.equal(a.probe.catalog.size, 2 * each, `a holds all ${2 * each}`)
  t.equal(b.probe.catalog.size, 2 * each, `b holds all ${2 * each}`)
  t.same(net.ids('a'), net.ids('b'), 'the same ids')
  t.equal(a.counters.peersPenalised + b.counters.peersPenalised, 0, 'nobody penalised')
  t.same(net.disconnects, [], 'no link cut')
  t.equal(a.counters.duplicatesReceived + b.counters.duplicatesReceived, 0, 'no envelope crossed twice')
  for (const x of [a, b]) t.equal(x.counters.framesSent[FrameType.envelope], each, `${x.probe.config.nodeId} sent each of its ${each} envelopes once: none lost from an overflowing queue, none re-sent`)
  const sessions = a.counters.reconcileSessions
  t.ok(sessions <= limits.sessionsMax, `${sessions} reconciliation sessions (no rediscovery round per batch)`)
  t.ok(convergedMs <= limits.ratioMax * sendMs, `converged in ${(convergedMs / 1000).toFixed(1)} s; the envelopes alone take ${(sendMs / 1000).toFixed(1)} s each way`)
  t.comment(`${each} each way: converged in ${(convergedMs / 1000).toFixed(1)} s simulated, ${(convergedMs / sendMs).toFixed(2)} × the send time; ${sessions} sessions; gap requests ${a.counters.gapRequests + b.counters.gapRequests}`)
}
