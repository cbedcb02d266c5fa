// Silent TCP connections from one address against a real `ddil start` relay's libp2p port:
// a new peer from another address must still connect (the stranger holds a few handshake
// slots at most), and the pressure is audited once, then counted. Silent connections to its
// WebSocket port must not take it to its file limit.
import t from 'tap'
import { Relay, cleanupRelays, freePort, waitFor } from './helpers/relays.ts'
import { ddil } from './helpers/cli.ts'
import { holdConnections } from './helpers/flood.ts'

t.teardown(cleanupRelays)

/** Where the flood comes from: any 127/8 address is loopback, and not the one the peer dials from. */
const attacker = '127.0.0.2'

t.test('silent connections from one address do not keep new peers out', async t => {
  const [a, b] = await Promise.all(['a', 'b'].map(n => Relay.init(n)))
  a.writeConfig({ authors: [a, b] })
  b.writeConfig({ authors: [a, b], dial: [a] })
  t.teardown(async () => { await a.kill('SIGKILL'); await b.kill('SIGKILL') })
  await a.start()
  // Far more than libp2p's 5 a second per address gets through: every slot it could fill, it does.
  const flood = holdConnections({ port: a.p2pPort, localAddress: attacker, count: 40, perSecond: 50 })
  t.teardown(() => { flood.stop() })
  await waitFor('the flood to be under way', () => flood.opened >= 40 ? true : undefined)
  await b.start()
  await waitFor('B linked to A during the flood', async () => (await a.status()).peers.some((p: { id: string, ready: boolean }) => p.id === b.nodeId && p.ready) ? true : undefined, { patienceMs: 60_000 })
  t.pass(`B linked to A while ${flood.opened} silent connections came from ${attacker}`)
  flood.stop()
  await a.kill('SIGTERM')

  const entries = (await ddil(['audit', 'export', '--data', a.dataDir])).stdout.split('\n').filter(l => l !== '').map(l => JSON.parse(l))
  const pressure = entries.filter(e => e.what === 'peer.refused' && e.where.remote === `/ip4/${attacker}`)
  t.ok(pressure.length >= 2 && pressure.length <= 6, `the pressure is audited, folded: ${pressure.length} entries for ${flood.opened} connections`)
  t.equal(pressure[0].who, 'unidentified peer', 'before Noise nobody has an id')
  t.ok(pressure.some(e => e.detail.summary === true && e.detail.repeats > 0), 'and counted in a summary')
  t.ok(entries.some(e => e.what === 'peer.accepted' && e.who === b.nodeId), 'B was accepted')
  t.equal((await ddil(['audit', 'verify', '--data', a.dataDir])).code, 0, 'the log verifies')
})

t.test('silent connections to the WebSocket port are closed, not held until the file limit', async t => {
  const fileLimit = 256
  const a = await Relay.init('ws')
  const wsPort = await freePort()
  a.writeConfig({ authors: [a], wsPort })
  a.wrap = ['prlimit', `--nofile=${fileLimit}:${fileLimit}`, '--']
  t.teardown(async () => { await a.kill('SIGKILL') })
  await a.start()
  const flood = holdConnections({ port: wsPort, count: 2 * fileLimit, perSecond: 100 })
  t.teardown(() => { flood.stop() })
  await waitFor('the flood to pass the file limit', () => flood.opened > fileLimit + 50 ? true : undefined)
  const healthy = async (): Promise<boolean> => await fetch(`http://127.0.0.1:${a.adminPort}/healthz`, { signal: AbortSignal.timeout(2000) }).then(r => r.ok, () => false)
  await waitFor('connections that never spoke to be closed', () => flood.opened > 2 * fileLimit + 50 ? true : undefined, { patienceMs: 60_000 })
  t.ok(await waitFor('/healthz to answer during the flood', healthy, { patienceMs: 30_000 }), `/healthz answers while ${flood.opened} silent connections came`)
})
