// One TCP segment per frame (node/p2p/coalesce.ts): the pieces of one send leave as one write;
// and no yamux window update per frame received (node/p2p/yamux-window.ts).
// Segments are counted by the kernel (`ss -ti`, segs_out), on loopback, for a raw socket
// written as @libp2p/tcp writes, and for both ends of a real libp2p connection (dialled and
// accepted), so an upgrade of @libp2p/tcp that moves the hooks fails here.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import type { LinkHandler, PeerId } from '../protocol/ports.ts'
import { createHost } from '../node/p2p/host.ts'
import { attachFrameTransport } from '../node/p2p/link.ts'
import { corkEachSend } from '../node/p2p/coalesce.ts'
import { waitUntil } from './helpers/wait.ts'

const rounds = 40
const nextTick = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

/** Segments sent so far by the established loopback socket from `localPort` (ss's segs_out; `data`: those carrying bytes). */
function segmentsOut (localPort: number, which: 'segs_out' | 'data_segs_out' = 'segs_out'): number {
  const out = execFileSync('ss', ['-tinH', 'state', 'established', `( sport = :${localPort} )`], { encoding: 'utf8' })
  const m = new RegExp(`\\b${which}:(\\d+)`).exec(out)
  if (m === null) throw new Error(`no established socket from port ${localPort}, or no ${which}: ${JSON.stringify(out)}`)
  return Number(m[1])
}

/** The local port of the one established loopback socket to `remotePort`. */
function localPortTo (remotePort: number): number {
  const out = execFileSync('ss', ['-tnH', 'state', 'established', `( dport = :${remotePort} )`], { encoding: 'utf8' })
  const local = out.trim().split(/\s+/).find(f => /:\d+$/.test(f))
  if (local === undefined) throw new Error(`no established socket to port ${remotePort}: ${JSON.stringify(out)}`)
  return Number(local.slice(local.lastIndexOf(':') + 1))
}

t.test('the pieces of one send leave as one segment when corked, as one each when not', async t => {
  let received = 0
  const server = createServer(s => { s.on('data', d => { received += d.byteLength }) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const port = (server.address() as AddressInfo).port
  /** A connection that writes each piece of a send separately, as @libp2p/tcp's does. */
  const open = async (cork: boolean): Promise<{ socket: Socket, sendData: (data: Iterable<Uint8Array>) => unknown }> => {
    const socket = createConnection({ host: '127.0.0.1', port, noDelay: true }) // Nagle off, as libp2p sets it
    await new Promise(resolve => socket.once('connect', resolve))
    t.teardown(() => { socket.destroy() })
    const connection = { socket, sendData (data: Iterable<Uint8Array>): unknown { for (const b of data) socket.write(b); return undefined } }
    if (cork) corkEachSend(connection)
    return connection
  }
  const pieces = [2, 28, 2, 1142].map(n => new Uint8Array(n)) // a frame as Noise and yamux wrote it
  const frameBytes = pieces.reduce((n, p) => n + p.byteLength, 0)
  const count = async (c: Awaited<ReturnType<typeof open>>): Promise<number> => {
    const before = segmentsOut(c.socket.localPort as number)
    const expected = received + rounds * frameBytes
    for (let i = 0; i < rounds; i++) {
      c.sendData(pieces)
      await nextTick()
    }
    await waitUntil('all bytes at the server', () => received === expected)
    return segmentsOut(c.socket.localPort as number) - before
  }
  const plain = await count(await open(false))
  const coalesced = await count(await open(true))
  t.ok(plain >= 3 * rounds, `uncorked: ${plain} segments for ${rounds} sends of four pieces`)
  t.ok(coalesced <= rounds + 2, `corked: ${coalesced} segments for ${rounds} sends`)
  t.throws(() => { corkEachSend({}) }, /coalesce\.ts needs updating/, 'a connection without the expected fields is refused, not silently left alone')
})

class Counter implements LinkHandler {
  frames = 0
  up = false
  linkUp (): void { this.up = true }
  linkDown (): void {}
  receive (): void { this.frames++ }
  drain (): void {}
}

t.test('a libp2p connection sends one segment per frame, from the dialled end and from the accepted end', async t => {
  const keys = await Promise.all([21, 22].map(async seed => await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(seed))))
  const [a, b] = await Promise.all(keys.map(async privateKey => {
    const host = await createHost({ privateKey, listen: ['/ip4/127.0.0.1/tcp/0'], start: false })
    const handler = new Counter()
    const transport = attachFrameTransport(host, handler, {})
    await transport.ready
    await host.start()
    t.teardown(async () => { await transport.close(); await host.stop() })
    return { host, handler, transport }
  }))
  await a.host.dial(multiaddr(b.host.getMultiaddrs()[0]))
  await waitUntil('links up on both sides', () => a.handler.up && b.handler.up)
  const bPort = Number(b.host.getMultiaddrs()[0].toString().split('/')[4])
  const aPort = localPortTo(bPort)
  const frame = new Uint8Array(1000)
  const sendAll = async (from: typeof a, to: PeerId, fromPort: number, at: Counter, toPort: number): Promise<{ sent: number, answered: number }> => {
    const before = segmentsOut(fromPort)
    const answeredBefore = segmentsOut(toPort, 'data_segs_out')
    const target = at.frames + rounds
    let refused = 0
    for (let i = 0; i < rounds; i++) {
      if (!from.transport.send(to, frame)) refused++
      await nextTick()
    }
    t.equal(refused, 0, 'every frame taken')
    await waitUntil('frames arrived', () => at.frames >= target)
    return { sent: segmentsOut(fromPort) - before, answered: segmentsOut(toPort, 'data_segs_out') - answeredBefore }
  }
  const dialled = await sendAll(a, b.host.peerId.toString(), aPort, b.handler, bPort)
  const accepted = await sendAll(b, a.host.peerId.toString(), bPort, a.handler, aPort)
  t.ok(dialled.sent <= rounds * 1.5, `dialled end: ${dialled.sent} segments for ${rounds} frames (uncoalesced: at least ${2 * rounds})`)
  t.ok(accepted.sent <= rounds * 1.5, `accepted end: ${accepted.sent} segments for ${rounds} frames (uncoalesced: at least ${2 * rounds})`)
  // 40 KB is far below half a yamux window: the receiver owes no window update (node/p2p/yamux-window.ts).
  // A few may carry pings or identify on a loaded machine; one update a frame would be 40.
  t.ok(dialled.answered <= rounds / 4 && accepted.answered <= rounds / 4, `receiving ends sent ${dialled.answered} and ${accepted.answered} segments with data while taking ${rounds} frames each (one window update a frame: ${rounds})`)
})
