// Governed, end-to-end encrypted channels over two relays (in-memory network, manual clock), each relay with
// its own user: Alice creates a channel and adds Bob by key; they exchange messages and edit the board; Alice
// removes Bob: Bob's later posts are refused by both relays and Bob can no longer read new messages.
// Relays never hold plaintext, and refuse channels created by users their operator does not allow.
import t from 'tap'
import { TestNet } from './helpers/net.ts'
import { crypto } from './helpers/fixtures.ts'
import { ChannelClient } from '../protocol/channel/client.ts'
import { RelayChannelPolicy } from '../protocol/channel/relay.ts'
import type { UserKeys } from '../protocol/channel/builders.ts'
import { authorRef, Kind, Precedence } from '../protocol/envelope.ts'
import { toHex, utf8 } from '../protocol/bytes.ts'
import type { Engine } from '../protocol/engine/engine.ts'

function user (seed: number): UserKeys {
  return { ed25519: crypto.ed25519KeyPair(new Uint8Array(32).fill(seed)), x25519: crypto.x25519KeyPair(new Uint8Array(32).fill(seed + 100)) }
}

async function relay (net: TestNet, id: string, creators: UserKeys[]): Promise<{ engine: Engine, policy: RelayChannelPolicy }> {
  const allowed = new Set(creators.map(u => toHex(authorRef(u.ed25519.publicKey))))
  const policy = new RelayChannelPolicy(crypto, ref => allowed.has(ref))
  const engine = await net.node(id, {}, undefined, policy)
  net.listen(id, env => { void policy.stored(engine, env) })
  return { engine, policy }
}

function client (net: TestNet, node: string, u: UserKeys, seed: number): { c: ChannelClient, texts: string[] } {
  const engine = net.engines.get(node) as Engine
  const seqs = new Map<string, number>()
  let n = 0
  const c = new ChannelClient({
    crypto, nowMs: () => net.clock.now, deviceSeed: new Uint8Array(16).fill(seed),
    randomBytes: (len) => { n++; return crypto.sha256(utf8(`${seed}/${n}`)).slice(0, len) },
    node: { submit: async (b) => ({ id: (await engine.submit(b)).id }), stamp: async () => engine.stamp() },
    reserveSeq: async (ch) => { const next = (seqs.get(ch) ?? 0) + 1; seqs.set(ch, next); return next },
  }, u)
  const texts: string[] = []
  net.listen(node, env => { const r = c.receive(env.bytes); if (r.type === 'text') texts.push(r.text) })
  return { c, texts }
}

t.test('create, add by key, exchange, board, remove: the removed member is cut off everywhere', async t => {
  const net = new TestNet({ reconcileIntervalMs: 5_000 })
  const alice = user(1); const bob = user(2)
  const ra = await relay(net, 'relay-a', [alice, bob]); const rb = await relay(net, 'relay-b', [alice, bob])
  net.connect('relay-a', 'relay-b', { latencyMs: 20 })
  await net.run(100)
  const A = client(net, 'relay-a', alice, 1); const B = client(net, 'relay-b', bob, 2)

  const { channel } = await A.c.createChannel({ name: 'Grid outage north', topic: 'feeders' })
  await A.c.addMember(channel, { ed: bob.ed25519.publicKey, x: bob.x25519.publicKey }, 'member')
  await net.run(500)
  t.ok(B.c.state(channel)?.members.has(toHex(authorRef(bob.ed25519.publicKey))), 'Bob sees himself added')
  await A.c.sendText(channel, 'Pump 3 offline', { precedence: Precedence.flash })
  await net.run(200)
  t.same(B.texts, ['Pump 3 offline'], 'Bob reads Alice')
  await B.c.sendText(channel, 'Crew 2 en route')
  await B.c.editBoard(channel, b => b.addTask('Fuel for hospital generator'))
  await net.run(200)
  t.same(A.texts, ['Pump 3 offline', 'Crew 2 en route'], 'Alice reads Bob')
  t.same(A.c.board(channel), B.c.board(channel), 'one board')
  t.equal(A.c.board(channel).name, 'Grid outage north')
  t.equal(A.c.board(channel).tasks[0].text, 'Fuel for hospital generator')

  // Receipts: Bob tells Alice (encrypted) what he got.
  const msg = await A.c.sendText(channel, 'ack please')
  await net.run(200)
  await B.c.sendReceipt(channel, [msg.id])
  await net.run(200)
  t.same(A.c.delivery(channel, msg.id), { k: 1, n: 1 }, 'delivered to 1 of 1')

  // Removal.
  await A.c.removeMember(channel, bob.ed25519.publicKey)
  await net.run(500)
  const secret = 'Substation 4 code is 7741'
  await A.c.sendText(channel, secret)
  await net.run(500)
  t.notOk(B.texts.includes(secret), 'Bob cannot read what is sent after his removal')
  const stillHeld = B.c.heldCount
  t.ok(stillHeld >= 1, 'Bob\'s client holds it undecryptable')
  await t.rejects(B.c.sendText(channel, 'still here?'), { code: 'ERR_CRYPTO' }, 'Bob\'s own client refuses to send without a key for the new epoch')
  // Bob's relay refuses his later posts even if he forges one with the old epoch key.
  const bEngine = net.engines.get('relay-b') as Engine
  const before = bEngine.counters.refused
  const { signEnvelope } = await import('../protocol/envelope.ts')
  const late = signEnvelope(crypto, { kind: Kind.message, precedence: 3, channel, author: authorRef(bob.ed25519.publicKey), seq: 99, hlc: bEngine.stamp(), ttlSeconds: 600, epoch: 1, deps: [], body: new Uint8Array(40) }, bob.ed25519.privateKey)
  await t.rejects(bEngine.submit(late.bytes), { code: 'ERR_UNAUTHORISED' }, 'relay-b refuses the removed member')
  t.equal(bEngine.counters.refused, before + 1)
  // Relays never stored plaintext.
  for (const [id, store] of net.stores) {
    const dump = Buffer.concat(store.rangeSync().map(([k, v]) => Buffer.concat([Buffer.from(k), Buffer.from(v)])))
    for (const text of ['Pump 3 offline', 'Crew 2 en route', secret, 'Grid outage north', 'Fuel for hospital']) {
      t.notOk(dump.includes(Buffer.from(text)), `${id} holds no plaintext "${text.slice(0, 12)}…"`)
    }
  }
  t.ok(ra.policy.store.state(channel)?.removed.size === 1 && rb.policy.store.state(channel)?.removed.size === 1, 'both relays enforce the removal')
})

t.test('a relay refuses channels created by users its operator does not allow', async t => {
  const net = new TestNet()
  const alice = user(1); const mallory = user(3)
  await relay(net, 'relay-a', [alice])
  await net.run(10)
  const M = client(net, 'relay-a', mallory, 3)
  await t.rejects(M.c.createChannel({ name: 'spam' }), { code: 'ERR_UNAUTHORISED' })
  t.equal(net.engines.get('relay-a')?.probe.catalog.size, 0)
})

t.test('a channel a relay does not carry is refused whole and costs the peer that forwards it nothing', async t => {
  // B carries Carol's channels, A does not: B forwards Carol's channel to A, as it should by its own policy.
  const net = new TestNet({ reconcileIntervalMs: 5_000 })
  const alice = user(1); const carol = user(4)
  await relay(net, 'relay-a', [alice]); await relay(net, 'relay-b', [alice, carol])
  net.connect('relay-a', 'relay-b')
  await net.run(100)
  const C = client(net, 'relay-b', carol, 4)
  const { channel } = await C.c.createChannel({ name: 'carol only' })
  for (let i = 0; i < 20; i++) await C.c.sendText(channel, `post ${i}`)
  await net.run(20_000) // reconciliation offers it all again, several times
  const a = net.engines.get('relay-a') as Engine
  t.equal(a.probe.catalog.size, 0, 'A stores none of it')
  t.equal(a.counters.heldPending, 0, 'nor holds it pending, as if its channel might still turn up')
  t.equal(a.status().peers.find(p => p.id === 'relay-b')?.score, 100, 'and B, which forwarded it, is not charged')
  t.same(net.disconnects, [])
})
