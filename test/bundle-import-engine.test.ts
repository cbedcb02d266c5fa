// The engine's intake for air-gap bundles (#27): an imported envelope is judged as a peer's
// (signature, authorisation) and, like a peer's, is not in this node's custody, so a large
// import is evicted by policy under quota instead of locking the store against new custody.
import t from 'tap'
import { TestNet } from './helpers/net.ts'
import { signEnvelope, authorRef, Kind, Precedence, type Envelope, type Precedence as PrecedenceValue } from '../protocol/envelope.ts'
import { toHex } from '../protocol/bytes.ts'
import { entryOverheadBytes } from '../protocol/engine/catalog.ts'
import { crypto } from './helpers/fixtures.ts'

function envelope (author: { publicKey: Uint8Array, privateKey: Uint8Array }, seq: number, precedence: PrecedenceValue, nowMs: number): Envelope {
  return signEnvelope(crypto, {
    kind: Kind.message, precedence, channel: new Uint8Array(8).fill(9), author: authorRef(author.publicKey),
    seq, hlc: { ms: nowMs, c: seq }, ttlSeconds: 3600, epoch: 1, deps: [], body: new Uint8Array(100).fill(seq),
  }, author.privateKey)
}

t.test('imported envelopes are evictable, checked like a peer\'s, and idempotent', async t => {
  const net = new TestNet()
  const author = net.author(5)
  // Room for two of these envelopes (all the same size: the stamp's bytes do not depend on its value).
  const charged = envelope(author, 1, Precedence.routine, 0).bytes.length + entryOverheadBytes
  const solo = await net.node('solo', { storageBytesMax: 2 * charged })
  const now = solo.stamp().ms
  const [r1, r2, f3] = [envelope(author, 1, Precedence.routine, now), envelope(author, 2, Precedence.routine, now), envelope(author, 3, Precedence.flash, now)]
  await solo.importEnvelope(r1.bytes)
  await solo.importEnvelope(r2.bytes)
  await solo.importEnvelope(f3.bytes)
  const held = new Set(net.ids('solo'))
  t.ok(held.has(toHex(f3.id)) && !held.has(toHex(r1.id)), 'the quota evicted the oldest routine import for the flash one, as for a peer\'s')
  t.equal(solo.counters.submitted, 0, 'imports are not counted as client submissions')
  t.ok(solo.holds(r1.id), 'the evicted id is remembered, so a second import does not store it again')

  const stranger = crypto.ed25519KeyPair(new Uint8Array(32).fill(77)) // not authorised
  await t.rejects(solo.importEnvelope(envelope(stranger, 1, Precedence.flash, now).bytes), { code: 'ERR_UNAUTHORISED' })
  const forged = new Uint8Array(envelope(author, 4, Precedence.flash, now).bytes); forged[forged.length - 1] ^= 1
  await t.rejects(solo.importEnvelope(forged), { code: 'ERR_SIGNATURE' })
  t.equal(net.ids('solo').length, 2, 'nothing refused was stored')
})
