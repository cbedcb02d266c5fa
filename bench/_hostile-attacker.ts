/**
 * bench hostile's attacker, in a process of its own (generating attack frames in the
 * benchmark's process would starve the honest client it measures): an allowlisted
 * libp2p peer that opens the sync protocol to the target, says hello, stops reading
 * (and tells the muxer so) and floods one kind of frame until SIGTERM. It then prints
 * one JSON line: frames sent, and whether the target cut it.
 *
 * @example
 * node bench/_hostile-attacker.ts /ip4/127.0.0.1/tcp/4401/p2p/12D3KooW… 12D3KooW… have-unread
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createHost } from '../node/p2p/host.ts'
import { syncProtocol } from '../node/p2p/link.ts'
import { encodeFrame as lengthPrefixed } from '../node/p2p/frame-codec.ts'
import { createNodeCrypto } from '../node/crypto.ts'
import { encodeFrame, FrameType, linkVersion } from '../protocol/frames.ts'
import { authorRef, Kind, signEnvelope } from '../protocol/envelope.ts'
import { idKey } from '../protocol/engine/catalog.ts'
import { initiate, ReconcileSet } from '../protocol/reconcile/index.ts'

const crypto = createNodeCrypto()
const [targetAddr, targetId, attackName] = process.argv.slice(2)

/** Frames a phase sends, one per call (made in advance where they can be: the flood must be fast). */
const attacks: Record<string, (i: number) => Uint8Array> = {
  'reconcile-unread': (() => {
    // A small opening whose reply (coded symbols) is larger: the amplification the attack relies on.
    const set = new ReconcileSet()
    for (let i = 0; i < 200; i++) set.add(idKey(crypto.sha256(new Uint8Array([i & 255, i >> 8]))))
    const opening = initiate(set, { frameBytesMax: 8192 }).message
    return (i: number) => encodeFrame({ type: FrameType.reconcile, session: i + 1, payload: opening })
  })(),
  'have-unread': (i: number) => encodeFrame({ type: FrameType.have, ids: Array.from({ length: 1024 }, (_, k) => crypto.sha256(new Uint8Array([i & 255, i >> 8, i >> 16, k & 255, k >> 8]))) }),
  prune: (i: number) => encodeFrame({ type: FrameType.prune, author: crypto.sha256(new Uint8Array([i & 255, i >> 8, i >> 16])).slice(0, 8) }),
  'unknown-authors': (() => {
    const stranger = crypto.ed25519KeyPair(new Uint8Array(32).fill(0x5a))
    return (i: number) => encodeFrame({ type: FrameType.envelope, envelope: signEnvelope(crypto, { kind: Kind.message, precedence: 3, channel: crypto.sha256(new Uint8Array([i & 255, i >> 8])).slice(0, 8), author: authorRef(stranger.publicKey), seq: i + 1, hlc: { ms: Date.now(), c: 0 }, ttlSeconds: 600, epoch: 0, deps: [], body: new Uint8Array(200) }, stranger.privateKey).bytes })
  })(),
}

/** A key whose peer id sorts below the target's: the smaller id opens reconciliation, so the target answers ours. */
async function attackerKey (): Promise<PrivateKey> {
  for (;;) {
    const key = await generateKeyPair('Ed25519')
    if (peerIdFromPrivateKey(key).toString() < targetId) return key
  }
}

const make = attacks[attackName]
if (make === undefined) throw new Error(`unknown attack ${attackName}`)
let stopped = false
let stop = (): void => {}
const stopping = new Promise<void>(resolve => { stop = () => { stopped = true; resolve() } })
process.once('SIGTERM', stop)
const host = await createHost({ privateKey: await attackerKey(), listen: [], start: true })
let frames = 0
let cut = false
try {
  const s = await host.dialProtocol(multiaddr(targetAddr), syncProtocol)
  s.maxReadBufferLength = Number.MAX_SAFE_INTEGER // our own buffer may grow: we are the attacker
  s.pause()
  const send = async (frame: Uint8Array): Promise<void> => {
    if (!s.send(lengthPrefixed(frame))) await Promise.race([new Promise(resolve => s.addEventListener('drain', resolve, { once: true })), stopping])
  }
  process.stdout.write('ready\n')
  await send(encodeFrame({ type: FrameType.hello, versionMin: linkVersion, versionMax: linkVersion, frameBytesMax: 65_536, nowMs: Date.now() }))
  for (; !stopped && s.status === 'open'; frames++) {
    await send(make(frames))
    if (frames % 64 === 0) await new Promise(resolve => setImmediate(resolve))
  }
  cut = s.status !== 'open'
} catch {
  cut = true // refused or reset
}
await stopping
process.stdout.write(JSON.stringify({ frames, cut }) + '\n')
await host.stop()
process.exit(0)
