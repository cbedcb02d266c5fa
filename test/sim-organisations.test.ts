// Organisations in the simulator (#29): the scenario keys, the admission rule each node's
// engine applies at hello, the oracle's restriction to admitted links, and the shipped
// two-orgs scenario, where a Wi-Fi link between two organisations' ordinary relays is up but
// refused: nothing crosses it, so a message between its ends takes the slow gateway link; and
// each gateway's policy keeps flash traffic and large messages from crossing, which the oracle
// knows and a checker would catch.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { createNodeCrypto } from '../node/crypto.ts'
import { fromUtf8, utf8 } from '../protocol/bytes.ts'
import { Precedence } from '../protocol/envelope.ts'
import { analysePairs } from '../sim/analysis.ts'
import { runCheckers } from '../sim/checkers.ts'
import { linkAdmitted, simAdmission } from '../sim/organisations.ts'
import { runScenario } from '../sim/runner.ts'
import { parseScenario } from '../sim/scenario.ts'

const path = new URL('../scenarios/two-orgs.yaml', import.meta.url).pathname
const text = readFileSync(path, 'utf8')

t.test('scenario keys: org and gateway, and the mistakes refused with their line', async t => {
  const s = parseScenario(text, path)
  t.match(s.nodes.find(n => n.id === 'water-gw'), { org: 'water', gateway: true, policy: { precedences: [1, 2, 3] } })
  t.same(s.nodes.find(n => n.id === 'county-gw')?.policy, { messageBytesMax: 500 })
  t.match(s.nodes.find(n => n.id === 'county-3'), { org: 'county' })
  t.equal(s.nodes.find(n => n.id === 'county-3')?.gateway, undefined)
  const bad: Array<[string, string, RegExp]> = [
    ['a gateway without an organisation', text.replace('{ id: water-gw, org: water, gateway: true,', '{ id: water-gw, gateway: true,'), /"gateway" needs "org"/],
    ['a node without an organisation among affiliated ones', text.replace('{ id: water-hq, org: water }', 'water-hq'), /every node must \(org: NAME\); these do not: water-hq/],
    ['gateway: yes', text.replace('{ id: water-gw, org: water, gateway: true,', '{ id: water-gw, org: water, gateway: yes,'), /expected true or false but found "yes"/],
    ['a policy on a relay that is not a gateway', text.replace('{ id: water-hq, org: water }', '{ id: water-hq, org: water, policy: { message_max: 1KB } }'), /"policy" goes on a gateway/],
    ['an unknown precedence', text.replace('precedences: [immediate, priority, routine]', 'precedences: [immediate, urgent]'), /unknown precedence "urgent"/],
    ['an unknown rule', text.replace('policy: { message_max: 500B }', 'policy: { rate: 60 }'), /unknown key "rate"/],
  ]
  for (const [what, yaml, said] of bad) t.throws(() => parseScenario(yaml, path), { message: said }, what)
})

t.test('admission: one organisation links; two only gateway to gateway, each end deciding', async t => {
  const water = { id: 'w', storageBytes: 1, org: 'water' }
  const waterGw = { ...water, id: 'wg', gateway: true }
  const countyGw = { id: 'cg', storageBytes: 1, org: 'county', gateway: true }
  const county = { id: 'c', storageBytes: 1, org: 'county' }
  t.ok(linkAdmitted(water, waterGw)); t.ok(linkAdmitted(waterGw, countyGw))
  t.notOk(linkAdmitted(water, county)); t.notOk(linkAdmitted(waterGw, county)); t.notOk(linkAdmitted(water, countyGw))
  t.ok(linkAdmitted({}, {}), 'no organisations: every link')
  let refused = 0
  const at = (node: typeof water): NonNullable<ReturnType<typeof simAdmission>> => simAdmission(node, () => { refused++ }) as NonNullable<ReturnType<typeof simAdmission>>
  t.equal(fromUtf8(at(countyGw).credentials() as Uint8Array), 'county\ngateway')
  t.same(at(waterGw).admit('cg', utf8('county\ngateway')), { ok: true }, 'a gateway admits the partner\'s relay')
  t.same(at(water).admit('cg', utf8('county\ngateway')), { ok: false, reason: 'cg is county\'s gateway, and w is not a gateway to county' })
  t.same(at(water).admit('wg', utf8('water\ngateway')), { ok: true })
  t.equal(at(water).admit('x', undefined).ok, false, 'presenting nothing is refused')
  t.equal(refused, 2)
  t.equal(simAdmission({ id: 'plain', storageBytes: 1 }, () => {}), undefined, 'no organisation: no admission port')
})

t.test('two-orgs: delivered as the oracle over admitted links allows, and nothing took the refused link', async t => {
  const scenario = parseScenario(text, path)
  const result = await runScenario(scenario, { crypto: createNodeCrypto() })
  t.ok((result.refusals['not-admitted'] ?? 0) > 0, `the refused link was refused at hello (${result.refusals['not-admitted']} times)`)
  const pairs = analysePairs(result)
  t.ok(pairs.length > 0 && pairs.every(p => !p.deliverable || p.delivered), 'every deliverable pair delivered')
  const across = pairs.filter(p => result.nodeIds[p.rec.sender] === 'water-3' && result.nodeIds[p.node] === 'county-2' && p.delivered)
  t.ok(across.length > 0, `water-3 posted to county-2 (${across.length} pairs)`)
  // One way over the gateway link is 300 ms of latency; over the refused Wi-Fi link it would be about 5 ms.
  t.ok(across.every(p => p.latencyMs >= 300 && p.oracleAtMs - p.rec.createdAtMs >= 300), `water-3 to county-2 took the gateways every time: at least ${Math.min(...across.map(p => p.latencyMs))} ms`)

  // Each gateway's policy, both ways: the water utility keeps flash traffic on its side, the county takes and gives nothing over 500 B.
  t.ok((result.refusals.policy ?? 0) > 0, `the gateways refused what their policies forbid (${result.refusals.policy} refusals)`)
  const org = (i: number): string | undefined => scenario.nodes[i].org
  const crossing = pairs.filter(p => org(p.rec.sender) !== org(p.node))
  const flash = crossing.filter(p => p.rec.post.precedence === Precedence.flash)
  t.ok(flash.length > 0 && flash.every(p => !p.deliverable && !p.delivered), `no county flash alert reached the water side, nor could by the oracle (${flash.length} pairs)`)
  const large = crossing.filter(p => (p.rec.crossing?.messageBytes ?? 0) > 500)
  const small = crossing.filter(p => p.rec.post.precedence !== Precedence.flash && (p.rec.crossing?.messageBytes ?? Infinity) <= 500)
  t.ok(large.length > 0 && large.every(p => !p.delivered), `no message over 500 B crossed, either way (${large.length} pairs)`)
  t.ok(small.length > 0 && small.every(p => !p.deliverable || p.delivered), `the rest crossed (${small.filter(p => p.delivered).length} pairs)`)
  const checks = runCheckers(result, pairs)
  t.match(checks.find(c => c.name === 'policy_respected'), { ok: true }, 'the checker that catches a leak ran, and passed')
  t.ok(checks.every(c => c.ok), checks.filter(c => !c.ok).map(c => c.detail).join('; '))
})
