// The field client offline (issue 21): Ana's relay stops; she posts; the app says it is
// offline and since when, and keeps the message on the device; a reload works from the
// service worker's copy of the app and the message is still there (IndexedDB); the relay
// starts again and the message reaches Ben's browser exactly once.
import t from 'tap'
import { browserMissing } from './helpers/browser.ts'
import { waitFor } from './helpers/relays.ts'
import { channelWithBen, pin, post, twoRelays, type TwoRelays } from './helpers/field.ts'

const missing = browserMissing()
if (missing !== undefined) throw new Error(missing)

let f: TwoRelays
t.before(async () => {
  f = await twoRelays(import.meta.url, 'offline')
  await channelWithBen(f, 'Water ops')
})
t.teardown(async () => { await f?.close() })

const text = 'Pump 3 offline; posted while our relay was down'

t.test('a message posted while the relay is down survives a reload and arrives once', async t => {
  const { ana, ben, a } = f
  // Polled from here: the page's CSP forbids the eval that page.waitForFunction needs.
  await waitFor('the service worker to control the page', async () => await ana.page.evaluate('navigator.serviceWorker.controller !== null') === true ? true : undefined)
  t.pass('the service worker controls the page (the app shell is kept)')
  await a.kill('SIGTERM')
  await ana.page.getByText(/^Offline since \d/).waitFor()
  t.pass('the app says it is offline and since when')
  await post(ana.page, text)
  const mine = ana.page.locator('li.msg', { hasText: text })
  await mine.getByText('Kept on this device').waitFor()
  await ana.page.getByText('1 message waiting on this device').waitFor()
  await ana.shot(f.shots, 'offline')

  await ana.page.reload()
  await ana.unlock(pin)
  await ana.page.getByText(/^Offline since \d/).waitFor()
  await ana.page.getByRole('link', { name: 'ddil: channels' }).click()
  await ana.page.getByRole('link', { name: /Water ops/ }).click()
  await ana.page.locator('li.msg', { hasText: text }).getByText('Kept on this device').waitFor()
  t.pass('after a reload with the relay down: the app loads, the message is still kept on the device')
  t.equal(await ben.page.getByText(text).count(), 0, 'nothing reached Ben yet')

  await a.start()
  await ben.page.locator('.messages').getByText(text).waitFor()
  await ana.page.locator('li.msg', { hasText: text }).getByText(/Delivered to 1 of 1/).waitFor()
  await ana.page.getByText('Online').first().waitFor()
  t.equal(await ben.page.locator('.messages').getByText(text).count(), 1, 'Ben sees it once')
  await ben.page.reload()
  await ben.unlock(pin)
  await ben.page.locator('.messages').getByText(text).waitFor()
  t.equal(await ben.page.locator('.messages').getByText(text).count(), 1, 'and once after his own reload')
  t.same(await ana.stored('outbox'), [], 'the outbox on the device is empty')
  t.same([...ana.errors, ...ben.errors], [], 'no uncaught errors')
})
