/**
 * The service worker: keeps the app shell (index.html and the hashed assets of this
 * build) so that a reload works while the relay is unreachable. Navigations go to the
 * network first and fall back to the kept shell; hashed assets come from the cache (their
 * names change with their content). A new build has a new cache name and removes the old.
 * Clicking a flash notification opens its channel. Nothing here sees keys or plaintext.
 *
 * @example
 * // web/build.ts injects __SHELL__ (the shell's URLs) and __VERSION__ (their hash)
 */
declare const __SHELL__: string[]
declare const __VERSION__: string

const worker = self as unknown as ServiceWorkerGlobalScope
const cacheName = `ddil-shell-${__VERSION__}`
const shellPrefix = 'ddil-shell-'

worker.addEventListener('install', event => {
  event.waitUntil(caches.open(cacheName).then(cache => cache.addAll(__SHELL__)).then(() => worker.skipWaiting()))
})

worker.addEventListener('activate', event => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name.startsWith(shellPrefix) && name !== cacheName) await caches.delete(name)
    await worker.clients.claim()
  })())
})

async function fromNetworkOrShell (request: Request): Promise<Response> {
  try {
    return await fetch(request)
  } catch {
    const shell = await caches.match('./', { cacheName })
    if (shell !== undefined) return shell
    throw new Error('offline and the app shell is not cached yet')
  }
}

async function fromCacheOrNetwork (request: Request): Promise<Response> {
  return (await caches.match(request, { cacheName })) ?? await fetch(request)
}

worker.addEventListener('fetch', event => {
  const request = event.request
  const url = new URL(request.url)
  if (request.method !== 'GET' || url.origin !== location.origin) return
  if (request.mode === 'navigate') { event.respondWith(fromNetworkOrShell(request)); return }
  if (url.pathname.includes('/assets/') || url.pathname.endsWith('/manifest.webmanifest')) event.respondWith(fromCacheOrNetwork(request))
})

worker.addEventListener('notificationclick', event => {
  event.notification.close()
  const channel = (event.notification.data as { channel?: string } | null)?.channel
  const target = new URL(channel === undefined ? './' : `./#/c/${channel}`, location.href).href
  event.waitUntil((async () => {
    const open = await worker.clients.matchAll({ type: 'window' })
    const client = open[0]
    if (client !== undefined) { await client.focus(); await client.navigate(target); return }
    await worker.clients.openWindow(target)
  })())
})
