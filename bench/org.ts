/**
 * What organisation certificates cost (#29): their sizes, what they add to a hello, and the
 * time to judge one (decode, trust look-up, Ed25519 verification, validity and revocation)
 * as a ratio of a bare Ed25519 verification of the same signature, both measured in
 * alternating rounds of one run so the machine's drift touches both alike.
 *
 * @example
 * npm run bench -- org --json
 */
import { createNodeCrypto } from '../node/crypto.ts'
import { concatBytes } from '../protocol/bytes.ts'
import { encodeCanonical } from '../protocol/cbor.ts'
import { encodeFrame, FrameType } from '../protocol/frames.ts'
import { certificateLabel, decodeCertificate, signCertificate, signRevocation } from '../protocol/org/certificate.ts'
import { judgeCertificate, orgRef, revokedRef, type AcceptedOrg, type TrustState } from '../protocol/org/trust.ts'
import { authorRef, decodeEnvelope, Kind, Precedence, signEnvelope, verifyEnvelope } from '../protocol/envelope.ts'
import { crossingFacts, judgeCrossing, type PartnerPolicy } from '../protocol/org/policy.ts'
import type { BenchOptions, BenchResult } from './types.ts'

const crypto = createNodeCrypto()
const day = 86_400_000

/** Runs each function in turn for `rounds` rounds of `roundMs`; returns each one's median rate (ops/s). */
function alternating (fns: Array<() => unknown>, rounds: number, roundMs: number): number[] {
  const rates: number[][] = fns.map(() => [])
  for (let r = 0; r < rounds; r++) {
    fns.forEach((fn, i) => {
      let ops = 0
      const start = performance.now()
      let elapsed = 0
      while (elapsed < roundMs) {
        for (let k = 0; k < 64; k++) fn()
        ops += 64
        elapsed = performance.now() - start
      }
      rates[i].push(ops / (elapsed / 1000))
    })
  }
  return rates.map(xs => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)])
}

export async function bench (options: BenchOptions): Promise<BenchResult> {
  const org = crypto.ed25519KeyPair(new Uint8Array(32).fill(7))
  const nowMs = 1_800_000_000_000
  const relay = crypto.ed25519KeyPair(new Uint8Array(32).fill(8)).publicKey
  const userKey = new Uint8Array(64).fill(9)
  const relayCert = signCertificate({ kind: 'relay', org: org.publicKey, subject: relay, name: 'pump-station-3', serial: 1234, notBeforeMs: nowMs - day, notAfterMs: nowMs + 365 * day }, crypto, org.privateKey)
  const userCert = signCertificate({ kind: 'user', org: org.publicKey, subject: userKey, name: 'Ann Example (duty officer)', serial: 1235, notBeforeMs: nowMs - day, notAfterMs: nowMs + 90 * day }, crypto, org.privateKey)
  const revocation = signRevocation({ org: org.publicKey, serial: 99, issuedMs: nowMs }, crypto, org.privateKey)
  const hello = { type: FrameType.hello, versionMin: 1, versionMax: 1, frameBytesMax: 65_536, nowMs } as const
  const helloBytes = encodeFrame(hello).length
  const credentialedBytes = encodeFrame({ ...hello, credentials: relayCert }).length
  // A relay's trust store of a realistic size: its own organisation, 16 partners, 1,000 revocations.
  const orgs = new Map<string, AcceptedOrg>([[orgRef(org.publicKey), { key: org.publicKey, name: 'Water utility', role: 'own' }]])
  for (let i = 0; i < 16; i++) { const k = crypto.ed25519KeyPair(new Uint8Array(32).fill(100 + i)).publicKey; orgs.set(orgRef(k), { key: k, name: `Partner ${i}`, role: 'partner' as const }) }
  const trust: TrustState = { orgs, revoked: new Set(Array.from({ length: 1000 }, (_, i) => revokedRef(org.publicKey, 10_000 + i))) }

  const parsed = decodeCertificate(relayCert)
  const signed = concatBytes([certificateLabel, encodeCanonical([1, 0, parsed.org, parsed.subject, parsed.name, parsed.serial, parsed.notBeforeMs, parsed.notAfterMs])])
  const rounds = options.quick ? 3 : 15
  const roundMs = options.quick ? 20 : 300
  options.log(`judging a certificate against a bare verification, ${rounds} alternating rounds of ${roundMs} ms`)
  const [bare, judged, decoded] = alternating([
    () => crypto.ed25519Verify(org.publicKey, signed, parsed.signature),
    () => { if (!judgeCertificate(relayCert, { kind: 'relay', subject: relay }, trust, nowMs, crypto).ok) throw new Error('the benchmark\'s certificate was refused') },
    () => decodeCertificate(relayCert),
  ], rounds, roundMs)
  // A gateway's policy (#29): per envelope on a partner's link, the facts and every static rule;
  // leaving, one decode of the envelope too. Against the envelope's own signature check, which every relay makes on arrival.
  const author = crypto.ed25519KeyPair(new Uint8Array(32).fill(11))
  const message = signEnvelope(crypto, { kind: Kind.message, precedence: Precedence.priority, channel: new Uint8Array(8).fill(3), author: authorRef(author.publicKey), seq: 1, hlc: { ms: nowMs, c: 0 }, ttlSeconds: 86_400, epoch: 1, deps: [], body: new Uint8Array(300) }, author.privateKey)
  const policy: PartnerPolicy = { precedences: [1, 2, 3], messageBytesMax: 64_000, creators: Array.from({ length: 16 }, (_, i) => i.toString(16).padStart(16, '0')).concat(['0303030303030303']), retentionMsMax: 30 * day }
  const names = { ours: 'Water utility', partner: 'County EM' }
  const creatorOf = (): string => '0303030303030303'
  options.log(`judging an envelope at a gateway against verifying its signature, ${rounds} alternating rounds of ${roundMs} ms`)
  const [envelopeVerify, crossing, decodedCrossing] = alternating([
    () => { verifyEnvelope(crypto, message, author.publicKey, nowMs) },
    () => { if (judgeCrossing(policy, crossingFacts(message, creatorOf), 'out', names) !== undefined) throw new Error('the benchmark\'s envelope was refused') },
    () => judgeCrossing(policy, crossingFacts(decodeEnvelope(message.bytes, b => crypto.sha256(b)), creatorOf), 'out', names),
  ], rounds, roundMs)
  const rows: BenchResult['rows'] = [
    { what: 'relay certificate', bytes: relayCert.length },
    { what: 'user certificate (26-character name)', bytes: userCert.length },
    { what: 'revocation', bytes: revocation.length },
    { what: 'hello frame without / with credentials', bytes: helloBytes, bytes_with_credentials: credentialedBytes, added_bytes: credentialedBytes - helloBytes },
    { what: 'bare Ed25519 verification', per_s: Math.round(bare) },
    { what: 'certificate decode alone', per_s: Math.round(decoded) },
    { what: 'certificate judged whole', per_s: Math.round(judged), cost_vs_bare_verify: Number((bare / judged).toFixed(3)) },
    { what: 'envelope signature verified (every relay, on arrival)', per_s: Math.round(envelopeVerify) },
    { what: 'gateway policy judged (arriving from a partner)', per_s: Math.round(crossing), cost_vs_envelope_verify: Number((envelopeVerify / crossing).toFixed(4)) },
    { what: 'gateway policy judged with a decode (leaving to a partner)', per_s: Math.round(decodedCrossing), cost_vs_envelope_verify: Number((envelopeVerify / decodedCrossing).toFixed(4)) },
  ]
  return {
    rows,
    notes: [
      'A certificate crosses a link once, in its hello; envelopes carry none (#29 so far). cost_vs_bare_verify: the time to judge one as a multiple of one bare verification, same run.',
      'Gateway policy: every rule (17 listed creators), only on links to a partner\'s relays; cost_vs_envelope_verify: its time as a fraction of verifying the envelope\'s signature, same run.',
    ],
  }
}
