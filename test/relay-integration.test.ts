// Real `ddil start` processes on loopback in a chain A–B–C with static peers (B dials both).
// A's user creates an encrypted channel and adds C's user (CLI); a message sent at A is tailed at C; B is SIGKILLed mid-stream and restarted: nothing acknowledged is
// lost; B is stopped while A keeps posting (the A–B link is cut) and restarted: the backlog arrives;
// an unlisted peer is refused and audited by A.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { Relay, waitFor, cleanupRelays } from './helpers/relays.ts'
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
  b.writeConfig({ authors: all, dial: [a, c], links: [[c, '64kbps 300ms']] }) // B–C declared a satcom hop
  c.writeConfig({ authors: all, mode: 'allowlist', allow: [b] })
  d.writeConfig({ authors: [d], dial: [a] })
  t.teardown(async () => { for (const r of [a, b, c, d]) await r.kill('SIGKILL') })
  await a.start(); await c.start(); await b.start()
  await waitFor('B linked to A and C', async () => (await b.status()).peers.filter((p: any) => p.ready).length === 2 ? true : undefined)
  // libp2p's ping round trip reaches the engine (node/p2p/link.ts): B's links have a measured latency.
  const latencies = await waitFor('B\'s links measured', async () => {
    const ms = (await b.status()).peers.map((p: any) => p.latencyMs)
    return ms.every((x: unknown) => typeof x === 'number') ? ms : undefined
  })
  t.ok(latencies.every((ms: number) => ms >= 0 && ms < 1000), `B's links report a one-way latency on loopback: ${latencies.join(', ')} ms`)
  // Each link's cost is its latency plus a typical 300 B envelope's serialisation: 37.5 ms at
  // the 64 kbps B declared for its link to C, 1 ms where the bandwidth is unknown (A).
  const peers = (await b.status()).peers as Array<{ id: string, latencyMs: number, costMs: number }>
  for (const [relay, serialiseMs] of [[c, 37.5], [a, 1]] as const) {
    const p = peers.find(x => x.id === relay.nodeId)
    t.equal(p?.costMs, Math.round((p?.latencyMs ?? Number.NaN) + serialiseMs), `B's link to ${relay === c ? 'C (declared 64 kbps)' : 'A (undeclared)'}: latency ${p?.latencyMs} ms + ${serialiseMs} ms`)
  }

  // 1. A's user creates a channel and adds C's user; a message sent at A (CLI) is tailed at C (CLI).
  const created = ddil('channel', 'create', '--data', a.dataDir, 'ops')
  t.equal(created.code, 0, `channel create exits 0: ${created.stderr}`)
  const ref = /reference ([0-9a-f]{16})/.exec(created.stdout)?.[1] as string
  t.ok(ref, 'the channel reference is printed')
  const added = ddil('channel', 'add', '--data', a.dataDir, 'ops', c.user.publicKey)
  t.equal(added.code, 0, `channel add exits 0: ${added.stderr}`)
  const sent = ddil('send', '--data', a.dataDir, 'ops', 'Substation 4 on generator power', '--precedence', 'flash')
  t.equal(sent.code, 0, `send exits 0: ${sent.stderr}`)
  const seen = await waitFor('the message at C', () => {
    const tail = ddil('tail', '--data', c.dataDir, ref, '--json')
    return tail.stdout.includes('Substation 4 on generator power') ? tail.stdout : undefined
  })
  t.match(seen, /"precedence":"flash"/)
  const board = ddil('board', '--data', c.dataDir, ref, '--json')
  t.match(board.stdout, /"name":"ops"/, 'C reads the encrypted board (channel name)')
  const status = await waitFor('A to see the receipt from C', () => {
    const out = ddil('tail', '--data', a.dataDir, 'ops', '--json').stdout
    return out.includes('delivered to 1 of 1') ? out : undefined
  })
  t.match(status, /Substation 4.*delivered to 1 of 1/, 'A sees its message delivered to 1 of 1')

  // 2. B is killed with SIGKILL in the middle of a stream; whatever A acknowledged reaches C after B restarts.
  const sa = await a.channels()
  const chA = await sa.open(ref)
  const acked: string[] = []
  const stream = (async () => {
    for (let i = 0; i < 60; i++) {
      acked.push(toHex((await sa.cc.sendText(chA, `stream ${i}`)).id))
      await new Promise(resolve => setTimeout(resolve, 20))
    }
  })()
  await waitFor('some of the stream at C', async () => (await c.status()).envelopes >= 10 ? true : undefined)
  await b.kill('SIGKILL')
  await stream
  await b.start()
  const sc = await c.channels()
  const atC = new Set<string>()
  await sc.open(ref, r => { if (r.type === 'text') atC.add(toHex(r.id)) }, 1000)
  await waitFor('every acknowledged envelope at C', () => acked.every(id => atC.has(id)) ? true : undefined)
  t.equal(acked.filter(id => !atC.has(id)).length, 0, `all ${acked.length} acknowledged envelopes reached C across B's SIGKILL`)

  // 3. The A–B link is cut (B stopped) while A keeps posting; when it is restored the backlog arrives.
  await b.kill('SIGTERM')
  const backlog: string[] = []
  for (let i = 0; i < 10; i++) backlog.push(toHex((await sa.cc.sendText(chA, `during outage ${i}`)).id))
  await new Promise(resolve => setTimeout(resolve, 500))
  t.notOk(backlog.some(id => atC.has(id)), 'nothing crosses while the link is cut')
  await b.start()
  await waitFor('the backlog at C', () => backlog.every(id => atC.has(id)) ? true : undefined)
  t.pass('backlog arrived after the link was restored')

  // 4. An unlisted peer is refused after Noise and audited by A.
  await d.start()
  const refused = await waitFor('A to audit D', () => {
    const out = ddil('audit', 'export', '--data', a.dataDir).stdout
    return out.split('\n').find(l => l.includes('"peer.refused"') && l.includes(d.nodeId))
  })
  t.match(refused, /"outcome":"refused"/)
  t.notOk((await a.status()).peers.some((p: any) => p.id === d.nodeId), 'D is not among A\'s peers')

  await sa.close(); await sc.close()
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
