/**
 * Real headless Chromium for the field client's tests: Debian's /usr/bin/chromium driven
 * by playwright-core (the registry's browser downloads are not reachable here). Each
 * `Phone` is a browser of its own (a fresh --user-data-dir, so its own IndexedDB and
 * service worker), opened on one relay's app; a relay's HTTPS certificate is accepted by
 * pinning its public key (--ignore-certificate-errors-spki-list), never by ignoring every
 * certificate error. Helpers drive the app the way a person does: labels, buttons, text.
 *
 * @example
 * const phone = await Phone.open('ana', `http://127.0.0.1:${relay.apiPort}/`)
 * await phone.enrol({ code, name: 'Ana', pin: '482913' })
 * await phone.shot('channels')        // out/test-web/<file>/channels-phone.png and -laptop.png
 */
import { chromium, type BrowserContext, type Page } from 'playwright-core'
import { createHash, X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { patienceMs } from './wait.ts'

export const chromiumPath = process.env.DDIL_CHROMIUM ?? '/usr/bin/chromium'
const root = new URL('../..', import.meta.url).pathname
export const distIndex = join(root, 'web/dist/index.html')

/** Where a test file's screenshots go: out/test-web/<file name>/. */
export function shotsDir (testFile: string): string {
  const dir = join(root, 'out/test-web', basename(testFile).replace(/\.test\.ts$/, ''))
  mkdirSync(dir, { recursive: true })
  return dir
}

export const sizes = { phone: { width: 390, height: 844 }, laptop: { width: 1280, height: 800 } } as const

/** The base64 SHA-256 of a PEM certificate's public key: what Chromium pins. */
export function spkiPin (certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(spki).digest('base64')
}

export interface PhoneOptions {
  /** Certificates (PEM) to accept by their public key. */
  pinned?: string[]
  /** Chromium --host-resolver-rules, e.g. "MAP relay.test 127.0.0.1". */
  hostRules?: string
  viewport?: { width: number, height: number }
}

/** Reasons a browser test could not run at all, for a clear failure instead of a stack. */
export function browserMissing (): string | undefined {
  if (!existsSync(chromiumPath)) return `no Chromium at ${chromiumPath}: install Debian's chromium (apt-get install -y chromium) or set DDIL_CHROMIUM`
  if (!existsSync(distIndex)) return 'web/dist is not built: run npm run build:web'
  return undefined
}

export class Phone {
  readonly name: string
  readonly context: BrowserContext
  page: Page
  readonly #dir: string
  readonly #errors: string[] = []

  private constructor (name: string, context: BrowserContext, page: Page, dir: string) {
    this.name = name
    this.context = context
    this.page = page
    this.#dir = dir
    page.on('pageerror', e => { this.#errors.push(e.message) })
  }

  static async open (name: string, url: string, o: PhoneOptions = {}): Promise<Phone> {
    const dir = mkdtempSync(join(tmpdir(), `ddil-chromium-${name}-`))
    const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    if ((o.pinned ?? []).length > 0) args.push(`--ignore-certificate-errors-spki-list=${(o.pinned ?? []).map(spkiPin).join(',')}`)
    if (o.hostRules !== undefined) args.push(`--host-resolver-rules=${o.hostRules}`)
    const context = await chromium.launchPersistentContext(dir, {
      executablePath: chromiumPath, headless: true, args, viewport: o.viewport ?? sizes.phone, timeout: patienceMs,
    })
    context.setDefaultTimeout(patienceMs)
    const page = context.pages()[0] ?? await context.newPage()
    const phone = new Phone(name, context, page, dir)
    await page.goto(url)
    return phone
  }

  /** Uncaught errors the page raised so far (a test asserts there were none). */
  get errors (): string[] { return [...this.#errors] }

  async close (): Promise<void> {
    await this.context.close()
    rmSync(this.#dir, { recursive: true, force: true })
  }

  /** Enrols through the form: code (unless the link filled it in), name, PIN twice; screenshots of the filled form into `shots`. */
  async enrol (o: { code?: string, name: string, pin: string, shots?: string }): Promise<void> {
    const p = this.page
    if (o.code !== undefined) await p.getByLabel('Enrolment code').fill(o.code)
    await p.getByLabel('Your name, as your team will see it').fill(o.name)
    await p.getByLabel(/^PIN or passphrase/).fill(o.pin)
    await p.getByLabel('The same PIN again').fill(o.pin)
    if (o.shots !== undefined) await this.shot(o.shots, 'enrol')
    await p.getByRole('button', { name: 'Enrol this device' }).click()
  }

  async unlock (pin: string): Promise<void> {
    await this.page.getByLabel('PIN or passphrase').fill(pin)
    await this.page.getByRole('button', { name: 'Unlock' }).click()
  }

  /** The user's `ddil1:` key, from the About page. */
  async key (): Promise<string> {
    await this.page.goto(new URL('#/about', this.page.url()).href)
    const text = await this.page.locator('#my-key').textContent()
    return (text ?? '').trim()
  }

  /**
   * Everything in one of the app's IndexedDB stores, as JSON-able values (bytes as arrays of
   * numbers): for tests of what the device keeps. Evaluated as text: the page's DOM typings
   * are not the test's.
   */
  async stored (store: string): Promise<unknown[]> {
    return await this.page.evaluate(`new Promise((resolve, reject) => {
      const open = indexedDB.open('ddil-field')
      open.onerror = () => reject(open.error)
      open.onsuccess = () => {
        const all = open.result.transaction(${JSON.stringify(store)}).objectStore(${JSON.stringify(store)}).getAll()
        all.onerror = () => reject(all.error)
        all.onsuccess = () => { open.result.close(); resolve(JSON.parse(JSON.stringify(all.result, (k, v) => v instanceof Uint8Array ? Array.from(v) : v))) }
      }
    })`) as unknown[]
  }

  /** Screenshots of the page as it is, at phone and laptop widths. */
  async shot (dir: string, name: string): Promise<void> {
    const before = this.page.viewportSize()
    for (const [label, size] of Object.entries(sizes)) {
      await this.page.setViewportSize(size)
      await this.page.screenshot({ path: join(dir, `${name}-${label}.png`), fullPage: false })
    }
    if (before !== null) await this.page.setViewportSize(before)
  }
}

/** A relay's certificate, from its data directory (web-cert.pem, created by init or first start). */
export function relayCertificate (dataDir: string): string {
  return readFileSync(join(dataDir, 'web-cert.pem'), 'utf8')
}
