// Envelope v1: pinned vectors, round trips, and the brief §7 input and forgery cases at this layer.
// Each negative case asserts the specific error code, so removing its defence makes it fail.
import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { crypto, aliceKeys, bobKeys, messageFields, nowMs } from './helpers/fixtures.ts'
import { testSeed } from './helpers/seed.ts'
import { decodeEnvelope, encodeUnsigned, signEnvelope, verifyEnvelope, verifySignature, Kind, Precedence, signatureBytes, type EnvelopeFields } from '../protocol/envelope.ts'
import { fromHex, toHex, concatBytes } from '../protocol/bytes.ts'
import { clockSkewMsMax, envelopeBytesMax, envelopeDepsMax } from '../protocol/limits.ts'

const sha = (b: Uint8Array): Uint8Array => crypto.sha256(b)
const decode = (b: Uint8Array) => decodeEnvelope(b, sha)
const vectors = JSON.parse(readFileSync(new URL('./vectors/envelope.json', import.meta.url), 'utf8')) as {
  authorPublicKey: string
  vectors: Array<{ name: string, fields: Record<string, any>, bytes: string, id: string }>
}

function fieldsFromJson (f: Record<string, any>): EnvelopeFields {
  return { ...f, channel: fromHex(f.channel), author: fromHex(f.author), deps: f.deps.map(fromHex), body: fromHex(f.body) } as EnvelopeFields
}

t.test('pinned vectors: fixed keys and fields give fixed bytes and ids, both ways', async t => {
  t.equal(toHex(aliceKeys.publicKey), vectors.authorPublicKey)
  for (const v of vectors.vectors) {
    const env = signEnvelope(crypto, fieldsFromJson(v.fields), aliceKeys.privateKey)
    t.equal(toHex(env.bytes), v.bytes, `${v.name}: bytes`)
    t.equal(toHex(env.id), v.id, `${v.name}: id`)
    const back = decode(fromHex(v.bytes))
    t.same(toHex(encodeUnsigned(back)), v.bytes.slice(0, -signatureBytes * 2), `${v.name}: decode then encode is identity`)
    t.equal(toHex(back.id), v.id)
    verifyEnvelope(crypto, back, aliceKeys.publicKey, nowMs)
  }
})

t.test('overhead of a 32-character text message (body = text + 16-byte AEAD tag)', async t => {
  const env = signEnvelope(crypto, messageFields(), aliceKeys.privateKey)
  t.ok(env.bytes.length - 32 <= 112, `envelope overhead ${env.bytes.length - 32} B`)
})

const arbFields = fc.record({
  kind: fc.integer({ min: 0, max: 4 }),
  precedence: fc.integer({ min: 0, max: 3 }),
  seq: fc.integer({ min: 1, max: 2 ** 40 }),
  ms: fc.integer({ min: 0, max: 2 ** 48 - 1 }),
  c: fc.integer({ min: 0, max: 0xffff }),
  ttlSeconds: fc.integer({ min: 10, max: 30 * 86400 }),
  epoch: fc.integer({ min: 0, max: 2 ** 32 }),
  deps: fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), { maxLength: envelopeDepsMax, selector: d => toHex(d) }),
  body: fc.uint8Array({ maxLength: 600 }),
})

t.test('property: encode/decode round trip and canonical bytes', async t => {
  const seed = testSeed(t)
  fc.assert(fc.property(arbFields, a => {
    const deps = [...a.deps].sort((x, y) => toHex(x) < toHex(y) ? -1 : 1)
    const fields = messageFields({ kind: a.kind as EnvelopeFields['kind'], precedence: a.precedence as EnvelopeFields['precedence'], seq: a.seq, hlc: { ms: a.ms, c: a.c }, ttlSeconds: a.ttlSeconds, epoch: a.epoch, deps, body: a.body })
    const env = signEnvelope(crypto, fields, aliceKeys.privateKey)
    const back = decode(env.bytes)
    verifySignature(crypto, back, aliceKeys.publicKey)
    return toHex(back.id) === toHex(env.id) && toHex(encodeUnsigned(back)) === toHex(env.bytes.subarray(0, env.signedLength)) &&
      back.key === env.key && back.stream === env.stream
  }), { seed, numRuns: 300 })
})

t.test('derived map keys: the id and the (channel, author) stream as binary strings', async t => {
  const env = decode(signEnvelope(crypto, messageFields(), aliceKeys.privateKey).bytes)
  const chars = (b: Uint8Array): number[] => [...b]
  t.same([...env.key].map(c => c.charCodeAt(0)), chars(env.id))
  t.same([...env.stream].map(c => c.charCodeAt(0)), [...chars(env.channel), ...chars(env.author)])
  const other = decode(signEnvelope(crypto, messageFields({ seq: 2 }), aliceKeys.privateKey).bytes)
  t.not(other.key, env.key, 'another envelope, another key')
  t.equal(other.stream, env.stream, 'same channel and author, same stream')
})

t.test('forgery: bit flips anywhere fail (signature or decode), never verify', async t => {
  const env = signEnvelope(crypto, messageFields(), aliceKeys.privateKey)
  for (let i = 0; i < env.bytes.length; i++) {
    const bad = env.bytes.slice()
    bad[i] ^= 0x01
    let code = 'accepted'
    try { verifyEnvelope(crypto, decode(bad), aliceKeys.publicKey, nowMs) } catch (e: any) { code = e.code }
    if (code === 'accepted') t.fail(`flip at byte ${i} was accepted`)
  }
  const sigFlip = env.bytes.slice(); sigFlip[sigFlip.length - 1] ^= 0x80
  t.throws(() => verifySignature(crypto, decode(sigFlip), aliceKeys.publicKey), { code: 'ERR_SIGNATURE' })
})

t.test('forgery: another author\'s key, and a signature over the same bytes from another context', async t => {
  const env = signEnvelope(crypto, messageFields(), aliceKeys.privateKey)
  t.throws(() => verifySignature(crypto, decode(env.bytes), bobKeys.publicKey), { code: 'ERR_SIGNATURE' }, 'key does not match author ref')
  // Bob signs Alice-attributed bytes: the author ref check alone would pass if we resolved by Bob's key, so use Bob's ref.
  const fields = messageFields({ author: bobKeys.publicKey.slice(0, 8) })
  const unsigned = encodeUnsigned(fields)
  // The same bytes signed raw (as another protocol context might sign them) must not verify: the kind label is required.
  const raw = crypto.ed25519Sign(bobKeys.privateKey, unsigned)
  t.throws(() => verifySignature(crypto, decode(concatBytes([unsigned, raw])), bobKeys.publicKey), { code: 'ERR_SIGNATURE' })
})

t.test('forgery: a signature replayed as another kind', async t => {
  const receipt = signEnvelope(crypto, messageFields({ kind: Kind.receipt }), aliceKeys.privateKey)
  const asGovernance = receipt.bytes.slice()
  asGovernance[0] = (asGovernance[0] & ~0x1c) | (Kind.governance << 2)
  const env = decode(asGovernance)
  t.equal(env.kind, Kind.governance)
  t.throws(() => verifySignature(crypto, env, aliceKeys.publicKey), { code: 'ERR_SIGNATURE' })
})

t.test('verification reads the label carried before decoded bytes, and never trusts it blindly', async t => {
  const signed = signEnvelope(crypto, messageFields(), aliceKeys.privateKey)
  t.doesNotThrow(() => verifySignature(crypto, signed, aliceKeys.publicKey), 'an envelope as signed (no label before its bytes)')
  const env = decode(signed.bytes)
  t.ok(env.bytes.byteOffset > 0, 'decoded bytes sit after their label')
  t.doesNotThrow(() => verifySignature(crypto, env, aliceKeys.publicKey), 'decoded: verified on the labelled view')
  // Whatever sits before the bytes, only the label of the envelope's own kind is accepted there.
  const before = new Uint8Array(env.bytes.buffer, 0, env.bytes.byteOffset)
  const governanceLabel = new TextEncoder().encode('ddil/v1/envelope/governance\n')
  before.fill(0)
  before.set(governanceLabel.subarray(0, before.length))
  t.doesNotThrow(() => verifySignature(crypto, env, aliceKeys.publicKey), 'a foreign label before the bytes: checked on a fresh copy, still valid')
  const tampered = decode(signed.bytes)
  tampered.bytes[tampered.signedLength - 1] ^= 1
  t.throws(() => verifySignature(crypto, tampered, aliceKeys.publicKey), { code: 'ERR_SIGNATURE' }, 'a changed byte under the view fails')
})

t.test('time: expired and far-future envelopes are refused', async t => {
  const env = signEnvelope(crypto, messageFields({ ttlSeconds: 60 }), aliceKeys.privateKey)
  t.throws(() => verifyEnvelope(crypto, env, aliceKeys.publicKey, nowMs + 60_000), { code: 'ERR_EXPIRED' })
  verifyEnvelope(crypto, env, aliceKeys.publicKey, nowMs + 59_999)
  const future = signEnvelope(crypto, messageFields({ hlc: { ms: nowMs + clockSkewMsMax + 1, c: 0 } }), aliceKeys.privateKey)
  t.throws(() => verifyEnvelope(crypto, future, aliceKeys.publicKey, nowMs), { code: 'ERR_CLOCK_SKEW' })
  const skewed = signEnvelope(crypto, messageFields({ hlc: { ms: nowMs + 24 * 3600_000, c: 0 } }), aliceKeys.privateKey)
  verifyEnvelope(crypto, skewed, aliceKeys.publicKey, nowMs) // a clock 24 h fast stays within the allowance
})

t.test('strict decoding: malformed inputs give typed errors', async t => {
  const good = signEnvelope(crypto, messageFields({ deps: [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)] }), aliceKeys.privateKey).bytes
  const head = 1 + 8 + 8
  const cases: Array<[string, Uint8Array, string]> = [
    ['oversized', new Uint8Array(envelopeBytesMax + 1), 'ERR_LIMIT'],
    ['too short', good.subarray(0, 40), 'ERR_DECODE'],
    ['unknown version', Uint8Array.from([0x40 | (good[0] & 0x1f)].concat(Array.from(good.subarray(1)))), 'ERR_DECODE'],
    ['unknown kind 7', Uint8Array.from([(good[0] & 0xe3) | (7 << 2)].concat(Array.from(good.subarray(1)))), 'ERR_DECODE'],
    ['non-canonical sequence varint', concatBytes([good.subarray(0, head), Uint8Array.of(0x81, 0x00), good.subarray(head + 1)]), 'ERR_DECODE'],
    ['sequence zero', concatBytes([good.subarray(0, head), Uint8Array.of(0x00), good.subarray(head + 1)]), 'ERR_DECODE'],
  ]
  // deps start after seq(1) hlc-ms(6) hlc-c(1) ttl(2) epoch(1)
  const depsAt = head + 1 + 6 + 1 + 2 + 1
  t.equal(good[depsAt], 2, 'test layout: dependency count where expected')
  const swapped = good.slice(); swapped.set(good.subarray(depsAt + 33, depsAt + 65), depsAt + 1); swapped.set(good.subarray(depsAt + 1, depsAt + 33), depsAt + 33)
  cases.push(['unsorted dependencies', swapped, 'ERR_DECODE'])
  const dup = good.slice(); dup.set(good.subarray(depsAt + 1, depsAt + 33), depsAt + 33)
  cases.push(['duplicate dependencies', dup, 'ERR_DECODE'])
  // A huge declared dependency count in a small envelope: refused before any allocation.
  cases.push(['huge declared dependency count', concatBytes([good.subarray(0, depsAt), Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f), good.subarray(depsAt + 1)]), 'ERR_LIMIT'])
  cases.push(['declared deps beyond input', concatBytes([good.subarray(0, depsAt), Uint8Array.of(envelopeDepsMax), good.subarray(depsAt + 1, depsAt + 40), new Uint8Array(64)]), 'ERR_DECODE'])
  const ttlAt = head + 1 + 6 + 1
  cases.push(['ttl below minimum', concatBytes([good.subarray(0, ttlAt), Uint8Array.of(0x05), good.subarray(ttlAt + 2)]), 'ERR_LIMIT'])
  for (const [name, bytes, code] of cases) t.throws(() => decode(bytes), { code }, name)
})

t.test('encoding refuses what decoding would refuse', async t => {
  t.throws(() => encodeUnsigned(messageFields({ body: new Uint8Array(envelopeBytesMax) })), { code: 'ERR_LIMIT' })
  t.throws(() => encodeUnsigned(messageFields({ deps: Array.from({ length: envelopeDepsMax + 1 }, (_, i) => new Uint8Array(32).fill(i)) })), { code: 'ERR_LIMIT' })
  t.throws(() => encodeUnsigned(messageFields({ precedence: 4 as Precedence })), { code: 'ERR_DECODE' })
  t.throws(() => encodeUnsigned(messageFields({ channel: new Uint8Array(7) })), { code: 'ERR_DECODE' })
})

