// Client sockets that upgrade to WebSocket and never authenticate, more of them than the
// client API has places, against a real `ddil start` relay: the operator's CLI must still get
// in (unauthenticated sockets have slots of their own, the oldest makes way), and the
// flood is audited once, then counted.
import t from 'tap'
import { Relay, cleanupRelays } from './helpers/relays.ts'
import { ddil } from './helpers/cli.ts'
import { holdConnections } from './helpers/flood.ts'
import { clientConnectionsMax } from '../node/api/limits.ts'

t.teardown(cleanupRelays)

const upgrade = (port: number): string => [
  'GET / HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Upgrade: websocket', 'Connection: Upgrade',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13', '', '',
].join('\r\n')

t.test('strangers that never authenticate cannot lock the CLI out of the client API', async t => {
  const a = await Relay.init('a')
  a.writeConfig({ authors: [a] })
  t.teardown(async () => { await a.kill('SIGKILL') })
  await a.start()
  // Ten a second: faster than the attack reported (64 slots held for 10 s each). The oldest stranger makes way for
  // each newcomer, so the CLI has the pool's residence time (24 slots / 10 a second) to authenticate; at 50 a second
  // (half a second) a CLI slowed by a busy machine was pushed out. Only a Unix socket for local clients would make
  // a same-host flood of any rate harmless: see the issue notes.
  const flood = holdConnections({ port: a.apiPort, count: clientConnectionsMax + 36, send: upgrade(a.apiPort), perSecond: 10 })
  t.teardown(() => { flood.stop() })
  for (let i = 0; i < 3; i++) {
    const r = await ddil(['channel', 'create', `ops-${i}`, '--data', a.dataDir])
    t.equal(r.code, 0, `channel create ${i} during the flood (${flood.opened} stranger sockets so far): ${r.stderr}`)
  }
  flood.stop()
  await a.kill('SIGTERM')

  const verified = await ddil(['audit', 'verify', '--data', a.dataDir])
  t.equal(verified.code, 0, `the audit log verifies: ${verified.stdout}${verified.stderr}`)
  const entries = (await ddil(['audit', 'export', '--data', a.dataDir])).stdout.split('\n').filter(l => l !== '').map(l => JSON.parse(l))
  const refused = entries.filter(e => e.what === 'client.refused')
  t.ok(refused.length >= 2 && refused.length <= 8, `the flood is audited, folded: ${refused.length} entries for ${flood.opened} sockets`)
  t.ok(refused.every(e => e.where.remote === '/ip4/127.0.0.1'), 'with the source address')
  t.ok(refused.some(e => e.detail.summary === true && e.detail.repeats > 0), 'and counted in a summary')
  const authenticated = entries.filter(e => e.what === 'client.authenticated')
  t.equal(authenticated.length, 2, 'the CLI\'s three connections: the first in full, the repeats folded')
  t.equal(1 + (authenticated[1]?.detail.repeats as number), 3, 'and counted: it authenticated each time')
})
