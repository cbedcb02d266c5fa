// One local process holding unfinished HTTP requests on the admin endpoint of a real
// `ddil start` relay whose file limit is low: the relay must keep serving (/healthz, the
// client API), keep its audit log writing, and audit the abuse once, then counted.
import t from 'tap'
import { Relay, cleanupRelays, waitFor } from './helpers/relays.ts'
import { ddil } from './helpers/cli.ts'
import { holdConnections } from './helpers/flood.ts'

/** The relay's open-file limit here; the shipped unit has 4,096, reached the same way with more connections. */
const fileLimit = 256

t.teardown(cleanupRelays)

async function healthy (port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) })
    return res.ok
  } catch {
    return false
  }
}

t.test('unfinished admin requests cannot take the relay to its file limit', async t => {
  const a = await Relay.init('a')
  a.writeConfig({ authors: [a] })
  a.wrap = ['prlimit', `--nofile=${fileLimit}:${fileLimit}`, '--']
  t.teardown(async () => { await a.kill('SIGKILL') })
  await a.start()
  // Twice the file limit of requests that never finish, each replaced when the relay drops it.
  const flood = holdConnections({ port: a.adminPort, count: 2 * fileLimit, send: 'GET /status HTTP/1.1\r\nHost: relay\r\n', perSecond: 200 })
  t.teardown(() => { flood.stop() })
  await waitFor('the flood to be past the file limit', () => flood.opened >= 2 * fileLimit ? true : undefined)
  await waitFor('the relay to shed some of the flood', () => flood.opened > 2 * fileLimit + 20 ? true : undefined, { patienceMs: 30_000 })
  t.ok(await waitFor('/healthz to answer during the flood', () => healthy(a.adminPort), { patienceMs: 30_000 }), '/healthz answers during the flood')
  const client = await a.client()
  t.ok((await client.status()).nodeId, 'the client API authenticates and answers during the flood')
  await client.close()
  flood.stop()
  await a.kill('SIGTERM')

  const verified = await ddil(['audit', 'verify', '--data', a.dataDir])
  t.equal(verified.code, 0, `the audit log verifies: ${verified.stdout}${verified.stderr}`)
  const entries = (await ddil(['audit', 'export', '--data', a.dataDir])).stdout.split('\n').filter(l => l !== '').map(l => JSON.parse(l))
  t.ok(entries.some(e => e.what === 'node.stopped'), 'the stop is recorded')
  t.notOk(entries.some(e => e.what === 'audit.recovered'), 'the audit log never failed')
  const refused = entries.filter(e => e.what === 'admin.refused')
  t.ok(refused.length >= 2 && refused.length <= 10, `the abuse is audited, folded: ${refused.length} entries for ${flood.opened} connections`)
  t.equal(refused[0].where.remote, '/ip4/127.0.0.1', 'with the source address')
  const counted = refused.filter(e => e.detail.summary === true).reduce((n, e) => n + e.detail.repeats, 0)
  t.ok(counted >= 20, `the summaries count the repeats (${counted})`)
})
