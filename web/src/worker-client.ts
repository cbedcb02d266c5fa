/**
 * Registers the service worker (web/src/sw.ts) that keeps the app shell for offline
 * reloads. Browsers allow it only in secure contexts (HTTPS, or http://localhost); where
 * registration fails the app still runs, it just needs the relay to load, and About says so.
 *
 * @example
 * registerWorker()
 * offlineReady()       // true once a worker controls this page
 */

export function registerWorker (): void {
  if (!('serviceWorker' in navigator)) return
  // A refusal leaves the page uncontrolled, which offlineReady() reports; nothing else depends on it.
  navigator.serviceWorker.register('./sw.js', { scope: './' }).catch(() => undefined)
}

/** Whether this page is served by the service worker (a reload works without the relay). */
export function offlineReady (): boolean {
  return 'serviceWorker' in navigator && navigator.serviceWorker.controller !== null
}
