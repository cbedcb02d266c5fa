// Between real relays (#24): B's operator does not let it carry channels A's user creates. B
// tells A so (`refused`, ERR_NOT_CARRIED), and A stops sending them, and anything later of that
// channel; before, A sent every one again at each reconciliation round, for as long as it lived.
import t from 'tap'
import { Relay, waitFor, cleanupRelays } from './helpers/relays.ts'
import { ddil } from './helpers/cli.ts'
import { FrameType } from '../protocol/frames.ts'
import { resendAfterMs } from '../protocol/limits.ts'

/** The test relays' reconciliation interval (test/helpers/relays.ts). */
const reconcileMs = 2_000
/** Rounds to watch: past the time a relay waits before it sends an id to a peer again. */
const rounds = Math.ceil(resendAfterMs / reconcileMs) + 2

t.teardown(cleanupRelays)

t.test('a relay that does not carry a channel is sent its envelopes once, not at every round', async t => {
  const [a, b] = await Promise.all(['dc-a', 'dc-b'].map(n => Relay.init(n)))
  a.writeConfig({ authors: [a] })
  b.writeConfig({ authors: [b], dial: [a] }) // B carries only its own user's channels
  t.teardown(async () => { for (const r of [a, b]) await r.kill('SIGKILL') })
  await a.start(); await b.start()
  await waitFor('A and B linked', async () => (await a.status()).peers.some((p: any) => p.ready) ? true : undefined)
  const created = await ddil(['channel', 'create', '--data', a.dataDir, 'ops'])
  t.equal(created.code, 0, created.stderr)
  for (const text of ['one', 'two', 'three']) t.equal((await ddil(['send', '--data', a.dataDir, 'ops', text])).code, 0)
  // B declines the channel at its genesis; what A sent before it heard so is declined once each.
  await waitFor('B to decline what A sent', async () => (await b.status()).counters.refused >= 1 ? true : undefined)
  const sessions = async (): Promise<number> => (await a.status()).counters.reconcileSessions + (await b.status()).counters.reconcileSessions
  const settled = await sessions()
  await waitFor('two rounds, for what was in flight to land', async () => await sessions() >= settled + 2 ? true : undefined)
  const declined = (await b.status()).counters
  const received = (): Promise<number> => b.status().then(s => s.counters.framesReceived[FrameType.envelope])
  const before = await received()
  const start = await sessions()
  await waitFor(`${rounds} more reconciliation rounds`, async () => await sessions() >= start + rounds ? true : undefined)
  t.equal(await received(), before, `no envelope was sent to B again over ${rounds} rounds`)
  t.equal((await b.status()).counters.refused, declined.refused, 'and B refused nothing more')
  t.equal((await b.status()).counters.stored, 0, 'B stored none of it')
  // B declined the channel as a whole (ERR_NOT_CARRIED): what A posts in it later is not sent to B at all.
  const storedAtA = (await a.status()).counters.stored
  for (const text of ['four', 'five']) t.equal((await ddil(['send', '--data', a.dataDir, 'ops', text])).code, 0)
  await waitFor('A to store both', async () => (await a.status()).counters.stored >= storedAtA + 2 ? true : undefined)
  const later = await sessions()
  await waitFor('three more rounds', async () => await sessions() >= later + 3 ? true : undefined)
  t.equal(await received(), before, 'later posts in the channel were not sent to B either')
})
