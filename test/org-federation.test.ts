// Organisations as trust roots between real relays (#29), `peers.mode: org` on loopback:
// two organisations (a water utility and the county's emergency management), each with a
// gateway to the other. A water relay that is not a gateway refuses the county's relay; a
// channel created at the water utility, with a county member, carries a message across the
// gateways; each side's policy at its own gateway keeps a flash message in and a large one out,
// and the sender's client reads both reasons; a revoked, an expired and an unknown organisation's relay are each refused with
// their reason, which the refused relay's operator reads and the gateway audits; and the
// county cutting the water utility off (`ddil org distrust`) cuts the live link.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Relay, waitFor, cleanupRelays, root } from './helpers/relays.ts'
import { createOrgDir, issueCertificate } from '../node/org/org-dir.ts'
import { nodeKeyOfId } from '../node/org/node-ids.ts'
import { joinOrg, trustPartner } from '../node/org/trust-store.ts'
import { createNodeCrypto } from '../node/crypto.ts'
import { parseUserPublicKey } from '../node/user-identity.ts'
import { memberOrganisation } from '../protocol/org/member.ts'

const bin = new URL('../node/cli/bin.js', import.meta.url).pathname
const ddil = (...args: string[]): { code: number | null, stdout: string, stderr: string } => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
const day = 86_400_000

t.teardown(cleanupRelays)

/** Certifies `relay` by `orgDir` (valid for `lifetimeMs`) and makes it a member of that organisation. */
async function member (relay: Relay, orgDir: string, org: { key: Uint8Array, name: string }, lifetimeMs = 30 * day): Promise<{ serial: number, notAfterMs: number }> {
  const { bytes, record } = await issueCertificate(orgDir, { kind: 'relay', subject: nodeKeyOfId(relay.nodeId), subjectText: relay.nodeId, name: relay.name, lifetimeMs }, Date.now())
  await joinOrg(relay.dataDir, { orgKey: org.key, name: org.name, certificate: bytes, nodeKey: nodeKeyOfId(relay.nodeId) }, Date.now())
  return { serial: record.serial, notAfterMs: record.notAfterMs }
}

const ready = async (relay: Relay, peer: Relay): Promise<boolean> => (await relay.status()).peers.some((p: any) => p.id === peer.nodeId && p.ready === true)
/** The first audit entry of `relay` about `peer` of this kind (`peer.accepted`, `peer.refused`) whose text matches `detail`. */
const audited = (relay: Relay, what: string, peer: Relay, detail = /./): string | undefined =>
  ddil('audit', 'export', '--data', relay.dataDir).stdout.split('\n').find(l => l.includes(`"what":"${what}"`) && l.includes(`"who":"${peer.nodeId}"`) && detail.test(l))

t.test('two organisations, one gateway each, over libp2p', async t => {
  const waterDir = join(root, 'water-org'); const countyDir = join(root, 'county-org'); const otherDir = join(root, 'other-org')
  const [water, county, other] = await Promise.all([createOrgDir(waterDir, 'Water utility'), createOrgDir(countyDir, 'County EM'), createOrgDir(otherDir, 'Somebody else')])
  const waterOrg = { key: water.key.publicKey, name: 'Water utility' }
  const countyOrg = { key: county.key.publicKey, name: 'County EM' }
  const [gw, b, cgw, revoked, expired, stranger] = await Promise.all(['gw', 'b', 'cgw', 'revoked', 'expired', 'stranger'].map(n => Relay.init(n)))
  await member(gw, waterDir, waterOrg); await member(b, waterDir, waterOrg)
  await member(cgw, countyDir, countyOrg)
  const { serial } = await member(revoked, waterDir, waterOrg)
  const shortLived = await member(expired, waterDir, waterOrg, 1_500)
  await member(stranger, otherDir, { key: other.key.publicKey, name: 'Somebody else' })
  await trustPartner(gw.dataDir, countyOrg.key, 'County EM', true, Date.now())
  await trustPartner(b.dataDir, countyOrg.key, 'County EM', false, Date.now())
  await trustPartner(cgw.dataDir, waterOrg.key, 'Water utility', true, Date.now())
  // The water utility revokes one relay's certificate, on its offline machine; the revocation is imported at B alone, later, and travels.
  const revocationFile = join(root, `serial-${serial}.revocation`)
  const revoked1 = ddil('org', 'revoke', String(serial), '--dir', waterDir, '--out', revocationFile)
  t.equal(revoked1.code, 0, revoked1.stderr)

  const all = [gw, b, cgw]
  gw.writeConfig({ authors: all, mode: 'org' })
  b.writeConfig({ authors: all, mode: 'org', dial: [gw] })
  cgw.writeConfig({ authors: all, mode: 'org', dial: [gw, b] })
  for (const r of [revoked, expired, stranger]) r.writeConfig({ authors: [r], mode: 'org', dial: [gw] })
  t.teardown(async () => { for (const r of [gw, b, cgw, revoked, expired, stranger]) await r.kill('SIGKILL') })
  await Promise.all([gw.start(), b.start(), cgw.start()]) // the dialling ones redial until the gateway listens

  // 1. Inside the water utility, and across its gateway; not across a relay that is not a gateway.
  await waitFor('the water relays linked', () => ready(b, gw))
  await waitFor('the county gateway linked to the water gateway', () => ready(cgw, gw))
  const notGateway = await waitFor('B to refuse the county gateway', () => audited(b, 'peer.refused', cgw, /not a gateway to County EM/))
  t.match(notGateway, /"outcome":"refused"/, 'B audits the refusal, naming the partner it is no gateway to')
  await waitFor('the county gateway to hear why B refused it', () => cgw.output.includes('peer refused this relay') && cgw.output.includes('not a gateway to County EM') ? true : undefined)
  t.notOk(await ready(b, cgw), 'B has no link to the county gateway')
  const peers = (await gw.status()).peers as Array<{ id: string, org?: string, partner?: boolean }>
  t.match(peers.find(p => p.id === cgw.nodeId), { org: 'County EM', partner: true }, 'the gateway\'s status names each peer\'s organisation')
  t.match(peers.find(p => p.id === b.nodeId), { org: 'Water utility', partner: false })
  t.match(ddil('peers', '--data', gw.dataDir).stdout, new RegExp(`${cgw.nodeId} .* partner County EM`), 'ddil peers shows it')
  const crossing = await waitFor('the water gateway to audit the county relay it admitted', () => audited(gw, 'peer.accepted', cgw))
  t.match(crossing, /"org":"County EM"/, 'the admission names the partner')
  t.match(crossing, /"boundary":"partner organisation"/, 'and that it crossed the boundary')

  // 2. A channel of the water utility with a county member: a message sent at B reaches the county gateway's user through the gateways.
  const created = ddil('channel', 'create', '--data', b.dataDir, 'flood')
  t.equal(created.code, 0, created.stderr)
  const ref = /reference ([0-9a-f]{16})/.exec(created.stdout)?.[1] as string
  t.equal(ddil('channel', 'add', '--data', b.dataDir, 'flood', cgw.user.publicKey).code, 0)
  t.equal(ddil('send', '--data', b.dataDir, 'flood', 'Levee breach at pump station 3', '--precedence', 'flash').code, 0)
  await waitFor('the message at the county', () => ddil('tail', '--data', cgw.dataDir, ref, '--json').stdout.includes('Levee breach at pump station 3') ? true : undefined)
  t.pass('the message crossed from the water utility to the county through the gateways')
  // Each gateway audits what crossed: out at the water gateway, in at the county's, naming the partner and the channel.
  // Detail keys are in canonical (sorted) order: bytes, channel, direction, id, kind, partner, precedence.
  const out = await waitFor('the water gateway to audit the flash message leaving', () => audited(gw, 'boundary.crossed', cgw, new RegExp(`"channel":"${ref}","direction":"out",.*"kind":"message","partner":"County EM","precedence":"flash"`)))
  t.ok(out, 'out: the partner, the channel, the kind and precedence')
  const inbound = await waitFor('the county gateway to audit it entering', () => audited(cgw, 'boundary.crossed', gw, new RegExp(`"channel":"${ref}","direction":"in",.*"kind":"message","partner":"Water utility","precedence":"flash"`)))
  t.equal(JSON.parse(inbound).detail.id, JSON.parse(out).detail.id, 'in at the county gateway: the same envelope')

  // 2b. Each side's policy, enforced at its own gateway both ways, the reason reaching the sender.
  // The water utility keeps flash traffic inside (both ways); the county takes nothing over 2 KB.
  const waterPolicy = ddil('org', 'policy', county.publicKey, '--precedences', 'immediate,priority,routine', '--data', gw.dataDir)
  t.equal(waterPolicy.code, 0, waterPolicy.stderr)
  t.match(waterPolicy.stdout, /what crosses between this relay and County EM: precedences immediate,priority,routine/)
  t.equal(ddil('org', 'policy', water.publicKey, '--message-max', '2KB', '--data', cgw.dataDir).code, 0)
  t.match(ddil('org', 'policy', county.publicKey, '--precedences', 'urgent', '--data', gw.dataDir), { code: 2, stderr: /"urgent" is not a precedence/ }, 'a mistyped rule is refused with a sentence')
  t.match(ddil('org', 'show', '--data', gw.dataDir).stdout, /what crosses: {3}precedences immediate,priority,routine/)
  // A running relay reads orgs.json again within 5 s; the new policy is audited as a trust fact when it does.
  await waitFor('the water gateway to take up its policy', () => ddil('audit', 'export', '--data', gw.dataDir).stdout.includes('policy for County EM: precedences immediate,priority,routine') ? true : undefined)
  await waitFor('the county gateway to take up its policy', () => ddil('audit', 'export', '--data', cgw.dataDir).stdout.includes('policy for Water utility: messages up to 2KB') ? true : undefined)
  const session = await b.channels()
  t.teardown(() => session.close())
  const boundaryOf = new Map<string, string>()
  const relayedTo = new Map<string, number>()
  session.client.onStatus((id, status) => {
    const key = Buffer.from(id).toString('hex')
    if (status.boundary !== undefined) boundaryOf.set(key, status.boundary)
    relayedTo.set(key, Math.max(relayedTo.get(key) ?? 0, status.relayedTo ?? 0))
  })
  const flood = await session.open(ref)
  const flash = await session.cc.sendText(flood, 'Evacuate sector 7 now', { precedence: 0, ttlSeconds: 3600 })
  const long = await session.cc.sendText(flood, 'Pump telemetry follows. '.repeat(130), { precedence: 1, ttlSeconds: 3600 })
  const fine = await session.cc.sendText(flood, 'Crews on site at 14:00', { precedence: 1, ttlSeconds: 3600 })
  const hex = (e: { id: Uint8Array }): string => Buffer.from(e.id).toString('hex')
  await waitFor('the allowed message at the county', () => ddil('tail', '--data', cgw.dataDir, ref, '--json').stdout.includes('Crews on site at 14:00') ? true : undefined)
  t.equal(await waitFor('the sender to hear why the flash message stayed inside', () => boundaryOf.get(hex(flash))),
    'kept from County EM by our gateway: Water utility lets only immediate, priority and routine messages cross out to County EM; this one is flash', 'withheld at our own gateway, and the sender reads why')
  t.equal(await waitFor('the sender to hear why the long message was refused', () => boundaryOf.get(hex(long))),
    'refused at County EM\'s gateway: County EM lets messages of at most 2KB cross in from Water utility; this one is 3.36KB', 'refused at the partner\'s gateway, and the reason travels back to the sender')
  t.notOk(boundaryOf.has(hex(fine)), 'nothing said about the one that crossed')
  const tailCounty = ddil('tail', '--data', cgw.dataDir, ref, '--json').stdout
  t.notOk(tailCounty.includes('Evacuate sector 7') || tailCounty.includes('Pump telemetry'), 'neither refused message reached the county')
  t.ok((relayedTo.get(hex(flash)) ?? 0) >= 1, 'the flash message was still relayed on the water side')
  t.match(await waitFor('the water gateway to audit what it withheld', () => audited(gw, 'boundary.crossed', cgw, new RegExp(`"direction":"out","id":"${hex(flash)}".*"outcome":"refused"|"outcome":"refused".*"direction":"out","id":"${hex(flash)}"`))),
    /"reason":"Water utility lets only immediate, priority and routine messages cross out to County EM; this one is flash"/)
  t.match(await waitFor('the county gateway to audit what it refused', () => audited(cgw, 'boundary.crossed', gw, new RegExp(`"direction":"in","id":"${hex(long)}"`))), /"outcome":"refused"/)
  // The partner cannot send us what our policy keeps out, whatever its members do: a county flash is refused coming in.
  t.equal(ddil('send', '--data', cgw.dataDir, ref, 'County flash', '--precedence', 'flash').code, 0)
  t.match(await waitFor('the water gateway to refuse the county\'s flash message', () => audited(gw, 'boundary.crossed', cgw, /"direction":"in".*"precedence":"flash"/)),
    /"outcome":"refused".*|Water utility lets only immediate, priority and routine messages cross in from County EM/)
  t.notOk(ddil('tail', '--data', b.dataDir, ref, '--json').stdout.includes('County flash'), 'it did not reach the water side')
  // A looser rule lets the backlog out: the gateway forgets its verdicts when orgs.json changes,
  // so the flash message it kept in crosses at the next reconciliation.
  t.equal(ddil('org', 'policy', county.publicKey, '--precedences', 'any', '--data', gw.dataDir).code, 0)
  await waitFor('the flash message kept in to cross once flash may leave', () => ddil('tail', '--data', cgw.dataDir, ref, '--json').stdout.includes('Evacuate sector 7 now') ? true : undefined)
  t.pass('once the water utility lets flash out, the message it kept in reaches the county')

  // 2c. Members vouched for by their organisation: a county user joins a water channel with the
  // county's certificate, and relays and devices see whose user they are; an expired certificate,
  // and a partner's user in a channel our policy keeps from that partner, are refused.
  const annCert = join(root, 'ann.cert')
  const certified = ddil('org', 'certify-user', cgw.user.publicKey, '--dir', countyDir, '--name', 'County duty officer', '--out', annCert)
  t.equal(certified.code, 0, certified.stderr)
  // B's operator creates the channel with its own water certificate; someone else's is refused.
  const ownerCert = join(root, 'b-owner.cert')
  t.equal(ddil('org', 'certify-user', b.user.publicKey, '--dir', waterDir, '--name', 'Water duty officer', '--out', ownerCert).code, 0)
  t.match(ddil('channel', 'create', '--data', b.dataDir, 'levee', '--certificate', annCert), { code: 2, stderr: /certifies another user than you/ })
  const leveeCreated = ddil('channel', 'create', '--data', b.dataDir, 'levee', '--certificate', ownerCert)
  t.equal(leveeCreated.code, 0, leveeCreated.stderr)
  const leveeRef = /reference ([0-9a-f]{16})/.exec(leveeCreated.stdout)?.[1] as string
  // Our policy for the county lets its users into channels of listed creators only, and B's own user is not listed.
  t.equal(ddil('org', 'policy', county.publicKey, '--creators', gw.user.publicKey, '--data', b.dataDir).code, 0)
  await waitFor('B to take up its policy', () => ddil('audit', 'export', '--data', b.dataDir).stdout.includes('policy for County EM: channels created by') ? true : undefined)
  const kept = ddil('channel', 'add', '--data', b.dataDir, 'levee', '--certificate', annCert)
  t.not(kept.code, 0, 'a partner\'s user is refused from a channel our policy does not let cross')
  t.match(kept.stderr, /Water utility lets County EM's users into channels created by the listed creators only/, '…with the reason')
  t.equal(ddil('org', 'policy', county.publicKey, '--creators', 'any', '--data', b.dataDir).code, 0)
  await waitFor('B to drop the creators rule', () => ddil('audit', 'export', '--data', b.dataDir).stdout.split('\n').some(l => l.includes('config.changed') && l.includes('"removed":["policy for County EM: channels created by')) ? true : undefined)
  const joined = ddil('channel', 'add', '--data', b.dataDir, 'levee', '--certificate', annCert)
  t.equal(joined.code, 0, joined.stderr)
  t.match(joined.stdout, /added [0-9a-f]{16} as member/)
  const orgs = (await b.status()).orgs as Array<{ ref: string, name: string, role: string }>
  t.same(orgs.map(o => o.name).sort(), ['County EM', 'Water utility'], 'B\'s status names the organisations it accepts, for its devices')
  const view = await b.channels()
  t.teardown(() => view.close())
  const leveeChannel = await view.open(leveeRef)
  const annEd = parseUserPublicKey(cgw.user.publicKey)
  const annRef = Buffer.from(annEd.ed25519.subarray(0, 8)).toString('hex')
  const trust = { orgs: new Map(orgs.map(o => [o.ref, { key: Buffer.from(o.ref, 'hex'), name: o.name, role: o.role as 'own' | 'partner' }])), revoked: new Set<string>() }
  t.same(memberOrganisation(view.cc.memberCertificate(leveeChannel, annRef), Buffer.concat([annEd.ed25519, annEd.x25519]), trust, Date.now(), createNodeCrypto()), { name: 'County EM', ok: true }, 'a member of the channel reads whose user Ann is')
  const ownerKeys = parseUserPublicKey(b.user.publicKey)
  t.same(memberOrganisation(view.cc.memberCertificate(leveeChannel, Buffer.from(ownerKeys.ed25519.subarray(0, 8)).toString('hex')), Buffer.concat([ownerKeys.ed25519, ownerKeys.x25519]), trust, Date.now(), createNodeCrypto()), { name: 'Water utility', ok: true }, '…and whose user its owner is')
  const members = ddil('channel', 'members', '--data', b.dataDir, 'levee')
  t.equal(members.code, 0, members.stderr)
  t.match(members.stdout, new RegExp(`${annRef}  member .*County EM`), 'ddil channel members names Ann\'s organisation')
  t.match(members.stdout, /owner .*Water utility/, '…and the owner\'s')
  // The county cannot add our users to its channels without our certificate: B refuses such an add of its own operator,
  // and carries the add that comes with the water utility's certificate for them.
  const countyChannel = (name: string): string => {
    const made = ddil('channel', 'create', '--data', cgw.dataDir, name, '--certificate', annCert)
    t.equal(made.code, 0, made.stderr)
    return /reference ([0-9a-f]{16})/.exec(made.stdout)?.[1] as string
  }
  countyChannel('county-intel')
  t.equal(ddil('channel', 'add', '--data', cgw.dataDir, 'county-intel', b.user.publicKey).code, 0, 'the county relay itself carries the add: B\'s user is not its user')
  t.match(await waitFor('B to refuse the county adding its user without our certificate', () => ddil('audit', 'export', '--data', b.dataDir).stdout.split('\n').find(l => l.includes('"envelope.rejected"') && l.includes('only with Water utility'))),
    /a partner organisation's channel may add this relay's own users only with Water utility's certificate for them/)
  const countyOpsRef = countyChannel('county-ops')
  const bCert = join(root, 'b-user.cert')
  t.equal(ddil('org', 'certify-user', b.user.publicKey, '--dir', waterDir, '--name', 'Water liaison', '--out', bCert).code, 0)
  t.equal(ddil('channel', 'add', '--data', cgw.dataDir, 'county-ops', '--certificate', bCert).code, 0)
  const bRef = Buffer.from(parseUserPublicKey(b.user.publicKey).ed25519.subarray(0, 8)).toString('hex')
  t.match(await waitFor('B to carry its user\'s membership, now vouched for by us', () => {
    const listed = ddil('channel', 'members', '--data', b.dataDir, countyOpsRef)
    return listed.code === 0 && listed.stdout.includes(bRef) ? listed.stdout : undefined
  }), new RegExp(`${bRef}  member .*Water utility`), 'with our certificate, B carries it: its user is a member, vouched for by the water utility')

  // A certificate that had expired when the member was added is refused by the relay.
  const lapsed = await issueCertificate(countyDir, { kind: 'user', subject: Buffer.concat([annEd.ed25519, annEd.x25519]), subjectText: cgw.user.publicKey, name: 'Lapsed', lifetimeMs: 1 }, Date.now() - 60_000)
  const lapsedPath = join(root, 'lapsed.cert')
  writeFileSync(lapsedPath, lapsed.bytes)
  t.equal(ddil('channel', 'create', '--data', b.dataDir, 'dykes').code, 0)
  const expiredAdd = ddil('channel', 'add', '--data', b.dataDir, 'dykes', '--certificate', lapsedPath)
  t.not(expiredAdd.code, 0)
  t.match(expiredAdd.stderr, /this relay refuses the member's user certificate \d+ \("Lapsed"\) expired/, 'an expired user certificate is refused, with the reason')

  // 3. The revocation, imported at B only (a running relay), reaches the gateway and the county's
  // gateway as an envelope. Then revoked, expired, unknown organisation: each refused by the
  // gateway with its reason, heard by its operator.
  const imported = ddil('org', 'import', revocationFile, '--data', b.dataDir)
  t.equal(imported.code, 0, imported.stderr)
  t.match(imported.stdout, /Water utility revoked serial \d+ .*passes it on/)
  for (const relay of [gw, cgw]) {
    await waitFor(`${relay.name} to learn the revocation imported at B`, () => ddil('audit', 'export', '--data', relay.dataDir).stdout.includes(`revoked: Water utility serial ${serial}`) ? true : undefined)
  }
  t.pass('the revocation travelled from B to the water gateway, and across to the county\'s')
  await waitFor('the short-lived certificate to expire', () => Date.now() > shortLived.notAfterMs ? true : undefined)
  await Promise.all([revoked.start(), expired.start(), stranger.start()])
  t.match(expired.output, /this relay's own certificate \d+ \(\\?"expired\\?"\) expired .* ago: its peers will refuse it; renew it/, 'the expired relay warned its operator at start')
  for (const [relay, reason] of [[revoked, /was revoked by Water utility/], [expired, /expired .* ago/], [stranger, /from an organisation this relay has not accepted/]] as const) {
    const line = await waitFor(`the gateway to refuse ${relay.name}`, () => audited(gw, 'peer.refused', relay, /"reason"/))
    t.match(line, reason, `${relay.name}: refused and audited with its reason`)
    // The stranger's own relay refuses the gateway too (it does not know the water utility), so it forgets the link before the gateway's bye arrives.
    if (relay === stranger) t.ok(await waitFor('the stranger to refuse the gateway in turn', () => audited(stranger, 'peer.refused', gw, /not accepted/)))
    else await waitFor(`${relay.name} to hear why`, () => relay.output.includes('peer refused this relay') ? true : undefined)
    t.notOk(await ready(gw, relay), `${relay.name} has no link`)
  }

  // 4. The county cuts the water utility off: the live link is cut within a recheck, and audited.
  const distrust = ddil('org', 'distrust', water.publicKey, '--data', cgw.dataDir)
  t.equal(distrust.code, 0, distrust.stderr)
  t.match(distrust.stdout, /no longer trusts Water utility/)
  await waitFor('the county gateway to cut the water gateway', async () => !(await ready(cgw, gw)) ? true : undefined)
  t.match(await waitFor('the cut audited', () => audited(cgw, 'peer.refused', gw, /link cut/)), /Water utility, which this relay's operator no longer trusts/)
  const trustChange = await waitFor('the trust change audited', () => ddil('audit', 'export', '--data', cgw.dataDir).stdout.split('\n').find(l => l.includes('"config.changed"') && l.includes('orgs.json') && l.includes('cut off at')))
  t.match(trustChange, /"added":\["partner Water utility \(ddilorg1:[^)]+\), cut off at [^"]+"\]/, 'the county gateway audits the partner it cut off')
  t.match(trustChange, /"removed":\["partner Water utility \(ddilorg1:[^)]+\), this relay a gateway to it"\]/, '…and what it replaced')
  const atStart = ddil('audit', 'export', '--data', cgw.dataDir).stdout.split('\n').find(l => l.includes('"config.changed"') && l.includes('orgs.json'))
  t.match(atStart, /own organisation County EM/, 'at start, the trust the relay began with was audited')
})
