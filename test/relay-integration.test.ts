// Real `ddil start` processes on loopback in a chain A–B–C with static peers (B dials both).
// A message sent at A is tailed at C; B is SIGKILLed mid-stream and restarted: nothing acknowledged is
// lost; B is stopped while A keeps posting (the A–B link is cut) and restarted: the backlog arrives;
// an unlisted peer is refused and audited by A.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { Relay, waitFor, textEnvelope, cleanupRelays, crypto } from './helpers/relays.ts'
import { localChannelRef } from '../node/cli/local-channel.ts'
import { toHex } from '../protocol/bytes.ts'

const bin = new URL('../node/cli/bin.js', import.meta.url).pathname
const ddil = (...args: string[]): { code: number | null, stdout: string, stderr: string } => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 20_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

t.teardown(cleanupRelays)

t.test('chain A–B–C over libp2p', async t => {
  const [a, b, c, d] = await Promise.all(['a', 'b', 'c', 'd'].map(n => Relay.init(n)))
  const all = [a, b, c]
  a.writeConfig({ authors: all, mode: 'allowlist', allow: [b] })
  b.writeConfig({ authors: all, dial: [a, c] })
  c.writeConfig({ authors: all, mode: 'allowlist', allow: [b] })
  d.writeConfig({ authors: [d], dial: [a] })
  t.teardown(async () => { for (const r of [a, b, c, d]) await r.kill('SIGKILL') })
  await a.start(); await c.start(); await b.start()
  await waitFor('B linked to A and C', 20_000, async () => (await b.status()).peers.filter((p: any) => p.ready).length === 2 ? true : undefined)

  // 1. A message sent at A (through the CLI) is tailed at C (through the CLI).
  const sent = ddil('send', '--data', a.dataDir, 'ops', 'Substation 4 on generator power', '--precedence', 'flash')
  t.equal(sent.code, 0, `send exits 0: ${sent.stderr}`)
  const seen = await waitFor('the message at C', 15_000, () => {
    const tail = ddil('tail', '--data', c.dataDir, 'ops', '--json')
    return tail.stdout.includes('Substation 4 on generator power') ? tail.stdout : undefined
  })
  t.match(seen, /"precedence":"flash"/)

  // 2. B is killed with SIGKILL in the middle of a stream; whatever A acknowledged reaches C after B restarts.
  const clientA = await a.client()
  const acked: string[] = []
  let seq = 100
  const stream = (async () => {
    for (let i = 0; i < 60; i++) {
      const bytes = await textEnvelope(clientA, a, 'ops', ++seq, `stream ${i}`)
      acked.push(toHex((await clientA.submit(bytes)).id))
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  })()
  await waitFor('some of the stream at C', 15_000, async () => (await c.status()).envelopes >= 5 ? true : undefined)
  await b.kill('SIGKILL')
  await stream
  await b.start()
  const clientC = await c.client()
  const atC = new Set<string>()
  await clientC.subscribe(localChannelRef(crypto, 'ops'), { backlog: 1000 }, env => atC.add(toHex(env.id)))
  await waitFor('every acknowledged envelope at C', 30_000, () => acked.every(id => atC.has(id)) ? true : undefined)
  t.equal(acked.filter(id => !atC.has(id)).length, 0, `all ${acked.length} acknowledged envelopes reached C across B's SIGKILL`)

  // 3. The A–B link is cut (B stopped) while A keeps posting; when it is restored the backlog arrives.
  await b.kill('SIGTERM')
  const backlog: string[] = []
  for (let i = 0; i < 10; i++) backlog.push(toHex((await clientA.submit(await textEnvelope(clientA, a, 'ops', ++seq, `during outage ${i}`))).id))
  await new Promise(resolve => setTimeout(resolve, 500))
  t.notOk(backlog.some(id => atC.has(id)), 'nothing crosses while the link is cut')
  await b.start()
  await waitFor('the backlog at C', 30_000, () => backlog.every(id => atC.has(id)) ? true : undefined)
  t.pass('backlog arrived after the link was restored')

  // 4. An unlisted peer is refused after Noise and audited by A.
  await d.start()
  const refused = await waitFor('A to audit D', 20_000, () => {
    const out = ddil('audit', 'export', '--data', a.dataDir).stdout
    return out.split('\n').find(l => l.includes('"peer.refused"') && l.includes(d.nodeId))
  })
  t.match(refused, /"outcome":"refused"/)
  t.notOk((await a.status()).peers.some((p: any) => p.id === d.nodeId), 'D is not among A\'s peers')

  await clientA.close(); await clientC.close()
  // Verified after a graceful stop: on a live node an append can sit between its line and the head update.
  await a.kill('SIGTERM')
  const verify = ddil('audit', 'verify', '--data', a.dataDir)
  t.equal(verify.code, 0, `A's audit log verifies: ${verify.stdout}`)
  t.match(ddil('audit', 'export', '--data', a.dataDir).stdout, /"node.stopped"/, 'the stop was audited')
  // Graceful shutdown leaves a verifiable log; a second process on the same data directory fails fast.
  const second = ddil('start', '--data', c.dataDir)
  t.equal(second.code, 1, 'a second process on a data directory in use fails')
  t.match(second.stderr, /in use by another process/)
})
