// The field client refusing what it must (issue 21, "Bad input"), in a real Chromium against
// a real relay: a wrong, an expired and a reused enrolment code are refused with what to do
// next; a tampered message is shown as refused, never as text; a wrong PIN does not open the
// keys, which the device keeps only sealed; a revoked device is cut off at once and told why;
// a page served over plain HTTP on a network address says why it cannot start; and keys
// stored in format version 1 (test/fixtures/web-identity-v1.json) still unlock.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { toHex } from '../protocol/bytes.ts'
import { authorRef, signEnvelope } from '../protocol/envelope.ts'
import { parseUserPublicKey } from '../node/user-identity.ts'
import { nextSequence } from '../node/cli/local-channel.ts'
import { Relay, cleanupRelays, crypto, waitFor } from './helpers/relays.ts'
import { browserMissing, Phone, shotsDir } from './helpers/browser.ts'
import { appUrl, enrolledPhone, enrolmentCode, pin } from './helpers/field.ts'

const missing = browserMissing()
if (missing !== undefined) throw new Error(missing)

let relay: Relay
const phones: Phone[] = []
t.before(async () => {
  relay = await Relay.init('bad-input')
  relay.writeConfig({ authors: [] })
  await relay.start()
})
t.teardown(async () => {
  for (const p of phones) await p.close()
  await relay?.kill('SIGTERM')
  cleanupRelays()
})

async function phone (name: string, url: string, o: { hostRules?: string } = {}): Promise<Phone> {
  const p = await Phone.open(name, url, o)
  phones.push(p)
  return p
}

const refusal = 'The relay refused this code'
const phoneShots = shotsDir(import.meta.url)

t.test('wrong, expired and reused enrolment codes are refused, with what to do next', async t => {
  const p = await phone('wrong', `${appUrl(relay)}#enrol=AAAAA-AAAAA`)
  await p.enrol({ name: 'Carla', pin })
  await p.page.getByRole('alert').filter({ hasText: refusal }).waitFor()
  t.match(await p.page.getByRole('alert').innerText(), /ddil enrol/, 'says to ask the operator for a new code')

  const op = await relay.client()
  const { code: expired, expiresAtMs } = await op.issueEnrolment({ name: 'Carla', ttlMs: 1000 })
  await waitFor('the short code to expire', () => Date.now() > expiresAtMs + 500)
  await p.page.getByLabel('Enrolment code').fill(expired)
  await p.page.getByRole('button', { name: 'Enrol this device' }).click()
  await p.page.getByRole('alert').filter({ hasText: /expired/i }).waitFor()
  t.pass('an expired code: refused, and the refusal says it expired')

  const code = await enrolmentCode(relay, 'Dan')
  const first = await phone('first', `${appUrl(relay)}#enrol=${code}`)
  await first.enrol({ name: 'Dan', pin })
  await first.page.getByRole('heading', { name: 'Channels', exact: true }).waitFor()
  await p.page.getByLabel('Enrolment code').fill(code)
  await p.page.getByRole('button', { name: 'Enrol this device' }).click()
  await p.page.getByRole('alert').filter({ hasText: refusal }).waitFor()
  await p.page.getByRole('heading', { name: 'Join your team\'s channels' }).waitFor()
  t.pass('a code already spent by another device: refused; this device is still not in')
  await op.close()
  await p.shot(phoneShots, 'enrol-refused')
})

t.test('a tampered message is shown as refused, not as text; the keys are kept only sealed; a wrong PIN is refused', async t => {
  const ana = await enrolledPhone(relay, 'Ana')
  phones.push(ana)
  const anaKey = parseUserPublicKey(await ana.key())
  // The operator's own client (the CLI's code path) makes a channel and adds Ana.
  const ops = await relay.channels()
  const { channel } = await ops.cc.createChannel({ name: 'Tamper test' })
  await ops.cc.addMember(channel, { ed: anaKey.ed25519, x: anaKey.x25519 }, 'member')
  await ops.cc.sendText(channel, 'A genuine message')
  // A message whose ciphertext was altered before it was signed: relays accept it (they cannot read bodies).
  const genuine = await ops.cc.sendText(channel, 'this will be altered')
  const body = genuine.body.slice()
  body[3] ^= 0x40
  const seq = await nextSequence(relay.dataDir, toHex(channel), ops.cc.highestSeq(channel, relay.user.ed25519.publicKey))
  const tampered = signEnvelope(crypto, { ...genuine, seq, hlc: await ops.client.stamp(), body, deps: [] }, relay.user.ed25519.privateKey)
  await ops.client.submit(tampered.bytes)
  await ops.close()

  await ana.page.goto(`${appUrl(relay)}#/`)
  await ana.page.getByRole('link', { name: /Tamper test/ }).click()
  await ana.page.locator('.messages').getByText('A genuine message').waitFor()
  const refused = ana.page.locator(`li.msg[data-id="${toHex(tampered.id)}"]`)
  await refused.getByText(/Refused, not shown/).waitFor()
  t.match(await refused.innerText(), /tampered/)
  t.equal(await ana.page.getByText('this will be altered').count(), 1, 'only the genuine copy shows its text')
  t.equal(toHex(authorRef(relay.user.ed25519.publicKey)), toHex(tampered.author), 'the tampered envelope was signed by a member')
  await ana.shot(phoneShots, 'tampered')

  const [record] = await ana.stored('identity') as Array<Record<string, unknown>>
  t.same(Object.keys(record).sort(), ['createdAtMs', 'enrolled', 'failedTries', 'iterations', 'iv', 'lastFailedAtMs', 'name', 'publicKey', 'salt', 'sealed', 'version'], 'the stored identity holds no field but these')
  t.equal((record.sealed as number[]).length, 64 + 16, 'the two seeds, sealed with their tag')
  t.ok((record.iterations as number) >= 600_000, `PBKDF2 with ${String(record.iterations)} iterations`)

  await ana.page.reload()
  await ana.unlock('000000')
  await ana.page.getByRole('alert').filter({ hasText: 'Wrong PIN' }).waitFor()
  const [after] = await ana.stored('identity') as Array<Record<string, unknown>>
  t.equal(after.failedTries, 1, 'the wrong PIN is counted')
  await ana.unlock(pin)
  await ana.page.locator('.messages').getByText('A genuine message').waitFor()
  t.pass('the right PIN opens the keys')
  await ana.page.getByText('Online').first().waitFor()

  // Revoked: the operator revokes Ana's key; her session ends at once and the app says why.
  const op = await relay.client()
  await op.revokeClient(anaKey.ed25519)
  await op.close()
  await ana.page.getByRole('alert').filter({ hasText: 'The operator revoked this device' }).waitFor()
  await ana.page.reload()
  await ana.unlock(pin)
  await ana.page.getByRole('alert').filter({ hasText: 'does not let this device in' }).waitFor()
  t.pass('after a reload, the relay refuses the revoked key and the app stops trying')
  t.same(ana.errors, [], 'no uncaught errors')
})

t.test('a page over plain HTTP on a network address says why it cannot start', async t => {
  // relay.test resolves to the relay's loopback port, but is not a loopback name: no secure context.
  const p = await phone('lan', `http://relay.test:${relay.apiPort}/`, { hostRules: 'MAP relay.test 127.0.0.1' })
  const alert = p.page.getByRole('alert').filter({ hasText: 'This page cannot start here' })
  await alert.waitFor()
  t.match(await alert.innerText(), /plain HTTP at relay\.test/)
  t.match(await alert.innerText(), /https:\/\/relay\.test:<port>\//)
  t.equal(await p.page.evaluate('isSecureContext'), false, 'the browser indeed withholds the secure context')
  await p.shot(phoneShots, 'insecure')
})

t.test('keys a device stored in format version 1 still unlock (persisted-format fixture)', async t => {
  const fixture = JSON.parse(readFileSync(new URL('./fixtures/web-identity-v1.json', import.meta.url), 'utf8'))
  const p = await phone('fixture', appUrl(relay))
  await p.page.getByRole('heading', { name: 'Join your team\'s channels' }).waitFor()
  // The app has made its database; the fixture goes in as the page would have written it.
  await p.page.evaluate(`new Promise((resolve, reject) => {
    const r = ${JSON.stringify(fixture.record)}
    for (const k of Object.keys(r)) if (r[k] !== null && typeof r[k] === 'object') r[k] = Uint8Array.from(r[k].hex.match(/../g).map(h => parseInt(h, 16)))
    const open = indexedDB.open('ddil-field')
    open.onerror = () => reject(open.error)
    open.onsuccess = () => {
      const tx = open.result.transaction('identity', 'readwrite')
      tx.objectStore('identity').put(r, 'me')
      tx.oncomplete = () => { open.result.close(); resolve(true) }
      tx.onerror = () => reject(tx.error)
    }
  })`)
  await p.page.reload()
  await p.page.getByText('Fixture Responder').waitFor()
  await p.unlock('not-the-pin')
  await p.page.getByRole('alert').filter({ hasText: 'Wrong PIN' }).waitFor()
  await p.unlock(fixture.pin)
  await p.page.getByRole('link', { name: 'About' }).click()
  t.equal((await p.page.locator('#my-key').innerText()).trim(), fixture.record.publicKey, 'the fixture PIN opens the fixture keys')
})
