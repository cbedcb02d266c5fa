/**
 * Whether the page runs where the app can keep keys safely, and what to say when it does
 * not: over plain HTTP on a network address the browser withholds WebCrypto and service
 * workers (they exist only in secure contexts: HTTPS, or http://localhost), so the app
 * refuses to start and names the address to use instead.
 *
 * @example
 * const missing = missingCapabilities(globalThis)
 * if (missing.length > 0) show(insecureMessage(location, missing.join(', ')))
 */

/** What the app needs that this page lacks (empty: it can start). */
export function missingCapabilities (g: { isSecureContext?: boolean, crypto?: { subtle?: unknown }, indexedDB?: unknown }): string[] {
  const missing: string[] = []
  if (g.isSecureContext !== true) missing.push('a secure context')
  if (g.crypto?.subtle === undefined) missing.push('WebCrypto')
  if (g.indexedDB === undefined) missing.push('IndexedDB storage')
  return missing
}

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
