// The field app's files on the client API's listeners (node/web/static.ts, node/api/server.ts):
// served from a fixture directory in place of web/dist, with the right types and caching, and
// never anything outside it (encoded dots, backslashes, NUL, links that lead out), nor with
// methods other than GET and HEAD; the WebSocket API on the same port. The HTTPS listener with
// a certificate the node made (node/web/certificate.ts): served over TLS to a client that pins
// the fingerprint, the API only at /api, and plain HTTP to its port gets nothing.
import t, { type Test } from 'tap'
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { createHash, X509Certificate } from 'node:crypto'
import type { TLSSocket } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import WebSocket from 'ws'
import { crypto } from './helpers/fixtures.ts'
import { setup, user } from './helpers/api-node.ts'
import { silentLogger } from './helpers/net.ts'
import { within } from './helpers/wait.ts'
import { connectClient } from '../node/api/client.ts'
import { startClientApi } from '../node/api/server.ts'
import { createStaticSite, safePath } from '../node/web/static.ts'
import { ensureWebCertificate, loadWebCertificate, webKeyFileName } from '../node/web/certificate.ts'

const dir = mkdtempSync(join(tmpdir(), 'ddil-web-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

// The fixture: an app root with a page, a hashed script, a style sheet and a subdirectory; a secret beside it.
const root = join(dir, 'dist')
mkdirSync(join(root, 'assets'), { recursive: true })
const page = '<!doctype html><title>ddil</title><script type="module" src="/assets/app-7QX2K4ZB.js"></script>\n'
const script = `console.log(${JSON.stringify('x'.repeat(4000))})\n`
writeFileSync(join(root, 'index.html'), page)
writeFileSync(join(root, 'assets', 'app-7QX2K4ZB.js'), script)
writeFileSync(join(root, 'style.css'), 'body { color: #eee }\n')
writeFileSync(join(root, 'blob.bin'), Buffer.from([1, 2, 3]))
writeFileSync(join(dir, 'secret.txt'), 'operator password\n')
symlinkSync(join(dir, 'secret.txt'), join(root, 'link.txt'))

interface Got { status: number, headers: IncomingHttpHeaders, body: Buffer }

/** One raw HTTP request: the path goes on the wire exactly as given. */
function get (port: number, path: string, options: { method?: string, headers?: Record<string, string> } = {}): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers, agent: false }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }) })
    })
    req.on('error', reject)
    req.end()
  })
}

async function siteApi (t: Test, siteRoot = root): Promise<number> {
  const n = await setup(t)
  const api = await startClientApi({ port: 0, facade: n.facade, crypto, logger: silentLogger, site: createStaticSite({ root: siteRoot, logger: silentLogger }) })
  t.teardown(() => api.close())
  return api.address.port
}

t.test('the app: index at /, types, caching, revalidation, gzip, HEAD', async t => {
  const port = await siteApi(t)
  const index = await get(port, '/')
  t.equal(index.status, 200)
  t.equal(index.body.toString(), page)
  t.equal(index.headers['content-type'], 'text/html; charset=utf-8')
  t.equal(index.headers['cache-control'], 'no-cache', 'the page is revalidated: a new build is seen at once')
  t.match(index.headers['content-security-policy'], /default-src 'self'.*frame-ancestors 'none'/)
  t.equal(index.headers['x-content-type-options'], 'nosniff')
  t.equal(index.headers['x-frame-options'], 'DENY')
  t.equal((await get(port, '/index.html?v=2')).body.toString(), page, 'a query string is ignored')
  const again = await get(port, '/', { headers: { 'If-None-Match': String(index.headers.etag) } })
  t.equal(again.status, 304, 'unchanged: 304')
  t.equal(again.body.length, 0)
  const js = await get(port, '/assets/app-7QX2K4ZB.js')
  t.equal(js.headers['content-type'], 'text/javascript; charset=utf-8')
  t.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable', 'a content-hashed asset is cached for good')
  const zipped = await get(port, '/assets/app-7QX2K4ZB.js', { headers: { 'Accept-Encoding': 'br, gzip;q=0.8' } })
  t.equal(zipped.headers['content-encoding'], 'gzip')
  t.equal(zipped.headers.vary, 'Accept-Encoding')
  t.ok(zipped.body.length < script.length / 10, `compressed: ${zipped.body.length} of ${script.length} B`)
  t.equal(gunzipSync(zipped.body).toString(), script)
  t.equal((await get(port, '/assets/app-7QX2K4ZB.js', { headers: { 'Accept-Encoding': 'gzip;q=0' } })).headers['content-encoding'], undefined, 'q=0 means no')
  t.equal((await get(port, '/style.css')).headers['content-type'], 'text/css; charset=utf-8')
  t.equal((await get(port, '/blob.bin')).headers['content-type'], 'application/octet-stream', 'an unknown type is not guessed')
  const head = await get(port, '/style.css', { method: 'HEAD' })
  t.equal(head.status, 200)
  t.equal(head.headers['content-length'], '21')
  t.equal(head.body.length, 0)
})

t.test('nothing outside the root, however the path is spelled; no listings; GET and HEAD only', async t => {
  const port = await siteApi(t)
  const outside = ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt', '/assets/%2e%2e%2f%2e%2e%2fsecret.txt', '/..%5csecret.txt',
    '/assets\\..\\..\\secret.txt', '/./index.html', '//secret.txt', '/index.html%00.js', '/%ZZ', 'secret.txt', `/${'a/'.repeat(600)}`]
  for (const path of outside) {
    const r = await get(port, path)
    t.ok(r.status === 400 || r.status === 404, `${JSON.stringify(path.slice(0, 40))}: ${r.status}`)
    t.notOk(r.body.toString().includes('operator password'), 'and not the secret')
  }
  const link = await get(port, '/link.txt')
  t.equal(link.status, 404, 'a symbolic link that leads out of the root is not followed')
  t.notOk(link.body.toString().includes('operator password'))
  t.equal((await get(port, '/assets')).status, 404, 'a directory is not listed')
  t.equal((await get(port, '/assets/')).status, 404, 'nor is its index made up')
  t.equal((await get(port, '/nothing-here.js')).status, 404)
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE']) {
    const r = await get(port, '/', { method })
    t.equal(r.status, 405, `${method}: 405`)
    t.equal(r.headers.allow, 'GET, HEAD')
  }
  t.same(['/', '/a/b.js', '/a/'].map(safePath), ['index.html', 'a/b.js', 'a/index.html'])
  t.same(['/../x', '/a/../x', '/a/./x', '/a//x', '/%2E%2E/x', 'x', '/\u0000'].map(safePath), Array(7).fill(undefined))
})

t.test('the WebSocket API stays on the same port; a relay without a built app says how to build it', async t => {
  const port = await siteApi(t, join(dir, 'not-built'))
  const client = await connectClient({ url: `ws://127.0.0.1:${port}/api`, user, crypto })
  t.ok(await client.stamp(), 'the API answers on the app\'s port')
  await client.close()
  const missing = await get(port, '/')
  t.equal(missing.status, 404)
  t.match(missing.body.toString(), /npm run build:web/)
  const n = await setup(t)
  const bare = await startClientApi({ port: 0, facade: n.facade, crypto, logger: silentLogger })
  t.teardown(() => bare.close())
  t.equal((await get(bare.address.port, '/')).status, 426, 'no site: plain HTTP is told to upgrade')
})

t.test('the node\'s certificate: made once, ECDSA P-256, names localhost; a key others can read, or a foreign one, is refused', async t => {
  const data = mkdtempSync(join(dir, 'cert-'))
  const made = await ensureWebCertificate(data, { nowMs: Date.now(), hosts: ['localhost', '127.0.0.1', '::1', '192.0.2.7'] })
  t.ok(made.created)
  const x = new X509Certificate(made.certificate.cert)
  t.equal(x.fingerprint256, made.certificate.fingerprint)
  t.match(made.certificate.fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/)
  t.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1')
  t.match(x.subjectAltName, /DNS:localhost.*IP Address:127\.0\.0\.1.*IP Address:192\.0\.2\.7/)
  t.ok(x.verify(x.publicKey), 'self-signed')
  t.ok(Date.parse(x.validTo) - Date.now() > 800 * 86_400_000, 'valid for 825 days')
  const again = await ensureWebCertificate(data, { nowMs: Date.now() })
  t.notOk(again.created, 'kept on the next start')
  t.equal(again.certificate.fingerprint, made.certificate.fingerprint)
  const renewed = await ensureWebCertificate(data, { nowMs: Date.now() + 800 * 86_400_000 })
  t.ok(renewed.created, 'replaced when it is about to expire')
  t.not(renewed.certificate.fingerprint, made.certificate.fingerprint)
  const other = mkdtempSync(join(dir, 'cert-'))
  await ensureWebCertificate(other, { nowMs: Date.now() })
  await t.rejects(loadWebCertificate(join(data, 'web-cert.pem'), join(other, webKeyFileName), 'configured'), { code: 'ERR_CONFIG', message: /not the private key/ })
  const { chmodSync } = await import('node:fs')
  chmodSync(join(data, webKeyFileName), 0o644)
  await t.rejects(loadWebCertificate(join(data, 'web-cert.pem'), join(data, webKeyFileName), 'generated'), { code: 'ERR_CONFIG', message: /chmod 600/ })
})

t.test('HTTPS: the app and the API at /api over TLS with the node\'s certificate; plain HTTP to the port gets nothing', async t => {
  const data = mkdtempSync(join(dir, 'tls-'))
  const { certificate } = await ensureWebCertificate(data, { nowMs: Date.now(), hosts: ['localhost', '127.0.0.1'] })
  const n = await setup(t)
  const lan = await startClientApi({ port: 0, facade: n.facade, crypto, logger: silentLogger, site: createStaticSite({ root, logger: silentLogger }), tls: certificate, wsPath: '/api' })
  t.teardown(() => lan.close())
  const port = lan.address.port
  // A client that trusts nothing but the printed fingerprint.
  const pinned = (socket: TLSSocket): boolean => socket.getPeerX509Certificate()?.fingerprint256 === certificate.fingerprint
  const body = await new Promise<{ status: number, text: string, pinnedOk: boolean }>((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false, agent: false }, res => {
      let text = ''
      res.on('data', (c: Buffer) => { text += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, text, pinnedOk: pinned(res.socket as TLSSocket) }) })
    })
    req.on('error', reject)
    req.end()
  })
  t.ok(body.pinnedOk, 'the certificate served is the one whose fingerprint the node printed')
  t.equal(body.status, 200)
  t.equal(body.text, page)
  const wss = new WebSocket(`wss://127.0.0.1:${port}/api`, { rejectUnauthorized: false })
  const challenge = await within(new Promise<{ type: string, v: number }>((resolve, reject) => {
    wss.once('message', data => { resolve(JSON.parse(data.toString()) as { type: string, v: number }) })
    wss.once('error', reject)
  }), 'the challenge over wss')
  t.match(challenge, { type: 'challenge', v: 2 })
  t.ok(pinned((wss as unknown as { _socket: TLSSocket })._socket), 'the WebSocket is on the pinned certificate too')
  wss.close()
  const elsewhere = new WebSocket(`wss://127.0.0.1:${port}/somewhere`, { rejectUnauthorized: false })
  const refused = await within(new Promise<string>(resolve => { elsewhere.once('unexpected-response', (_req, res) => { resolve(String(res.statusCode)) }); elsewhere.once('error', (e) => { resolve(e.message) }) }), 'the refusal')
  t.match(refused, /400/, 'the API only at /api')
  const plain = await get(port, '/').then(r => `answered ${r.status}`, (e: NodeJS.ErrnoException) => e.code ?? e.message)
  t.match(plain, /ECONNRESET|EPROTO|HPE_|socket hang up/, `plain HTTP to the HTTPS port: ${plain}`)
  t.notOk(plain.startsWith('answered'), 'no page over plain HTTP')
  t.equal(createHash('sha256').update(new X509Certificate(certificate.cert).raw).digest('hex').toUpperCase().match(/../g)?.join(':'), certificate.fingerprint, 'the fingerprint is SHA-256 of the DER')
})

t.test('HTTPS: an authenticated wss client leaves admission (the TLS socket is the TCP socket\'s), a stranger does not; app requests leave it too', async t => {
  const data = mkdtempSync(join(dir, 'adm-'))
  const { certificate } = await ensureWebCertificate(data, { nowMs: Date.now(), hosts: ['127.0.0.1'] })
  const n = await setup(t)
  const limits = { clientPendingMax: 2, clientPressuredAuthTimeoutMs: 2000 }
  const lan = await startClientApi({ port: 0, facade: n.facade, crypto, logger: silentLogger, clock: n.clock, limits, site: createStaticSite({ root, logger: silentLogger }), tls: certificate, wsPath: '/api' })
  t.teardown(() => lan.close())
  const url = `wss://127.0.0.1:${lan.address.port}/api`
  const stranger = new WebSocket(url, { rejectUnauthorized: false })
  const strangerClosed = new Promise<void>(resolve => { stranger.once('close', () => { resolve() }) })
  stranger.on('error', () => {})
  await within(new Promise(resolve => { stranger.once('message', resolve) }), 'the stranger\'s challenge')
  const client = await connectClient({ url, user, crypto, pinSha256: certificate.fingerprint })
  const page = await pinnedPage(lan.address.port, certificate.fingerprint)
  t.equal(page, 200, 'an app request is served while the slots are under pressure')
  const until = n.clock.now + 2000
  for (let fn = n.clock.next(until); fn !== undefined; fn = n.clock.next(until)) fn()
  await within(strangerClosed, 'the silent stranger to be dropped under pressure')
  t.match(await client.stamp(), { ms: n.clock.nowMs() }, 'the authenticated client is not: its ticket was given back')
  await client.close()
})

async function pinnedPage (port: number, fingerprint: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false, agent: false }, res => {
      if ((res.socket as TLSSocket).getPeerX509Certificate()?.fingerprint256 !== fingerprint) reject(new Error('wrong certificate'))
      res.resume()
      res.on('end', () => { resolve(res.statusCode ?? 0) })
    })
    req.on('error', reject)
    req.end()
  })
}
