// The field client end to end (issue 21, "Tests that must pass in CI"): two real relays,
// a real headless Chromium per relay. Both responders enrol with one-time codes; Ana
// creates a channel and adds Ben by his ddil1: key; they exchange messages of every
// precedence (flash asks for confirmation and raises a banner) and Ana sees "delivered to
// 1 of 1" and "read by 1 of 1"; both edit the board at once and both see the merge; Ana
// removes Ben, whose browser then shows it can no longer read new messages or post.
// Screenshots of the main views at phone and laptop widths go to out/test-web/web-field/.
import t from 'tap'
import type { Page } from 'playwright-core'
import { browserMissing } from './helpers/browser.ts'
import { waitFor } from './helpers/relays.ts'
import { post as send, twoRelays, type TwoRelays } from './helpers/field.ts'

const missing = browserMissing()
if (missing !== undefined) throw new Error(missing)

let f: TwoRelays
t.before(async () => { f = await twoRelays(import.meta.url, 'field') })
t.teardown(async () => { await f?.close() })

const messages = (p: Page) => p.locator('.messages')
const precedences = [['ROUTINE', 'Fuel check at 06:00'], ['PRIORITY', 'Hospital generator at 40%'], ['IMMEDIATE', 'Road closed at the north bridge'], ['FLASH', 'Gas leak at substation 4: keep clear']] as const

t.test('Ana creates a channel and adds Ben by pasting his key', async t => {
  const { ana, ben } = f
  await f.ana.shot(f.shots, 'channels-empty')
  await ana.page.getByRole('link', { name: 'New channel' }).click()
  await ana.page.getByLabel('Name').fill('Grid north')
  await ana.page.getByLabel('Topic (optional)').fill('Outage since 04:10')
  await ana.page.getByRole('button', { name: 'Create channel' }).click()
  await ana.page.getByRole('heading', { name: 'Add a member' }).waitFor()
  await ana.page.getByLabel(/Their key/).fill(f.benKey)
  await ana.page.getByRole('button', { name: 'Add member' }).click()
  await ana.page.getByRole('heading', { name: '2 members' }).waitFor()
  await ben.page.getByRole('link', { name: /Grid north/ }).click()
  await ben.page.getByRole('heading', { name: 'Grid north' }).waitFor()
  t.pass('Ben\'s browser lists the channel and opens it')
})

t.test('messages of every precedence, flash confirmed; delivered to 1 of 1 and read by 1 of 1', async t => {
  const { ana, ben } = f
  await ben.context.grantPermissions(['notifications'])
  await ana.page.getByRole('link', { name: 'Messages' }).click()
  for (const [precedence, text] of precedences) {
    await send(ana.page, text, precedence)
    if (precedence === 'FLASH') {
      const dialog = ana.page.getByRole('dialog')
      await dialog.getByText('handling target is 10 minutes').waitFor()
      await dialog.getByRole('button', { name: 'Send FLASH' }).click()
    }
    await messages(ben.page).getByText(text).waitFor()
  }
  const flash = messages(ben.page).locator('li.msg.p0')
  t.equal(await flash.count(), 1, 'the flash message is marked as flash')
  t.match(await flash.innerText(), /FLASH/)
  await ben.page.getByRole('alert').filter({ hasText: 'FLASH from Ana' }).waitFor()
  t.pass('a flash banner names the sender')
  const shown = await waitFor('the flash notification', async () => {
    const titles = await ben.page.evaluate('navigator.serviceWorker.ready.then(r => r.getNotifications()).then(ns => ns.map(n => n.title + ": " + n.body))') as string[]
    return titles.length > 0 ? titles : undefined
  })
  t.same(shown, ['FLASH · Grid north: Ana: Gas leak at substation 4: keep clear'], 'a notification through the service worker, over HTTPS')
  for (const [, text] of precedences) {
    await messages(ana.page).locator('li.msg', { hasText: text }).getByText('Delivered to 1 of 1 · read by 1 of 1').waitFor()
  }
  t.pass('each of Ana\'s messages: delivered to 1 of 1, read by 1 of 1')
  // Ben answers with the keyboard alone: the composer takes Ctrl+Enter.
  await ben.page.getByRole('textbox', { name: 'Message' }).focus()
  await ben.page.keyboard.type('On my way to substation 4')
  await ben.page.keyboard.press('Control+Enter')
  await messages(ana.page).locator('li.msg', { hasText: 'On my way to substation 4' }).getByText('Ben').waitFor()
  t.pass('Ben\'s reply arrives under the name he chose')
  for (const [, text] of precedences) t.equal(await messages(ben.page).getByText(text).count(), 1, `"${text}" shown once`)
  await ben.page.getByRole('button', { name: 'Dismiss' }).click()
  await ana.shot(f.shots, 'messages')
  await ben.shot(f.shots, 'messages-ben')
})

t.test('both edit the board at once; both see the merge', async t => {
  const { ana, ben } = f
  for (const p of [ana, ben]) await p.page.getByRole('link', { name: 'Board' }).click()
  await ana.page.getByLabel('New task').fill('Check substation 4')
  await ben.page.getByLabel('New fact').fill('Hospital on generator since 05:00')
  await ana.page.getByLabel('What').fill('North bridge')
  await ana.page.getByLabel('Status', { exact: true }).fill('closed')
  await Promise.all([
    ana.page.locator('form', { has: ana.page.getByLabel('New task') }).getByRole('button', { name: 'Add' }).click(),
    ben.page.locator('form', { has: ben.page.getByLabel('New fact') }).getByRole('button', { name: 'Add' }).click(),
  ])
  await ana.page.getByRole('button', { name: 'Set' }).click()
  for (const p of [ana, ben]) {
    for (const text of ['Check substation 4', 'Hospital on generator since 05:00', 'North bridge']) await p.page.getByText(text).waitFor()
  }
  await ben.page.getByRole('checkbox', { name: 'Check substation 4' }).check()
  await ana.page.getByRole('checkbox', { name: 'Check substation 4', checked: true }).waitFor()
  t.pass('a task done on one side is done on the other')
  await ana.shot(f.shots, 'board')
})

t.test('members, about, and the two themes', async t => {
  const { ana } = f
  await ana.page.getByRole('link', { name: 'Members' }).click()
  await ana.page.getByText('Ben', { exact: true }).waitFor()
  await ana.shot(f.shots, 'members')
  await ana.page.getByRole('link', { name: 'About' }).click()
  t.equal((await ana.page.locator('#my-key').innerText()).trim(), f.anaKey, 'About shows the user\'s key')
  await ana.page.getByRole('img', { name: 'Your key as a QR code' }).locator('svg').waitFor()
  await ana.shot(f.shots, 'about')
  await f.ben.page.getByRole('link', { name: 'About' }).click()
  const printed = /SHA-256 ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})/i.exec(f.b.output)?.[1]
  t.ok(printed !== undefined, 'ddil start printed the certificate fingerprint')
  await f.ben.page.locator('.fingerprint').filter({ hasText: printed ?? 'none' }).waitFor()
  t.pass('Ben\'s About page (over HTTPS) shows the fingerprint the relay printed')
  await f.ben.page.getByRole('link', { name: 'ddil: channels' }).click()
  await ana.page.getByRole('button', { name: /night and daylight/ }).click()
  t.equal(await ana.page.evaluate('document.documentElement.dataset.theme'), 'night')
  await ana.page.getByRole('link', { name: 'ddil: channels' }).click()
  await ana.page.getByRole('link', { name: /Grid north/ }).click()
  await ana.page.getByRole('heading', { name: 'Grid north' }).waitFor()
  await ana.shot(f.shots, 'messages-night')
  await ana.page.getByRole('button', { name: /night and daylight/ }).click()
  // Touch targets on a phone: every control at least 44 px high (Apple's and WCAG 2.5.5's figure).
  const small = await ana.page.evaluate(`[...document.querySelectorAll('button, a.button, .tab, .back, select, textarea, input:not([type=radio]):not([type=checkbox]), label.choice, .channel-row')]
    .filter(el => el.getClientRects().length > 0 && el.getBoundingClientRect().height < 44).map(el => el.outerHTML.slice(0, 80))`)
  t.same(small, [], 'no control on the channel view is under 44 px high')
})

t.test('the owner removes Ben: his browser says he can no longer read new messages or post', async t => {
  const { ana, ben } = f
  await ben.page.getByRole('link', { name: /Grid north/ }).click()
  await ana.page.getByRole('link', { name: 'Members' }).click()
  await ana.page.getByRole('button', { name: 'Remove' }).click()
  await ana.page.getByRole('dialog').getByRole('button', { name: 'Remove' }).click()
  await ana.page.getByRole('heading', { name: '1 member' }).waitFor()
  await ben.page.getByRole('alert').filter({ hasText: 'You were removed from this channel' }).waitFor()
  t.equal(await ben.page.getByRole('textbox', { name: 'Message' }).count(), 0, 'Ben has no composer')
  await ben.page.getByText('you can no longer post here').waitFor()
  await ana.page.getByRole('link', { name: 'Messages' }).click()
  await send(ana.page, 'Only for those still here')
  await messages(ben.page).getByText('A message you cannot read').waitFor()
  t.equal(await ben.page.getByText('Only for those still here').count(), 0, 'the new message is not shown as text')
  await messages(ben.page).getByText('Fuel check at 06:00').waitFor()
  t.pass('what Ben received before stays readable')
  await ben.shot(f.shots, 'removed')
  t.same([...f.ana.errors, ...f.ben.errors], [], 'no uncaught errors in either page')
})

t.test('added with history, the relay operator\'s CLI client reads what the app wrote before', async t => {
  const { ana, a } = f
  await ana.page.getByRole('link', { name: 'Members' }).click()
  await ana.page.getByLabel(/Their key/).fill(a.user.publicKey)
  await ana.page.getByLabel(/Let them read the earlier messages/).check()
  await ana.page.getByRole('button', { name: 'Add member' }).click()
  await ana.page.getByRole('heading', { name: '2 members' }).waitFor()
  const cli = await a.channels()
  try {
    const texts = new Set<string>()
    const ref = await waitFor('the channel on relay A for its operator', async () => (await cli.client.channels())[0]?.channel)
    await cli.open(Buffer.from(ref).toString('hex'), r => { if (r.type === 'text') texts.add(r.text) })
    await waitFor('the earlier messages, readable by the CLI', () => texts.has('Fuel check at 06:00') && texts.has('Only for those still here') ? true : undefined)
    t.pass('the CLI\'s channel client reads messages sent before it was added')
  } finally {
    await cli.close()
  }
})
