// Issue 21 through the real interfaces: a real `ddil start` relay with its HTTPS listener on,
// the real `ddil enrol`, `ddil clients`, `ddil channel add`, `ddil status` and `ddil configtest`
// commands, and devices that are Node clients of the client API (the app's protocol), one of
// them over wss:// pinned to the fingerprint `ddil start` printed. Covers: enrolment with a
// code, and with a wrong, an expired and a reused one; revocation ending a live session and
// refusing the key after; the channel list; an operator-only request by a device refused; the
// app's files served over HTTPS (a Node https client pinned to the fingerprint) and over
// loopback HTTP, and nothing over plain HTTP on the HTTPS port.
import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { once } from 'node:events'
import { join } from 'node:path'
import { Relay, cleanupRelays, crypto, root, waitFor } from './helpers/relays.ts'
import { ddil } from './helpers/cli.ts'
import { within } from './helpers/wait.ts'
import { connectClient, type ConnectOptions } from '../node/api/client.ts'
import { wireCodeOf } from '../node/api/errors.ts'
import { createUserIdentity } from '../node/user-identity.ts'
import { toHex } from '../protocol/bytes.ts'
import { createChannel } from '../protocol/channel/builders.ts'
import { defaultPolicy } from '../protocol/channel/client.ts'

/** A SHA-256 fingerprint that is certainly not `fp` (its first byte changed). */
const otherThan = (fp: string): string => (fp.startsWith('00') ? 'ff' : '00') + fp.slice(2)

t.teardown(cleanupRelays)

const appRoot = join(root, 'app-dist')
mkdirSync(appRoot, { recursive: true })
const page = '<!doctype html><title>ddil field app (fixture)</title>\n'
writeFileSync(join(appRoot, 'index.html'), page)

let relay: Relay
let fingerprint = ''
t.before(async () => {
  relay = await Relay.init('enrol-a')
  relay.writeConfig({ authors: [], authorKeys: ['enrolled'], web: true, webRoot: appRoot })
  await relay.start()
  fingerprint = /^certificate: SHA-256 ([0-9A-F:]{95})$/m.exec(relay.output)?.[1] ?? ''
})
t.teardown(() => relay.kill('SIGTERM'))

interface Enrolment { code: string, expiresAtMs: number, urls: string[], fingerprint: string | null }

async function enrol (...args: string[]): Promise<Enrolment> {
  const r = await ddil(['enrol', '--json', '--data', relay.dataDir, ...args])
  if (r.code !== 0) throw new Error(`ddil enrol exited ${r.code}: ${r.stderr}`)
  return JSON.parse(r.stdout) as Enrolment
}

function device (): ReturnType<typeof createUserIdentity> { return createUserIdentity(crypto) }

function deviceOptions (d: ReturnType<typeof createUserIdentity>, code?: string, over: 'loopback' | 'https' = 'loopback'): ConnectOptions {
  const url = over === 'https' ? `wss://127.0.0.1:${relay.webPort}/api` : `ws://127.0.0.1:${relay.apiPort}/api`
  return {
    url, user: d.ed25519, crypto, ...(over === 'https' ? { pinSha256: fingerprint } : {}),
    ...(code !== undefined ? { enrol: { code, xPublicKey: d.x25519.publicKey, name: 'field phone' } } : {}),
  }
}

async function refused (p: Promise<unknown>): Promise<{ code: string, message: string }> {
  const e = await p.then(() => undefined, (err: unknown) => err)
  if (e === undefined) throw new Error('expected a refusal')
  return { code: wireCodeOf(e as never), message: (e as Error).message }
}

/** A GET over TLS that trusts nothing but the fingerprint: checked before the request is written. */
async function pinnedGet (port: number, path: string, pin: string): Promise<{ status: number, body: string }> {
  const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false })
  await once(socket, 'secureConnect')
  const served = socket.getPeerX509Certificate()?.fingerprint256
  if (served !== pin) { socket.destroy(); throw new Error(`certificate ${served} is not the pinned ${pin}`) }
  return await new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, path, createConnection: () => socket }, res => {
      let body = ''
      res.on('data', (c: Buffer) => { body += c.toString() })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

t.test('ddil start prints the HTTPS address and fingerprint; status reports the same; configtest describes the listener', async t => {
  t.match(fingerprint, /^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, 'ddil start printed the certificate\'s SHA-256')
  t.match(relay.output, new RegExp(`HTTPS: +https://127\\.0\\.0\\.1:${relay.webPort}/`))
  t.match(relay.output, new RegExp(`field app: +http://127\\.0\\.0\\.1:${relay.apiPort}/`))
  const human = await ddil(['status', '--data', relay.dataDir])
  t.match(human.stdout, `https:     127.0.0.1:${relay.webPort}, certificate SHA-256 ${fingerprint}`)
  const status = await ddil(['status', '--json', '--data', relay.dataDir])
  t.equal(status.code, 0, status.stderr)
  t.same((JSON.parse(status.stdout) as { web: unknown }).web, { listen: `127.0.0.1:${relay.webPort}`, fingerprint })
  const check = await ddil(['configtest', '--data', relay.dataDir])
  t.equal(check.code, 0, check.stderr)
  t.match(check.stdout, new RegExp(`Serve the field app \\(from ${appRoot.replace(/[/.]/g, '\\$&')}\\) and the client API \\(at /api\\) over HTTPS on https://127\\.0\\.0\\.1:${relay.webPort}/ \\(this machine only\\), with the relay's own self-signed certificate`))
  t.match(check.stdout, /warning: web\.listen 127\.0\.0\.1:\d+ is on loopback/)
})

t.test('the app over HTTPS with the generated certificate (pinned), over loopback HTTP, and not over plain HTTP on the HTTPS port', async t => {
  const https = await pinnedGet(relay.webPort, '/', fingerprint)
  t.equal(https.status, 200)
  t.equal(https.body, page)
  await t.rejects(pinnedGet(relay.webPort, '/', otherThan(fingerprint)), /is not the pinned/, 'a client pinned to another fingerprint gets nothing')
  const plain = await new Promise<string>((resolve) => {
    httpRequest({ host: '127.0.0.1', port: relay.webPort, path: '/', agent: false }, res => { resolve(`answered ${res.statusCode}`) })
      .on('error', (e: NodeJS.ErrnoException) => { resolve(e.code ?? e.message) }).end()
  })
  t.notOk(plain.startsWith('answered'), `plain HTTP to the HTTPS port is not answered (${plain})`)
  const local = await new Promise<string>((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port: relay.apiPort, path: '/', agent: false }, res => { let b = ''; res.on('data', (c: Buffer) => { b += c.toString() }); res.on('end', () => { resolve(b) }) }).on('error', reject).end()
  })
  t.equal(local, page, 'http://localhost:<api port>/ serves the app on the relay\'s own machine')
})

t.test('enrol: a device gets in with the code ddil enrol printed, over wss pinned to the fingerprint', async t => {
  const e = await enrol('--name', 'Ana (medic)')
  t.match(e.code, /^[0-9A-Z]{5}-[0-9A-Z]{5}$/)
  t.equal(e.fingerprint, fingerprint, 'ddil enrol prints the same fingerprint')
  t.same(e.urls, [`https://127.0.0.1:${relay.webPort}/#enrol=${e.code}`], 'the URL carries the code in its fragment')
  const phone = device()
  const client = await connectClient(deviceOptions(phone, e.code, 'https'))
  t.ok(await client.stamp(), 'enrolled and authenticated over HTTPS')
  await client.close()
  const again = await connectClient(deviceOptions(phone))
  t.ok(await again.stamp(), 'and later without a code, on loopback too')
  await again.close()
  const listed = await ddil(['clients', 'list', '--data', relay.dataDir])
  t.equal(listed.code, 0, listed.stderr)
  t.match(listed.stdout, `${phone.publicKey}  Ana (medic)  (enrolled `)
  await t.rejects(connectClient({ ...deviceOptions(device(), (await enrol()).code, 'https'), pinSha256: otherThan(fingerprint) }), /not the one pinned/, 'a wrong pin: nothing is sent')
})

t.test('enrol: a wrong, an expired and a reused code are refused with ERR_AUTH, and audited', async t => {
  const wrong = await refused(connectClient(deviceOptions(device(), '00000-00000')))
  t.match(wrong, { code: 'ERR_AUTH', message: /did not issue/ })
  const used = await enrol()
  await (await connectClient(deviceOptions(device(), used.code))).close()
  t.match(await refused(connectClient(deviceOptions(device(), used.code))), { code: 'ERR_AUTH', message: /used already/ }, 'reused')
  const short = await enrol('--ttl', '1s')
  await waitFor('the code to expire', () => Date.now() > short.expiresAtMs + 50 ? true : undefined)
  const late = device()
  t.match(await refused(connectClient(deviceOptions(late, short.code))), { code: 'ERR_AUTH', message: /expired/ }, 'expired')
  t.match(await refused(connectClient(deviceOptions(late))), { code: 'ERR_AUTH', message: /not allowed/ }, 'and that device is not let in')
  const wanted = ['enrolment.issued', 'client.enrolled', 'enrolment.refused', 'enrolment.expired']
  const exported = await waitFor('the enrolment events in the audit log', async () => {
    const r = await ddil(['audit', 'export', '--data', relay.dataDir])
    const kinds = r.stdout.split('\n').filter(l => l !== '').map(l => (JSON.parse(l) as { what: string }).what)
    return wanted.every(w => kinds.includes(w)) ? r.stdout : undefined
  })
  t.pass(`the audit log has ${wanted.join(', ')}`)
  t.notOk(exported.includes(used.code) || exported.includes(short.code), 'and never a code')
})

t.test('a device sees its channels; asking for what only the operator may is refused', async t => {
  const phone = device()
  const client = await connectClient(deviceOptions(phone, (await enrol()).code))
  t.same(await client.channels(), [])
  const created = await ddil(['channel', 'create', 'ops', '--data', relay.dataDir])
  t.equal(created.code, 0, created.stderr)
  const ref = /reference ([0-9a-f]{16})/.exec(created.stdout)?.[1] ?? ''
  const added = await ddil(['channel', 'add', 'ops', phone.publicKey, '--role', 'admin', '--data', relay.dataDir])
  t.equal(added.code, 0, added.stderr)
  const list = await waitFor('the channel in the device\'s list', async () => { const l = await client.channels(); return l.length > 0 ? l : undefined })
  t.same(list.map(c => ({ channel: toHex(c.channel), role: c.role, members: c.members })), [{ channel: ref, role: 'admin', members: 2 }])
  t.match(await refused(client.issueEnrolment({ name: '', ttlMs: 60_000 })), { code: 'ERR_UNAUTHORISED', message: /operator/ }, 'a device cannot issue codes')
  t.match(await refused(client.clientList()), { code: 'ERR_UNAUTHORISED' })
  t.match(await refused(client.revokeClient(relay.user.ed25519.publicKey)), { code: 'ERR_UNAUTHORISED' })
  await client.close()
})

t.test('ddil clients revoke: the live session ends at once, and the key cannot authenticate or enrol again', async t => {
  const phone = device()
  const client = await connectClient(deviceOptions(phone, (await enrol()).code, 'https'))
  const revoke = await ddil(['clients', 'revoke', phone.publicKey, '--data', relay.dataDir])
  t.equal(revoke.code, 0, revoke.stderr)
  t.match(revoke.stdout, /revoked ddil1:.*sessions have ended/)
  t.same(await within(client.closed, 'the revoked session to end'), { code: 1008, reason: 'revoked' })
  t.match(await refused(connectClient(deviceOptions(phone))), { code: 'ERR_AUTH', message: /not allowed/ })
  t.match(await refused(connectClient(deviceOptions(phone, (await enrol()).code))), { code: 'ERR_AUTH', message: /revoked/ })
  t.match((await ddil(['clients', 'list', '--data', relay.dataDir])).stdout, new RegExp(`${phone.publicKey.replace(/[-]/g, '\\-')}  field phone  \\(enrolled .*, REVOKED `))
  const own = await ddil(['clients', 'revoke', relay.user.publicKey, '--data', relay.dataDir])
  t.equal(own.code, 2, 'the operator\'s own key: bad usage')
  t.match(own.stderr, /operator's own key/)
  const garbage = await ddil(['clients', 'revoke', 'ddil1:nonsense', '--data', relay.dataDir])
  t.equal(garbage.code, 2)
  t.match(garbage.stderr, /is not a user key/)
})

t.test('authors.allow: enrolled lets a device enrolled here create channels this relay carries, and nobody else', async t => {
  const phone = device()
  const client = await connectClient(deviceOptions(phone, (await enrol()).code))
  const genesis = (who: ReturnType<typeof device>, hlc: { ms: number, c: number }) => createChannel(crypto, { ed25519: who.ed25519, x25519: who.x25519 }, defaultPolicy, crypto.sha256(who.ed25519.publicKey).slice(0, 16), hlc)
  const mine = genesis(phone, await client.stamp())
  t.same((await client.submit(mine.bytes)).id, mine.id, 'the enrolled device\'s channel is carried')
  const stranger = device() // never enrolled here
  const operator = await relay.client()
  await t.rejects(operator.submit(genesis(stranger, await operator.stamp()).bytes), { code: 'ERR_UNAUTHORISED' }, 'a channel created by a key not enrolled here is refused, whoever submits it')
  await operator.close(); await client.close()
})
