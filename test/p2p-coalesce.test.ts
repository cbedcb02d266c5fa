// One TCP segment per frame (node/p2p/coalesce.ts): what a tick writes leaves as one write.
// Segments are counted by the kernel (`ss -ti`, segs_out), on loopback, for a raw socket and
// for both ends of a real libp2p connection (dialled and accepted), so an upgrade of
// @libp2p/tcp that moves the hooks fails here.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import type { LinkHandler, PeerId } from '../protocol/ports.ts'
import { createHost } from '../node/p2p/host.ts'
import { attachFrameTransport } from '../node/p2p/link.ts'
import { coalesceWrites } from '../node/p2p/coalesce.ts'
import { waitUntil } from './helpers/wait.ts'

const rounds = 40
const nextTick = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

/** Segments sent so far by the established loopback socket from `localPort` (ss's segs_out). */
function segmentsOut (localPort: number): number {
  const out = execFileSync('ss', ['-tinH', 'state', 'established', `( sport = :${localPort} )`], { encoding: 'utf8' })
  const m = /segs_out:(\d+)/.exec(out)
  if (m === null) throw new Error(`no established socket from port ${localPort}: ${JSON.stringify(out)}`)
  return Number(m[1])
}

/** The local port of the one established loopback socket to `remotePort`. */
function localPortTo (remotePort: number): number {
  const out = execFileSync('ss', ['-tnH', 'state', 'established', `( dport = :${remotePort} )`], { encoding: 'utf8' })
  const local = out.trim().split(/\s+/).find(f => /:\d+$/.test(f))
  if (local === undefined) throw new Error(`no established socket to port ${remotePort}: ${JSON.stringify(out)}`)
  return Number(local.slice(local.lastIndexOf(':') + 1))
}

t.test('a tick of small writes leaves as one segment when coalesced, as one each when not', async t => {
  let received = 0
  const server = createServer(s => { s.on('data', d => { received += d.byteLength }) })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const port = (server.address() as AddressInfo).port
  const open = async (coalesce: boolean): Promise<Socket> => {
    const s = createConnection({ host: '127.0.0.1', port, noDelay: true }) // Nagle off, as libp2p sets it
    await new Promise(resolve => s.once('connect', resolve))
    t.teardown(() => { s.destroy() })
    return coalesce ? coalesceWrites(s) : s
  }
  const pieces = [2, 28, 2, 1142].map(n => new Uint8Array(n)) // a frame as Noise and yamux wrote it
  const frameBytes = pieces.reduce((n, p) => n + p.byteLength, 0)
  const count = async (s: Socket): Promise<number> => {
    const before = segmentsOut(s.localPort as number)
    const expected = received + rounds * frameBytes
    for (let i = 0; i < rounds; i++) {
      for (const p of pieces) s.write(p)
      await nextTick()
    }
    await waitUntil('all bytes at the server', () => received === expected)
    return segmentsOut(s.localPort as number) - before
  }
  const plain = await count(await open(false))
  const coalesced = await count(await open(true))
  t.ok(plain >= 3 * rounds, `uncoalesced: ${plain} segments for ${rounds} frames of four writes`)
  t.ok(coalesced <= rounds + 2, `coalesced: ${coalesced} segments for ${rounds} frames`)

  const s = await open(true)
  s.write('a'); s.end('b')
  await waitUntil('end delivers what was corked', () => s.writableFinished)
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
  const sendAll = async (from: typeof a, to: PeerId, fromPort: number, at: Counter): Promise<number> => {
    const before = segmentsOut(fromPort)
    const target = at.frames + rounds
    let refused = 0
    for (let i = 0; i < rounds; i++) {
      if (!from.transport.send(to, frame)) refused++
      await nextTick()
    }
    t.equal(refused, 0, 'every frame taken')
    await waitUntil('frames arrived', () => at.frames >= target)
    return segmentsOut(fromPort) - before
  }
  // Acknowledgements and yamux window updates also leave as segments: a frame alone is one.
  const dialled = await sendAll(a, b.host.peerId.toString(), aPort, b.handler)
  const accepted = await sendAll(b, a.host.peerId.toString(), bPort, a.handler)
  t.ok(dialled <= rounds * 1.5, `dialled end: ${dialled} segments for ${rounds} frames (uncoalesced: at least ${2 * rounds})`)
  t.ok(accepted <= rounds * 1.5, `accepted end: ${accepted} segments for ${rounds} frames (uncoalesced: at least ${2 * rounds})`)
})
