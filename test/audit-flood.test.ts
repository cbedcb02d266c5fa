// A connection flood from a peer that is not on the allowlist (a real `ddil start` relay,
// an attacker host redialling on loopback): the audit log gets the first refusal in full and
// then one counted summary, not an entry per handshake, and it still verifies.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { Relay, cleanupRelays } from './helpers/relays.ts'
import { createHost } from '../node/p2p/host.ts'

const bin = new URL('../node/cli/bin.js', import.meta.url).pathname
const ddil = (...args: string[]): { code: number | null, stdout: string } => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000 })
  return { code: r.status, stdout: r.stdout }
}
const floodMs = 5000

t.teardown(cleanupRelays)

t.test('a connection flood costs the audit log two entries, with every refusal counted', async t => {
  const [a, b] = await Promise.all(['a', 'b'].map(n => Relay.init(n)))
  a.writeConfig({ authors: [a], mode: 'allowlist', allow: [b] })
  t.teardown(async () => { await a.kill('SIGKILL') })
  await a.start()
  const attacker = await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: [] })
  t.teardown(() => attacker.stop())
  const attackerId = attacker.peerId.toString()
  let dials = 0
  for (const until = Date.now() + floodMs; Date.now() < until; dials++) {
    await attacker.dial(multiaddr(a.addr)).then(c => c.close().catch(() => {}), () => {})
  }
  await a.kill('SIGTERM') // a graceful stop writes the open summary
  const entries = ddil('audit', 'export', '--data', a.dataDir).stdout.split('\n').filter(l => l.includes('"peer.refused"')).map(l => JSON.parse(l))
  const ours = entries.filter(e => e.who === attackerId)
  t.equal(ours.length, 2, `${dials} dials: the first refusal and one summary (${ours.length} entries)`)
  t.equal(ours[0].detail.reason, 'peer id not in allowlist')
  t.equal(ours[1].detail.summary, true)
  t.ok(ours[1].detail.repeats >= 5, `the summary counts the repeats: ${ours[1].detail.repeats} in ${floodMs} ms (libp2p lets about 3.6 a second through)`)
  t.match(ours[1].where.remote, /^\/ip4\/127\.0\.0\.1$/, 'the source address, without a port')
  t.equal(ddil('audit', 'verify', '--data', a.dataDir).code, 0, 'the log verifies')
})
