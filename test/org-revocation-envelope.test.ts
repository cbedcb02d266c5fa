// Revocations that travel (#29): the organisation signs each revocation into an envelope of its
// own channel; a relay that accepts the organisation carries it and takes it into its trust
// store. Pinned bytes, the judgement (forged, another organisation's, an unknown one), the
// trust store taking it in once, and the ledger never giving two revocations one sequence.
import t from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNodeCrypto } from '../node/crypto.ts'
import { createOrgDir, issueCertificate, revokeCertificate } from '../node/org/org-dir.ts'
import { revocationCheck } from '../node/org/revocations.ts'
import { addRevocationEnvelope, joinOrg, judgeRevocationEnvelope, readTrustStore, toTrustState, trustPartner, type TrustStore } from '../node/org/trust-store.ts'
import { RelayChannelPolicy } from '../protocol/channel/relay.ts'
import { validate } from '../protocol/engine/validate.ts'
import { fromHex, toHex } from '../protocol/bytes.ts'
import { authorRef, decodeEnvelope, Kind, signEnvelope } from '../protocol/envelope.ts'
import { orgDocumentKind, signRevocation } from '../protocol/org/certificate.ts'
import { orgChannel, revocationEnvelope, revocationInEnvelope } from '../protocol/org/revocation-envelope.ts'

const crypto = createNodeCrypto()
const vectors = JSON.parse(readFileSync(new URL('./vectors/org.json', import.meta.url), 'utf8')) as { orgSeed: string, revocations: Array<{ bytes: string, envelope: string, serial: number }> }
const org = crypto.ed25519KeyPair(fromHex(vectors.orgSeed))
const other = crypto.ed25519KeyPair(new Uint8Array(32).fill(77))
const trustOf = (...keys: Uint8Array[]): ReturnType<typeof toTrustState> => toTrustState({ own: null, partners: keys.map((key, i) => ({ key, name: `Org ${i}`, gateway: false, trustedMs: 0 })), revocations: [] } as TrustStore)

t.test('pinned: a revocation in its organisation\'s channel, by the organisation, lasting', async t => {
  const v = vectors.revocations[0]
  const env = revocationEnvelope(crypto, org, fromHex(v.bytes), 1)
  t.equal(toHex(env.bytes), v.envelope, 'pinned bytes (test/vectors/org.json)')
  t.equal(env.kind, Kind.revocation)
  t.same(env.channel, orgChannel(crypto, org.publicKey))
  t.same(env.author, authorRef(org.publicKey))
  t.equal(env.expiresAtMs, 2 ** 48 - 1, 'lasting: never purged')
  t.equal(orgDocumentKind(env.bytes), 'revocation-envelope', 'told apart from a bare revocation or certificate')
  t.equal(revocationInEnvelope(crypto, decodeEnvelope(env.bytes, b => crypto.sha256(b)), org.publicKey).serial, v.serial)
  t.throws(() => revocationEnvelope(crypto, other, fromHex(v.bytes), 1), { message: /another organisation's/ }, 'an organisation signs only its own revocations in')
})

t.test('judged against the trust store: its organisation\'s, signed by it, carrying its own signed revocation', async t => {
  const doc = fromHex(vectors.revocations[0].bytes)
  const good = revocationEnvelope(crypto, org, doc, 1)
  t.match(judgeRevocationEnvelope(good, trustOf(org.publicKey), crypto), { ok: true, revocation: { serial: vectors.revocations[0].serial } })
  t.match(judgeRevocationEnvelope(good, trustOf(other.publicKey), crypto), { ok: false, unknownOrg: true }, 'an organisation this relay has not accepted')
  const othersDoc = signRevocation({ org: other.publicKey, serial: 5, issuedMs: 1 }, crypto, other.privateKey)
  const smuggled = signEnvelope(crypto, { ...good, body: othersDoc, ttlSeconds: 2_592_000 }, org.privateKey)
  t.match(judgeRevocationEnvelope(smuggled, trustOf(org.publicKey), crypto), { ok: false, reason: /another organisation's/ }, 'another organisation\'s revocation inside')
  // Someone else signs an envelope that claims the organisation's channel and author: the engine's check under the organisation key refuses it.
  const forged = signEnvelope(crypto, { ...good, ttlSeconds: 2_592_000 }, other.privateKey)
  const checking = new RelayChannelPolicy(crypto, () => true)
  checking.revocations = revocationCheck({ trust: () => trustOf(org.publicKey), crypto })
  t.match(validate(forged, { crypto, authoriser: checking, networkNowMs: () => Date.now() }), { ok: false, reason: 'signature' }, 'forged: not signed by the organisation')
  t.same(validate(good, { crypto, authoriser: checking, networkNowMs: () => Date.now() }), { ok: true }, 'the organisation\'s own passes')
  const plain = new RelayChannelPolicy(crypto, () => true)
  t.match(plain.authorise(good), { ok: false, carried: false, reason: /carries no organisation's revocations/ }, 'a relay without organisations does not carry them, and blames nobody')
  plain.revocations = revocationCheck({ trust: () => trustOf(org.publicKey), crypto })
  t.same(plain.authorise(good), { ok: true, publicKey: org.publicKey }, 'in org mode: carried, its signature checked under the organisation key')
  plain.revocations = revocationCheck({ trust: () => trustOf(other.publicKey), crypto })
  t.match(plain.authorise(good), { ok: false, carried: false }, 'an unknown organisation\'s: not carried, no fault of whoever passed it on')
})

t.test('the ledger: one sequence per revocation, the same bytes when revoked again; the trust store takes each in once', async t => {
  const root = mkdtempSync(join(tmpdir(), 'ddil-revoc-'))
  t.teardown(() => rmSync(root, { recursive: true, force: true }))
  const dir = join(root, 'org')
  const made = await createOrgDir(dir, 'Water utility')
  const nodeKey = crypto.ed25519KeyPair(new Uint8Array(32).fill(5)).publicKey
  const issue = async (n: number): Promise<number> => (await issueCertificate(dir, { kind: 'relay', subject: crypto.ed25519KeyPair(new Uint8Array(32).fill(n)).publicKey, subjectText: `relay ${n}`, name: `relay-${n}`, lifetimeMs: 86_400_000 }, 1_000)).record.serial
  const mine = await issueCertificate(dir, { kind: 'relay', subject: nodeKey, subjectText: 'me', name: 'me', lifetimeMs: 86_400_000 * 30 }, Date.now())
  const [a, b] = [await issue(6), await issue(7)]
  const first = await revokeCertificate(dir, a, 10_000)
  const second = await revokeCertificate(dir, b, 20_000)
  const again = await revokeCertificate(dir, a, 30_000)
  const seqOf = (bytes: Uint8Array): number => decodeEnvelope(bytes, x => crypto.sha256(x)).seq
  t.same([seqOf(first.envelope), seqOf(second.envelope)], [1, 2], 'ranks 1 and 2')
  t.same(again.envelope, first.envelope, 'revoking again gives the same envelope: no two envelopes share a sequence')

  const data = join(root, 'relay')
  mkdirSync(data)
  await joinOrg(data, { orgKey: made.key.publicKey, name: 'Water utility', certificate: mine.bytes, nodeKey }, Date.now())
  const taken = await addRevocationEnvelope(data, first.envelope)
  t.match(taken, { already: false, revocation: { serial: a }, org: { name: 'Water utility' } })
  t.match(await addRevocationEnvelope(data, first.envelope), { already: true }, 'once')
  const store = await readTrustStore(data)
  t.equal(store.revocations.length, 1)
  t.same(store.revocationEnvelopes, [first.envelope], 'kept, to pass on')
  await trustPartner(data, other.publicKey, 'Other', false, Date.now())
  t.same((await readTrustStore(data)).revocationEnvelopes, [first.envelope], 'other changes to the trust store keep it')
  const strangers = revocationEnvelope(crypto, crypto.ed25519KeyPair(new Uint8Array(32).fill(99)), signRevocation({ org: crypto.ed25519KeyPair(new Uint8Array(32).fill(99)).publicKey, serial: 1, issuedMs: 1 }, crypto, crypto.ed25519KeyPair(new Uint8Array(32).fill(99)).privateKey), 1)
  await t.rejects(addRevocationEnvelope(data, strangers.bytes), { code: 'ERR_USAGE', message: /has not accepted/ })
  const forgedFile = signEnvelope(crypto, { ...decodeEnvelope(second.envelope, x => crypto.sha256(x)), ttlSeconds: 2_592_000 }, other.privateKey)
  await t.rejects(addRevocationEnvelope(data, forgedFile.bytes), { code: 'ERR_USAGE', message: /signature/ }, 'a forged file is refused at import')
})
