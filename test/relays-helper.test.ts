// The relay test bed's own promise (test/helpers/relays.ts): a relay whose admin port another
// process took between drawing it and the relay's first start draws another and starts,
// instead of failing the test file that ran beside the one holding it.
import t from 'tap'
import { createServer } from 'node:net'
import { Relay, cleanupRelays } from './helpers/relays.ts'

t.teardown(cleanupRelays)

t.test('a local port taken before the first start is drawn again', async t => {
  const r = await Relay.init('port-taken')
  r.writeConfig({ authors: [] })
  const taken = r.adminPort
  const squatter = createServer()
  await new Promise<void>(resolve => squatter.listen(taken, '127.0.0.1', resolve))
  t.teardown(() => { squatter.close() })
  await r.start()
  t.teardown(() => r.kill('SIGTERM'))
  t.not(r.adminPort, taken, 'it serves on another port')
  t.ok((await r.status()).nodeId === r.nodeId, 'and answers there')
})
