// Issue 19: a relay with several ready peers must serve every client command. A link's latency is
// half its round trip, and a peer's clock offset once carried that half millisecond into network
// time and the `stamp` reply, which the client refused ("stamped.ms must be a non-negative
// integer"). A hub X with three peers, each link declared with an odd round trip (1.5 ms one way,
// used until measured), serves the CLI: channel create, add, list, send, tail, board, status, peers.
import t from 'tap'
import { Relay, waitFor, cleanupRelays } from './helpers/relays.ts'
import { ddil } from './helpers/cli.ts'

t.teardown(cleanupRelays)

t.test('a relay with three ready peers serves channel create, send and the rest of the CLI', async t => {
  const [x, a, b, c] = await Promise.all(['x', 'a', 'b', 'c'].map(n => Relay.init(n)))
  const all = [x, a, b, c]
  const odd = '1Mbps 1.5ms'
  x.writeConfig({ authors: all, links: [[a, odd], [b, odd], [c, odd]] })
  for (const r of [a, b, c]) r.writeConfig({ authors: all, dial: [x], links: [[x, odd]] })
  t.teardown(async () => { for (const r of all) await r.kill('SIGKILL') })
  await Promise.all(all.map(r => r.start()))
  await waitFor('X linked to A, B and C', async () => (await x.status()).peers.filter((p: any) => p.ready).length === 3 ? true : undefined)

  const run = async (...args: string[]): Promise<string> => {
    const r = await ddil([...args, '--data', x.dataDir])
    t.equal(r.code, 0, `ddil ${args.join(' ')} exits 0${r.code === 0 ? '' : `: ${r.stderr}`}`)
    return r.stdout
  }
  // Several stamps each: a fractional one in any of them failed the command.
  for (let i = 0; i < 5; i++) await run('channel', 'create', `ops-${i}`)
  t.match(await run('channel', 'list'), /ops-4/)
  await run('channel', 'add', 'ops-0', a.user.publicKey)
  for (let i = 0; i < 5; i++) await run('send', 'ops-0', `report ${i}`, '--precedence', 'flash')
  t.match(await run('tail', 'ops-0'), /report 4/)
  await run('board', 'ops-0', '--task', 'Fuel for hospital generator')
  t.match(await run('board', 'ops-0', '--json'), /Fuel for hospital generator/)
  t.match(await run('status'), /peers: +3 connected/)
  t.match(await run('peers'), new RegExp(a.nodeId))
  t.match(await run('whoami'), /^ddil1:/)
  const peers = (await x.status()).peers as Array<{ ready: boolean }>
  t.equal(peers.filter(p => p.ready).length, 3, 'all three peers were still ready')
})
