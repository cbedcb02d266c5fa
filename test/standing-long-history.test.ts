// A standing channel with a long governance history (#25): 3,000 changes (beyond the pending
// pool, the compaction threshold and the old 1,024-change limit) made on relay A; relay B,
// new, connects and must end with byte-identical governance, through reconciliation alone.
import t from 'tap'
import { TestNet } from './helpers/net.ts'
import { crypto } from './helpers/fixtures.ts'
import { createChannel, signChange, type UserKeys } from '../protocol/channel/builders.ts'
import type { Change, Policy } from '../protocol/channel/governance.ts'
import { RelayChannelPolicy } from '../protocol/channel/relay.ts'
import { encodeState } from '../protocol/channel/state.ts'
import { toHex } from '../protocol/bytes.ts'
import type { Envelope } from '../protocol/envelope.ts'
import { MemoryStore } from '../protocol/memory-store.ts'
import type { Engine } from '../protocol/engine/engine.ts'

const changes = 3_000
const user = (n: number): UserKeys => {
  const seed = new Uint8Array(32)
  new DataView(seed.buffer).setUint32(0, n + 1)
  return { ed25519: crypto.ed25519KeyPair(seed), x25519: crypto.x25519KeyPair(seed) }
}

function history (t0: number): Envelope[] {
  const owner = user(0)
  const policy: Policy = { retentionSeconds: 365 * 24 * 3600, allowedPrecedence: [0, 1, 2, 3], whoMayPost: 'member' }
  const genesis = createChannel(crypto, owner, policy, new Uint8Array(16).fill(5), { ms: t0, c: 0 })
  const out = [genesis]
  const members: UserKeys[] = []
  for (let i = 1; i < changes; i++) {
    let change: Change
    if (i <= 20 || i % 2 === 1) {
      const m = user(i)
      members.push(m)
      change = { op: 'add', memberEd: m.ed25519.publicKey, memberX: m.x25519.publicKey, role: 'member' }
    } else {
      change = { op: 'remove', memberEd: (members.shift() as UserKeys).ed25519.publicKey, cutSeq: 0 }
    }
    out.push(signChange(crypto, owner, { channel: genesis.channel, heads: [out[out.length - 1].id] }, change, i + 1, { ms: t0 + i, c: 0 }))
  }
  return out
}

t.test('a relay new to a 3,000-change channel learns it all through reconciliation and agrees', async t => {
  const net = new TestNet()
  const policies = new Map<string, RelayChannelPolicy>()
  const engines = new Map<string, Engine>()
  for (const name of ['A', 'B']) {
    const policy = new RelayChannelPolicy(crypto, () => true)
    const engine = await net.node(name, {}, new MemoryStore(), policy)
    net.listen(name, env => { void policy.stored(engine, env) })
    policies.set(name, policy)
    engines.set(name, engine)
  }
  const a = policies.get('A') as RelayChannelPolicy
  const engineA = engines.get('A') as Engine
  // Made over the past hour, as the relay's clock sees it.
  const envs = history(engineA.stamp().ms - 3_600_000)
  for (const env of envs) await engineA.submit(env.bytes)
  const channel = envs[0].channel
  const stateOf = (name: string): string | undefined => {
    const s = policies.get(name)?.store.state(channel)
    return s === undefined ? undefined : toHex(encodeState(s))
  }
  t.equal(a.store.holding(channel)?.kept, changes, 'A holds every change')
  net.connect('A', 'B')
  let virtualMs = 0
  while (stateOf('B') !== stateOf('A') && virtualMs < 3_600_000) { await net.run(1_000); virtualMs += 1_000 }
  t.equal(stateOf('B'), stateOf('A'), `B agrees with A after ${virtualMs / 1000} s of virtual time`)
  const held = policies.get('B')?.store.holding(channel)
  t.equal(held?.kept, changes, 'B holds every change')
  t.ok((held?.window ?? Infinity) <= 1024 && (held?.compactions ?? 0) > 0, `B resolves a window of ${held?.window} changes after ${held?.compactions} compactions`)
})
