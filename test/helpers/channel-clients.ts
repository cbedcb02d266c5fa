/**
 * Channel clients without a network, for tests of what endpoints compute: one relay
 * stand-in that takes every envelope in order and stamps from one clock, and clients
 * over it with fixed keys, device seeds and random streams. Feed a client the log
 * (`c.receive(bytes)`) in any order to play an arrival order.
 *
 * @example
 * const n = relayLog(); const [alice, bob] = users.map((u, i) => channelClient(u, i, n.link))
 * const { channel } = await alice.createChannel({ name: 'ops' }); for (const b of n.log) bob.receive(b)
 */
import { ChannelClient, type NodeLink } from '../../protocol/channel/client.ts'
import type { UserKeys } from '../../protocol/channel/builders.ts'
import { utf8 } from '../../protocol/bytes.ts'
import { crypto, nowMs } from './fixtures.ts'

export const t0 = nowMs

/** Four users with fixed keys: Ed25519 seeds 0x61… and X25519 seeds 0x71…. */
export const users: UserKeys[] = Array.from({ length: 4 }, (_, i) => ({
  ed25519: crypto.ed25519KeyPair(new Uint8Array(32).fill(0x61 + i)),
  x25519: crypto.x25519KeyPair(new Uint8Array(32).fill(0x71 + i)),
}))

/** A relay stand-in: takes every envelope, stamps from one clock. */
export function relayLog (): { log: Uint8Array[], link: NodeLink } {
  const log: Uint8Array[] = []
  let ms = t0
  return { log, link: { submit: async (b) => { log.push(b); return { id: crypto.sha256(b) } }, stamp: async () => ({ ms: ++ms, c: 0 }) } }
}

export function channelClient (u: UserKeys, i: number, link: NodeLink): ChannelClient {
  const seqs = new Map<string, number>()
  let n = 0
  return new ChannelClient({
    crypto, nowMs: () => t0, deviceSeed: new Uint8Array(16).fill(i),
    randomBytes: (len) => { n++; return crypto.sha256(utf8(`${i}/${n}`)).slice(0, len) },
    node: link, reserveSeq: async (ch, count = 1) => { const next = (seqs.get(ch) ?? 0) + 1; seqs.set(ch, next + count - 1); return next },
  }, u)
}
