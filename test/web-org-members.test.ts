// Whose user each channel member is, in the field app (#29), through the real interface: a
// relay in `peers.mode: org` (the water utility, trusting the county), serving the app to a
// real headless Chromium. Its operator adds Ana (enrolled in the browser) by key, and two
// county users with their county certificates: one valid, one that expired a few seconds
// after it was added. Ana's members view shows "County EM" beside the first and why the
// second's certificate no longer holds; Ana herself, added without one, shows none. Then the
// relay is also the water utility's gateway to a county relay, and keeps flash traffic in: Ana's
// flash alert says why it did not cross. Then the operator cuts the county off: Ana, an admin,
// is told, and removes its users in one step.
// Ana also adds a county user herself, by the certificate file the user gave her.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { browserMissing } from './helpers/browser.ts'
import { enrolledPhone, post } from './helpers/field.ts'
import { Relay, cleanupRelays, root, waitFor } from './helpers/relays.ts'
import { createNodeCrypto } from '../node/crypto.ts'
import { createOrgDir, issueCertificate } from '../node/org/org-dir.ts'
import { nodeKeyOfId } from '../node/org/node-ids.ts'
import { joinOrg, trustPartner } from '../node/org/trust-store.ts'
import { formatUserPublicKey } from '../node/user-identity.ts'

const missing = browserMissing()
if (missing !== undefined) throw new Error(missing)
const bin = new URL('../node/cli/bin.js', import.meta.url).pathname
const ddil = (...args: string[]): { code: number | null, stdout: string, stderr: string } => {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 30_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}
const crypto = createNodeCrypto()
t.teardown(cleanupRelays)

t.test('the members view names each member\'s organisation, or why its certificate does not hold', async t => {
  const waterDir = join(root, 'water-org'); const countyDir = join(root, 'county-org')
  const [water, county] = await Promise.all([createOrgDir(waterDir, 'Water utility'), createOrgDir(countyDir, 'County EM')])
  // The water utility's relay, a gateway to the county's, which keeps flash traffic on the water side.
  const relay = await Relay.init('org-web')
  const countyGw = await Relay.init('county-gw')
  const member = async (r: Relay, dir: string, key: Uint8Array, name: string): Promise<void> => {
    const cert = await issueCertificate(dir, { kind: 'relay', subject: nodeKeyOfId(r.nodeId), subjectText: r.nodeId, name: r.name, lifetimeMs: 30 * 86_400_000 }, Date.now())
    await joinOrg(r.dataDir, { orgKey: key, name, certificate: cert.bytes, nodeKey: nodeKeyOfId(r.nodeId) }, Date.now())
  }
  await member(relay, waterDir, water.key.publicKey, 'Water utility')
  await member(countyGw, countyDir, county.key.publicKey, 'County EM')
  await trustPartner(relay.dataDir, county.key.publicKey, 'County EM', true, Date.now())
  await trustPartner(countyGw.dataDir, water.key.publicKey, 'Water utility', true, Date.now())
  t.equal(ddil('org', 'policy', county.publicKey, '--precedences', 'immediate,priority,routine', '--data', relay.dataDir).code, 0)
  relay.writeConfig({ authors: [], mode: 'org', web: true })
  countyGw.writeConfig({ authors: [relay], mode: 'org', dial: [relay] })
  await relay.start()
  t.teardown(() => relay.kill('SIGTERM'))
  await countyGw.start()
  t.teardown(() => countyGw.kill('SIGTERM'))
  const ana = await enrolledPhone(relay, 'Ana')
  t.teardown(() => ana.close())
  const anaKey = await ana.key()

  // Two county users, certified by the county (their keys never need to be online here).
  const countyUser = async (seed: number, name: string, lifetimeMs: number): Promise<string> => {
    const ed = crypto.ed25519KeyPair(new Uint8Array(32).fill(seed)).publicKey
    const x = crypto.x25519KeyPair(new Uint8Array(32).fill(seed + 1)).publicKey
    const issued = await issueCertificate(countyDir, { kind: 'user', subject: new Uint8Array([...ed, ...x]), subjectText: formatUserPublicKey(ed, x), name, lifetimeMs }, Date.now())
    const path = join(root, `${name.split(' ')[0]}.cert`)
    writeFileSync(path, issued.bytes)
    return path
  }
  const created = ddil('channel', 'create', '--data', relay.dataDir, 'flood')
  t.equal(created.code, 0, created.stderr)
  // Dan's certificate lasts long enough to be valid when he is added (judged at the add's time), and expires soon after.
  const danLifetimeMs = 20_000
  const dan = await countyUser(62, 'Dan Liaison', danLifetimeMs)
  const danExpires = Date.now() + danLifetimeMs
  const cora = await countyUser(60, 'Cora Duty', 30 * 86_400_000)
  for (const args of [['--certificate', dan], ['--certificate', cora], [anaKey, '--role', 'admin']]) {
    const added = ddil('channel', 'add', '--data', relay.dataDir, 'flood', ...args)
    t.equal(added.code, 0, added.stderr)
  }
  await waitFor('Dan\'s certificate to expire', () => Date.now() > danExpires ? true : undefined)

  await ana.page.goto(new URL('#/', ana.page.url()).href)
  await ana.page.getByRole('link', { name: /flood/ }).click()
  await ana.page.getByRole('link', { name: 'Members' }).click()
  await ana.page.getByRole('heading', { name: '4 members' }).waitFor()
  const row = (ref: string) => ana.page.locator('li.member').filter({ hasText: ref })
  const refOf = (seed: number): string => Buffer.from(crypto.ed25519KeyPair(new Uint8Array(32).fill(seed)).publicKey.subarray(0, 8)).toString('hex')
  t.equal(await row(refOf(60)).locator('.member-org').innerText(), 'County EM', 'Cora: vouched for by the county')
  t.match(await row(refOf(62)).locator('.member-org.bad').innerText(), /^County EM \(certificate expired \S+ ago\)$/, 'Dan: the county\'s, but expired since he was added')
  t.equal(await ana.page.locator('li.member').filter({ hasText: '(you)' }).locator('.member-org').count(), 0, 'Ana, added without a certificate, shows none')

  // Ana, an admin, adds a county user by the certificate file Eve gave her; a file that is no certificate is refused with a sentence.
  const junk = join(root, 'junk.cert')
  writeFileSync(junk, new Uint8Array([1, 2, 3, 4]))
  const certificateInput = ana.page.locator('input[name="member-certificate"]')
  await certificateInput.setInputFiles(junk)
  await ana.page.getByText('junk.cert is not a user certificate').waitFor()
  const eve = await countyUser(64, 'Eve Hydrologist', 30 * 86_400_000)
  await certificateInput.setInputFiles(eve)
  await ana.page.getByText('Certificate for Eve Hydrologist, from the organisation County EM').waitFor()
  t.match(await ana.page.locator('textarea[name="member-key"]').inputValue(), /^ddil1:/, 'the certificate filled in her key')
  await ana.page.getByRole('button', { name: 'Add member' }).click()
  await ana.page.getByRole('heading', { name: '5 members' }).waitFor()
  t.equal(await row(refOf(64)).locator('.member-org').innerText(), 'County EM', 'Eve, added in the app by her certificate, shows her organisation')

  // Ana posts a flash alert: the water gateway keeps it from the county, and her app says so under it.
  await waitFor('the county gateway linked', async () => ((await relay.status()).peers as Array<{ ready: boolean }>).some(p => p.ready) ? true : undefined)
  await ana.page.getByRole('link', { name: 'Messages' }).click()
  await post(ana.page, 'Dam spillway opening at 15:00', 'FLASH')
  await ana.page.getByRole('dialog').getByRole('button', { name: 'Send FLASH' }).click()
  const status = ana.page.locator('li.msg').filter({ hasText: 'Dam spillway opening at 15:00' }).getByText(/Kept from County EM by our gateway/)
  t.match(await status.innerText(), /Kept from County EM by our gateway: Water utility lets only immediate, priority and routine messages cross out to County EM; this one is flash/, 'the sender reads why her flash alert did not cross')
  await ana.page.getByRole('link', { name: 'Members' }).click()

  // The operator cuts the county off; the relay reads orgs.json again within seconds.
  t.equal(ddil('org', 'distrust', county.publicKey, '--data', relay.dataDir).code, 0)
  await waitFor('the relay to cut the county off', async () => ((await relay.status()).orgs as Array<{ name: string, cutOffMs?: number }>).some(o => o.name === 'County EM' && o.cutOffMs !== undefined) ? true : undefined)
  await ana.page.getByRole('link', { name: 'Messages' }).click()
  await ana.page.getByRole('link', { name: 'Members' }).click()
  const notice = ana.page.getByRole('alert').filter({ hasText: 'cut off by your relay\'s operator' })
  t.match(await notice.innerText(), /County EM was cut off by your relay's operator\. 3 members here are their users/, 'Ana is told which members are the cut-off organisation\'s users')
  t.match(await row(refOf(60)).locator('.member-org.bad').innerText(), /County EM \(cut off by this relay's operator\)/)
  await notice.getByRole('button', { name: 'Remove County EM\'s members' }).click()
  await ana.page.getByRole('heading', { name: '2 members' }).waitFor()
  t.equal(await ana.page.locator('li.member').filter({ hasText: 'County EM' }).count(), 0, 'all three removed: the channel re-keys without them')
  t.same(ana.errors, [], 'no page errors')
})
