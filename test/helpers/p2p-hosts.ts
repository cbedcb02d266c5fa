/**
 * Real libp2p hosts on loopback for tests: a host with the sync frame transport attached to
 * a given link handler, started, and stopped at the test's teardown. Fixed keys make peer ids
 * (and so which side the tie-break makes the opener) the same every run.
 *
 * @example
 * const a = await startHost(t, handlerA, { seed: 1 }); const b = await startHost(t, handlerB, { seed: 2 })
 * await a.host.dial(multiaddr(b.addr))   // both handlers hear linkUp once the sync stream is open
 */
import type { Test } from 'tap'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import type { LinkHandler, PeerId } from '../../protocol/ports.ts'
import { createHost, type Host, type HostOptions } from '../../node/p2p/host.ts'
import { attachFrameTransport, type FrameTransport, type FrameTransportOptions } from '../../node/p2p/link.ts'

export const loopbackTcp = '/ip4/127.0.0.1/tcp/0'
const fastRedial = { redialDelayMsMin: 50, redialDelayMsMax: 200 }

export interface TestHost {
  host: Host
  transport: FrameTransport
  id: PeerId
  addr: string
  misbehaved: Array<{ peer: PeerId, reason: string }>
  stop (): Promise<void>
}

export async function seededKey (seed: number): Promise<PrivateKey> {
  return await generateKeyPairFromSeed('Ed25519', new Uint8Array(32).fill(seed))
}

export type TestHostOptions = Partial<HostOptions> & { seed?: number, transport?: Omit<FrameTransportOptions, 'onPeerMisbehaved' | 'backoff'> }

/** A started host on a loopback TCP port (and whatever else `listen` says), its transport feeding `handler`. */
export async function startHost (t: Test, handler: LinkHandler, options: TestHostOptions = {}): Promise<TestHost> {
  const privateKey = options.privateKey ?? await seededKey(options.seed ?? 1)
  const host = await createHost({ listen: [loopbackTcp], ...options, privateKey, limits: { ...fastRedial, ...options.limits }, start: false })
  const misbehaved: TestHost['misbehaved'] = []
  const transport = attachFrameTransport(host, handler, { ...options.transport, onPeerMisbehaved: (peer, reason) => { misbehaved.push({ peer, reason }) }, backoff: options.backoff })
  await transport.ready
  await host.start()
  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    await transport.close()
    await host.stop()
  }
  t.teardown(stop)
  const addr = host.getMultiaddrs().find((ma) => ma.toString().startsWith('/ip4/127.0.0.1/tcp/') && !ma.toString().includes('/ws'))
  if (addr === undefined) throw new Error('host has no loopback tcp address')
  return { host, transport, id: host.peerId.toString(), addr: addr.toString(), misbehaved, stop }
}
