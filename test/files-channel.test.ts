// Files and long messages between channel clients (#23), and the defences around them: pieces in
// any order, duplicated, before their manifest; a chunk moved to another file or channel, a forged
// or bit-flipped one, a manifest that disagrees with its head, a file over the policy's limit
// (refused by the sender and, for a forged head, by every relay's authoriser).
import t from 'tap'
import { channelClient, relayLog, users } from './helpers/channel-clients.ts'
import { crypto } from './helpers/fixtures.ts'
import { prng, testSeed } from './helpers/seed.ts'
import { authoriseEnvelope } from '../protocol/channel/authorise.ts'
import type { ChannelClient, Received } from '../protocol/channel/client.ts'
import { fromUtf8, toHex } from '../protocol/bytes.ts'
import { authorRef, decodeEnvelope, Kind, signEnvelope, type Envelope } from '../protocol/envelope.ts'
import { LimitError } from '../protocol/errors.ts'
import { decodePiece, encodePieceHead, FileForm } from '../protocol/files/piece.ts'
import { fileBytesMaxDefault, fileChunkBytes, longTextBytesMaxDefault } from '../protocol/limits.ts'

const decode = (b: Uint8Array): Envelope => decodeEnvelope(b, x => crypto.sha256(x))

async function channelWithBob (): Promise<{ alice: ChannelClient, bob: ChannelClient, channel: Uint8Array, log: Uint8Array[], sent: () => Uint8Array[] }> {
  const n = relayLog()
  const alice = channelClient(users[0], 0, n.link)
  const bob = channelClient(users[1], 1, n.link)
  const { channel } = await alice.createChannel({ name: 'ops' })
  await alice.addMember(channel, { ed: users[1].ed25519.publicKey, x: users[1].x25519.publicKey })
  for (const b of n.log) bob.receive(b)
  const mark = n.log.length
  return { alice, bob, channel, log: n.log, sent: () => n.log.slice(mark) }
}

function filesOf (rs: Received[]): Array<Extract<Received, { type: 'file' }>> {
  return rs.filter((r): r is Extract<Received, { type: 'file' }> => r.type === 'file')
}

t.test('a file arrives whole from pieces in any order, duplicated, chunks before the manifest', async t => {
  const seed = testSeed(t)
  const rng = prng(seed)
  const { alice, bob, channel, sent } = await channelWithBob()
  const content = rng.bytes(7 * fileChunkBytes + 123)
  const { manifest, pieces } = await alice.sendFile(channel, { name: 'levee.jpg', mediaType: 'image/jpeg', content, caption: 'north bank' })
  t.equal(pieces, 1 + 8, 'a manifest and 8 chunks')
  const wire = sent()
  t.equal(wire.length, pieces)
  // Every chunk names the manifest as its one dependency; the manifest names none.
  for (const b of wire.slice(1)) t.same(decode(b).deps.map(toHex), [toHex(manifest.id)])
  t.same(decode(wire[0]).deps, [])
  // Shuffled, with each chunk sent twice and the manifest last.
  const order = [...wire.slice(1), ...wire.slice(1)].sort(() => rng.next() - 0.5)
  const seen = filesOf([...order, wire[0]].flatMap(b => bob.receiveAll(b)))
  t.equal(seen.length, 2 * 8 + 1, 'every piece is taken (duplicates too)')
  const done = seen.filter(r => r.progress.state === 'complete')
  t.equal(done.length, 1, 'the file completes once: when its manifest comes, with the early chunks')
  t.same(bob.fileContent(manifest.id), content, 'and it is the content sent')
  t.equal(done[0].progress.manifest?.caption, 'north bank')
  t.equal(done[0].progress.heldBytes, content.length)
})

t.test('a long text message goes as pieces and reads as one text', async t => {
  const { alice, bob, channel, sent } = await channelWithBob()
  const text = 'Levee breach at km 12; evacuate sectors 4 to 9. '.repeat(100)
  const env = await alice.sendText(channel, text)
  t.equal(env.kind, Kind.file, 'longer than one envelope: a long message')
  t.equal(decodePiece(env.body).head.form, FileForm.text)
  const last = filesOf(sent().flatMap(b => bob.receiveAll(b))).at(-1)
  t.equal(last?.progress.state, 'complete')
  t.equal(fromUtf8(bob.fileContent(env.id)), text)
  t.equal((await alice.sendText(channel, 'short')).kind, Kind.message, 'a short one stays one message')
})

t.test('over the policy: the sender refuses, and a forged head is refused by the relay authoriser', async t => {
  const { alice, channel } = await channelWithBob()
  await t.rejects(alice.sendText(channel, 'x'.repeat(longTextBytesMaxDefault + 1)), LimitError)
  await t.rejects(alice.sendFile(channel, { name: 'big.bin', mediaType: 'application/octet-stream', content: new Uint8Array(fileBytesMaxDefault + 1) }), /over this channel's limit of 25000000 bytes/)
  // Alice's own key signs a piece whose head claims a file over the limit: relays judge the head.
  const chunks = Math.ceil(fileBytesMaxDefault / fileChunkBytes) + 2
  const forged = (count: number, index: number, deps: Uint8Array[]): Envelope => signEnvelope(crypto, {
    kind: Kind.file, precedence: 3, channel, author: authorRef(users[0].ed25519.publicKey), seq: 900 + index,
    hlc: { ms: Date.now(), c: 0 }, ttlSeconds: 3600, epoch: 1, deps, body: new Uint8Array([...encodePieceHead({ form: FileForm.file, index, count }), ...new Uint8Array(40)]),
  }, users[0].ed25519.privateKey)
  const over = authoriseEnvelope(alice.store, forged(chunks + 1, 0, []))
  t.equal(over.ok, false)
  t.match((over as { reason: string }).reason, /over this channel's limit of 25000000 bytes/)
  const within = authoriseEnvelope(alice.store, forged(10, 0, []))
  t.equal(within.ok, true, 'a file within the limit passes the same check')
  t.match(authoriseEnvelope(alice.store, forged(10, 3, [])), { ok: false, reason: /must name its manifest/ }, 'a chunk with no manifest dependency')
  t.match(authoriseEnvelope(alice.store, forged(10, 0, [new Uint8Array(32)])), { ok: false, reason: /must name no dependency/ }, 'a manifest with one')
  t.throws(() => forged(10, 10, [new Uint8Array(32)]), /outside 0..9/, 'an index past the count cannot even be built')
})

t.test('tampering: a chunk moved to another file or channel, or bit-flipped, is refused and the file still completes from the real one', async t => {
  const { alice, bob, channel, sent } = await channelWithBob()
  const a = await alice.sendFile(channel, { name: 'a.bin', mediaType: 'application/octet-stream', content: new Uint8Array(3 * fileChunkBytes).fill(1) })
  const wireA = sent()
  const b = await alice.sendFile(channel, { name: 'b.bin', mediaType: 'application/octet-stream', content: new Uint8Array(3 * fileChunkBytes).fill(2) })
  const wireB = sent().slice(wireA.length)
  bob.receive(wireB[0])
  // A relay moves chunk 1 of A into file B (rewrites its dependency): the signature no longer holds.
  const moved = wireA[1].slice()
  const depAt = findBytes(moved, a.manifest.id)
  t.ok(depAt > 0, 'the chunk carries its manifest id in its header')
  moved.set(b.manifest.id, depAt)
  t.match(bob.receive(moved), { type: 'refused', reason: /signature/ }, 'moved to another file')
  // … or into another channel.
  const otherChannel = wireA[1].slice()
  otherChannel[1] ^= 0xff
  t.not(bob.receive(otherChannel).type, 'file', 'moved to another channel')
  // A flipped bit in the sealed data, and a forged signature.
  const flipped = wireB[1].slice(); flipped[flipped.length - 100] ^= 1
  t.match(bob.receive(flipped), { type: 'refused', reason: /signature/ }, 'bit-flipped chunk')
  const forgedSig = wireB[1].slice(); forgedSig[forgedSig.length - 1] ^= 1
  t.match(bob.receive(forgedSig), { type: 'refused', reason: /signature/ }, 'forged signature')
  t.equal(bob.fileProgress(b.manifest.id)?.heldBytes, 0, 'none of them counted')
  for (const env of wireB.slice(1)) bob.receive(env)
  t.equal(bob.fileProgress(b.manifest.id)?.state, 'complete', 'the real chunks complete the file')
  t.same(bob.fileContent(b.manifest.id), new Uint8Array(3 * fileChunkBytes).fill(2))
})

function findBytes (hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer
    return i
  }
  return -1
}

t.test('progress: a recipient reports bytes held while a file arrives; its sender sees them until the receipt (#23)', async t => {
  const { alice, bob, channel, log, sent } = await channelWithBob()
  const { manifest } = await alice.sendFile(channel, { name: 'map.pdf', mediaType: 'application/pdf', content: new Uint8Array(8 * fileChunkBytes).fill(3) })
  const wire = sent()
  for (const b of wire.slice(0, 5)) bob.receive(b) // the manifest and four chunks of eight
  const held = bob.fileProgress(manifest.id)?.heldBytes as number
  t.equal(held, 4 * fileChunkBytes)
  const mark = log.length
  await bob.sendFileProgress(channel, manifest.id, held)
  const reports = log.slice(mark).map(b => alice.receive(b))
  t.match(reports, [{ type: 'progress', heldBytes: 4 * fileChunkBytes }])
  t.same(alice.fileDelivery(channel, manifest.id), { k: 0, n: 1, receiving: [4 * fileChunkBytes] }, 'half of it at Bob')
  // A lower report (replayed, or reordered) never moves it back; every member sees the same.
  await bob.sendFileProgress(channel, manifest.id, fileChunkBytes)
  for (const b of log.slice(mark + 1)) alice.receive(b)
  t.same(alice.fileDelivery(channel, manifest.id).receiving, [4 * fileChunkBytes])
  t.same(bob.fileDelivery(channel, manifest.id, users[0].ed25519.publicKey).receiving, [4 * fileChunkBytes], 'Bob\'s view of Alice\'s file')
  for (const b of wire.slice(5)) bob.receive(b)
  t.equal(bob.fileProgress(manifest.id)?.state, 'complete')
  const before = log.length
  await bob.sendReceipt(channel, [manifest.id])
  for (const b of log.slice(before)) alice.receive(b)
  t.same(alice.fileDelivery(channel, manifest.id), { k: 1, n: 1, receiving: [] }, 'whole and checked: delivered, no longer receiving')
})

t.test('progress payload: strict, bounded', async t => {
  const { decodeFileProgress, encodeFileProgress } = await import('../protocol/files/progress.ts')
  const file = new Uint8Array(32).fill(9)
  t.same(decodeFileProgress(encodeFileProgress({ file, heldBytes: 300 })), { file, heldBytes: 300 })
  t.equal(toHex(encodeFileProgress({ file, heldBytes: 300 })), '09'.repeat(32) + 'ac02', 'vector: id then a canonical varint')
  t.throws(() => decodeFileProgress(new Uint8Array(31)), /truncated/)
  t.throws(() => decodeFileProgress(new Uint8Array([...file, 0xac, 0x02, 0])), /after a progress report/)
  t.throws(() => decodeFileProgress(new Uint8Array([...file, 0x80, 0x00])), /non-canonical/)
  t.throws(() => encodeFileProgress({ file, heldBytes: 2 ** 40 }), LimitError)
})

t.test('inbox: a manifest whose chunk count disagrees with its piece head, and a chunk at the wrong index, are refused', async t => {
  const { FileInbox } = await import('../protocol/files/inbox.ts')
  const { splitFile } = await import('../protocol/files/split.ts')
  const split = splitFile(crypto, { name: 'a.bin', mediaType: 'application/octet-stream', content: new Uint8Array(3 * fileChunkBytes).fill(5) })
  const fileId = new Uint8Array(32).fill(1)
  const inbox = new FileInbox(crypto)
  t.throws(() => inbox.manifest(fileId, { form: FileForm.file, index: 0, count: 10 }, split.manifestBytes), /manifest says 3 chunks; its piece head says 9/)
  t.throws(() => inbox.chunk(fileId, { form: FileForm.file, index: 2, count: 4 }, split.chunks[0]), /chunk says index 0; its piece head says 1/)
  t.match(inbox.manifest(fileId, { form: FileForm.file, index: 0, count: 4 }, split.manifestBytes), { state: 'incomplete', heldBytes: 0 })
  for (let i = 0; i < 3; i++) inbox.chunk(fileId, { form: FileForm.file, index: i + 1, count: 4 }, split.chunks[i])
  t.equal(inbox.progress(fileId)?.state, 'complete')
})
