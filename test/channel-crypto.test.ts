// Channel end-to-end encryption: pinned vectors, round trips, and the brief §3 / §7 cases
// (removed member locked out, tampering, nonce and subkey separation, chunking, concurrent
// epochs, grace window, partition during key rotation). Each negative case asserts the
// specific error code, so removing its defence makes the test fail.
import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { createNodeCrypto } from '../node/crypto.ts'
import { concatBytes, fromHex, toHex, utf8 } from '../protocol/bytes.ts'
import { encodeCanonical } from '../protocol/cbor.ts'
import { authorRef, Kind, signEnvelope, type Envelope } from '../protocol/envelope.ts'
import { envelopeBodyBytesMax, envelopeBytesMax, epochRecipientsMax, receiptIdsMax } from '../protocol/limits.ts'
import type { KeyPair } from '../protocol/ports.ts'
import { ContentType, contentAad, contentOverheadBytes, contentPayloadBytesMax, decryptContent, encryptContent, type ContentHeader } from '../protocol/channel/content.ts'
import { messageSubkey, seqNonce } from '../protocol/channel/derive.ts'
import { EpochKeyring } from '../protocol/channel/epochs.ts'
import { decodeKeyring, encodeKeyring } from '../protocol/channel/epochs-codec.ts'
import { decodeKeysBody, encodeKeysBody, keysChunkEntriesMax, sealedBytes } from '../protocol/channel/keys.ts'
import { decodeReceipt, encodeReceipt } from '../protocol/channel/receipt.ts'
import { openEpoch, sealEpoch, type MemberKeys } from '../protocol/channel/seal.ts'
import { testSeed } from './helpers/seed.ts'

const crypto = createNodeCrypto()
const fill = (n: number, b: number): Uint8Array => new Uint8Array(n).fill(b)
const nowMs = 1795348800000
const dayMs = 86_400_000
const channelId = fill(32, 0x0c)
const channelRef = fill(8, 0xc0)

interface Member { name: string, ed: KeyPair, x: KeyPair, keys: MemberKeys, me: { ed: Uint8Array, xPrivate: Uint8Array } }
function member (name: string): Member {
  const ed = crypto.ed25519KeyPair(crypto.sha256(utf8(`ed ${name}`)))
  const x = crypto.x25519KeyPair(crypto.sha256(utf8(`x ${name}`)))
  return { name, ed, x, keys: { ed: ed.publicKey, x: x.publicKey }, me: { ed: ed.publicKey, xPrivate: x.privateKey } }
}
const [alice, bob, carol, dave] = ['alice', 'bob', 'carol', 'dave'].map(member)

/** A real signed keys envelope per chunk, so keys-envelope ids are what a client sees. */
function rotate (admin: Member, epoch: number, recipients: Member[], tag: string, seq = 1): { envs: Envelope[], key: Uint8Array } {
  const key = crypto.sha256(utf8(`epoch key ${tag}`))
  const bodies = sealEpoch(crypto, { channelId, channelRef, epoch, epochKey: key, ephemeralSeed: crypto.sha256(utf8(`eph ${tag}`)), recipients: recipients.map(r => r.keys) })
  const envs = bodies.map((body, i) => signEnvelope(crypto, {
    kind: Kind.keys, precedence: 1, channel: channelRef, author: authorRef(admin.ed.publicKey), seq: seq + i,
    hlc: { ms: nowMs, c: 0 }, ttlSeconds: 30 * 86400, epoch, deps: [], body,
  }, admin.ed.privateKey))
  return { envs, key }
}

function learn (ring: EpochKeyring, who: Member, envs: Envelope[], knownAtMs = nowMs): void {
  for (const env of envs) {
    const opened = openEpoch(crypto, { channelId, channelRef, body: env.body, me: who.me })
    ring.add({ keysId: env.id, body: decodeKeysBody(env.body), key: opened?.epochKey, knownAtMs })
  }
}

function header (author: Member, seq: number, epoch: number, over: Partial<ContentHeader> = {}): ContentHeader {
  return { kind: Kind.message, precedence: 3, channel: channelRef, author: author.ed.publicKey, seq, epoch, ...over }
}
const text = (s: string): Uint8Array => utf8(s)
function send (author: Member, seq: number, epoch: number, key: Uint8Array, msg: string): Uint8Array {
  return encryptContent(crypto, { channelId, epochKey: key, header: header(author, seq, epoch), contentType: ContentType.text, payload: text(msg) })
}

// ---- Pinned vectors ---------------------------------------------------------------

const V = JSON.parse(readFileSync(new URL('./vectors/channel-crypto.json', import.meta.url), 'utf8'))
const hdrFromJson = (h: any): ContentHeader => ({ ...h, channel: fromHex(h.channel), author: fromHex(h.author) })

t.test('pinned vectors: fixed keys, seed and epoch key give fixed sealed bytes and ciphertexts', async t => {
  const I = V.inputs
  const members = I.members.map((m: any) => ({ ed: crypto.ed25519KeyPair(fill(32, m.edSeed)), x: crypto.x25519KeyPair(fill(32, m.xSeed)) }))
  members.forEach((m: any, i: number) => { t.equal(toHex(m.ed.publicKey), I.members[i].ed); t.equal(toHex(m.x.publicKey), I.members[i].x) })
  const chunks = sealEpoch(crypto, { channelId: fromHex(I.channelId), channelRef: fromHex(I.channelRef), epoch: I.epoch, epochKey: fromHex(I.epochKey), ephemeralSeed: fromHex(I.ephemeralSeed), recipients: members.map((m: any) => ({ ed: m.ed.publicKey, x: m.x.publicKey })) })
  t.same(chunks.map(toHex), V.keys.chunks, 'sealed keys chunks')
  for (const m of members) {
    const opened = openEpoch(crypto, { channelId: fromHex(I.channelId), channelRef: fromHex(I.channelRef), body: fromHex(V.keys.chunks[0]), me: { ed: m.ed.publicKey, xPrivate: m.x.privateKey } })
    t.equal(toHex(opened!.epochKey), I.epochKey, 'every member opens the pinned chunk')
  }
  const M = V.message
  const h = hdrFromJson(M.header)
  t.equal(toHex(messageSubkey(crypto, fromHex(I.channelId), fromHex(I.epochKey), h.author, h.kind)), M.subkey)
  t.equal(toHex(seqNonce(h.seq)), M.nonce)
  t.equal(toHex(contentAad(h)), M.aad)
  t.equal(toHex(encryptContent(crypto, { channelId: fromHex(I.channelId), epochKey: fromHex(I.epochKey), header: h, contentType: M.contentType, payload: utf8(M.payloadUtf8) })), M.body)
  const back = decryptContent(crypto, { channelId: fromHex(I.channelId), keys: [fromHex(I.epochKey)], header: h, body: fromHex(M.body) })
  t.equal(back.contentType, ContentType.text)
  t.equal(new TextDecoder().decode(back.payload), M.payloadUtf8)
  const R = V.receipt
  t.equal(toHex(encodeReceipt(R.ids.map(fromHex))), R.payload)
  t.equal(toHex(encryptContent(crypto, { channelId: fromHex(I.channelId), epochKey: fromHex(I.epochKey), header: hdrFromJson(R.header), contentType: ContentType.receipt, payload: fromHex(R.payload) })), R.body)
  const ring = decodeKeyring(fromHex(V.keyring.bytes))
  t.equal(toHex(ring.keysFor(1)[0]), I.epochKey, 'the persisted keyring fixture still reads')
  const fresh = new EpochKeyring()
  fresh.add({ keysId: fromHex(V.keyring.keysId), body: decodeKeysBody(fromHex(V.keys.chunks[0])), key: fromHex(I.epochKey), knownAtMs: V.keyring.knownAtMs })
  fresh.countMessage(1, V.keyring.messages)
  t.equal(toHex(encodeKeyring(fresh)), V.keyring.bytes)
})

t.test('derivations match the spec, recomputed here from the primitives', async t => {
  const I = V.inputs
  const eph = crypto.x25519KeyPair(fromHex(I.ephemeralSeed))
  t.equal(toHex(eph.publicKey), V.keys.ephemeralPublic)
  const m0 = I.members[0]
  const shared = crypto.x25519(eph.privateKey, fromHex(m0.x))
  const u32 = (n: number): Uint8Array => new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255])
  const k = crypto.hkdfSha256(shared, fromHex(I.channelId), concatBytes([utf8('ddil/v1/epoch-key\n'), u32(I.epoch), fromHex(m0.ed)]), 32)
  const sealed = crypto.aesGcmSeal(k, new Uint8Array(12), fromHex(I.epochKey), concatBytes([fromHex(I.channelRef), u32(I.epoch)]))
  const entry = decodeKeysBody(fromHex(V.keys.chunks[0])).entries.find(e => toHex(e.recipient) === m0.ed.slice(0, 16))!
  t.equal(toHex(entry.sealed), toHex(sealed), 'sealed entry = AES-GCM(HKDF(X25519), zero nonce, aad = ref || u32 epoch)')
  const h = hdrFromJson(V.message.header)
  const sub = crypto.hkdfSha256(fromHex(I.epochKey), fromHex(I.channelId), concatBytes([utf8('ddil/v1/msg\n'), h.author, new Uint8Array([h.kind])]), 32)
  const nonce = concatBytes([new Uint8Array(11), new Uint8Array([h.seq])])
  const aad = encodeCanonical([h.kind, h.precedence, h.channel, h.author, h.seq, h.epoch])
  const body = crypto.aesGcmSeal(sub, nonce, concatBytes([new Uint8Array([1]), utf8(V.message.payloadUtf8)]), aad)
  t.equal(toHex(body), V.message.body, 'body = AES-GCM(subkey, u96be seq, type || payload, aad = canonical header)')
  t.equal(toHex(seqNonce(2 ** 53 - 1)), '00000000001fffffffffffff', 'nonce is 12-byte big-endian seq')
})

// ---- Round trips --------------------------------------------------------------------

t.test('property: keys body and content round trip; encryption adds exactly 17 bytes', async t => {
  const seed = testSeed(t)
  fc.assert(fc.property(
    fc.integer({ min: 1, max: 2 ** 32 - 1 }), fc.integer({ min: 1, max: 8 }),
    fc.uniqueArray(fc.uint8Array({ minLength: 8, maxLength: 8 }), { minLength: 1, maxLength: keysChunkEntriesMax(), selector: toHex }),
    (epoch, count, prefixes) => {
      const entries = prefixes.map(p => ({ recipient: p, sealed: fill(sealedBytes, p[0]) })).sort((a, b) => toHex(a.recipient) < toHex(b.recipient) ? -1 : 1)
      const body = { epoch, ephemeralPublic: fill(32, 7), entries, chunkIndex: count - 1, chunkCount: count }
      const bytes = encodeKeysBody(body)
      if (bytes.length > envelopeBodyBytesMax) return false
      return toHex(encodeKeysBody(decodeKeysBody(bytes))) === toHex(bytes)
    }), { seed, numRuns: 200 })
  fc.assert(fc.property(
    fc.constantFrom(Kind.message, Kind.receipt, Kind.state), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 2 ** 53 - 1 }),
    fc.integer({ min: 1, max: 2 ** 32 - 1 }), fc.constantFrom(1, 2, 3), fc.uint8Array({ maxLength: contentPayloadBytesMax }),
    (kind, precedence, seq, epoch, contentType, payload) => {
      const h = header(alice, seq, epoch, { kind, precedence })
      const key = fill(32, 9)
      const body = encryptContent(crypto, { channelId, epochKey: key, header: h, contentType, payload })
      const back = decryptContent(crypto, { channelId, keys: [fill(32, 8), key], header: h, body })
      return body.length === payload.length + contentOverheadBytes && back.contentType === contentType && toHex(back.payload) === toHex(payload)
    }), { seed: seed + 1, numRuns: 200 })
  t.equal(contentOverheadBytes, 17, 'overhead = 1 content-type byte + 16-byte tag')
})

t.test('receipt payload: sorted unique 32-byte ids, bounded', async t => {
  const ids = Array.from({ length: receiptIdsMax }, (_, i) => crypto.sha256(new Uint8Array([i])))
  const payload = encodeReceipt(ids)
  t.same(decodeReceipt(payload).map(toHex), ids.map(toHex).sort())
  const body = encryptContent(crypto, { channelId, epochKey: fill(32, 1), header: header(bob, 3, 1, { kind: Kind.receipt }), contentType: ContentType.receipt, payload })
  t.ok(body.length <= envelopeBodyBytesMax, `a full receipt (${receiptIdsMax} ids) fits one body: ${body.length} B`)
  t.throws(() => encodeReceipt([...ids, fill(32, 0xff)]), { code: 'ERR_LIMIT' })
  t.throws(() => decodeReceipt(concatBytes([payload, fill(32, 0xff)])), { code: 'ERR_LIMIT' })
  t.throws(() => decodeReceipt(concatBytes([fill(32, 2), fill(32, 1)])), { code: 'ERR_DECODE' }, 'unsorted')
  t.throws(() => decodeReceipt(concatBytes([fill(32, 1), fill(32, 1)])), { code: 'ERR_DECODE' }, 'duplicate')
  t.throws(() => decodeReceipt(fill(33, 1)), { code: 'ERR_DECODE' }, 'partial id')
  t.throws(() => decodeReceipt(new Uint8Array(0)), { code: 'ERR_DECODE' }, 'empty')
  t.throws(() => encodeReceipt([fill(31, 1)]), { code: 'ERR_DECODE' })
})

t.test('keys body: strict decoding', async t => {
  const { envs } = rotate(alice, 1, [alice, bob], 'strict')
  const body = decodeKeysBody(envs[0].body)
  const withField = encodeCanonical(new Map<number, any>([[0, 1], [1, body.ephemeralPublic], [2, body.entries.map(e => [e.recipient, e.sealed])], [3, 0], [4, 1], [5, 0]]))
  t.throws(() => decodeKeysBody(withField), { code: 'ERR_DECODE' }, 'unknown field')
  const reversed = encodeCanonical(new Map<number, any>([[0, 1], [1, body.ephemeralPublic], [2, [...body.entries].reverse().map(e => [e.recipient, e.sealed])], [3, 0], [4, 1]]))
  t.throws(() => decodeKeysBody(reversed), { code: 'ERR_DECODE' }, 'unsorted entries')
  t.throws(() => encodeKeysBody({ ...body, chunkIndex: 1 }), { code: 'ERR_DECODE' }, 'index not below count')
  t.throws(() => encodeKeysBody({ ...body, epoch: 0 }), { code: 'ERR_DECODE' }, 'epoch 0')
  t.throws(() => decodeKeysBody(concatBytes([envs[0].body, new Uint8Array([0])])), { code: 'ERR_DECODE' }, 'trailing byte')
  t.throws(() => decodeKeysBody(new Uint8Array(envelopeBodyBytesMax + 1)), { code: 'ERR_LIMIT' })
  t.throws(() => sealEpoch(crypto, { channelId, channelRef, epoch: 1, epochKey: fill(32, 1), ephemeralSeed: fill(32, 2), recipients: [alice.keys, alice.keys] }), { code: 'ERR_PROTOCOL' }, 'recipient twice')
  t.throws(() => sealEpoch(crypto, { channelId, channelRef, epoch: 1, epochKey: fill(32, 1), ephemeralSeed: fill(32, 2), recipients: [{ ed: alice.ed.publicKey, x: new Uint8Array(32) }] }), { code: 'ERR_CRYPTO' }, 'low-order recipient key')
})

// ---- Removal and tampering ------------------------------------------------------------

t.test('a removed member cannot open the new epoch nor read under it; every remaining member can', async t => {
  const e1 = rotate(alice, 1, [alice, bob, carol, dave], 'removal-1')
  const e2 = rotate(alice, 2, [alice, bob, dave], 'removal-2') // carol removed
  const rings = new Map([alice, bob, carol, dave].map(m => [m.name, new EpochKeyring()]))
  for (const m of [alice, bob, carol, dave]) { learn(rings.get(m.name)!, m, e1.envs); learn(rings.get(m.name)!, m, e2.envs) }
  t.equal(openEpoch(crypto, { channelId, channelRef, body: e2.envs[0].body, me: carol.me }), undefined, 'carol is not a recipient')
  t.same(rings.get('carol')!.keysFor(2), [], 'carol holds no epoch 2 key')
  const body = send(bob, 5, 2, e2.key, 'rally at the north gate')
  t.throws(() => decryptContent(crypto, { channelId, keys: rings.get('carol')!.keysFor(1), header: header(bob, 5, 2), body }), { code: 'ERR_CRYPTO' }, 'old key does not open the new epoch')
  t.throws(() => decryptContent(crypto, { channelId, keys: rings.get('carol')!.keysFor(2), header: header(bob, 5, 2), body }), { code: 'ERR_CRYPTO' }, 'no key at all')
  for (const m of [alice, bob, dave]) {
    const got = decryptContent(crypto, { channelId, keys: rings.get(m.name)!.keysFor(2), header: header(bob, 5, 2), body })
    t.equal(new TextDecoder().decode(got.payload), 'rally at the north gate', `${m.name} reads epoch 2`)
    t.equal(rings.get(m.name)!.currentForSending([carol.ed.publicKey])!.epoch, 2)
  }
})

t.test('tampering with a sealed entry, the ephemeral key, the epoch or the channel fails with ERR_CRYPTO', async t => {
  const { envs } = rotate(alice, 3, [alice, bob, carol], 'tamper')
  const body = decodeKeysBody(envs[0].body)
  const open = (b: Uint8Array, who: Member, over: { channelId?: Uint8Array, channelRef?: Uint8Array } = {}) =>
    openEpoch(crypto, { channelId: over.channelId ?? channelId, channelRef: over.channelRef ?? channelRef, body: b, me: who.me })
  const aliceAt = body.entries.findIndex(e => toHex(e.recipient) === toHex(alice.ed.publicKey.subarray(0, 8)))
  for (let i = 0; i < sealedBytes; i++) {
    const entries = body.entries.map((e, j) => j === aliceAt ? { ...e, sealed: e.sealed.map((b, k) => k === i ? b ^ 1 : b) } : e)
    t.throws(() => open(encodeKeysBody({ ...body, entries }), alice), { code: 'ERR_CRYPTO' })
    if (i === 0) t.ok(open(encodeKeysBody({ ...body, entries }), bob), 'other entries unaffected')
  }
  const eph = body.ephemeralPublic.slice(); eph[5] ^= 1
  t.throws(() => open(encodeKeysBody({ ...body, ephemeralPublic: eph }), bob), { code: 'ERR_CRYPTO' }, 'ephemeral key')
  t.throws(() => open(encodeKeysBody({ ...body, epoch: 4 }), bob), { code: 'ERR_CRYPTO' }, 'epoch number')
  t.throws(() => open(envs[0].body, bob, { channelRef: fill(8, 1) }), { code: 'ERR_CRYPTO' }, 'other channel ref')
  t.throws(() => open(envs[0].body, bob, { channelId: fill(32, 1) }), { code: 'ERR_CRYPTO' }, 'other channel id')
  const bobEntry = body.entries.find(e => toHex(e.recipient) === toHex(bob.ed.publicKey.subarray(0, 8)))!
  const swapped = body.entries.map((e, j) => j === aliceAt ? { ...e, sealed: bobEntry.sealed } : e)
  t.throws(() => open(encodeKeysBody({ ...body, entries: swapped }), alice), { code: 'ERR_CRYPTO' }, "bob's entry under alice's prefix")
})

t.test('tampering with ciphertext or any AAD header field fails with ERR_CRYPTO', async t => {
  const key = fill(32, 0x33)
  const h = header(alice, 42, 7, { precedence: 1 })
  const body = encryptContent(crypto, { channelId, epochKey: key, header: h, contentType: ContentType.text, payload: text('casualty count 3') })
  const dec = (b: Uint8Array, hh: ContentHeader, keys = [key]) => decryptContent(crypto, { channelId, keys, header: hh, body: b })
  for (let i = 0; i < body.length; i++) t.throws(() => dec(body.map((b, k) => k === i ? b ^ 0x80 : b), h), { code: 'ERR_CRYPTO' })
  t.throws(() => dec(body.subarray(0, body.length - 1), h), { code: 'ERR_CRYPTO' }, 'truncated')
  t.throws(() => dec(body, { ...h, seq: 43 }), { code: 'ERR_CRYPTO' }, 'seq')
  t.throws(() => dec(body, { ...h, author: bob.ed.publicKey }), { code: 'ERR_CRYPTO' }, 'author')
  t.throws(() => dec(body, { ...h, epoch: 8 }), { code: 'ERR_CRYPTO' }, 'epoch')
  t.throws(() => dec(body, { ...h, kind: Kind.state }), { code: 'ERR_CRYPTO' }, 'kind')
  t.throws(() => dec(body, { ...h, kind: Kind.receipt }), { code: 'ERR_CRYPTO' }, 'kind')
  t.throws(() => dec(body, { ...h, channel: fill(8, 1) }), { code: 'ERR_CRYPTO' }, 'channel')
  t.throws(() => dec(body, { ...h, precedence: 0 }), { code: 'ERR_CRYPTO' }, 'precedence')
  t.throws(() => decryptContent(crypto, { channelId: fill(32, 1), keys: [key], header: h, body }), { code: 'ERR_CRYPTO' }, 'channel id')
  t.throws(() => dec(body, h, []), { code: 'ERR_CRYPTO' }, 'no key')
  t.throws(() => dec(body, { ...h, kind: Kind.governance }), { code: 'ERR_PROTOCOL' }, 'governance is not sealed')
  t.throws(() => encryptContent(crypto, { channelId, epochKey: key, header: h, contentType: 9, payload: text('x') }), { code: 'ERR_PROTOCOL' })
  t.throws(() => encryptContent(crypto, { channelId, epochKey: key, header: h, contentType: 1, payload: new Uint8Array(contentPayloadBytesMax + 1) }), { code: 'ERR_LIMIT' })
  t.throws(() => encryptContent(crypto, { channelId, epochKey: key, header: { ...h, epoch: 0 }, contentType: 1, payload: text('x') }), { code: 'ERR_DECODE' }, 'epoch 0 is unsealed')
  // A member that seals an unknown content type: authentic, but malformed.
  const sub = messageSubkey(crypto, channelId, key, h.author, h.kind)
  const odd = crypto.aesGcmSeal(sub, seqNonce(h.seq), new Uint8Array([9, 1]), contentAad(h))
  t.throws(() => dec(odd, h), { code: 'ERR_DECODE' })
})

t.test('nonce and subkey: unique per (author, seq); another author at the same seq gets another key', async t => {
  const key = fill(32, 0x44)
  const a = send(alice, 9, 1, key, 'same words')
  const b = send(bob, 9, 1, key, 'same words')
  t.not(toHex(a), toHex(b), 'two authors, same plaintext and seq: different ciphertexts')
  t.not(toHex(messageSubkey(crypto, channelId, key, alice.ed.publicKey, 0)), toHex(messageSubkey(crypto, channelId, key, bob.ed.publicKey, 0)))
  t.not(toHex(messageSubkey(crypto, channelId, key, alice.ed.publicKey, Kind.message)), toHex(messageSubkey(crypto, channelId, key, alice.ed.publicKey, Kind.state)), 'per kind too')
  // Neither author's subkey opens the other's body, even with the rest of the header matching.
  const aSub = messageSubkey(crypto, channelId, key, alice.ed.publicKey, 0)
  const bSub = messageSubkey(crypto, channelId, key, bob.ed.publicKey, 0)
  t.throws(() => crypto.aesGcmOpen(aSub, seqNonce(9), b, contentAad(header(bob, 9, 1))), { code: 'ERR_CRYPTO' })
  t.throws(() => crypto.aesGcmOpen(bSub, seqNonce(9), a, contentAad(header(alice, 9, 1))), { code: 'ERR_CRYPTO' })
  t.not(toHex(send(alice, 10, 1, key, 'same words')), toHex(a), 'same author, next seq: different ciphertext')
  const seed = testSeed(t)
  fc.assert(fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 2 ** 53 - 1 }), { minLength: 2, maxLength: 50 }), seqs =>
    new Set(seqs.map(s => toHex(seqNonce(s)))).size === seqs.length), { seed, numRuns: 200 })
})

// ---- Chunking -------------------------------------------------------------------------

t.test('more than 20 recipients: chunks within the body limit, every member opens exactly one', async t => {
  const many = Array.from({ length: 45 }, (_, i) => member(`m${i}`))
  const { envs, key } = rotate(alice, 1, many, 'chunks')
  const per = keysChunkEntriesMax()
  t.equal(envs.length, Math.ceil(45 / per), `${envs.length} chunks of up to ${per}`)
  const bodies = envs.map(e => decodeKeysBody(e.body))
  for (const [i, b] of bodies.entries()) {
    t.ok(envs[i].body.length <= envelopeBodyBytesMax, `chunk ${i}: ${envs[i].body.length} B body`)
    t.ok(envs[i].bytes.length <= envelopeBytesMax, `chunk ${i}: ${envs[i].bytes.length} B envelope`)
    t.equal(b.chunkIndex, i); t.equal(b.chunkCount, envs.length)
    t.equal(toHex(b.ephemeralPublic), toHex(bodies[0].ephemeralPublic), 'one ephemeral key per epoch')
  }
  t.equal(new Set(bodies.flatMap(b => b.entries.map(e => toHex(e.recipient)))).size, 45)
  for (const m of many) {
    const opened = envs.map(e => openEpoch(crypto, { channelId, channelRef, body: e.body, me: m.me })).filter(o => o !== undefined)
    t.equal(opened.length, 1); t.equal(toHex(opened[0]!.epochKey), toHex(key))
  }
  const full = envs[0].body.length
  t.comment(`sealed size: ${sealedBytes} B per sealed key, ${full} B body for ${per} recipients = ${(full / per).toFixed(1)} B/recipient in the body, ${(envs[0].bytes.length / per).toFixed(1)} B/recipient with the envelope`)
  // A member who has only some chunks can read but must not send: the recipient set is not known yet.
  const ring = new EpochKeyring()
  learn(ring, many[0], envs.slice(0, 1))
  t.same(ring.keysFor(1).length, 1); t.equal(ring.currentForSending([]), undefined, 'incomplete epoch is not sent under')
  learn(ring, many[0], envs.slice(1))
  t.equal(ring.currentForSending([])!.epoch, 1)
  const small = sealEpoch(crypto, { channelId, channelRef, epoch: 1, epochKey: key, ephemeralSeed: fill(32, 3), recipients: many.map(m => m.keys), bodyBytesMax: 600 })
  t.ok(small.length > envs.length && small.every(b => b.length <= 600), 'a tighter body bound gives more, smaller chunks')
  const tooMany = Array.from({ length: epochRecipientsMax + 1 }, (_, i) => ({ ed: crypto.sha256(new Uint8Array([i >> 8, i & 255])), x: alice.x.publicKey }))
  t.throws(() => sealEpoch(crypto, { channelId, channelRef, epoch: 1, epochKey: key, ephemeralSeed: fill(32, 3), recipients: tooMany }), { code: 'ERR_LIMIT' })
})

// ---- Concurrent epochs, sender rule, grace, rotation ------------------------------------

function permutations<T> (xs: T[]): T[][] {
  if (xs.length <= 1) return [xs]
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map(p => [x, ...p]))
}

t.test('concurrent epochs with one number: both readable, the same sending pick on every replica', async t => {
  const all = [alice, bob, carol]
  const e1 = rotate(alice, 1, all, 'conc-1')
  const x = rotate(alice, 2, all, 'conc-2a', 10)
  const y = rotate(bob, 2, all, 'conc-2b', 10)
  const lowest = toHex(x.envs[0].id) < toHex(y.envs[0].id) ? x : y
  const picks = new Set<string>()
  for (const order of permutations([e1.envs, x.envs, y.envs])) {
    for (const m of all) {
      const ring = new EpochKeyring()
      order.forEach((envs, i) => learn(ring, m, envs, nowMs + i))
      t.equal(ring.keysFor(2).length, 2)
      picks.add(toHex(ring.currentForSending([])!.key))
      for (const e of [x, y]) t.equal(decryptContent(crypto, { channelId, keys: ring.keysFor(2), header: header(carol, 3, 2), body: send(carol, 3, 2, e.key, 'ok') }).payload.length, 2)
    }
  }
  t.same([...picks], [toHex(lowest.key)], 'lowest keys-envelope id wins, whatever the arrival order')
})

t.test('grace window: a superseded key is kept until the grace expires, then dropped for good', async t => {
  const all = [alice, bob]
  const e1 = rotate(alice, 1, all, 'grace-1')
  const e2 = rotate(alice, 2, all, 'grace-2')
  const ring = new EpochKeyring()
  learn(ring, bob, e1.envs, nowMs)
  learn(ring, bob, e2.envs, nowMs + dayMs)
  const grace = 7 * dayMs
  t.same(ring.prune(nowMs + dayMs + grace - 1, grace, []), [])
  t.equal(ring.keysFor(1).length, 1, 'still readable inside the grace window')
  t.same(ring.prune(nowMs + dayMs + grace, grace, []), [1])
  t.same(ring.keysFor(1), [], 'dropped after it')
  learn(ring, bob, e1.envs, nowMs + 9 * dayMs)
  t.same(ring.keysFor(1), [], 'a re-synced old keys envelope is not taken back')
  t.equal(ring.nextEpoch(), 3)
  // A successor that a removed member holds does not retire the key everyone still sends under.
  const r = new EpochKeyring()
  learn(r, alice, rotate(alice, 1, [alice, bob], 'g-ok').envs, nowMs)
  learn(r, alice, rotate(alice, 2, [alice, bob, carol], 'g-bad').envs, nowMs)
  t.same(r.prune(nowMs + 30 * dayMs, grace, [carol.ed.publicKey]), [])
  t.equal(r.currentForSending([carol.ed.publicKey])!.epoch, 1)
})

t.test('rotation: interval, message count, and a member who cannot read', async t => {
  const ring = new EpochKeyring()
  learn(ring, alice, rotate(alice, 1, [alice, bob], 'rot').envs, nowMs)
  t.notOk(ring.needsNewEpoch([], nowMs + dayMs - 1, { intervalMs: dayMs, messages: 3 }))
  t.ok(ring.needsNewEpoch([], nowMs + dayMs, { intervalMs: dayMs }), 'interval elapsed')
  ring.countMessage(1, 3)
  t.ok(ring.needsNewEpoch([], nowMs, { messages: 3 }), 'message count reached')
  t.notOk(ring.needsNewEpoch([], nowMs, {}, [alice.ed.publicKey, bob.ed.publicKey]))
  t.match(ring.rotationReason([], nowMs, {}, [alice.ed.publicKey, bob.ed.publicKey, dave.ed.publicKey]), /cannot read/, 'dave added concurrently')
  t.match(ring.rotationReason([bob.ed.publicKey], nowMs), /no epoch key/)
})

t.test('partition during key rotation: after merging, never send under an epoch a removed member holds', async t => {
  const everyone = [alice, bob, carol, dave]
  const e1 = rotate(alice, 1, everyone, 'part-1')
  const sideX = rotate(alice, 2, [alice, bob, dave], 'part-2x')              // alice removes carol
  const sideY2 = rotate(bob, 2, everyone, 'part-2y', 10)                     // bob rotates on schedule, unaware
  const sideY3 = rotate(bob, 3, everyone, 'part-3y', 20)                     // and again
  const removed = [carol.ed.publicKey]
  const rings = new Map<string, EpochKeyring>()
  for (const m of everyone) {
    const ring = new EpochKeyring()
    for (const envs of [e1.envs, sideX.envs, sideY2.envs, sideY3.envs]) learn(ring, m, envs)
    rings.set(m.name, ring)
  }
  for (const m of [alice, bob, dave]) {
    const pick = rings.get(m.name)!.currentForSending(removed)!
    t.equal(toHex(pick.key), toHex(sideX.key), `${m.name} sends under epoch 2 from side X`)
    t.ok(rings.get(m.name)!.needsNewEpoch(removed, nowMs), `${m.name}: a new epoch is needed`)
  }
  const fresh = rotate(alice, rings.get('alice')!.nextEpoch(), [alice, bob, dave], 'part-4', 30)
  t.equal(decodeKeysBody(fresh.envs[0].body).epoch, 4)
  for (const m of everyone) learn(rings.get(m.name)!, m, fresh.envs)
  for (const m of [alice, bob, dave]) {
    const ring = rings.get(m.name)!
    t.equal(ring.currentForSending(removed)!.epoch, 4)
    t.notOk(ring.needsNewEpoch(removed, nowMs), `${m.name}: fresh epoch exists`)
  }
  const body = send(dave, 8, 4, fresh.key, 'after the merge')
  t.throws(() => decryptContent(crypto, { channelId, keys: rings.get('carol')!.keysFor(4), header: header(dave, 8, 4), body }), { code: 'ERR_CRYPTO' })
})

t.test('partition, same epoch number on both sides; and a higher epoch we cannot send under', async t => {
  const everyone = [alice, bob, carol, dave]
  const e1 = rotate(alice, 1, everyone, 'same-1')
  const x = rotate(alice, 2, [alice, bob, dave], 'same-2x')       // removal of carol on side X
  const y = rotate(bob, 2, everyone, 'same-2y', 10)               // scheduled rotation on side Y
  const removed = [carol.ed.publicKey]
  const ring = new EpochKeyring()
  for (const envs of [e1.envs, y.envs, x.envs]) learn(ring, dave, envs)
  t.equal(toHex(ring.currentForSending(removed)!.key), toHex(x.key), 'never the side-Y epoch carol holds')
  t.match(ring.rotationReason(removed, nowMs), /removed member holds a key of epoch 2/, 'until a fresh epoch exists')
  learn(ring, dave, rotate(alice, ring.nextEpoch(), [alice, bob, dave], 'same-3', 20).envs)
  t.equal(ring.currentForSending(removed)!.epoch, 3)
  t.notOk(ring.needsNewEpoch(removed, nowMs))
  // Dave was left out of a later epoch (sealed by an admin who had not seen him added yet).
  learn(ring, dave, rotate(bob, 4, [alice, bob], 'same-4', 30).envs)
  t.equal(ring.currentForSending(removed)!.epoch, 3, 'dave keeps sending under the epoch he holds')
  t.match(ring.rotationReason(removed, nowMs), /epoch 4 exists but cannot be sent under/)
})

t.test('property: the sending pick excludes removed members and ignores arrival order', async t => {
  const seed = testSeed(t)
  const pool = [alice, bob, carol, dave]
  fc.assert(fc.property(
    fc.array(fc.record({ epoch: fc.integer({ min: 1, max: 4 }), who: fc.subarray(pool, { minLength: 1 }) }), { minLength: 1, maxLength: 5 }),
    fc.subarray(pool), fc.nat(),
    (plans, gone, shuffle) => {
      const rounds = plans.map((p, i) => rotate(alice, p.epoch, [alice, ...p.who.filter(m => m !== alice)], `prop-${i}-${p.epoch}-${p.who.map(m => m.name).join()}`, 1 + i * 10))
      const removed = gone.filter(m => m !== alice).map(m => m.ed.publicKey)
      const a = new EpochKeyring(); const b = new EpochKeyring()
      rounds.forEach(r => learn(a, alice, r.envs))
      rounds.map((r, i) => rounds[(i + shuffle) % rounds.length]).forEach(r => learn(b, alice, r.envs))
      const pa = a.currentForSending(removed); const pb = b.currentForSending(removed)
      if (toHex(encodeKeyring(a)) !== toHex(encodeKeyring(b))) return false
      if ((pa === undefined) !== (pb === undefined)) return false
      if (pa === undefined) return a.needsNewEpoch(removed, nowMs)
      const info = a.epochs().find(e => e.epoch === pa.epoch && toHex(e.ephemeralPublic) === toHex(pa.ephemeralPublic))!
      return toHex(pa.key) === toHex(pb!.key) && removed.every(r => !info.recipients.includes(toHex(r.subarray(0, 8))))
    }), { seed, numRuns: 60 })
  t.pass('60 random epoch histories: pick excludes removed members, same under reordering')
})

// ---- Persistence ------------------------------------------------------------------------

t.test('keyring persists across restarts: canonical, versioned, strict', async t => {
  const ring = new EpochKeyring()
  const many = Array.from({ length: 25 }, (_, i) => member(`p${i}`))
  learn(ring, alice, rotate(alice, 1, [alice, ...many], 'persist-1').envs, nowMs)
  learn(ring, alice, rotate(bob, 2, [alice, bob], 'persist-2b').envs, nowMs + 5)
  learn(ring, alice, rotate(alice, 2, [alice, bob], 'persist-2a').envs, nowMs + 7)
  learn(ring, alice, rotate(alice, 3, [alice, ...many], 'persist-3').envs.slice(1), nowMs + 9) // incomplete
  ring.countMessage(2, 11)
  ring.prune(nowMs + 20, 10, [])
  const bytes = encodeKeyring(ring)
  const back = decodeKeyring(bytes)
  t.equal(toHex(encodeKeyring(back)), toHex(bytes))
  t.same(back.epochs(), ring.epochs())
  t.same(back.currentForSending([]), ring.currentForSending([]))
  t.equal(back.nextEpoch(), 4); t.same(back.keysFor(1), [], 'pruned epoch stays pruned')
  t.ok(back.needsNewEpoch([], nowMs, { messages: 11 }), 'message counts survive')
  const m = new Map<number, any>([[0, 2], [1, 0], [2, []], [3, []]])
  t.throws(() => decodeKeyring(encodeCanonical(m)), { code: 'ERR_DECODE' }, 'unknown version')
  t.throws(() => decodeKeyring(concatBytes([bytes, new Uint8Array([0])])), { code: 'ERR_DECODE' }, 'trailing bytes')
  const empty = encodeKeyring(new EpochKeyring())
  t.throws(() => decodeKeyring(encodeCanonical(new Map<number, any>([[0, 1], [1, 0], [2, []], [3, [[5, 1]]]]))), { code: 'ERR_DECODE' }, 'count for an unknown epoch')
  t.equal(decodeKeyring(empty).nextEpoch(), 1)
})
