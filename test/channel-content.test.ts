// Read receipts (content type 0x04) and profiles (0x05): pinned vectors, the payload grammar
// with its refusals, and what channel clients make of them: "read by k of N" (a read counts as
// delivered), display names where the latest by HLC wins in any arrival order, and the
// refusals: a member naming another member's key, malformed payloads, a profile in a message.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { crypto } from './helpers/fixtures.ts'
import { channelClient, relayLog, users } from './helpers/channel-clients.ts'
import { concatBytes, fromHex, toHex, utf8 } from '../protocol/bytes.ts'
import { encodeCanonical } from '../protocol/cbor.ts'
import { ContentType, decryptContent, encryptContent, type ContentHeader } from '../protocol/channel/content.ts'
import { decodeProfile, displayNameProblem, encodeProfile } from '../protocol/channel/profile.ts'
import { decodeReceipt } from '../protocol/channel/receipt.ts'
import type { ChannelClient } from '../protocol/channel/client.ts'
import type { UserKeys } from '../protocol/channel/builders.ts'
import { authorRef, decodeEnvelope, Kind, Precedence, signEnvelope } from '../protocol/envelope.ts'
import { openEpoch } from '../protocol/channel/seal.ts'
import { displayNameCharsMax } from '../protocol/limits.ts'

const C = JSON.parse(readFileSync(new URL('./vectors/channel-crypto.json', import.meta.url), 'utf8'))
const V = JSON.parse(readFileSync(new URL('./vectors/channel-content.json', import.meta.url), 'utf8'))
const hdr = (h: any): ContentHeader => ({ ...h, channel: fromHex(h.channel), author: fromHex(h.author) })
const key = (u: UserKeys): { ed: Uint8Array, x: Uint8Array } => ({ ed: u.ed25519.publicKey, x: u.x25519.publicKey })
const ref = (u: UserKeys): string => toHex(authorRef(u.ed25519.publicKey))

t.test('pinned vectors: read receipt and profile payloads and bodies', async t => {
  const I = C.inputs
  const seal = (h: ContentHeader, contentType: number, payload: Uint8Array): string => toHex(encryptContent(crypto, { channelId: fromHex(I.channelId), epochKey: fromHex(I.epochKey), header: h, contentType, payload }))
  t.equal(V.read.payload, C.receipt.payload, 'a read receipt has the receipt payload grammar')
  t.equal(seal(hdr(V.read.header), ContentType.read, fromHex(V.read.payload)), V.read.body)
  const read = decryptContent(crypto, { channelId: fromHex(I.channelId), keys: [fromHex(I.epochKey)], header: hdr(V.read.header), body: fromHex(V.read.body) })
  t.equal(read.contentType, 0x04)
  t.same(decodeReceipt(read.payload).map(toHex), [...V.read.ids].sort())

  // The profile payload, spelled out: map(2), 0 → bytes(32) key, 1 → text name.
  const name = utf8(V.profile.name)
  const byHand = concatBytes([fromHex('a2005820'), fromHex(V.profile.header.author), Uint8Array.of(0x01, 0x60 + name.length), name])
  t.equal(toHex(byHand), V.profile.payload)
  t.equal(toHex(encodeProfile({ memberEd: fromHex(V.profile.header.author), name: V.profile.name })), V.profile.payload)
  t.equal(seal(hdr(V.profile.header), ContentType.profile, fromHex(V.profile.payload)), V.profile.body)
  const opened = decryptContent(crypto, { channelId: fromHex(I.channelId), keys: [fromHex(I.epochKey)], header: hdr(V.profile.header), body: fromHex(V.profile.body) })
  t.equal(opened.contentType, 0x05)
  t.same(decodeProfile(opened.payload), { memberEd: fromHex(V.profile.header.author), name: V.profile.name })
})

t.test('profile payload: strict decoding, and names that would forge output are refused', async t => {
  const ed = users[0].ed25519.publicKey
  const good = encodeProfile({ memberEd: ed, name: 'Ana' })
  t.same(decodeProfile(good), { memberEd: ed, name: 'Ana' })
  const map = (entries: Array<[number, unknown]>): Uint8Array => encodeCanonical(new Map(entries) as never)
  const bad: Array<[string, Uint8Array]> = [
    ['an unknown key', map([[0, ed], [1, 'Ana'], [2, 'x']])],
    ['a missing name', map([[0, ed]])],
    ['a missing key', map([[1, 'Ana']])],
    ['a short member key', map([[0, ed.subarray(0, 31)], [1, 'Ana']])],
    ['a name that is bytes', map([[0, ed], [1, utf8('Ana')]])],
    ['an array instead of a map', encodeCanonical([ed, 'Ana'])],
    ['trailing bytes', concatBytes([good, Uint8Array.of(0)])],
    ['non-canonical key order', concatBytes([Uint8Array.of(0xa2, 0x01, 0x63), utf8('Ana'), Uint8Array.of(0x00, 0x58, 0x20), ed])],
    ['an empty name', map([[0, ed], [1, '']])],
    ['a blank name', map([[0, ed], [1, '   ']])],
    [`a name over ${displayNameCharsMax} characters`, map([[0, ed], [1, 'a'.repeat(displayNameCharsMax + 1)]])],
    ['a terminal escape', map([[0, ed], [1, '\u001b[2Jroot']])],
    ['a newline', map([[0, ed], [1, 'Ana\nBob: evacuate now']])],
    ['a right-to-left override', map([[0, ed], [1, 'Ana\u202eevil']])],
    ['a C1 control', map([[0, ed], [1, 'Ana\u0085']])],
    ['a line separator', map([[0, ed], [1, 'Ana\u2028Bob']])],
  ]
  for (const [what, bytes] of bad) t.throws(() => decodeProfile(bytes), { code: /ERR_DECODE|ERR_LIMIT/ }, `refuses ${what}`)
  t.throws(() => encodeProfile({ memberEd: ed, name: '\u0007' }), { code: 'ERR_DECODE' }, 'and never encodes what it would refuse')
  t.equal(displayNameProblem('a'.repeat(displayNameCharsMax)), undefined, `${displayNameCharsMax} characters are fine`)
  t.equal(displayNameProblem('Zoë 🚒 (Engine 4)'), undefined, 'non-ASCII and emoji are fine')
  t.equal(displayNameProblem('\ud800x'), 'is not well-formed Unicode (a lone surrogate)')
})

/** Owner Alice with members Bob and Carol; every client has read the whole log. */
async function channelOfThree (): Promise<{ n: ReturnType<typeof relayLog>, channel: Uint8Array, alice: ChannelClient, bob: ChannelClient, carol: ChannelClient, sync: () => void }> {
  const n = relayLog()
  const [alice, bob, carol] = users.slice(0, 3).map((u, i) => channelClient(u, i, n.link))
  const { channel } = await alice.createChannel({ name: 'ops' })
  await alice.addMember(channel, key(users[1]))
  await alice.addMember(channel, key(users[2]))
  const read = new Map<ChannelClient, number>()
  const sync = (): void => {
    for (const c of [alice, bob, carol]) {
      for (const b of n.log.slice(read.get(c) ?? 0)) c.receive(b)
      read.set(c, n.log.length)
    }
  }
  sync()
  return { n, channel, alice, bob, carol, sync }
}

t.test('read receipts: "read by k of N", and a read counts as delivered', async t => {
  const { channel, alice, bob, carol, sync } = await channelOfThree()
  const msg = await alice.sendText(channel, 'Road closed at mile 12')
  sync()
  t.same(alice.readBy(channel, msg.id), { k: 0, n: 2 })
  await bob.sendRead(channel, [msg.id])
  await carol.sendReceipt(channel, [msg.id])
  sync()
  t.same(alice.readBy(channel, msg.id), { k: 1, n: 2 }, 'read by 1 of 2: Carol only received it')
  t.same(alice.delivery(channel, msg.id), { k: 2, n: 2 }, 'delivered to 2 of 2: Bob\'s read implies delivery')
  t.ok(alice.receiptFrom(channel, msg.id, users[1].ed25519.publicKey), 'Bob\'s read is a receipt from Bob')
  await alice.sendRead(channel, [msg.id])
  await bob.sendRead(channel, [msg.id])
  sync()
  t.same(alice.readBy(channel, msg.id), { k: 1, n: 2 }, 'the author\'s own read and a repeated one do not count')
  t.same(carol.readBy(channel, msg.id, users[0].ed25519.publicKey), { k: 1, n: 2 }, 'every member computes the same')
})

t.test('profiles: members name themselves; the latest by HLC wins in any arrival order', async t => {
  const { n, channel, alice, bob, carol, sync } = await channelOfThree()
  const first = n.log.length
  await bob.setProfile(channel, 'Bob')
  await bob.setProfile(channel, 'Bob (medic)')
  await carol.setProfile(channel, 'Carol')
  sync()
  const names = new Map([[ref(users[1]), 'Bob (medic)'], [ref(users[2]), 'Carol']])
  t.same(alice.profiles(channel), names)
  // A fresh device of Alice's reads the profiles newest first: the older one does not win.
  const later = relayLog()
  const device = channelClient(users[0], 9, later.link)
  for (const b of n.log.slice(0, first)) device.receive(b)
  const results = n.log.slice(first).reverse().map(b => device.receive(b))
  t.same(results.map(r => r.type === 'profile' ? [r.name, r.current] : r.type), [['Carol', true], ['Bob (medic)', true], ['Bob', false]])
  t.same(device.profiles(channel), names, 'same names whatever the arrival order')
})

t.test('profiles: one member naming another is refused, and so are malformed payloads', async t => {
  const { n, channel, alice, bob, sync } = await channelOfThree()
  await alice.setProfile(channel, 'Alice (incident lead)')
  sync()
  const state = bob.state(channel)!
  // Bob's client refuses to build these: he builds them as a hostile member would, from the epoch key sealed to him.
  const { epoch, epochKey } = newestEpochFor(n.log, users[1], state.channelId, channel)
  const forge = (kind: Kind, contentType: number, payload: Uint8Array, seq: number): Uint8Array => {
    const header: ContentHeader = { kind, precedence: Precedence.routine, channel, author: users[1].ed25519.publicKey, seq, epoch }
    const body = encryptContent(crypto, { channelId: state.channelId, epochKey, header, contentType, payload })
    return signEnvelope(crypto, { kind, precedence: Precedence.routine, channel, author: authorRef(users[1].ed25519.publicKey), seq, hlc: { ms: 2 ** 41, c: 0 }, ttlSeconds: 3600, epoch, deps: [], body }, users[1].ed25519.privateKey).bytes
  }
  const impersonation = alice.receive(forge(Kind.state, ContentType.profile, encodeProfile({ memberEd: users[0].ed25519.publicKey, name: 'Alice: stand down' }), 100))
  t.equal(impersonation.type, 'refused', 'a profile by Bob naming Alice\'s key is refused')
  t.match((impersonation as { reason: string }).reason, /only name its own author/)
  const garbage = alice.receive(forge(Kind.state, ContentType.profile, Uint8Array.of(0xa1, 0x00), 101))
  t.equal(garbage.type, 'refused', 'a profile payload that does not decode is refused')
  const control = alice.receive(forge(Kind.state, ContentType.profile, concatBytes([fromHex('a2005820'), users[1].ed25519.publicKey, Uint8Array.of(0x01, 0x63), utf8('\u001b[H')]), 102))
  t.equal(control.type, 'refused', 'a name with a terminal escape is refused')
  const misplaced = alice.receive(forge(Kind.message, ContentType.profile, encodeProfile({ memberEd: users[1].ed25519.publicKey, name: 'Bob' }), 103))
  t.equal(misplaced.type, 'refused', 'a profile in a message envelope is refused')
  const badRead = alice.receive(forge(Kind.receipt, ContentType.read, new Uint8Array(31), 104))
  t.equal(badRead.type, 'refused', 'a read receipt that is not whole ids is refused')
  t.same(alice.profiles(channel), new Map([[ref(users[0]), 'Alice (incident lead)']]), 'names unchanged: Alice is still Alice, Bob has none')
})

t.test('refreshProfile: a member added later sees names once their owners re-send them', async t => {
  const n = relayLog()
  const [alice, bob] = users.slice(0, 2).map((u, i) => channelClient(u, i, n.link))
  const { channel } = await alice.createChannel({ name: 'ops' })
  await alice.setProfile(channel, 'Alice')
  t.equal(await alice.refreshProfile(channel), false, 'nothing to do while the epoch is the same')
  await alice.addMember(channel, key(users[1]))
  for (const b of n.log) bob.receive(b)
  t.same(bob.profiles(channel), new Map(), 'Bob cannot read a profile sealed before he joined')
  const seen = n.log.length
  t.equal(await alice.refreshProfile(channel), true, 'Alice re-sends it under the new epoch')
  for (const b of n.log.slice(seen)) bob.receive(b)
  t.same(bob.profiles(channel), new Map([[ref(users[0]), 'Alice']]))
  t.equal(await alice.refreshProfile(channel), false, 'and only once')
})

/** The newest epoch key sealed to `u` in the log's keys envelopes, opened with u's X25519 key. */
function newestEpochFor (log: Uint8Array[], u: UserKeys, channelId: Uint8Array, channel: Uint8Array): { epoch: number, epochKey: Uint8Array } {
  let best: { epoch: number, epochKey: Uint8Array } | undefined
  for (const bytes of log) {
    const env = decodeEnvelope(bytes, b => crypto.sha256(b))
    if (env.kind !== Kind.keys) continue
    const opened = openEpoch(crypto, { channelId, channelRef: channel, body: env.body, me: { ed: u.ed25519.publicKey, xPrivate: u.x25519.privateKey } })
    if (opened !== undefined && (best === undefined || env.epoch > best.epoch)) best = { epoch: env.epoch, epochKey: opened.epochKey }
  }
  if (best === undefined) throw new Error('no epoch key was sealed to this user')
  return best
}
