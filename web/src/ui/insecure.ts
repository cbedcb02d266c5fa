/**
 * What a page opened where the app cannot run says, instead of failing silently: over
 * plain HTTP on a network address the browser withholds WebCrypto, service workers and
 * (in some browsers) storage, so the keys could not be made or kept safely. The text
 * names the address to use instead.
 *
 * @example
 * if (!isSecureContext) renderInsecure(root, location)
 */

export function insecureMessage (loc: { hostname: string }, missing: string): { title: string, body: string[] } {
  const https = `https://${loc.hostname}:<port>/`
  return {
    title: 'This page cannot start here',
    body: [
      `It was opened over plain HTTP at ${loc.hostname}, which the browser does not treat as a secure connection. On such a page it withholds what the app needs to keep your keys safe (${missing}), so the app does not start rather than run unprotected.`,
      `Open the relay's secure address instead: ${https} (the operator gives you the exact address, and the certificate fingerprint to compare, with "ddil enrol").`,
      'On the relay machine itself, http://localhost works as well.',
    ],
  }
}

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
