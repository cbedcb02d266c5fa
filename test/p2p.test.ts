// The relay's libp2p layer on loopback: node identity on disk, the frame codec, and two or three real
// hosts exchanging frames over /ddil/sync/1.0.0 (order, tie-break, restart, oversize, back-pressure,
// allowlist). Waits are waits-for-condition with deadlines, never fixed sleeps.
import { waitUntil } from './helpers/wait.ts'
import { loopbackTcp, seededKey, startHost, type TestHost, type TestHostOptions } from './helpers/p2p-hosts.ts'
import t, { type Test } from 'tap'
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey, Stream } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { ConfigError, DecodeError, LimitError, StorageError } from '../protocol/errors.ts'
import { frameBytesMax } from '../protocol/limits.ts'
import type { LinkHandler, LinkInfo, PeerId } from '../protocol/ports.ts'
import { FrameDecoder, encodeFrame } from '../node/p2p/frame-codec.ts'
import { PeerBackoff } from '../node/p2p/backoff.ts'
import { refusedBackingOff, refusedNotAllowlisted } from '../node/p2p/gater.ts'
import { createHost, type Host } from '../node/p2p/host.ts'
import { loadOrCreateNodeKey, nodeKeyFileName } from '../node/p2p/identity.ts'
import { linkWriteQueueBytesMax } from '../node/p2p/limits.ts'
import { attachFrameTransport, syncProtocol } from '../node/p2p/link.ts'


async function waitFor (what: string, predicate: () => boolean): Promise<void> {
  await waitUntil(what, predicate, { everyMs: 5 })
}

class Recorder implements LinkHandler {
  readonly events: string[] = []
  readonly infos: LinkInfo[] = []
  readonly frames = new Map<PeerId, Uint8Array[]>()
  readonly drains: PeerId[] = []
  linkUp (peer: PeerId, info: LinkInfo): void { this.events.push(`up ${peer}`); this.infos.push(info) }
  linkDown (peer: PeerId): void { this.events.push(`down ${peer}`) }
  receive (peer: PeerId, frame: Uint8Array): void {
    const list = this.frames.get(peer) ?? []
    list.push(frame)
    this.frames.set(peer, list)
  }

  drain (peer: PeerId): void { this.drains.push(peer) }
  count (kind: 'up' | 'down', peer: PeerId): number { return this.events.filter((e) => e === `${kind} ${peer}`).length }
  received (peer: PeerId): Uint8Array[] { return this.frames.get(peer) ?? [] }
}

interface TestNode extends TestHost { rec: Recorder }

async function startNode (t: Test, options: TestHostOptions & { rec?: Recorder } = {}): Promise<TestNode> {
  const rec = options.rec ?? new Recorder()
  return { ...await startHost(t, rec, options), rec }
}

const idOf = (key: PrivateKey): PeerId => peerIdFromPrivateKey(key).toString()

/** Two fixed keys ordered by peer id string, so a test chooses which side the tie-break makes the opener. */
async function orderedKeys (): Promise<[PrivateKey, PrivateKey]> {
  const [a, b] = [await seededKey(101), await seededKey(102)]
  return idOf(a) < idOf(b) ? [a, b] : [b, a]
}

function filled (length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff
  return out
}

function syncStreams (host: Host, peer: PeerId): Stream[] {
  return host.getConnections().filter((c) => c.remotePeer.toString() === peer).flatMap((c) => c.streams.filter((s) => s.protocol === syncProtocol && s.status === 'open'))
}

function hex (bytes: Uint8Array): string { return Buffer.from(bytes).toString('hex') }

// ---- identity -------------------------------------------------------------

t.test('node key: created 0600, atomically, same peer id across restarts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ddil-p2p-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const data = join(dir, 'data')
  const first = await loadOrCreateNodeKey(data)
  t.equal(first.type, 'Ed25519')
  const path = join(data, nodeKeyFileName)
  t.equal((await stat(path)).mode & 0o777, 0o600, 'key file mode 0600')
  t.same(await readdir(data), [nodeKeyFileName], 'no temporary file left behind')
  const again = await loadOrCreateNodeKey(data)
  t.ok(again.equals(first), 'same key on reload')
  t.equal(again.publicKey.toString(), first.publicKey.toString(), 'same peer id on reload')
})

t.test('node key: group/world-readable refused (ConfigError), corrupt or foreign refused (StorageError)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ddil-p2p-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const path = join(dir, nodeKeyFileName)
  await loadOrCreateNodeKey(dir)
  await chmod(path, 0o644)
  await t.rejects(loadOrCreateNodeKey(dir), ConfigError, '0644 key file refused')
  await chmod(path, 0o640)
  await t.rejects(loadOrCreateNodeKey(dir), ConfigError, '0640 key file refused')
  await writeFile(path, new Uint8Array([1, 2, 3, 4]), { mode: 0o600 })
  await chmod(path, 0o600)
  await t.rejects(loadOrCreateNodeKey(dir), StorageError, 'corrupt key file refused')
  await writeFile(path, privateKeyToProtobuf(await generateKeyPair('secp256k1')))
  await t.rejects(loadOrCreateNodeKey(dir), StorageError, 'non-Ed25519 key refused')
})

// ---- frame codec ----------------------------------------------------------

t.test('frame codec: pinned vectors, split delivery, oversize refused at the header', async (t) => {
  t.equal(hex(encodeFrame(new Uint8Array([7]))), '0107')
  t.equal(hex(encodeFrame(new Uint8Array(127)).subarray(0, 1)), '7f')
  t.equal(hex(encodeFrame(new Uint8Array(128)).subarray(0, 2)), '8001')
  t.equal(hex(encodeFrame(new Uint8Array(300)).subarray(0, 2)), 'ac02')
  t.equal(hex(encodeFrame(new Uint8Array(65536)).subarray(0, 3)), '808004')
  t.equal(encodeFrame(new Uint8Array(65536)).byteLength, 65539)
  t.throws(() => encodeFrame(new Uint8Array(0)), LimitError, 'empty frame refused')

  const frames = [filled(1, 1), filled(1024, 2), filled(frameBytesMax, 3)]
  const wire = Buffer.concat(frames.map(encodeFrame))
  const out: Uint8Array[] = []
  const decoder = new FrameDecoder(frameBytesMax)
  for (let at = 0; at < wire.byteLength; at += 1000) decoder.push(wire.subarray(at, at + 1000), (f) => out.push(f))
  t.same(out.map(hex), frames.map(hex), 'round trip through 1000-byte chunks')

  const oversize = encodeFrame(new Uint8Array(frameBytesMax + 1)).subarray(0, 3)
  t.throws(() => new FrameDecoder(frameBytesMax).push(oversize, () => {}), LimitError, 'header declaring frameBytesMax + 1 refused alone')
  t.throws(() => new FrameDecoder(frameBytesMax).push(new Uint8Array(200_000).fill(0x80), () => {}), LimitError, 'unterminated length prefix refused')
})

// ---- two hosts ------------------------------------------------------------

t.test('frames flow both ways in order: 1 B, 1 KiB, frameBytesMax, then a numbered burst', async (t) => {
  const a = await startNode(t, { seed: 1 })
  const b = await startNode(t, { seed: 2 })
  await a.host.dial(multiaddr(b.addr))
  await waitFor('link up on both sides', () => a.rec.count('up', b.id) === 1 && b.rec.count('up', a.id) === 1)
  t.same(a.rec.infos[0], { frameBytesMax }, 'linkUp reports frameBytesMax')
  const sizes = [1, 1024, frameBytesMax]
  for (const [i, size] of sizes.entries()) {
    t.ok(a.transport.send(b.id, filled(size, i)), `a→b ${size} B accepted`)
    t.ok(b.transport.send(a.id, filled(size, 100 + i)), `b→a ${size} B accepted`)
  }
  const burst = 200
  for (let i = 0; i < burst; i++) t.ok(a.transport.send(b.id, new Uint8Array([i & 0xff, i >> 8])) || t.fail(`burst ${i}`))
  await waitFor('all frames delivered', () => b.rec.received(a.id).length === sizes.length + burst && a.rec.received(b.id).length === sizes.length)
  t.same(b.rec.received(a.id).slice(0, 3).map(hex), sizes.map((s, i) => hex(filled(s, i))), 'b got a\'s frames intact and in order')
  t.same(a.rec.received(b.id).map(hex), sizes.map((s, i) => hex(filled(s, 100 + i))), 'a got b\'s frames intact and in order')
  t.same(b.rec.received(a.id).slice(3).map((f) => f[0] + f[1] * 256), Array.from({ length: burst }, (_, i) => i), 'burst in order')
  t.throws(() => a.transport.send(b.id, new Uint8Array(frameBytesMax + 1)), LimitError, 'a frame over frameBytesMax is a caller bug')
  t.equal(a.transport.send('12D3KooWNotConnected', new Uint8Array([1])), false, 'send to a peer with no link is false, not a throw')
})

t.test('the WebSocket listener carries the sync link too', async (t) => {
  const a = await startNode(t, { seed: 3 })
  const b = await startNode(t, { seed: 4, listen: [loopbackTcp, '/ip4/127.0.0.1/tcp/0/ws'] })
  const ws = b.host.getMultiaddrs().find((ma) => ma.toString().includes('/ws'))
  t.ok(ws, 'b listens on loopback ws')
  const connection = await a.host.dial(multiaddr(String(ws)))
  t.match(connection.remoteAddr.toString(), /\/ws/, 'connected over ws')
  await waitFor('link up', () => a.rec.count('up', b.id) === 1 && b.rec.count('up', a.id) === 1)
  t.ok(a.transport.send(b.id, filled(frameBytesMax, 5)))
  await waitFor('frame over ws', () => b.rec.received(a.id).length === 1)
  t.equal(hex(b.rec.received(a.id)[0]), hex(filled(frameBytesMax, 5)))
})

t.test('simultaneous dials end with one sync stream and one linkUp per side; a stream from the wrong side is reset', async (t) => {
  const [lowKey, highKey] = await orderedKeys()
  const low = await startNode(t, { privateKey: lowKey })
  const high = await startNode(t, { privateKey: highKey })
  await Promise.all([low.host.dial(multiaddr(high.addr)), high.host.dial(multiaddr(low.addr))])
  await waitFor('link up on both sides', () => low.rec.count('up', high.id) === 1 && high.rec.count('up', low.id) === 1)
  // The higher id opening a stream itself breaks the tie-break: the lower id resets it, the link stays.
  const rogue = await high.host.dialProtocol(multiaddr(low.addr), syncProtocol)
  await waitFor('rogue stream reset', () => rogue.status !== 'open')
  t.ok(low.transport.send(high.id, new Uint8Array([1])) && high.transport.send(low.id, new Uint8Array([2])))
  await waitFor('round trip', () => high.rec.received(low.id).length === 1 && low.rec.received(high.id).length === 1)
  t.same([low.rec.events, high.rec.events], [[`up ${high.id}`], [`up ${low.id}`]], 'exactly one linkUp each, no linkDown')
  t.equal(syncStreams(low.host, high.id).length, 1, 'one open sync stream at the lower id')
  t.equal(syncStreams(high.host, low.id).filter((s) => s !== rogue).length, 1, 'one open sync stream at the higher id')
})

for (const opener of ['redialler', 'restarted'] as const) {
  t.test(`linkDown when a host stops; linkUp again after it restarts with the same key and is redialled (${opener} side opens)`, async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'ddil-p2p-'))
    t.teardown(() => rm(dir, { recursive: true, force: true }))
    const [low, high] = await orderedKeys()
    const [rediallerKey, restartedKey] = opener === 'redialler' ? [low, high] : [high, low]
    await writeFile(join(dir, nodeKeyFileName), privateKeyToProtobuf(restartedKey), { mode: 0o600 }) // a fixed id, loaded from disk
    const b1 = await startNode(t, { privateKey: await loadOrCreateNodeKey(dir) })
    const a = await startNode(t, { privateKey: rediallerKey, staticPeers: [b1.addr] })
    await waitFor('link up', () => a.rec.count('up', b1.id) === 1 && b1.rec.count('up', a.id) === 1)
    await b1.host.stop() // the host dies without closing the transport first, as in a crash
    await waitFor('link down on a', () => a.rec.count('down', b1.id) === 1)
    t.equal(b1.rec.count('down', a.id), 1, 'and on the stopped side')
    t.equal(a.transport.send(b1.id, new Uint8Array([1])), false, 'send while down is false')
    await b1.stop()

    const port = multiaddr(b1.addr).getComponents().find((c) => c.name === 'tcp')?.value
    const b2 = await startNode(t, { privateKey: await loadOrCreateNodeKey(dir), listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    t.equal(b2.id, b1.id, 'same peer id after restart')
    await waitFor('redial and link up again', () => a.rec.count('up', b2.id) === 2 && b2.rec.count('up', a.id) === 1)
    t.equal(a.rec.count('down', b2.id), 1, 'exactly one linkDown on a across the outage')
    t.ok(a.transport.send(b2.id, new Uint8Array([9])) && b2.transport.send(a.id, new Uint8Array([8])))
    await waitFor('frames after reconnect', () => b2.rec.received(a.id).length === 1 && a.rec.received(b2.id).length === 1)
  })
}

t.test('disconnect and close: linkDown exactly once on each side, nothing delivered after', async (t) => {
  const a = await startNode(t, { seed: 11 })
  const b = await startNode(t, { seed: 12 })
  const c = await startNode(t, { seed: 13 })
  await a.host.dial(multiaddr(b.addr))
  await a.host.dial(multiaddr(c.addr))
  await waitFor('links up', () => a.rec.count('up', b.id) === 1 && a.rec.count('up', c.id) === 1 && b.rec.count('up', a.id) === 1)
  a.transport.disconnect(b.id, 'score below threshold')
  t.equal(a.rec.count('down', b.id), 0, 'linkDown is not called from inside disconnect')
  t.equal(a.transport.send(b.id, new Uint8Array([1])), false, 'send after disconnect is false')
  await waitFor('both sides down', () => a.rec.count('down', b.id) === 1 && b.rec.count('down', a.id) === 1)
  await waitFor('connection closed', () => a.host.getConnections().every((conn) => conn.remotePeer.toString() !== b.id))
  t.same(a.transport.peers(), [c.id], 'only c still linked')
  await a.transport.close()
  t.equal(a.rec.count('down', c.id), 1, 'close reports the remaining link down')
  await waitFor('c sees the link close', () => c.rec.count('down', a.id) === 1)
  t.same([a.rec.count('down', b.id), b.rec.count('down', a.id), c.rec.count('down', a.id)], [1, 1, 1], 'still exactly once each')
  t.same(a.transport.peers(), [])
})

t.test('a peer the engine disconnects is not redialled at once, and is kept away longer each time', async (t) => {
  const backoff = new PeerBackoff({ delayMsMin: 1000, delayMsMax: 4000, factor: 2, forgetMs: 60_000, peersMax: 8 })
  const b = await startNode(t, { seed: 21 })
  const a = await startNode(t, { seed: 22, staticPeers: [b.addr], backoff })
  await waitFor('linked', () => a.rec.count('up', b.id) === 1)
  for (const [round, awayMs] of [[1, 1000], [2, 2000]]) {
    const since = performance.now()
    a.transport.disconnect(b.id, 'score below 0: bad frame')
    await waitFor(`relinked after disconnect ${round}`, () => a.rec.count('up', b.id) === round + 1)
    const took = performance.now() - since
    t.ok(took >= awayMs, `redialled after ${Math.round(took)} ms, not before its ${awayMs} ms backoff (the redial delay alone is 50 ms)`)
  }
})

t.test('a peer the engine disconnects is not let straight back in when it redials', async (t) => {
  const backoff = new PeerBackoff({ delayMsMin: 1500, delayMsMax: 4000, factor: 2, forgetMs: 60_000, peersMax: 8 })
  const refused: Array<[string, string, string]> = []
  const a = await startNode(t, { seed: 23, backoff, onRefused: (peer, direction, reason) => { refused.push([peer, direction, reason]) } })
  const b = await startNode(t, { seed: 24, staticPeers: [a.addr] }) // b redials a every 50 to 200 ms
  await waitFor('linked', () => a.rec.count('up', b.id) === 1)
  const since = performance.now()
  a.transport.disconnect(b.id, 'score below 0: bad envelope')
  await waitFor('b let back in once its backoff is over', () => a.rec.count('up', b.id) === 2)
  const took = performance.now() - since
  t.ok(took >= 1500, `b linked again after ${Math.round(took)} ms, not before its 1500 ms backoff`)
  t.ok(refused.length > 0, `b's ${refused.length} redials meanwhile were refused`)
  t.same(refused[0], [b.id, 'inbound', refusedBackingOff], 'after Noise, by its id, with one reason (folded in the audit log)')
})

t.test('a newer stream from the opener replaces the older one: linkDown then linkUp', async (t) => {
  const [rawKey, nodeKey] = await orderedKeys()
  const node = await startNode(t, { privateKey: nodeKey })
  const raw = await createHost({ privateKey: rawKey, listen: [], start: true })
  t.teardown(() => raw.stop())
  const rawId = raw.peerId.toString()
  const first = await raw.dialProtocol(multiaddr(node.addr), syncProtocol)
  await waitFor('first adopted', () => node.rec.count('up', rawId) === 1)
  const second = await raw.dialProtocol(multiaddr(node.addr), syncProtocol)
  await waitFor('second adopted', () => node.rec.count('up', rawId) === 2)
  await waitFor('first reset', () => first.status !== 'open')
  t.same(node.rec.events, [`up ${rawId}`, `down ${rawId}`, `up ${rawId}`])
  second.send(encodeFrame(new Uint8Array([42])))
  await waitFor('frame on the new stream', () => node.rec.received(rawId).length === 1)
})

t.test('a DdilError thrown by the engine for a frame ends that link and reports the peer', async (t) => {
  class Rejecting extends Recorder {
    override receive (peer: PeerId, frame: Uint8Array): void {
      if (frame[0] === 0xee) throw new DecodeError('junk frame')
      super.receive(peer, frame)
    }
  }
  const a = await startNode(t, { seed: 14 })
  const b = await startNode(t, { seed: 15, rec: new Rejecting() })
  await a.host.dial(multiaddr(b.addr))
  await waitFor('link up', () => a.rec.count('up', b.id) === 1 && b.rec.count('up', a.id) === 1)
  t.ok(a.transport.send(b.id, new Uint8Array([1])) && a.transport.send(b.id, new Uint8Array([0xee])))
  await waitFor('link down both sides', () => b.rec.count('down', a.id) === 1 && a.rec.count('down', b.id) === 1)
  t.same(b.misbehaved, [{ peer: a.id, reason: 'junk frame' }])
  t.equal(b.rec.received(a.id).length, 1, 'the good frame before it was delivered')
})

t.test('an inbound frame declaring more than frameBytesMax is refused on its header; the peer is reported', async (t) => {
  const [rawKey, nodeKey] = await orderedKeys() // the raw side must sort first, or the tie-break resets its stream
  const victim = await startNode(t, { privateKey: nodeKey })
  const raw = await createHost({ privateKey: rawKey, listen: [], start: true })
  t.teardown(() => raw.stop())
  const stream = await raw.dialProtocol(multiaddr(victim.addr), syncProtocol)
  const rawId = raw.peerId.toString()
  await waitFor('victim adopted the raw stream', () => victim.rec.count('up', rawId) === 1)
  stream.send(encodeFrame(new Uint8Array(frameBytesMax + 1)).subarray(0, 3)) // the varint header alone
  await waitFor('stream reset', () => stream.status !== 'open')
  await waitFor('link down', () => victim.rec.count('down', rawId) === 1)
  t.equal(victim.misbehaved.length, 1)
  t.equal(victim.misbehaved[0].peer, rawId, 'onPeerMisbehaved names the sender')
  t.match(victim.misbehaved[0].reason, /length/i)
  t.same(victim.rec.received(rawId), [], 'nothing delivered')
})

t.test('back-pressure: send is false past the queue bound, drain follows, nothing lost', async (t) => {
  const a = await startNode(t, { seed: 5 })
  const b = await startNode(t, { seed: 6 })
  await a.host.dial(multiaddr(b.addr))
  await waitFor('link up', () => a.rec.count('up', b.id) === 1 && b.rec.count('up', a.id) === 1)
  let accepted = 0
  while (a.transport.send(b.id, filled(frameBytesMax, accepted))) {
    accepted++
    if (accepted > 200) throw new Error('queue never filled')
  }
  t.ok(accepted * frameBytesMax >= linkWriteQueueBytesMax, `${accepted} frames taken before false (bound ${linkWriteQueueBytesMax} B)`)
  t.ok(a.transport.bufferedBytes(b.id) <= linkWriteQueueBytesMax, 'buffered bytes within the bound')
  t.equal(a.transport.send(b.id, filled(frameBytesMax, 0)), false, 'a full frame is still refused until drained')
  await waitFor('drain', () => a.rec.drains.length === 1)
  t.same(a.rec.drains, [b.id])
  t.ok(a.transport.send(b.id, filled(10, 7)), 'send accepted again after drain')
  await waitFor('all delivered', () => b.rec.received(a.id).length === accepted + 1)
  const got = b.rec.received(a.id)
  t.ok(got.slice(0, accepted).every((f, i) => f.byteLength === frameBytesMax && f[1] === ((31 + i) & 0xff)), 'every accepted frame arrived, in order')
})

t.test('allowlist: unlisted peer refused after Noise both ways (onRefused with its id), listed peer links', async (t) => {
  const friend = await startNode(t, { seed: 7 })
  const stranger = await startNode(t, { seed: 8 })
  const neighbour = await startNode(t, { seed: 18 })
  const refused: Array<[string, string, string]> = []
  const guarded = await startNode(t, {
    seed: 9,
    peers: { mode: 'allowlist', allow: [friend.id] },
    staticPeers: [neighbour.addr], // a static peer is allowed without being listed
    onRefused: (peer, direction, reason) => { refused.push([peer, direction, reason]) },
  })
  // The dialler may see dial() resolve (its muxer selection is optimistic) but the connection dies at once.
  const attempt = await stranger.host.dial(multiaddr(guarded.addr)).then(() => 'connected then cut', () => 'rejected')
  await waitFor('inbound refusal reported', () => refused.length === 1)
  await waitFor('no connection survives', () => stranger.host.getConnections().length === 0 && guarded.host.getConnections().every((c) => c.remotePeer.toString() !== stranger.id))
  t.comment(`stranger's dial: ${attempt}`)
  t.same(refused[0], [stranger.id, 'inbound', refusedNotAllowlisted], 'refused with the authenticated peer id')
  // Dialling an address without a peer id: we learn who answers only from Noise, then refuse.
  await t.rejects(guarded.host.dial(multiaddr(stranger.addr.replace(/\/p2p\/.*$/, ''))), 'outbound to an unlisted peer refused')
  t.same(refused[1], [stranger.id, 'outbound', refusedNotAllowlisted])
  await friend.host.dial(multiaddr(guarded.addr))
  await waitFor('friend links', () => friend.rec.count('up', guarded.id) === 1 && guarded.rec.count('up', friend.id) === 1)
  await waitFor('static neighbour links', () => guarded.rec.count('up', neighbour.id) === 1)
  t.equal(refused.length, 2, 'friend and neighbour not refused')
  t.same(guarded.rec.events.filter((e) => e.includes(stranger.id)), [], 'no link to the stranger ever')
})

t.test('no DNS anywhere: DNS multiaddrs refused in config and at dial time', async (t) => {
  const key = await generateKeyPair('Ed25519')
  await t.rejects(createHost({ privateKey: key, listen: ['/dns4/localhost/tcp/0'] }), ConfigError)
  await t.rejects(createHost({ privateKey: key, listen: [], staticPeers: ['/dns4/localhost/tcp/1/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf'] }), ConfigError)
  await t.rejects(createHost({ privateKey: key, listen: [], staticPeers: ['/ip4/127.0.0.1/tcp/1'] }), ConfigError, 'static peer without /p2p/')
  await t.rejects(createHost({ privateKey: key, listen: [], peers: { mode: 'allowlist', allow: ['not-a-peer-id'] } }), ConfigError, 'allowlist entry that is not a peer id')
  const a = await startNode(t, { seed: 10 })
  await t.rejects(a.host.dial(multiaddr('/dns4/localhost/tcp/1/p2p/12D3KooWGzxzKZYveHXtpG6AsrUJBcWxHBFS2HsEoGTxrMLvKXtf')), 'dial of a DNS multiaddr denied')
})

t.test('attachFrameTransport refuses settings it cannot honour', async (t) => {
  const a = await startNode(t, { seed: 16 })
  const rec = new Recorder()
  t.throws(() => attachFrameTransport(a.host, rec), ConfigError, 'a second handler for the protocol')
  const bare = await createHost({ privateKey: await seededKey(17), listen: [], start: false })
  t.throws(() => attachFrameTransport(bare, rec, { frameBytesMax: frameBytesMax + 1 }), ConfigError, 'frames above the protocol limit')
  t.throws(() => attachFrameTransport(bare, rec, { frameBytesMax: 100 }), ConfigError, 'frames below frameBytesMin')
  t.throws(() => attachFrameTransport(bare, rec, { writeQueueBytesMax: frameBytesMax }), ConfigError, 'a queue that cannot hold one full frame')
})
