/**
 * The field client's entry point. It first checks that the page runs where the app can
 * keep keys safely (a secure context with WebCrypto and IndexedDB) and says so plainly
 * when it does not; then it registers the service worker (the app shell works offline),
 * takes a one-time enrolment code from a `#enrol=CODE` link (and removes it from the
 * address bar and history), opens the device's storage and renders the app.
 *
 * @example
 * // index.html: <script type="module" src="./assets/main-<hash>.js"></script>
 */
import { html } from 'htm/preact'
import { render } from 'preact'
import { createBrowserCrypto } from './crypto.ts'
import { openDatabase } from './idb.ts'
import { codeFromHash } from './enrolment.ts'
import { missingCapabilities } from './secure-context.ts'
import { renderInsecure } from './ui/insecure.ts'
import { App } from './ui/app.ts'
import { applyTheme } from './theme.ts'
import { registerWorker } from './worker-client.ts'

/** The code from a `#enrol=CODE` link, removed from the address so it is not bookmarked or shared. */
function takeEnrolCode (): string {
  const code = codeFromHash(location.hash)
  if (code !== '') history.replaceState(null, '', `${location.pathname}${location.search}#/`)
  return code
}

async function boot (): Promise<void> {
  const root = document.getElementById('app') as HTMLElement
  applyTheme()
  const missing = missingCapabilities(globalThis)
  if (missing.length > 0) { renderInsecure(root, location, missing.join(', ')); return }
  registerWorker()
  const code = takeEnrolCode()
  const db = await openDatabase()
  render(html`<${App} db=${db} crypto=${createBrowserCrypto()} enrolCode=${code} />`, root)
}

boot().catch((e: unknown) => {
  const root = document.getElementById('app') as HTMLElement
  const main = document.createElement('main')
  main.className = 'boot'
  main.setAttribute('role', 'alert')
  main.textContent = `The app could not start: ${(e as Error).message}`
  root.replaceChildren(main)
})
