// The client API (node/api): wire codec vectors, authentication, submit, subscribe, status
// pushes and every robustness bound, over real loopback WebSockets against a real engine
// (test/helpers/api-node.ts). No fixed sleeps: every wait is for a message, bounded by a timeout.
import { within } from './helpers/wait.ts'
import t from 'tap'
import fc from 'fast-check'
import { idKey } from '../protocol/engine/catalog.ts'
import { fromHex, toHex } from '../protocol/bytes.ts'
import { DecodeError, LimitError, SignatureError, UnauthorisedError, ExpiredError, isDdilError } from '../protocol/errors.ts'
import { clientAuthInput, signClientAuth } from '../node/api/auth.ts'
import { fromBase64url, toBase64url } from '../node/api/base64url.ts'
import { connectClient } from '../node/api/client.ts'
import { wireCodeOf } from '../node/api/errors.ts'
import type { ApiEnvelope, MessageStatus } from '../node/api/facade.ts'
import { clientMessageBytesMax, wsPayloadBytesMax } from '../node/api/limits.ts'
import { decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage } from '../node/api/wire.ts'
import { crypto } from './helpers/fixtures.ts'
import { channelA, channelB, envelope, GatedStore, nodeId, Raw, setup, stranger, user, type Msg } from './helpers/api-node.ts'

const seed = Number(process.env.API_TEST_SEED ?? 20260601)

// ---- Codec vectors ----------------------------------------------------------------------

t.test('base64url: pinned vectors, agrees with Buffer, refuses every other spelling', async t => {
  t.equal(toBase64url(Uint8Array.of(0xfb, 0xff)), '-_8')
  t.equal(toBase64url(new Uint8Array(0)), '')
  t.same(fromBase64url('AAECAw'), Uint8Array.of(0, 1, 2, 3))
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), bytes => {
    const text = toBase64url(bytes)
    return text === Buffer.from(bytes).toString('base64url') && toHex(fromBase64url(text)) === toHex(bytes)
  }), { seed, numRuns: 300 })
  for (const bad of ['AAECAw==', 'AA EC', 'AAEC+w', 'AAEC/w', 'A', 'AB', 'AAF', '\u00e9AAA']) {
    t.throws(() => fromBase64url(bad), DecodeError, `refuses ${JSON.stringify(bad)}`)
  }
})

t.test('auth signing input and messages: pinned vectors', async t => {
  const nonce = Uint8Array.from({ length: 32 }, (_, i) => i)
  t.equal(toHex(clientAuthInput(nonce, 'relay-a')), '6464696c2f76312f636c69656e742d617574680a' + toHex(nonce) + '72656c61792d61')
  const signature = signClientAuth(crypto, user.privateKey, nonce, 'relay-a')
  const auth = '{"type":"auth","rid":0,"publicKey":"bnoc3Smwt4_ROvTFWY_v9O8qlxZuPKby5Pv8zYBQW_E","signature":"aADL8pj9eNJ-eOV4oxlNoitaCmgibCPcFPDw488L_K-6Dm0xywPB_ymiVnWXEQ5SE0uCntSJY8W9eA4e6k1gCA"}'
  t.equal(encodeClientMessage({ type: 'auth', rid: 0, publicKey: user.publicKey, signature }), auth)
  t.same(decodeClientMessage(auth), { type: 'auth', rid: 0, publicKey: user.publicKey, signature })
  const challenge = '{"type":"challenge","v":2,"nonce":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8","nodeId":"relay-a"}'
  t.equal(encodeServerMessage({ type: 'challenge', v: 2, nonce, nodeId: 'relay-a' }), challenge)
  t.same(decodeServerMessage(challenge), { type: 'challenge', v: 2, nonce, nodeId: 'relay-a' })
  const status = '{"type":"status","id":"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s","state":"delivered","deliveredTo":2,"of":3}'
  const statusMsg = { type: 'status' as const, id: new Uint8Array(32).fill(0xab), state: 'delivered' as const, deliveredTo: 2, of: 3 }
  t.equal(encodeServerMessage(statusMsg), status)
  t.same(decodeServerMessage(status), statusMsg)
  t.equal(encodeClientMessage({ type: 'subscribe', rid: 'a', channel: channelA, backlog: 5 }), '{"type":"subscribe","rid":"a","channel":"CgoKCgoKCgo","backlog":5}')
  t.throws(() => decodeClientMessage('{"type":"stamp","rid":1,"__proto__":{}}'), DecodeError, 'unknown fields (even __proto__) are refused')
  t.throws(() => decodeClientMessage('{"type":"subscribe","rid":1,"channel":"CgoKCgoKCgo","backlog":100000}'), LimitError)
})

// ---- Authentication -----------------------------------------------------------------------

t.test('auth: the client library authenticates; the node sees who', async t => {
  const n = await setup(t)
  const client = await connectClient({ url: n.url, user, crypto, nodeId })
  t.equal(client.nodeId, nodeId)
  const e = await n.event(e => e.type === 'authenticated')
  t.same(e.type === 'authenticated' && toHex(e.user), toHex(user.publicKey))
  t.same(await client.status(), { nodeId, envelopes: 0, storeBytes: 0 })
  const stamp = await client.stamp()
  t.equal(stamp.ms, n.clock.now, 'stamp is the node clock')
  await client.close()
})

t.test('auth: wrong key, bad signature, wrong node, replayed answer and unlisted user are refused with ERR_AUTH', async t => {
  const n = await setup(t)
  const raw = new Raw(n.url)
  const challenge = await raw.next()
  t.equal(challenge.type, 'challenge'); t.equal(challenge.v, 2); t.equal(challenge.nodeId, nodeId)
  const nonce = fromBase64url(challenge.nonce as string)
  // Signed by the stranger but claiming the user's key.
  raw.send({ type: 'auth', rid: 1, publicKey: toBase64url(user.publicKey), signature: toBase64url(signClientAuth(crypto, stranger.privateKey, nonce, nodeId)) })
  t.match(await raw.next(), { type: 'error', rid: 1, code: 'ERR_AUTH' }, 'wrong key')
  const good = signClientAuth(crypto, user.privateKey, nonce, nodeId)
  const flipped = good.slice(); flipped[10] ^= 1
  raw.send({ type: 'auth', rid: 2, publicKey: toBase64url(user.publicKey), signature: toBase64url(flipped) })
  t.match(await raw.next(), { type: 'error', rid: 2, code: 'ERR_AUTH' }, 'bit-flipped signature')
  raw.send({ type: 'auth', rid: 3, publicKey: toBase64url(user.publicKey), signature: toBase64url(signClientAuth(crypto, user.privateKey, nonce, 'another-node')) })
  t.match(await raw.next(), { type: 'error', rid: 3, code: 'ERR_AUTH' }, 'signature for another node')
  t.match(await within(raw.closed, 'close'), { code: 1008 }, 'closed after three failures')
  t.equal(n.events.filter(e => e.type === 'auth-refused').length, 3, 'each refusal is an event for the audit log')

  // A valid answer to an old challenge is useless on a new connection (fresh nonce).
  const second = new Raw(n.url)
  await second.next()
  second.send({ type: 'auth', rid: 4, publicKey: toBase64url(user.publicKey), signature: toBase64url(good) })
  t.match(await second.next(), { type: 'error', rid: 4, code: 'ERR_AUTH' }, 'replayed answer')
  second.ws.close()

  // A valid signature from a key the node does not list.
  const err = await connectClient({ url: n.url, user: stranger, crypto }).then(() => undefined, (e: unknown) => e)
  t.ok(err instanceof UnauthorisedError, 'unlisted user: UnauthorisedError')
  t.equal(isDdilError(err) && wireCodeOf(err), 'ERR_AUTH')
})

t.test('auth: requests before auth are refused, and count as failed attempts', async t => {
  const n = await setup(t)
  const raw = new Raw(n.url)
  await raw.next()
  const envBytes = envelope(n).bytes
  raw.send({ type: 'submit', rid: 1, envelope: toBase64url(envBytes) })
  t.match(await raw.next(), { type: 'error', rid: 1, code: 'ERR_AUTH' })
  raw.send({ type: 'subscribe', rid: 2, channel: toBase64url(channelA), backlog: 10 })
  t.match(await raw.next(), { type: 'error', rid: 2, code: 'ERR_AUTH' })
  raw.send('not json')
  t.match(await raw.next(), { type: 'error', rid: null, code: 'ERR_DECODE' })
  t.match(await within(raw.closed, 'close'), { code: 1008 })
  t.equal(n.engine.probe.catalog.size, 0, 'nothing was stored')
})

t.test('auth: an unauthenticated connection is closed after the auth timeout', async t => {
  const n = await setup(t, { authTimeoutMs: 10_000 })
  const raw = new Raw(n.url)
  await raw.next()
  const until = n.clock.now + 10_000
  for (let fn = n.clock.next(until); fn !== undefined; fn = n.clock.next(until)) fn()
  t.match(await within(raw.closed, 'close'), { code: 1008, reason: 'authentication timeout' })
  t.ok(n.events.some(e => e.type === 'disconnected' && e.reason === 'auth-timeout'))
})

// ---- Submit -------------------------------------------------------------------------------

t.test('submit: resolves only once the engine has stored the envelope durably', async t => {
  const n = await setup(t)
  const client = await connectClient({ url: n.url, user, crypto })
  const env = envelope(n)
  n.store.hold()
  let settled = false
  const submitted = client.submit(env.bytes).finally(() => { settled = true })
  await within((n.store.gate as NonNullable<GatedStore['gate']>).entered, 'the store write')
  await client.stamp() // a later request's reply has come back: the server is not sitting on `submitted`
  t.notOk(settled, 'no reply while the write is in flight')
  t.notOk(n.engine.probe.catalog.has(idKey(env.id)), 'engine has not indexed it yet')
  n.store.gate?.release()
  const { id } = await within(submitted, 'submitted')
  t.equal(toHex(id), toHex(env.id))
  const held = await n.engine.get(env.id)
  t.equal(held !== undefined && toHex(held.bytes), toHex(env.bytes), 'the engine holds it')
  await client.close()
})

t.test('submit: forged, unauthorised, expired and garbage envelopes get typed errors; the connection stays up', async t => {
  const n = await setup(t)
  const client = await connectClient({ url: n.url, user, crypto })
  const forged = envelope(n).bytes.slice(); forged[forged.length - 5] ^= 1
  const refusal = async (bytes: Uint8Array): Promise<unknown> => client.submit(bytes).then(() => undefined, (e: unknown) => e)
  const e1 = await refusal(forged)
  t.ok(e1 instanceof SignatureError, 'bit-flipped signature: SignatureError')
  t.equal(isDdilError(e1) && wireCodeOf(e1), 'ERR_SIGNATURE')
  t.ok(await refusal(envelope(n, channelA, stranger).bytes) instanceof UnauthorisedError, 'unknown author: UnauthorisedError')
  const stale = envelope(n, channelA, user, { ttlSeconds: 10 })
  n.clock.now += 11_000
  t.ok(await refusal(stale.bytes) instanceof ExpiredError, 'expired: ExpiredError')
  t.ok(await refusal(Uint8Array.of(1, 2, 3)) instanceof DecodeError, 'garbage: DecodeError')
  t.equal(n.engine.probe.catalog.size, 0, 'none stored')
  const ok = envelope(n)
  t.equal(toHex((await client.submit(ok.bytes)).id), toHex(ok.id), 'an honest submit still works on the same connection')
  await client.close()
})

t.test('submit: delivery status is pushed to the submitting connection only', async t => {
  const n = await setup(t)
  const client = await connectClient({ url: n.url, user, crypto })
  const other = await Raw.authed(n.url)
  const statuses: Array<[string, MessageStatus]> = []
  let wake = (): void => {}
  client.onStatus((id, s) => { statuses.push([toHex(id), s]); wake() })
  const env = envelope(n, channelA, user, { ttlSeconds: 10 })
  await client.submit(env.bytes)
  n.clock.now = env.expiresAtMs
  await n.engine.purge()
  if (statuses.length === 0) await within(new Promise<void>(resolve => { wake = resolve }), 'status push')
  t.same(statuses, [[toHex(env.id), { state: 'expired', reason: 'purged' }]])
  t.match(await other.alive(), { type: 'stamped' }, 'the other connection got no status push before its next reply')
  other.ws.close()
  await client.close()
})

// ---- Malformed frames -------------------------------------------------------------------

t.test('malformed frames get error replies and the connection keeps working', async t => {
  const n = await setup(t)
  const raw = await Raw.authed(n.url)
  const cases: Array<[string, Msg | string, string]> = [
    ['bad JSON', '{"type":', 'ERR_DECODE'],
    ['JSON that is not an object', '[1,2]', 'ERR_DECODE'],
    ['unknown type', { type: 'launch', rid: 7 }, 'ERR_PROTOCOL'],
    ['missing field', { type: 'submit', rid: 8 }, 'ERR_DECODE'],
    ['unknown field', { type: 'stamp', rid: 9, extra: 1 }, 'ERR_DECODE'],
    ['wrong base64', { type: 'submit', rid: 10, envelope: 'AA==' }, 'ERR_DECODE'],
    ['wrong channel length', { type: 'subscribe', rid: 11, channel: 'AAAA', backlog: 1 }, 'ERR_DECODE'],
    ['bad rid', { type: 'stamp', rid: -1 }, 'ERR_DECODE'],
    ['envelope over the protocol bound', { type: 'submit', rid: 12, envelope: 'A'.repeat(2100) }, 'ERR_LIMIT'],
    ['frame over the message bound', { type: 'stamp', rid: 13, pad: 'x'.repeat(clientMessageBytesMax) }, 'ERR_LIMIT'],
    ['auth again', { type: 'auth', rid: 14, publicKey: toBase64url(user.publicKey), signature: toBase64url(new Uint8Array(64)) }, 'ERR_PROTOCOL'],
  ]
  for (const [what, frame, code] of cases) {
    raw.send(frame)
    const reply = await raw.next()
    t.equal(reply.type, 'error', what)
    t.equal(reply.code, code, `${what}: ${code}`)
    t.match(await raw.alive(what), { type: 'stamped', rid: what }, `${what}: connection still works`)
  }
  raw.ws.send(Buffer.from([1, 2, 3]), { binary: true })
  t.match(await raw.next(), { type: 'error', code: 'ERR_DECODE' }, 'binary frame')
  t.match(await raw.alive(), { type: 'stamped' })
  raw.send('x'.repeat(wsPayloadBytesMax + 1))
  t.match(await within(raw.closed, 'close'), { code: 1009 }, 'beyond ws maxPayload the frame is not read and the connection closes')
})

// ---- Subscriptions --------------------------------------------------------------------

t.test('subscribe: backlog (newest n, oldest first), then live envelopes; unsubscribe stops them', async t => {
  const n = await setup(t)
  const client = await connectClient({ url: n.url, user, crypto })
  const before = [envelope(n), envelope(n), envelope(n)]
  for (const e of before) await client.submit(e.bytes)
  await client.submit(envelope(n, channelB).bytes)
  const seen: ApiEnvelope[] = []
  let wake = (): void => {}
  const sub = await client.subscribe(channelA, { backlog: 2 }, env => { seen.push(env); wake() })
  t.equal(sub.backlog, 2)
  t.same(seen.map(e => toHex(e.id)), before.slice(1).map(e => toHex(e.id)), 'the newest two, oldest first, before `subscribed`')
  t.equal(toHex(seen[0].bytes), toHex(before[1].bytes))

  const publisher = await connectClient({ url: n.url, user, crypto })
  const live = envelope(n)
  await publisher.submit(live.bytes)
  await publisher.submit(envelope(n, channelB).bytes)
  if (seen.length < 3) await within(new Promise<void>(resolve => { wake = resolve }), 'live envelope')
  t.same(seen.map(e => toHex(e.id)).slice(2), [toHex(live.id)], 'live delivery, other channels filtered')

  await sub.unsubscribe()
  await publisher.submit(envelope(n).bytes)
  await client.stamp() // any push for the envelope above would have arrived before this reply
  t.equal(seen.length, 3, 'nothing after unsubscribe')
  await publisher.close()
  await client.close()
})

t.test('subscribe: bounded per connection, duplicates refused', async t => {
  const n = await setup(t, { subscriptionsPerConnectionMax: 2 })
  const raw = await Raw.authed(n.url)
  const sub = (rid: number, channel: Uint8Array): void => { raw.send({ type: 'subscribe', rid, channel: toBase64url(channel), backlog: 0 }) }
  sub(1, channelA); t.match(await raw.next(), { type: 'subscribed', rid: 1, backlog: 0 })
  sub(2, channelA); t.match(await raw.next(), { type: 'error', rid: 2, code: 'ERR_PROTOCOL' }, 'duplicate')
  sub(3, channelB); t.match(await raw.next(), { type: 'subscribed', rid: 3 })
  sub(4, fromHex('0c0c0c0c0c0c0c0c')); t.match(await raw.next(), { type: 'error', rid: 4, code: 'ERR_LIMIT' }, 'over the bound')
  raw.send({ type: 'unsubscribe', rid: 5, channel: toBase64url(channelB) }); t.match(await raw.next(), { type: 'unsubscribed', rid: 5 })
  sub(6, fromHex('0c0c0c0c0c0c0c0c')); t.match(await raw.next(), { type: 'subscribed', rid: 6 }, 'room again after unsubscribe')
  raw.ws.close()
})

t.test('subscribe: envelopes stored while the backlog loads are sent once, after it; too many end the subscription', async t => {
  const n = await setup(t, { subscribePendingEnvelopesMax: 2 })
  const client = await connectClient({ url: n.url, user, crypto })
  const first = envelope(n)
  await client.submit(first.bytes)
  // Each backlog read waits at a gate: `started` resolves when a read reaches it, `release` opens it.
  const backlog = n.facade.backlog.bind(n.facade)
  let release = (): void => {}
  let entered = (): void => {}
  let started = Promise.resolve()
  const arm = (): void => { started = new Promise<void>(resolve => { entered = resolve }) }
  n.facade.backlog = (channel, options) => (async function * () {
    const open = new Promise<void>(resolve => { release = resolve })
    entered()
    await open
    yield * backlog(channel, options)
  })()
  arm()
  const seen: string[] = []
  const subscribing = client.subscribe(channelA, { backlog: 10 }, env => { seen.push(toHex(env.id)) })
  await within(started, 'backlog started')
  const during = envelope(n)
  await client.submit(during.bytes) // stored (and announced live) before the backlog is read
  release()
  t.equal((await within(subscribing, 'subscribed')).backlog, 2)
  t.same(seen, [toHex(first.id), toHex(during.id)], 'each envelope once, in order')

  const raw = await Raw.authed(n.url)
  arm()
  raw.send({ type: 'subscribe', rid: 'sub', channel: toBase64url(channelB), backlog: 10 })
  await within(started, 'backlog started')
  for (let i = 0; i < 3; i++) await client.submit(envelope(n, channelB).bytes)
  release()
  t.match(await raw.next(), { type: 'error', rid: 'sub', code: 'ERR_LIMIT' }, 'more live envelopes than the pending bound: subscription ended')
  t.match(await raw.alive(), { type: 'stamped' }, 'no backlog follows; the connection still works')
  raw.ws.close()
  await client.close()
})

t.test('an unexpected facade failure is ERR_INTERNAL, and the connection stays up', async t => {
  const n = await setup(t)
  const client = await connectClient({ url: n.url, user, crypto })
  n.facade.status = () => ({ counter: 1n })
  const err = await client.status().then(() => undefined, (e: unknown) => e)
  t.equal(isDdilError(err) && wireCodeOf(err), 'ERR_INTERNAL')
  t.ok((await client.stamp()).ms > 0)
  await client.close()
})

// ---- Flooding and slow consumers --------------------------------------------------------

t.test('rate limit: a burst beyond the bucket gets ERR_RATE; after the refill honest requests succeed', async t => {
  const n = await setup(t, { requestRatePerSecond: 50, requestBurstMax: 100 })
  const raw = await Raw.authed(n.url) // the auth frame took one token
  for (let i = 0; i < 120; i++) raw.send({ type: 'stamp', rid: i })
  const replies = await raw.take(120)
  t.equal(replies.filter(r => r.type === 'stamped').length, 99, '99 served from the bucket')
  const refused = replies.filter(r => r.type === 'error')
  t.equal(refused.length, 21, '21 refused')
  t.ok(refused.every(r => r.code === 'ERR_RATE' && r.rid >= 99), 'refusals carry ERR_RATE and their rid')
  n.clock.now += 1000 // refills 50 tokens
  for (let i = 0; i < 50; i++) raw.send({ type: 'stamp', rid: 1000 + i })
  const after = await raw.take(50)
  t.ok(after.every(r => r.type === 'stamped'), 'all 50 served after the refill')
  raw.send({ type: 'stamp', rid: 2000 })
  t.match(await raw.next(), { code: 'ERR_RATE' }, 'and the 51st is refused again')
  raw.ws.close()
})

t.test('rate limit: a client that ignores ERR_RATE is disconnected', async t => {
  const n = await setup(t, { requestBurstMax: 10, rateRefusalsMax: 20 })
  const raw = await Raw.authed(n.url)
  for (let i = 0; i < 60; i++) raw.send('garbage')
  t.match(await within(raw.closed, 'close'), { code: 1008 })
  t.equal(raw.inbox.filter(m => m.code === 'ERR_RATE').length, 20, 'exactly rateRefusalsMax ERR_RATE replies, then the door')
  t.ok(n.events.some(e => e.type === 'disconnected' && e.reason === 'rate'))
})

t.test('authenticated connections are bounded; a client over the bound is closed before its authed reply', async t => {
  const n = await setup(t, { clientConnectionsMax: 1 })
  const first = await connectClient({ url: n.url, user, crypto })
  await t.rejects(connectClient({ url: n.url, user, crypto }), { message: /1013/ })
  t.ok(n.events.some(e => e.type === 'disconnected' && e.reason === 'connections'))
  t.equal(n.events.filter(e => e.type === 'authenticated').length, 1, 'the refused one is not reported as authenticated')
  t.match(await first.stamp(), { ms: n.clock.now }, 'the first still works')
  await first.close()
  const third = await connectClient({ url: n.url, user, crypto })
  t.ok(await third.stamp(), 'its place is free again once it closes')
  await third.close()
})

t.test('unauthenticated sockets have slots of their own: the oldest makes way, and they never take an authenticated place', async t => {
  const n = await setup(t, { clientConnectionsMax: 1, clientPendingMax: 2, clientPendingPerSourceMax: 8 })
  const strangers = [new Raw(n.url), new Raw(n.url)]
  for (const s of strangers) await s.next() // their challenges: both upgraded, neither authenticates
  const client = await connectClient({ url: n.url, user, crypto })
  t.match(await within(strangers[0].closed, 'the oldest stranger to be dropped'), { code: 1006 }, 'the oldest unauthenticated socket made way (destroyed, no close frame)')
  t.match(await client.stamp(), { ms: n.clock.now }, 'the client authenticated past a full pool of strangers')
  t.equal(strangers[1].ws.readyState, WebSocket.OPEN, 'the newer stranger is still there')
  t.ok(n.events.some(e => e.type === 'disconnected' && e.reason === 'admission'), 'the drop is reported')
  await client.close()
})

t.test('unauthenticated sockets are dropped after the short deadline while their slots are scarce', async t => {
  const n = await setup(t, { clientPendingMax: 2, clientPressuredAuthTimeoutMs: 2000 })
  const strangers = [new Raw(n.url), new Raw(n.url)]
  for (const s of strangers) await s.next()
  const until = n.clock.now + 2000
  for (let fn = n.clock.next(until); fn !== undefined; fn = n.clock.next(until)) fn()
  for (const s of strangers) await within(s.closed, 'a slow stranger to be dropped')
  t.ok(n.events.filter(e => e.type === 'disconnected' && e.reason === 'admission').length === 2, 'after 2 s, not the 10 s auth timeout')
})

t.test('slow consumer: a client that stops reading is disconnected, not buffered without bound', async t => {
  const bound = 64 * 1024
  const n = await setup(t, { sendBufferedBytesMax: bound })
  const slow = await Raw.authed(n.url)
  slow.send({ type: 'subscribe', rid: 1, channel: toBase64url(channelA), backlog: 0 })
  t.match(await slow.next(), { type: 'subscribed' })
  slow.ws.pause() // stop reading: kernel buffers fill, then the server's
  const dropped = n.event(e => e.type === 'disconnected' && e.reason === 'slow-consumer')
  let gone = false
  void dropped.then(() => { gone = true }, () => {})
  let sent = 0
  const body = new Uint8Array(1000).fill(7)
  // ~1.4 KB of JSON per envelope; 20,000 of them (28 MB) is far beyond any loopback buffering.
  while (!gone && sent < 20_000) {
    for (let i = 0; i < 200; i++) await n.engine.submit(envelope(n, channelA, user, { body }).bytes)
    sent += 200
    await new Promise(resolve => setImmediate(resolve))
  }
  await within(dropped, 'slow-consumer disconnect')
  t.ok(gone, `dropped after ${sent} envelopes`)
  const honest = await connectClient({ url: n.url, user, crypto })
  t.ok((await honest.stamp()).ms > 0, 'the node serves others')
  await honest.close()
  slow.ws.resume()
  await within(slow.closed, 'slow client sees the close')
})
