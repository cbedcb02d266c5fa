// The browser's Crypto port (web/src/crypto.ts, @noble) under Node: the shared port suite,
// every protocol vector in test/vectors/ that involves crypto (envelopes, channel keys and
// bodies, governance, client auth), and a differential check against node:crypto on random
// inputs. Byte-identical results are what let a browser and a relay share protocol/.
import t from 'tap'
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { createBrowserCrypto } from '../web/src/crypto.ts'
import { createNodeCrypto } from '../node/crypto.ts'
import { fromHex, toHex, utf8 } from '../protocol/bytes.ts'
import { decodeEnvelope, signEnvelope, verifySignature, type EnvelopeFields } from '../protocol/envelope.ts'
import { ContentType, decryptContent, encryptContent, type ContentHeader } from '../protocol/channel/content.ts'
import { openEpoch, sealEpoch } from '../protocol/channel/seal.ts'
import { createChannel, signChange } from '../protocol/channel/builders.ts'
import { GovernanceStore } from '../protocol/channel/store.ts'
import { encodeState, type GovernanceState } from '../protocol/channel/state.ts'
import type { Policy } from '../protocol/channel/governance.ts'
import { signClientAuth } from '../node/api/auth.ts'
import { toBase64url } from '../node/api/base64url.ts'
import { cryptoPortSuite } from './helpers/crypto-port-suite.ts'
import { testSeed } from './helpers/seed.ts'

const web = createBrowserCrypto()
const node = createNodeCrypto()
const fill = (n: number, b: number): Uint8Array => new Uint8Array(n).fill(b)
const vectors = (name: string): any => JSON.parse(readFileSync(new URL(`./vectors/${name}.json`, import.meta.url), 'utf8'))

cryptoPortSuite(t, '@noble (browser)', web)

t.test('envelope vectors: the browser signs the pinned bytes and ids', async t => {
  const v = vectors('envelope')
  const author = web.ed25519KeyPair(fill(32, 1))
  t.equal(toHex(author.publicKey), v.authorPublicKey)
  for (const x of v.vectors) {
    const f = x.fields
    const fields = { ...f, channel: fromHex(f.channel), author: fromHex(f.author), deps: f.deps.map(fromHex), body: fromHex(f.body) } as EnvelopeFields
    const env = signEnvelope(web, fields, author.privateKey)
    t.equal(toHex(env.bytes), x.bytes, `${x.name}: bytes`)
    t.equal(toHex(env.id), x.id, `${x.name}: id`)
    verifySignature(web, decodeEnvelope(fromHex(x.bytes), b => web.sha256(b)), author.publicKey)
  }
})

t.test('channel crypto vectors: sealed epoch chunks, openings, message, receipt, read receipt and profile bodies', async t => {
  const V = vectors('channel-crypto')
  const I = V.inputs
  const ids = { channelId: fromHex(I.channelId), channelRef: fromHex(I.channelRef) }
  const members = I.members.map((m: any) => ({ ed: web.ed25519KeyPair(fill(32, m.edSeed)), x: web.x25519KeyPair(fill(32, m.xSeed)) }))
  const chunks = sealEpoch(web, { ...ids, epoch: I.epoch, epochKey: fromHex(I.epochKey), ephemeralSeed: fromHex(I.ephemeralSeed), recipients: members.map((m: any) => ({ ed: m.ed.publicKey, x: m.x.publicKey })) })
  t.same(chunks.map(toHex), V.keys.chunks, 'sealed keys chunks')
  for (const m of members) {
    const opened = openEpoch(web, { ...ids, body: fromHex(V.keys.chunks[0]), me: { ed: m.ed.publicKey, xPrivate: m.x.privateKey } })
    t.equal(toHex(opened?.epochKey ?? new Uint8Array()), I.epochKey, 'every member opens the pinned chunk')
  }
  const header = (h: any): ContentHeader => ({ ...h, channel: fromHex(h.channel), author: fromHex(h.author) })
  const seal = (h: any, contentType: number, payload: Uint8Array): string => toHex(encryptContent(web, { channelId: ids.channelId, epochKey: fromHex(I.epochKey), header: header(h), contentType, payload }))
  t.equal(seal(V.message.header, V.message.contentType, utf8(V.message.payloadUtf8)), V.message.body, 'message body')
  t.equal(seal(V.receipt.header, ContentType.receipt, fromHex(V.receipt.payload)), V.receipt.body, 'receipt body')
  const X = vectors('channel-content')
  t.equal(seal(X.read.header, ContentType.read, fromHex(X.read.payload)), X.read.body, 'read receipt body')
  t.equal(seal(X.profile.header, ContentType.profile, fromHex(X.profile.payload)), X.profile.body, 'profile body')
  const back = decryptContent(web, { channelId: ids.channelId, keys: [fromHex(I.epochKey)], header: header(V.message.header), body: fromHex(V.message.body) })
  t.equal(new TextDecoder().decode(back.payload), V.message.payloadUtf8)
  const tampered = fromHex(V.message.body); tampered[3] ^= 1
  t.throws(() => decryptContent(web, { channelId: ids.channelId, keys: [fromHex(I.epochKey)], header: header(V.message.header), body: tampered }), { code: 'ERR_CRYPTO' }, 'a tampered body is refused')
})

t.test('governance vectors: genesis, add and remove envelopes and the resolved state', async t => {
  const v = vectors('governance')
  const t0 = 1795348800000
  const o = { ed25519: web.ed25519KeyPair(fill(32, 1)), x25519: web.x25519KeyPair(fill(32, 2)) }
  const m = { ed25519: web.ed25519KeyPair(fill(32, 3)), x25519: web.x25519KeyPair(fill(32, 4)) }
  const g = createChannel(web, o, v.policy as Policy, fromHex(v.nonce), { ms: t0, c: 0 })
  const s = new GovernanceStore(web)
  s.add(g)
  const a = signChange(web, o, s.state(g.channel) as GovernanceState, { op: 'add', memberEd: m.ed25519.publicKey, memberX: m.x25519.publicKey, role: 'member' }, 2, { ms: t0 + 1000, c: 0 })
  s.add(a)
  const r = signChange(web, o, s.state(g.channel) as GovernanceState, { op: 'remove', memberEd: m.ed25519.publicKey, cutSeq: 0 }, 3, { ms: t0 + 2000, c: 0 })
  s.add(r)
  t.same([g, a, r].map(e => toHex(e.bytes)), v.changes.map((c: any) => c.bytes), 'envelope bytes')
  t.equal(toHex(encodeState(s.state(g.channel) as GovernanceState)), v.state, 'state')
})

t.test('client auth vector (docs/CLIENT-API.md)', async t => {
  const user = web.ed25519KeyPair(fill(32, 5))
  const signature = signClientAuth(web, user.privateKey, Uint8Array.from({ length: 32 }, (_, i) => i), 'relay-a')
  t.equal(toBase64url(user.publicKey), 'bnoc3Smwt4_ROvTFWY_v9O8qlxZuPKby5Pv8zYBQW_E')
  t.equal(toBase64url(signature), 'aADL8pj9eNJ-eOV4oxlNoitaCmgibCPcFPDw488L_K-6Dm0xywPB_ymiVnWXEQ5SE0uCntSJY8W9eA4e6k1gCA')
})

t.test('property: on random inputs both ports agree byte for byte, and verify each other', async t => {
  const seed = testSeed(t)
  const b32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
  fc.assert(fc.property(b32, b32, b32, fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 40 }), fc.integer({ min: 1, max: 64 }), (edSeed, xSeed, peerSeed, msg, aad, length) => {
    const [ew, en] = [web.ed25519KeyPair(edSeed), node.ed25519KeyPair(edSeed)]
    const same = (a: Uint8Array, b: Uint8Array): boolean => toHex(a) === toHex(b)
    const sig = web.ed25519Sign(ew.privateKey, msg)
    const xw = web.x25519KeyPair(xSeed)
    const peer = node.x25519KeyPair(peerSeed)
    const key = web.sha256(xSeed)
    const nonce = key.subarray(0, 12)
    return same(ew.publicKey, en.publicKey) && same(sig, node.ed25519Sign(en.privateKey, msg)) &&
      node.ed25519Verify(en.publicKey, msg, sig) && web.ed25519Verify(ew.publicKey, msg, node.ed25519Sign(en.privateKey, msg)) &&
      same(xw.publicKey, node.x25519KeyPair(xSeed).publicKey) && same(web.x25519(xw.privateKey, peer.publicKey), node.x25519(peer.privateKey, xw.publicKey)) &&
      same(web.hkdfSha256(msg, aad, edSeed, length), node.hkdfSha256(msg, aad, edSeed, length)) &&
      same(web.aesGcmSeal(key, nonce, msg, aad), node.aesGcmSeal(key, nonce, msg, aad)) &&
      same(web.aesGcmOpen(key, nonce, node.aesGcmSeal(key, nonce, msg, aad), aad), msg) &&
      same(web.sha256(msg), node.sha256(msg))
  }), { seed, numRuns: 100 })
  t.pass('100 random cases agreed')
})
