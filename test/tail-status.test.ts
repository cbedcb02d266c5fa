// What a responder sees in `ddil tail` (issue 20, items 1–4), through the real CLI against two real
// relays A and B: `-n N` is the newest N messages however much else the channel holds; "delivered to
// k of N" counts distinct other members, never exceeds N, and updates live under --follow; a member
// added later is told plainly why earlier messages are not shown (or reads them, if the owner shared
// history); an unknown channel fails at once (and is waited for under --follow); a followed tail says when its relay goes away and
// carries on when it is back, showing nothing twice.
import t from 'tap'
import { Relay, cleanupRelays, waitFor } from './helpers/relays.ts'
import { ddil, follow } from './helpers/cli.ts'
import { within } from './helpers/wait.ts'

t.teardown(cleanupRelays)

t.test('tail: newest messages, live delivery status, late members, unknown channels, a relay that goes away', async t => {
  const [a, b, carol, dave] = await Promise.all(['tail-a', 'tail-b', 'tail-carol', 'tail-dave'].map(n => Relay.init(n)))
  a.writeConfig({ authors: [a, b], dial: [b], clients: [dave.user.publicKey] })
  b.writeConfig({ authors: [a, b], clients: [carol.user.publicKey] })
  carol.useRelay(b)
  dave.useRelay(a)
  t.teardown(async () => { for (const r of [a, b]) await r.kill('SIGKILL') })
  await Promise.all([a.start(), b.start()])
  await waitFor('A linked to B', async () => (await a.status()).peers.some((p: { ready: boolean }) => p.ready) ? true : undefined)
  const at = (r: Relay) => async (...args: string[]) => {
    const out = await ddil([...args, '--data', r.dataDir])
    t.equal(out.code, 0, `ddil ${args.slice(0, 3).join(' ')} at ${r.name} exits 0${out.code === 0 ? '' : `: ${out.stderr}`}`)
    return out.stdout
  }
  const alice = at(a); const bob = at(b)

  const ref = /reference ([0-9a-f]{16})/.exec(await alice('channel', 'create', 'ops'))?.[1] as string
  await alice('channel', 'add', 'ops', b.user.publicKey)
  await alice('send', 'ops', 'before carol')
  // Governance, keys and the board (and, below, receipts) are in the channel too: none of them counts against -n.
  await alice('board', 'ops', '--task', 'Fuel for hospital generator')
  for (let i = 1; i <= 6; i++) await alice('send', 'ops', `report ${i}`)

  // 1. -n N: the newest N messages.
  const lines = (out: string): string[] => out.split('\n').filter(l => /\[routine\]/.test(l))
  const newest = lines(await alice('tail', 'ops', '-n', '1'))
  t.equal(newest.length, 1, 'tail -n 1 prints one message')
  t.match(newest[0], /report 6/, '…the newest')
  t.same(lines(await alice('tail', 'ops', '-n', '4')).map(l => /report \d/.exec(l)?.[0]), ['report 3', 'report 4', 'report 5', 'report 6'], 'tail -n 4: the newest four, oldest first')
  t.equal(lines(await alice('tail', 'ops')).length, 7, 'plain tail shows all seven messages')

  // 2. Delivery status: live, distinct, never above N.
  const watching = follow(['tail', 'ops', '--follow', '-n', '1', '--data', a.dataDir])
  t.teardown(() => { watching.child.kill('SIGKILL') })
  await watching.line(/report 6.*delivered to 0 of 1/)
  await waitFor('the messages at B', async () => (await b.status()).envelopes >= (await a.status()).envelopes ? true : undefined)
  t.match(await bob('tail', ref), /report 6.*\(received\)/, 'Bob reads the channel (and acknowledges it)')
  await watching.line(/status .*report 6.*now delivered to 1 of 1/)
  t.pass('Alice\'s followed tail updated the status when Bob\'s receipt arrived')
  await alice('tail', 'ops') // Alice reading her own messages acknowledges none of them
  const again = await alice('tail', 'ops')
  t.match(again, /report 6.*delivered to 1 of 1/)
  t.notMatch(again + watching.output, /delivered to [2-9] of 1/, 'never more than N')

  // 3. Members added later.
  await alice('channel', 'add', 'ops', carol.user.publicKey)
  const shared = await alice('channel', 'add', 'ops', dave.user.publicKey, '--share-history')
  t.match(shared, /can read the messages still kept/, 'the owner is told what --share-history gives')
  await alice('send', 'ops', 'after both joined')
  await waitFor('the new member\'s keys at B', async () => (await b.status()).envelopes >= (await a.status()).envelopes ? true : undefined)
  const atCarol = await ddil(['tail', ref, '--data', carol.dataDir, '-n', '20'])
  t.equal(atCarol.code, 0, atCarol.stderr)
  t.match(atCarol.stdout, /7 earlier messages were sealed before you could read this channel.*--share-history/, 'Carol is told plainly why she sees no earlier messages')
  t.match(atCarol.stdout, /after both joined/, 'and reads what follows her addition')
  const atDave = await ddil(['tail', ref, '--data', dave.dataDir, '-n', '20'])
  t.match(atDave.stdout, /before carol[\s\S]*report 6[\s\S]*after both joined/, 'Dave, added with shared history, reads the earlier messages')
  t.notMatch(atDave.stdout, /sealed before/)

  // 4. An unknown channel fails at once (no connection left open), with a sentence and status 2.
  const unknown = await within(ddil(['tail', 'nosuch', '--data', a.dataDir]), 'tail of an unknown channel to exit')
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /no channel named "nosuch"/)
  const unknownRef = await within(ddil(['tail', '0123456789abcdef', '--data', a.dataDir]), 'tail of an unknown reference to exit')
  t.equal(unknownRef.code, 2)
  t.match(unknownRef.stderr, /unknown to this relay/)
  // Followed, it is waited for: the channel may be on its way (p2p-liveness.test.ts sees it arrive).
  const awaiting = follow(['tail', '0123456789abcdef', '--follow', '--data', a.dataDir])
  t.teardown(() => { awaiting.child.kill('SIGKILL') })
  await awaiting.line(/unknown to this relay.*; waiting for it/)
  awaiting.child.kill('SIGINT')
  t.equal(await within(awaiting.exited, 'a tail waiting for its channel to end on Ctrl-C'), 0, 'a followed unknown channel is waited for until Ctrl-C')

  // …and a followed tail whose relay stops says so, reconnects when it is back, and shows nothing twice.
  await a.kill('SIGTERM')
  await watching.line(/lost the relay/)
  await a.start()
  await watching.line(/reconnected/)
  await waitFor('A linked to B again', async () => (await a.status()).peers.some((p: { ready: boolean }) => p.ready) ? true : undefined)
  await bob('send', ref, 'while you were away')
  await watching.line(/while you were away/)
  t.equal(watching.output.split('[routine]  report 6').length - 1, 1, 'report 6 shown once, not again after the reconnect')
  t.match(watching.output, /status .*report 6.*now delivered to 1 of 3/, 'its status follows the channel: three others to deliver to once Carol and Dave joined')
  watching.child.kill('SIGINT')
  t.equal(await within(watching.exited, 'tail --follow to end on Ctrl-C'), 0, 'Ctrl-C ends it with status 0')
})
