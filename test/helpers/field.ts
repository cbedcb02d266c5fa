/**
 * The field client's test bed: real relays (`ddil start`), each serving the app, and a real
 * headless Chromium per responder, enrolled the way a responder enrols: the operator
 * issues a one-time code, the responder opens the `#enrol=` link and chooses a name and a
 * PIN. Then the operator lets the first responder create channels (authors.allow on both
 * relays, a restart: the relays carry only channels of allowed creators) and the app
 * reconnects by itself.
 *
 * @example
 * const f = await twoRelays(import.meta.url)
 * await f.ana.page.getByRole('link', { name: 'New channel' }).click()
 * await f.close()
 */
import { Relay, cleanupRelays, waitFor } from './relays.ts'
import { Phone, relayCertificate, shotsDir, type PhoneOptions } from './browser.ts'
import type { Page } from 'playwright-core'

export const pin = '482913'
/** How long an enrolment code the tests issue lasts, ms. */
const codeTtlMs = 15 * 60_000

export function appUrl (relay: Relay): string {
  return `http://127.0.0.1:${relay.apiPort}/`
}

/** A one-time enrolment code from the relay's operator (what `ddil enrol` asks for). */
export async function enrolmentCode (relay: Relay, name: string, ttlMs = codeTtlMs): Promise<string> {
  const op = await relay.client()
  try { return (await op.issueEnrolment({ name, ttlMs })).code } finally { await op.close() }
}

/** A new browser on `url` that enrols with a fresh code from `relay` and waits for the channel list. */
export async function enrolledPhone (relay: Relay, name: string, url = appUrl(relay), o: PhoneOptions & { shots?: string } = {}): Promise<Phone> {
  const code = await enrolmentCode(relay, name)
  const phone = await Phone.open(name.toLowerCase(), `${url}#enrol=${code}`, o)
  await phone.enrol({ name, pin, shots: o.shots })
  await phone.page.getByRole('heading', { name: 'Channels', exact: true }).waitFor()
  return phone
}

export interface TwoRelays {
  a: Relay
  b: Relay
  ana: Phone
  ben: Phone
  anaKey: string
  benKey: string
  /** Where screenshots go ('' when the caller keeps none). */
  shots: string
  close (): Promise<void>
}

/**
 * Relays A and B (A dials B); Ana enrolled on A through its loopback HTTP port, Ben on B
 * through B's HTTPS listener; Ana may create channels on both. `urlOf` may point a relay's
 * browser elsewhere (a development proxy).
 */
export async function twoRelays (testFile: string | undefined, tag: string, urlOf: (r: Relay, url: string) => string = (_r, url) => url): Promise<TwoRelays> {
  const a = await Relay.init(`${tag}-a`)
  const b = await Relay.init(`${tag}-b`)
  const configure = (authorKeys: string[] = []): void => {
    a.writeConfig({ dial: [b], authors: [b], authorKeys })
    b.writeConfig({ authors: [a], authorKeys, web: true })
  }
  configure()
  await Promise.all([a.start(), b.start()])
  const phones: Phone[] = []
  const close = async (): Promise<void> => {
    for (const p of phones) await p.close()
    await Promise.all([a.kill('SIGTERM'), b.kill('SIGTERM')])
    cleanupRelays()
  }
  try {
    const shots = testFile === undefined ? undefined : shotsDir(testFile)
    const ana = await enrolledPhone(a, 'Ana', urlOf(a, appUrl(a)), { shots })
    phones.push(ana)
    // Ben's browser uses B's HTTPS listener, accepting B's own certificate by pinning its key.
    const ben = await enrolledPhone(b, 'Ben', urlOf(b, `https://127.0.0.1:${b.webPort}/`), { pinned: [relayCertificate(b.dataDir)] })
    phones.push(ben)
    const anaKey = await ana.key()
    const benKey = await ben.key()
    configure([anaKey])
    const restart = async (r: Relay): Promise<void> => { await r.kill('SIGTERM'); await r.start() }
    await Promise.all([restart(a), restart(b)])
    await waitFor('A linked to B', async () => ((await a.status()).peers?.length ?? 0) > 0 ? true : undefined)
    for (const p of [ana, ben]) {
      await p.page.goto(new URL('#/', p.page.url()).href)
      await p.page.getByText('Online').first().waitFor()
    }
    return { a, b, ana, ben, anaKey, benKey, shots: shots ?? '', close }
  } catch (e) {
    await close()
    throw e
  }
}

/** Ana creates a channel and adds Ben by his key; both end up on its messages. */
export async function channelWithBen (f: TwoRelays, name: string): Promise<void> {
  const { ana, ben } = f
  await ana.page.getByRole('link', { name: 'New channel' }).click()
  await ana.page.getByLabel('Name').fill(name)
  await ana.page.getByRole('button', { name: 'Create channel' }).click()
  await ana.page.getByRole('heading', { name: 'Add a member' }).waitFor()
  await ana.page.getByLabel(/Their key/).fill(f.benKey)
  await ana.page.getByRole('button', { name: 'Add member' }).click()
  await ana.page.getByRole('heading', { name: '2 members' }).waitFor()
  await ana.page.getByRole('link', { name: 'Messages' }).click()
  await ben.page.getByRole('link', { name: new RegExp(name) }).click()
  await ben.page.getByRole('heading', { name }).waitFor()
}

/** Posts a routine message from the composer on screen. */
export async function post (p: Page, text: string, precedence = 'ROUTINE'): Promise<void> {
  await p.getByLabel(new RegExp(`^${precedence}`)).check()
  await p.getByRole('textbox', { name: 'Message' }).fill(text)
  await p.getByRole('button', { name: /^Send/ }).click()
}
