// Standing channels (#25): a channel lives for two years on four relays of the engine's test
// network (virtual time). Each month its owner adds a member, removes the previous one and
// posts; relay C is cut off for 90 days in year one; relay D first joins in year two. Every
// relay ends with byte-identical governance and the member added last reads the channel
// through D, because relays keep governance and keys for the channel's life whatever their
// TTL (30 days). Along the way: relays refuse a TTL beyond the channel's retention, a legal
// hold keeps expired messages on every relay until it is lifted, and a closed channel takes
// no later post. Without the lasting kinds, C and D could not learn what expired while they
// were away, and this fails.
import t from 'tap'
import { TestNet } from './helpers/net.ts'
import { channelClient } from './helpers/channel-clients.ts'
import { crypto } from './helpers/fixtures.ts'
import { ChannelClient, type NodeLink } from '../protocol/channel/client.ts'
import type { UserKeys } from '../protocol/channel/builders.ts'
import { RelayChannelPolicy } from '../protocol/channel/relay.ts'
import { encodeState } from '../protocol/channel/state.ts'
import { fromHex, toHex } from '../protocol/bytes.ts'
import type { Engine } from '../protocol/engine/engine.ts'
import { authorRef, Kind, Precedence, signEnvelope, type Envelope } from '../protocol/envelope.ts'
import { MemoryStore } from '../protocol/memory-store.ts'

const dayMs = 24 * 3_600_000
const relays = ['A', 'B', 'C', 'D'] as const
type RelayName = (typeof relays)[number]

function user (seed: number): UserKeys {
  return { ed25519: crypto.ed25519KeyPair(new Uint8Array(32).fill(seed)), x25519: crypto.x25519KeyPair(new Uint8Array(32).fill(seed + 100)) }
}

// Reconciliation every 6 h and a daily purge keep two years of virtual time cheap.
const net = new TestNet({ reconcileIntervalMs: 6 * 3_600_000, purgeIntervalMs: dayMs }, {}, { record: false })
const policies = new Map<RelayName, RelayChannelPolicy>()
const engines = new Map<RelayName, Engine>()
async function start (name: RelayName): Promise<void> {
  const policy = new RelayChannelPolicy(crypto, () => true)
  const engine = await net.node(name, {}, new MemoryStore(), policy)
  net.listen(name, env => { void policy.stored(engine, env) })
  policies.set(name, policy)
  engines.set(name, engine)
}
const engine = (name: RelayName): Engine => engines.get(name) as Engine

/** A client whose relay is `name`: it stamps and submits there. */
function clientOn (name: RelayName, u: UserKeys, i: number): ChannelClient {
  const link: NodeLink = { submit: async b => ({ id: (await engine(name).submit(b)).id }), stamp: async () => engine(name).stamp() }
  return channelClient(u, i, link)
}

/** Every envelope of the channel a relay holds, by kind. */
async function held (name: RelayName, channel: Uint8Array, kind: number): Promise<Envelope[]> {
  const out: Envelope[] = []
  for (const { id } of await engine(name).history(channel, kind, 100_000)) {
    const env = await engine(name).get(id)
    if (env !== undefined) out.push(env)
  }
  return out
}

const owner = user(1)
const members = Array.from({ length: 25 }, (_, m) => user(10 + m))

t.test('a channel lives two years: a relay away 90 days and one new in year two agree and deliver', async t => {
  for (const name of ['A', 'B', 'C'] as const) await start(name)
  net.connect('A', 'B'); net.connect('B', 'C'); net.connect('A', 'C')
  await net.run(1000)
  const boss = clientOn('A', owner, 0)
  const { channel } = await boss.createChannel({ name: 'grid-ops' }, { retentionSeconds: 400 * 24 * 3600, allowedPrecedence: [0, 1, 2, 3], whoMayPost: 'member' })
  const posts: Array<{ day: number, id: string }> = []
  let holdChecked = false

  let elapsedMs = 0
  const runUntil = async (ms: number): Promise<void> => { await net.run(ms - elapsedMs); elapsedMs = ms }
  for (let month = 1; month <= 24; month++) {
    const day = month * 30
    await runUntil(day * dayMs)
    if (day === 210) { net.cut('B', 'C'); net.cut('A', 'C') } // C away for 90 days
    if (day === 300) { net.connect('B', 'C'); net.connect('A', 'C') }
    if (day === 420) { await start('D'); net.connect('B', 'D') } // a relay that never saw year one
    await boss.addMember(channel, { ed: members[month].ed25519.publicKey, x: members[month].x25519.publicKey })
    if (month > 1) await boss.removeMember(channel, members[month - 1].ed25519.publicKey)
    const env = await boss.sendText(channel, `month ${month}`, { ttlSeconds: 60 * 24 * 3600 })
    posts.push({ day, id: toHex(env.id) })

    if (day === 480) await boss.setPolicy(channel, p => ({ ...p, legalHold: true }))
    if (day === 600) {
      // Posts from days 450–540 expired (60 days) during the hold, once every relay knew of it: all still hold them.
      await runUntil(elapsedMs + dayMs)
      for (const name of relays) {
        const ids = new Set((await held(name, channel, Kind.message)).map(e => toHex(e.id)))
        t.ok(posts.filter(p => p.day >= 450 && p.day <= 540).every(p => ids.has(p.id)), `${name} keeps what expired under the hold`)
      }
      await boss.setPolicy(channel, p => { const { legalHold: _, ...rest } = p; return rest })
      holdChecked = true
    }
  }
  t.ok(holdChecked)
  await runUntil(elapsedMs + 3 * dayMs)

  const states = relays.map(name => toHex(encodeState(policies.get(name)?.store.state(channel) ?? (() => { throw new Error(`${name} has no state`) })())))
  t.equal(new Set(states).size, 1, 'all four relays compute byte-identical governance')
  const governance = await Promise.all(relays.map(async name => (await held(name, channel, Kind.governance)).length))
  t.same(governance, relays.map(() => governance[0]), `every relay holds all ${governance[0]} governance changes, 30-day TTLs and all`)
  t.ok(governance[0] >= 48, 'two years of monthly adds and removals')
  for (const name of relays) {
    const ids = new Set((await held(name, channel, Kind.message)).map(e => toHex(e.id)))
    const live = posts.filter(p => p.day > 720 - 60 + 3)
    t.ok(live.every(p => ids.has(p.id)), `${name} holds the posts still within their time to live`)
    t.ok(posts.filter(p => p.day <= 600).every(p => !ids.has(p.id)), `${name} purged what expired, the held ones once the hold was lifted`)
  }

  // The member added last reads the channel through D, which joined in year two.
  const reader = clientOn('D', members[24], 24)
  for (const kind of [Kind.governance, Kind.keys, Kind.message]) for (const env of await held('D', channel, kind)) reader.receive(env.bytes)
  t.match(reader.state(channel)?.members.size, 2, 'owner and the newest member')
  const texts: string[] = []
  for (const env of await held('D', channel, Kind.message)) {
    const r = reader.receive(env.bytes)
    if (r.type === 'text') texts.push(r.text)
  }
  t.ok(texts.includes('month 24'), `the newest member reads the newest post (${texts.join(', ')})`)

  // Retention caps a sender's TTL; closing stops later posts and keeps receipts flowing.
  await t.rejects(engine('A').submit(postWithTtl(channel, 401).bytes), /exceeds the channel's retention/)
  t.ok(await engine('A').submit(postWithTtl(channel, 400).bytes), 'the retention itself is allowed')
  await boss.setPolicy(channel, (p, nowMs) => ({ ...p, closedAtMs: nowMs }))
  await runUntil(elapsedMs + dayMs)
  await t.rejects(boss.sendText(channel, 'after the close'), /closed \(archived\)/)
  t.ok(await boss.sendReceipt(channel, [fromHex(posts[posts.length - 1].id)]), 'a receipt still goes: reading what is kept')
})

let rawSeq = 1_000_000
/** A message of the owner's that asks to live `days` (the client itself caps TTLs at the retention). */
function postWithTtl (channel: Uint8Array, days: number): Envelope {
  return signEnvelope(crypto, {
    kind: Kind.message, precedence: Precedence.routine, channel, author: authorRef(owner.ed25519.publicKey), seq: rawSeq++,
    hlc: engine('A').stamp(), ttlSeconds: days * 24 * 3600, epoch: 1, deps: [], body: new Uint8Array(40),
  }, owner.ed25519.privateKey)
}
