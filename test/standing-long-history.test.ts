// A standing channel with a long governance history (#25): 1,500 changes (beyond the governance
// pending pool, the compaction threshold and the old 1,024-change limit) made on relay A; relay B,
// new, connects and must end with byte-identical governance, through reconciliation alone.
import t from 'tap'
import { TestNet } from './helpers/net.ts'
import { crypto } from './helpers/fixtures.ts'
import { standingHistory } from './helpers/governance-history.ts'
import { RelayChannelPolicy } from '../protocol/channel/relay.ts'
import { encodeState } from '../protocol/channel/state.ts'
import { toHex } from '../protocol/bytes.ts'
import { MemoryStore } from '../protocol/memory-store.ts'
import type { Engine } from '../protocol/engine/engine.ts'

const changes = 1_500
t.test('a relay new to a 1,500-change channel learns it all through reconciliation and agrees', async t => {
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
  const envs = standingHistory(changes, 20, engineA.stamp().ms - 3_600_000)
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
