// A slow declared link's route and TCP's rto_min (node/p2p/route-check.ts, docs/OPERATOR.md).
import t from 'tap'
import { ipOf, parseRtoMinMs, rtoMinAdvisedMs, routeShortfall, SlowLinkRoutes } from '../node/p2p/route-check.ts'

const bare = '10.200.0.2 dev l0 src 10.200.0.1 uid 0 \n    cache \n'
const set = '10.200.0.2 dev l0 src 10.200.0.1 uid 0 \n    cache rto_min lock 3.785s \n'

t.test('advice, parsing and the verdict', async t => {
  t.equal(rtoMinAdvisedMs(9_600), 3785, '9.6 kbps: three full packets')
  t.equal(rtoMinAdvisedMs(64_000), 568, '64 kbps')
  t.equal(rtoMinAdvisedMs(2_000_000), 200, 'fast links: Linux\'s own')
  t.equal(parseRtoMinMs(set), 3785, 'seconds with decimals, as ip prints them')
  t.equal(parseRtoMinMs('x rto_min 600ms'), 600, 'milliseconds, unlocked')
  t.equal(parseRtoMinMs(bare), undefined, 'none named')
  t.same(routeShortfall(9_600, bare), { advisedMs: 3785, actualMs: 200 }, 'a bare route falls short')
  t.equal(routeShortfall(9_600, set), undefined, 'the advised value is enough')
  t.same(routeShortfall(9_600, 'x rto_min 1s'), { advisedMs: 3785, actualMs: 1000 }, 'a value far below the advice is not')
  t.equal(routeShortfall(64_000, 'x rto_min 520ms'), undefined, 'within 10% is rounding')
  t.equal(ipOf('/ip4/10.200.0.2/tcp/4001/p2p/12D3KooW'), '10.200.0.2')
  t.equal(ipOf('/ip6/fd00::2/tcp/4001'), 'fd00::2')
  t.equal(ipOf('/dns4/relay/tcp/4001'), undefined, 'names are not routes')
})

t.test('a relay warns once per peer address about a slow link\'s bare route, with the command to run', async t => {
  const warnings: Array<{ fields: Record<string, unknown>, msg: string }> = []
  const debugs: string[] = []
  const logger = { warn: (fields: Record<string, unknown>, msg: string) => { warnings.push({ fields, msg }) }, debug: (_f: Record<string, unknown>, msg: string) => { debugs.push(msg) } }
  const asked: string[] = []
  const routes = new Map([['10.200.0.2', bare], ['10.200.4.2', set], ['127.0.0.1', 'local 127.0.0.1 dev lo table local src 127.0.0.1 uid 0 \n    cache <local> \n']])
  const checker = new SlowLinkRoutes(logger, async ip => { asked.push(ip); const r = routes.get(ip); if (r === undefined) throw new Error('spawn ip ENOENT'); return r })
  await checker.check('peerA', '/ip4/10.200.0.2/tcp/4001', 9_600)
  await checker.check('peerA', '/ip4/10.200.0.2/tcp/4001', 9_600)
  await checker.check('peerB', '/ip4/10.200.4.2/tcp/4001', 9_600)
  await checker.check('peerC', '/ip4/10.200.8.2/tcp/4001', 100e6)
  await checker.check('peerD', '/ip4/10.200.9.2/tcp/4001', 9_600)
  await checker.check('peerE', '/ip4/127.0.0.1/tcp/4001', 9_600)
  t.same(asked, ['10.200.0.2', '10.200.4.2', '10.200.9.2', '127.0.0.1'], 'each slow peer address read once; a fast link not at all')
  t.equal(warnings.length, 1, 'one warning: the bare route (a peer on this host has no radio in between)')
  t.match(warnings[0].msg, 'ip route replace 10.200.0.2 dev l0 rto_min 3785ms', 'it names the command')
  t.same(warnings[0].fields, { peer: 'peerA', ip: '10.200.0.2', bitsPerSecond: 9_600, rtoMinMs: 200, advisedMs: 3785 })
  t.equal(debugs.length, 1, 'a route that cannot be read is noted, not warned about')
})
