// Client API version 2 (docs/CLIENT-API.md): the new messages' pinned forms and strictness,
// enrolment with a one-time code before authentication (wrong, reused and expired codes, the
// failed-attempt bound, one enrolment at a time), operator-only requests refused to anyone else,
// revocation ending live sessions at once and refusing the key after, the channel list from the
// relay's verified governance, and enrolments the audit log cannot record refused. Over real
// loopback WebSockets against a real engine and client registry (test/helpers/api-node.ts).
import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { within } from './helpers/wait.ts'
import { crypto } from './helpers/fixtures.ts'
import { channelClient, relayLog } from './helpers/channel-clients.ts'
import { Raw, setup, stranger, user, type Msg } from './helpers/api-node.ts'
import { fromHex, toHex } from '../protocol/bytes.ts'
import { AuditError, DecodeError, LimitError } from '../protocol/errors.ts'
import { decodeEnvelope } from '../protocol/envelope.ts'
import type { UserKeys } from '../protocol/channel/builders.ts'
import { toBase64url } from '../node/api/base64url.ts'
import { connectClient } from '../node/api/client.ts'
import { wireCodeOf } from '../node/api/errors.ts'
import { enrolledClientsMax, wsPayloadBytesMax } from '../node/api/limits.ts'
import { clientsFileName, decodeClientsFile } from '../node/clients-file.ts'
import { decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage, type ClientRecord } from '../node/api/wire.ts'

const device: UserKeys = { ed25519: crypto.ed25519KeyPair(new Uint8Array(32).fill(7)), x25519: crypto.x25519KeyPair(new Uint8Array(32).fill(8)) }
const other: UserKeys = { ed25519: crypto.ed25519KeyPair(new Uint8Array(32).fill(9)), x25519: crypto.x25519KeyPair(new Uint8Array(32).fill(10)) }

function enrolOptions (url: string, u: UserKeys, code: string, name = 'Ana phone'): Parameters<typeof connectClient>[0] {
  return { url, user: u.ed25519, crypto, enrol: { code, xPublicKey: u.x25519.publicKey, name } }
}

async function refusal (p: Promise<unknown>): Promise<{ code: string, message: string }> {
  const e = await p.then(() => undefined, (err: unknown) => err)
  if (e === undefined) throw new Error('expected a refusal')
  return { code: wireCodeOf(e as never), message: (e as Error).message }
}

t.test('v2 messages: pinned forms; every new field is checked both ways', async t => {
  const key = new Uint8Array(32).fill(0xab)
  const x = new Uint8Array(32).fill(0xcd)
  const k = toBase64url(key)
  const pinned: Array<[string, Msg, 'client' | 'server']> = [
    [`{"type":"enrol","rid":1,"code":"7KQ2M-X9D4R","publicKey":"${k}","xPublicKey":"${toBase64url(x)}","name":"Ana"}`, { type: 'enrol', rid: 1, code: '7KQ2M-X9D4R', publicKey: key, xPublicKey: x, name: 'Ana' }, 'client'],
    ['{"type":"channels","rid":2}', { type: 'channels', rid: 2 }, 'client'],
    ['{"type":"enrolment","rid":3,"name":"","ttlMs":900000}', { type: 'enrolment', rid: 3, name: '', ttlMs: 900000 }, 'client'],
    [`{"type":"revokeClient","rid":4,"publicKey":"${k}"}`, { type: 'revokeClient', rid: 4, publicKey: key }, 'client'],
    ['{"type":"clientList","rid":5}', { type: 'clientList', rid: 5 }, 'client'],
    [`{"type":"enrolled","rid":1,"user":"${k}"}`, { type: 'enrolled', rid: 1, user: key }, 'server'],
    ['{"type":"channelList","rid":2,"channels":[{"channel":"CgoKCgoKCgo","role":"admin","members":3}]}', { type: 'channelList', rid: 2, channels: [{ channel: fromHex('0a0a0a0a0a0a0a0a'), role: 'admin', members: 3 }] }, 'server'],
    ['{"type":"enrolmentCode","rid":3,"code":"7KQ2M-X9D4R","expiresAtMs":1795349700000}', { type: 'enrolmentCode', rid: 3, code: '7KQ2M-X9D4R', expiresAtMs: 1795349700000 }, 'server'],
    ['{"type":"revoked","rid":4}', { type: 'revoked', rid: 4 }, 'server'],
    [`{"type":"clients","rid":5,"clients":[{"publicKey":"${k}","xPublicKey":"${toBase64url(x)}","name":"Ana","enrolledAtMs":1,"revokedAtMs":2}]}`, { type: 'clients', rid: 5, clients: [{ publicKey: key, xPublicKey: x, name: 'Ana', enrolledAtMs: 1, revokedAtMs: 2 }] }, 'server'],
  ]
  for (const [text, msg, side] of pinned) {
    t.equal(side === 'client' ? encodeClientMessage(msg as never) : encodeServerMessage(msg as never), text, `encodes ${msg.type}`)
    t.same(side === 'client' ? decodeClientMessage(text) : decodeServerMessage(text), msg, `decodes ${msg.type}`)
  }
  const enrol = (fields: Msg): string => JSON.stringify({ type: 'enrol', rid: 1, code: 'X', publicKey: k, xPublicKey: toBase64url(x), name: 'Ana', ...fields })
  const refused: Array<[string, string, new (...a: never[]) => Error]> = [
    ['a name with a terminal escape', enrol({ name: 'Ana\u001b[2J' }), DecodeError],
    ['an empty name', enrol({ name: '' }), DecodeError],
    ['a blank name', enrol({ name: '  ' }), DecodeError],
    ['a name over 64 characters', enrol({ name: 'a'.repeat(65) }), LimitError],
    ['a code over 32 characters', enrol({ code: 'A'.repeat(33) }), LimitError],
    ['a short X25519 key', enrol({ xPublicKey: toBase64url(x.subarray(1)) }), DecodeError],
    ['a missing X25519 key', enrol({ xPublicKey: undefined }), DecodeError],
    ['a ttl over 24 h', '{"type":"enrolment","rid":3,"name":"","ttlMs":86400001}', LimitError],
    ['an unknown field', '{"type":"clientList","rid":5,"all":true}', DecodeError],
  ]
  for (const [what, text, type] of refused) t.throws(() => decodeClientMessage(text), type, `refuses ${what}`)
  const list = (channels: unknown): string => JSON.stringify({ type: 'channelList', rid: 2, channels })
  t.throws(() => decodeServerMessage(list([{ channel: 'CgoKCgoKCgo', role: 'king', members: 3 }])), DecodeError, 'an unknown role')
  t.throws(() => decodeServerMessage(list([{ channel: 'CgoKCgoKCgo', role: 'admin', members: 3, name: 'ops' }])), DecodeError, 'an item with an unknown field')
  t.throws(() => decodeServerMessage(list(['CgoKCgoKCgo'])), DecodeError, 'an item that is not an object')
  t.throws(() => decodeServerMessage(list({})), DecodeError, 'not a list')
  t.throws(() => encodeClientMessage({ type: 'enrol', rid: 1, code: 'X', publicKey: key.subarray(1), xPublicKey: x, name: 'Ana' }), DecodeError, 'encode checks what decode checks')
  t.throws(() => encodeClientMessage({ type: 'enrolment', rid: 1, name: 'a\nb', ttlMs: 1000 }), DecodeError)
  const record = (i: number): ClientRecord => ({ publicKey: new Uint8Array(32).fill(i), xPublicKey: x, name: 'n'.repeat(64), enrolledAtMs: 2 ** 47, revokedAtMs: 2 ** 47 })
  const full = encodeServerMessage({ type: 'clients', rid: 'r'.repeat(64), clients: Array.from({ length: enrolledClientsMax }, (_, i) => record(i)) })
  t.ok(Buffer.byteLength(full) < wsPayloadBytesMax, `a full client list (${enrolledClientsMax}, longest names) fits a frame: ${Buffer.byteLength(full)} B`)
  t.throws(() => encodeServerMessage({ type: 'clients', rid: 1, clients: Array.from({ length: enrolledClientsMax + 1 }, (_, i) => record(i)) }), LimitError)
})

t.test('enrol: a device enrols with the operator\'s code, then authenticates; it is listed and audited', async t => {
  const n = await setup(t)
  const operator = await connectClient({ url: n.url, user, crypto })
  const { code, expiresAtMs } = await operator.issueEnrolment({ name: '', ttlMs: 15 * 60_000 })
  t.equal(expiresAtMs, n.clock.nowMs() + 15 * 60_000)
  const phone = await connectClient(enrolOptions(n.url, device, code))
  t.match(await phone.stamp(), { ms: n.clock.nowMs() }, 'the enrolled device uses the API')
  const list = await operator.clientList()
  t.equal(list.length, 1)
  t.match(list[0], { name: 'Ana phone', enrolledAtMs: n.clock.nowMs() })
  t.equal(toHex(list[0].publicKey), toHex(device.ed25519.publicKey))
  t.equal(toHex(list[0].xPublicKey), toHex(device.x25519.publicKey))
  t.same(n.audits.map(e => `${e.what} ${e.outcome}`), ['enrolment.issued ok', 'client.enrolled ok'])
  t.notOk(JSON.stringify(n.audits).includes(code), 'the audit log never holds the code')
  const file = decodeClientsFile(readFileSync(join(n.dataDir, clientsFileName), 'utf8'))
  t.same(file.map(c => c.name), ['Ana phone'], 'persisted in clients.json')
  // A label the operator gave the code is the name the device is listed by.
  const named = await operator.issueEnrolment({ name: 'Bo (truck 2)', ttlMs: 60_000 })
  await (await connectClient(enrolOptions(n.url, other, named.code, 'my tablet'))).close()
  t.same((await operator.clientList()).map(c => c.name), ['Ana phone', 'Bo (truck 2)'])
  t.match(n.audits.at(-1), { what: 'client.enrolled', detail: { name: 'Bo (truck 2)', deviceName: 'my tablet' } })
  await phone.close(); await operator.close()
})

t.test('enrol: wrong, reused and expired codes are refused with ERR_AUTH, and audited', async t => {
  const n = await setup(t)
  const operator = await connectClient({ url: n.url, user, crypto })
  const wrong = await refusal(connectClient(enrolOptions(n.url, device, '00000-00000')))
  t.match(wrong, { code: 'ERR_AUTH', message: /did not issue/ }, 'a code never issued')
  const { code } = await operator.issueEnrolment({ name: '', ttlMs: 60_000 })
  await (await connectClient(enrolOptions(n.url, device, code))).close()
  t.match(await refusal(connectClient(enrolOptions(n.url, other, code))), { code: 'ERR_AUTH', message: /used already/ }, 'a reused code')
  const late = await operator.issueEnrolment({ name: 'late', ttlMs: 1000 })
  n.clock.now += 1000
  for (let fn = n.clock.next(n.clock.now); fn !== undefined; fn = n.clock.next(n.clock.now)) fn()
  t.match(await refusal(connectClient(enrolOptions(n.url, other, late.code))), { code: 'ERR_AUTH', message: /expired/ }, 'an expired code')
  await t.rejects(connectClient({ url: n.url, user: other.ed25519, crypto }), { message: /not allowed/ }, 'and the key it named is not let in')
  const seen = n.audits.map(e => `${e.what} ${e.outcome} ${String(e.detail?.reason ?? e.detail?.name ?? '')}`)
  t.match(seen, [/^enrolment.refused refused .*did not issue/, /^enrolment.issued/, /^client.enrolled/, /^enrolment.refused .*used already/, /^enrolment.issued ok late/, /^enrolment.expired ok late/, /^enrolment.refused .*expired/])
  t.equal(seen.length, 7)
  await operator.close()
})

t.test('enrol: three refused attempts close the connection; one enrolment at a time, however fast they come', async t => {
  const n = await setup(t)
  const attempt = (rid: number): Msg => ({ type: 'enrol', rid, code: `${rid}0000-00000`, publicKey: toBase64url(device.ed25519.publicKey), xPublicKey: toBase64url(device.x25519.publicKey), name: 'Ana' })
  const raw = new Raw(n.url)
  await raw.next()
  for (const rid of [1, 2, 3]) {
    raw.send(attempt(rid))
    t.match(await raw.next(), { type: 'error', rid, code: 'ERR_AUTH' })
  }
  t.match(await within(raw.closed, 'close'), { code: 1008 }, 'closed after three')
  // Ten guesses in one TCP write: without the one-at-a-time rule each would be checked before any refusal counted.
  const before = n.audits.filter(e => e.what === 'enrolment.refused').length
  const burst = new Raw(n.url)
  await burst.next()
  const socket = (burst.ws as unknown as { _socket: { cork: () => void, uncork: () => void } })._socket
  socket.cork()
  for (let rid = 1; rid <= 10; rid++) burst.send(attempt(rid))
  socket.uncork()
  await within(burst.closed, 'close after the burst')
  t.ok(burst.inbox.length <= 3, `at most three replies before the close (${burst.inbox.length})`)
  const checked = n.audits.filter(e => e.what === 'enrolment.refused').length - before
  t.ok(checked >= 1 && checked <= 3, `at most three codes were checked (${checked})`)
})

t.test('operator-only requests are refused to anyone else with ERR_UNAUTHORISED', async t => {
  const n = await setup(t)
  const operator = await connectClient({ url: n.url, user, crypto })
  const { code } = await operator.issueEnrolment({ name: '', ttlMs: 60_000 })
  const phone = await connectClient(enrolOptions(n.url, device, code))
  t.match(await refusal(phone.issueEnrolment({ name: 'me too', ttlMs: 60_000 })), { code: 'ERR_UNAUTHORISED', message: /operator/ })
  t.match(await refusal(phone.clientList()), { code: 'ERR_UNAUTHORISED' })
  t.match(await refusal(phone.revokeClient(device.ed25519.publicKey)), { code: 'ERR_UNAUTHORISED' }, 'not even its own key')
  t.match(await phone.stamp(), { ms: n.clock.nowMs() }, 'and the connection stays up')
  t.equal((await operator.clientList())[0].revokedAtMs, undefined, 'nothing changed')
  t.same(n.audits.filter(e => e.what === 'enrolment.issued').length, 1, 'no code was issued to it')
  await phone.close(); await operator.close()
})

t.test('revoke: the key\'s live sessions end at once (1008 "revoked"); it cannot authenticate or enrol again', async t => {
  const n = await setup(t)
  const operator = await connectClient({ url: n.url, user, crypto })
  const { code } = await operator.issueEnrolment({ name: '', ttlMs: 60_000 })
  const phone = await connectClient(enrolOptions(n.url, device, code))
  const laptop = await connectClient({ url: n.url, user: device.ed25519, crypto })
  await operator.revokeClient(device.ed25519.publicKey)
  for (const c of [phone, laptop]) t.same(await within(c.closed, 'the revoked session to close'), { code: 1008, reason: 'revoked' })
  t.match(await refusal(connectClient({ url: n.url, user: device.ed25519, crypto })), { code: 'ERR_AUTH', message: /revoked/ })
  const again = await operator.issueEnrolment({ name: '', ttlMs: 60_000 })
  t.match(await refusal(connectClient(enrolOptions(n.url, device, again.code))), { code: 'ERR_AUTH', message: /revoked/ }, 're-enrolling the revoked key is refused')
  await (await connectClient(enrolOptions(n.url, other, again.code))).close() // the code was not spent on it
  const listed = await operator.clientList()
  t.equal(listed.find(c => toHex(c.publicKey) === toHex(device.ed25519.publicKey))?.revokedAtMs, n.clock.nowMs())
  t.match(n.audits.find(e => e.what === 'client.revoked'), { who: 'operator', detail: { name: 'Ana phone' } })
  t.match(await refusal(operator.revokeClient(user.publicKey)), { code: 'ERR_USAGE', message: /operator/ }, 'the operator\'s own key cannot be revoked')
  t.match(await refusal(operator.revokeClient(stranger.publicKey)), { code: 'ERR_USAGE', message: /not an enrolled client/ })
  await operator.revokeClient(device.ed25519.publicKey)
  t.equal(n.audits.filter(e => e.what === 'client.revoked').length, 1, 'revoking twice changes nothing')
  await operator.close()
})

t.test('an enrolment the audit log cannot record is refused, and the code stays usable', async t => {
  let failing = false
  const n = await setup(t, {}, { audit: async (e) => { if (failing && e.what === 'client.enrolled') throw new AuditError('audit log is failed') } })
  const operator = await connectClient({ url: n.url, user, crypto })
  const { code } = await operator.issueEnrolment({ name: '', ttlMs: 60_000 })
  failing = true
  t.match(await refusal(connectClient(enrolOptions(n.url, device, code))), { code: 'ERR_AUDIT' })
  await t.rejects(connectClient({ url: n.url, user: device.ed25519, crypto }), { message: /not allowed/ }, 'not let in')
  t.same(await operator.clientList(), [])
  failing = false
  await (await connectClient(enrolOptions(n.url, device, code))).close()
  t.equal((await operator.clientList()).length, 1, 'once the log works, the same code enrols it')
  await operator.close()
})

t.test('channels: the channels whose verified governance lists the user, with role and member count', async t => {
  const n = await setup(t)
  const operator = await connectClient({ url: n.url, user, crypto })
  const { code } = await operator.issueEnrolment({ name: '', ttlMs: 60_000 })
  const phone = await connectClient(enrolOptions(n.url, device, code))
  t.same(await phone.channels(), [], 'none yet')
  // Two channels by another user: the device is added to one of them, as an admin.
  const log = relayLog()
  const owner = channelClient(other, 1, log.link)
  const { channel: ops } = await owner.createChannel({ name: 'ops' })
  await owner.createChannel({ name: 'other' })
  await owner.addMember(ops, { ed: device.ed25519.publicKey, x: device.x25519.publicKey }, 'admin')
  for (const bytes of log.log) {
    const env = decodeEnvelope(bytes, b => crypto.sha256(b))
    if (env.kind === 1) n.policy.store.add(env)
  }
  const list = await phone.channels()
  t.same(list.map(c => ({ channel: toHex(c.channel), role: c.role, members: c.members })), [{ channel: toHex(ops), role: 'admin', members: 2 }])
  t.same(await operator.channels(), [], 'the operator is in neither')
  await phone.close(); await operator.close()
})
