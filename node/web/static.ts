/**
 * The field app's files (web/dist, built by `npm run build:web`) over HTTP, for the client
 * API's listeners: GET and HEAD only, `/` is index.html, files only (no directory listing),
 * nothing outside the root however the path is spelled (encoded dots and slashes, `..`,
 * backslashes, NUL, symbolic links that lead out), the right content type, immutable caching
 * for content-hashed assets and revalidation (ETag) for the rest, gzip for text when the
 * browser takes it (compressed once per file version, kept in a bounded cache), and headers
 * that keep the page from being framed or sniffed, with a content security policy that lets
 * it load only from its own origin.
 *
 * @example
 * const site = createStaticSite({ root: '/opt/ddil/web/dist', logger })
 * createServer((req, res) => { site(req, res) })
 */
import { readFile, realpath, stat } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { extname, join, sep } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Logger } from '../../protocol/ports.ts'
import { webCompressedCacheBytesMax, webFileBytesMax, webPathCharsMax } from '../api/limits.ts'

export type StaticSite = (req: IncomingMessage, res: ServerResponse) => void

export interface StaticSiteOptions {
  /** Directory of the built app. Need not exist yet: requests then get a 404 saying how to build it. */
  root: string
  logger: Logger
}

const contentTypes: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
}

/** Types worth compressing (the rest are compressed already, or tiny). */
const compressible = new Set(['.html', '.js', '.mjs', '.css', '.json', '.map', '.webmanifest', '.txt', '.svg'])

/** esbuild's `[name]-[hash]` file names: content-addressed, so cacheable for ever. */
const hashedName = /-[A-Z0-9]{8,}\.[a-z0-9]+$/i

/**
 * Only what the app needs, and only from the relay it came from: its own scripts and styles,
 * images from itself or data:/blob: URLs (QR codes), media from blob: URLs (the camera that
 * scans a key), the API WebSocket on its own origin. The app's index.html carries the same
 * policy in a meta tag; a browser enforces both.
 */
export const contentSecurityPolicy = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:", "media-src 'self' blob:", "connect-src 'self'",
  "worker-src 'self'", "manifest-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'none'", "frame-ancestors 'none'",
].join('; ')

const securityHeaders: Readonly<Record<string, string>> = {
  'Content-Security-Policy': contentSecurityPolicy,
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
}

interface Found { path: string, size: number, mtimeMs: number }

export function createStaticSite (options: StaticSiteOptions): StaticSite {
  const gzipped = new BoundedCache(webCompressedCacheBytesMax)
  let realRoot: string | undefined
  const rootReal = async (): Promise<string | undefined> => {
    realRoot ??= await realpath(options.root).catch(() => undefined)
    return realRoot
  }
  return (req, res) => {
    serve(req, res, options, rootReal, gzipped).catch((e: unknown) => {
      options.logger.error({ err: (e as Error).message, url: req.url?.slice(0, 200) }, 'serving an app file failed')
      if (!res.headersSent) reply(res, 500, 'the relay could not read that file')
      else res.destroy()
    })
  }
}

async function serve (req: IncomingMessage, res: ServerResponse, options: StaticSiteOptions, rootReal: () => Promise<string | undefined>, gzipped: BoundedCache): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') { reply(res, 405, 'only GET and HEAD', { Allow: 'GET, HEAD' }); return }
  const relative = safePath(req.url ?? '')
  if (relative === undefined) { reply(res, 400, 'bad path'); return }
  const root = await rootReal()
  if (root === undefined) {
    reply(res, 404, 'the field app is not built on this relay: run "npm run build:web" in the ddil checkout (npm install does it), then reload')
    return
  }
  const found = await findFile(root, relative)
  if (found === undefined) { reply(res, 404, 'not found'); return }
  const ext = extname(found.path).toLowerCase()
  const etag = `W/"${found.size.toString(36)}-${Math.floor(found.mtimeMs).toString(36)}"`
  const headers: Record<string, string> = {
    ...securityHeaders,
    'Content-Type': contentTypes[ext] ?? 'application/octet-stream',
    'Cache-Control': hashedName.test(found.path) ? 'public, max-age=31536000, immutable' : 'no-cache',
    ETag: etag,
  }
  if (compressible.has(ext)) headers.Vary = 'Accept-Encoding'
  if (req.headers['if-none-match'] === etag) { res.writeHead(304, headers); res.end(); return }
  let body: Buffer = await readFile(found.path)
  if (compressible.has(ext) && acceptsGzip(req.headers['accept-encoding'])) {
    body = gzipped.get(`${found.path}\0${etag}`, () => gzipSync(body))
    headers['Content-Encoding'] = 'gzip'
  }
  headers['Content-Length'] = String(body.length)
  res.writeHead(200, headers)
  res.end(req.method === 'HEAD' ? undefined : body)
}

/**
 * The request path relative to the root, or undefined when it could name anything outside
 * it: decoded once, then refused if it holds NUL, a backslash, or a `.` or `..` segment.
 * The query string is ignored; `/` and a path ending in `/` mean index.html there.
 */
export function safePath (url: string): string | undefined {
  if (url.length > webPathCharsMax || !url.startsWith('/')) return undefined
  const pathname = url.split(/[?#]/, 1)[0]
  let decoded: string
  try { decoded = decodeURIComponent(pathname) } catch { return undefined }
  if (/[\0\\]/.test(decoded)) return undefined
  const segments = decoded.split('/').slice(1)
  if (segments.some((s, i) => s === '.' || s === '..' || (s === '' && i < segments.length - 1))) return undefined
  if (segments[segments.length - 1] === '') segments[segments.length - 1] = 'index.html'
  return segments.join('/')
}

/** The regular file at `relative` under `root`, if it really is inside `root` once links are followed. */
async function findFile (root: string, relative: string): Promise<Found | undefined> {
  const candidate = join(root, ...relative.split('/'))
  const real = await realpath(candidate).catch(() => undefined)
  if (real === undefined || !real.startsWith(root + sep)) return undefined
  const stats = await stat(real).catch(() => undefined)
  if (stats === undefined || !stats.isFile() || stats.size > webFileBytesMax) return undefined
  return { path: real, size: stats.size, mtimeMs: stats.mtimeMs }
}

/** Whether Accept-Encoding lists gzip with a q above 0. */
function acceptsGzip (header: string | undefined): boolean {
  return (header ?? '').split(',').some(part => {
    const [coding, ...params] = part.split(';').map(p => p.trim().toLowerCase())
    const q = params.find(p => p.startsWith('q='))
    return coding === 'gzip' && (q === undefined || Number(q.slice(2)) > 0)
  })
}

function reply (res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  const body = `${text}\n`
  res.writeHead(status, { ...securityHeaders, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), 'Cache-Control': 'no-store', ...extra })
  res.end(body)
}

/** Compressed bodies by key, up to `bytesMax` in all; the least recently used go first. */
class BoundedCache {
  readonly #bytesMax: number
  readonly #items = new Map<string, Buffer>()
  #bytes = 0
  constructor (bytesMax: number) { this.#bytesMax = bytesMax }

  get (key: string, make: () => Buffer): Buffer {
    const known = this.#items.get(key)
    if (known !== undefined) {
      this.#items.delete(key)
      this.#items.set(key, known)
      return known
    }
    const value = make()
    if (value.length > this.#bytesMax) return value
    this.#items.set(key, value)
    this.#bytes += value.length
    for (const [k, v] of this.#items) {
      if (this.#bytes <= this.#bytesMax) break
      this.#items.delete(k)
      this.#bytes -= v.length
    }
    return value
  }
}
