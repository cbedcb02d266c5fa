/**
 * What a page opened where the app cannot run says, instead of failing silently: over
 * plain HTTP on a network address the browser withholds WebCrypto, service workers and
 * (in some browsers) storage, so the keys could not be made or kept safely. The text
 * names the address to use instead.
 *
 * @example
 * if (!isSecureContext) renderInsecure(root, location, 'WebCrypto')
 */
import { insecureMessage } from '../secure-context.ts'

export function renderInsecure (root: HTMLElement, loc: Location, missing: string): void {
  const { title, body } = insecureMessage(loc, missing)
  const main = document.createElement('main')
  main.className = 'boot insecure'
  main.setAttribute('role', 'alert')
  const h1 = document.createElement('h1')
  h1.textContent = title
  main.append(h1, ...body.map(text => { const p = document.createElement('p'); p.textContent = text; return p }))
  root.replaceChildren(main)
}
