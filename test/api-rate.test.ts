// The client API's request rate (node/api/session.ts, rate.ts, client.ts). The session is
// driven without a socket on a hand-moved clock, so floods of any speed are exact: a flood
// faster than the refill is closed (refilled tokens used to reset the count of refusals "in a
// row", so a 19,000 a second flood against 5,000 a second was never closed), a client that
// slows down on ERR_RATE never is, and the client library keeps an honest client from
// being refused at all.
import t from 'tap'
import { signClientAuth } from '../node/api/auth.ts'
import { toBase64url } from '../node/api/base64url.ts'
import { connectClient } from '../node/api/client.ts'
import type { NodeFacade } from '../node/api/facade.ts'
import { defaultClientApiLimits, requestBurstMax, requestRatePerSecond, type ClientApiLimits } from '../node/api/limits.ts'
import { startClientApi } from '../node/api/server.ts'
import { ClientSession } from '../node/api/session.ts'
import { crypto } from './helpers/fixtures.ts'
import { ManualClock, silentLogger } from './helpers/net.ts'

const user = crypto.ed25519KeyPair(new Uint8Array(32).fill(5))
const facade: NodeFacade = {
  nodeId: 'relay-r',
  submit: async () => { throw new Error('not used') },
  backlog: async function * () {},
  filePage: async () => { throw new Error('not used') },
  onStored: () => () => {},
  onStatus: () => () => {},
  stamp: () => ({ ms: 1, c: 0 }),
  status: () => ({}),
  isAllowedUser: () => true,
  isOperator: () => false,
  channels: () => [],
  clients: {
    enrol: async () => { throw new Error('not used') },
    issue: async () => { throw new Error('not used') },
    revoke: async () => { throw new Error('not used') },
    list: () => [],
    onRevoked: () => () => {},
  },
}

/** An authenticated session on a hand-moved clock; `flood(perSecond, seconds)` sends stamps at that rate until it is closed. */
function session (limits: Partial<ClientApiLimits> = {}) {
  const clock = new ManualClock()
  const replies: Array<{ type: string, code?: string }> = []
  let closed: number | undefined
  const nonce = new Uint8Array(32).fill(9)
  const s = new ClientSession({
    facade, crypto, clock, logger: silentLogger, limits: { ...defaultClientApiLimits, ...limits }, nonce,
    send: (text) => { replies.push(JSON.parse(text)); return closed === undefined },
    close: (code) => { closed = code },
  })
  s.start()
  const frame = (text: string): void => { s.receive(text, Buffer.byteLength(text), false) }
  frame(JSON.stringify({ type: 'auth', rid: 0, publicKey: toBase64url(user.publicKey), signature: toBase64url(signClientAuth(crypto, user.privateKey, nonce, facade.nodeId)) }))
  let rid = 1
  return {
    replies,
    get closed () { return closed },
    refused: () => replies.filter(r => r.code === 'ERR_RATE').length,
    /** Sends stamps at `perSecond` for `seconds` of the clock, stopping once closed; returns the seconds it ran. */
    flood (perSecond: number, seconds: number): number {
      const start = clock.now
      for (let i = 0; i < perSecond * seconds && closed === undefined; i++) {
        clock.now = start + i * 1000 / perSecond
        frame(JSON.stringify({ type: 'stamp', rid: rid++ }))
      }
      return (clock.now - start) / 1000
    },
    wait (ms: number): void { clock.now += ms },
  }
}

t.test('a flood far above the rate is closed within milliseconds', async t => {
  const s = session()
  const ran = s.flood(19_000, 5)
  t.equal(s.closed, 1008)
  t.ok(ran < 0.05, `closed after ${(ran * 1000).toFixed(1)} ms of a 19,000 a second flood`)
})

t.test('refilled tokens do not reset the count: a flood above a high rate is closed too', async t => {
  // The old defaults: 5,000 a second, burst 10,000. Every refilled token used to reset the
  // count of refusals in a row, which never reached 200, so this flood went on for ever.
  const s = session({ requestRatePerSecond: 5000, requestBurstMax: 10_000 })
  const ran = s.flood(19_000, 30)
  t.equal(s.closed, 1008, `closed after ${ran.toFixed(2)} s`)
  t.ok(ran < 2, 'once the burst is spent, within milliseconds')
})

t.test('a client sending at twice the rate, ignoring ERR_RATE, is closed within seconds', async t => {
  const s = session()
  const ran = s.flood(2 * requestRatePerSecond, 60)
  t.equal(s.closed, 1008)
  t.ok(ran > 4 && ran < 15, `closed after ${ran.toFixed(1)} s (the burst lasts 4 s, then refusals outrun those forgiven)`)
})

t.test('a client that slows down on ERR_RATE is never closed', async t => {
  const s = session()
  for (let round = 0; round < 20; round++) {
    const before = s.refused()
    s.flood(1000, requestBurstMax / 1000 + 0.2) // a burst beyond the bucket...
    t.equal(s.closed, undefined)
    t.ok(s.refused() > before, 'gets ERR_RATE')
    s.wait(10_000) // ...then, told to slow down, a pause
  }
  t.equal(s.closed, undefined, `never closed, after ${s.refused()} refusals in 20 bursts`)
})

t.test('an honest client at the rate is never refused', async t => {
  const s = session()
  s.flood(requestRatePerSecond * 0.9, 120)
  t.equal(s.refused(), 0)
  t.equal(s.closed, undefined)
})

t.test('the client library paces itself: hundreds of requests at once are slowed, never refused', async t => {
  const api = await startClientApi({ port: 0, facade, crypto, logger: silentLogger }) // the system clock: the node refills in real time
  t.teardown(() => api.close())
  const client = await connectClient({ url: `ws://127.0.0.1:${api.address.port}`, user, crypto })
  t.teardown(() => client.close())
  const n = requestBurstMax + 100
  const results = await Promise.allSettled(Array.from({ length: n }, () => client.stamp()))
  const refused = results.filter(r => r.status === 'rejected')
  t.equal(refused.length, 0, `${n} stamps at once, none refused${refused.length > 0 ? `: ${(refused[0] as PromiseRejectedResult).reason}` : ''}`)
})
