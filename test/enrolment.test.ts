// Enrolment codes (node/api/enrolment-code.ts, node/enrolment.ts) and the enrolled clients file
// (node/clients-file.ts): the code format and its normalisation, single use, expiry, the bound
// on open codes, hashes only at rest; the file's pinned version-1 fixture, strict decoding,
// atomic private writes.
import t from 'tap'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { crypto } from './helpers/fixtures.ts'
import { ManualClock } from './helpers/net.ts'
import { toHex, utf8 } from '../protocol/bytes.ts'
import { enrolmentCodeHashInput, formatEnrolmentCode, normaliseEnrolmentCode } from '../node/api/enrolment-code.ts'
import { EnrolmentCodes } from '../node/enrolment.ts'
import { clientsFileName, decodeClientsFile, encodeClientsFile, loadClientsFile, saveClientsFile } from '../node/clients-file.ts'
import { enrolmentCodesOpenMax, enrolmentTtlMsMax } from '../node/api/limits.ts'

const dir = mkdtempSync(join(tmpdir(), 'ddil-enrolment-'))
t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })

function codes (clock = new ManualClock(), options: { openMax?: number, rememberedMax?: number } = {}): { codes: EnrolmentCodes, clock: ManualClock, expired: string[] } {
  let n = 0
  const expired: string[] = []
  const c = new EnrolmentCodes({ clock, randomBytes: (len) => crypto.sha256(utf8(`codes/${++n}`)).slice(0, len), sha256: (b) => crypto.sha256(b), onExpired: (name) => { expired.push(name) }, ...options })
  return { codes: c, clock, expired }
}

function runUntil (clock: ManualClock, until: number): void {
  for (let fn = clock.next(until); fn !== undefined; fn = clock.next(until)) fn()
}

t.test('code format: Crockford base32, two groups of five; what people type is normalised', async t => {
  t.equal(formatEnrolmentCode(new Uint8Array(7)), '00000-00000')
  t.equal(formatEnrolmentCode(new Uint8Array(7).fill(255)), 'ZZZZZ-ZZZZZ')
  t.equal(formatEnrolmentCode(Uint8Array.of(0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde)), '28T5C-Y4TQK', 'the first 50 bits, five at a time')
  for (const typed of ['28T5C-Y4TQK', '28t5c-y4tqk', ' 28T5C Y4TQK ', '28T5CY4TQK']) t.equal(normaliseEnrolmentCode(typed), '28T5CY4TQK', JSON.stringify(typed))
  t.equal(normaliseEnrolmentCode('0I1LO-ooooo'), '01110' + '00000', 'O reads as 0, I and L as 1')
  for (const bad of ['', '28T5C-Y4TQ', '28T5C-Y4TQKK', '28T5C-Y4TQU', 'uuuuu-uuuuu', 'hello wor1d!', '28T5C_Y4TQK']) t.equal(normaliseEnrolmentCode(bad), undefined, `not a code: ${JSON.stringify(bad)}`)
  t.equal(toHex(enrolmentCodeHashInput('28T5CY4TQK')), toHex(utf8('ddil/v1/enrolment-code\n28T5CY4TQK')))
})

t.test('a code is single use, expires, and is kept only as a hash', async t => {
  const { codes: c, clock, expired } = codes()
  const { code, expiresAtMs } = c.issue({ name: 'Ana', ttlMs: 60_000 })
  t.match(code, /^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$/)
  t.equal(expiresAtMs, clock.nowMs() + 60_000)
  const found = c.check(code.toLowerCase())
  t.match(found, { ok: true, name: 'Ana' }, 'typed in lower case, it is found')
  t.equal(found.ok && found.key, toHex(crypto.sha256(enrolmentCodeHashInput(normaliseEnrolmentCode(code) as string))), 'found by the hash of the normalised code')
  t.same(c.check('00000-00000'), { ok: false, reason: 'unknown' })
  t.same(c.check('nonsense'), { ok: false, reason: 'malformed' })
  if (found.ok) c.spend(found.key)
  t.same(c.check(code), { ok: false, reason: 'spent' }, 'a second use is refused as reuse')
  t.equal(c.openCount, 0)

  const late = c.issue({ name: 'Bo', ttlMs: 1000 })
  clock.now += 999
  runUntil(clock, clock.now)
  t.match(c.check(late.code), { ok: true }, 'valid until its time is up')
  clock.now += 1
  runUntil(clock, clock.now)
  t.same(c.check(late.code), { ok: false, reason: 'expired' })
  t.same(expired, ['Bo'], 'expiry is reported once, for the audit log')

  const unexpiredTimer = c.issue({ name: 'Cy', ttlMs: 5000 })
  clock.now += 5000 // time passed, but the timer has not run yet: the check itself sees the expiry
  t.same(c.check(unexpiredTimer.code), { ok: false, reason: 'expired' })
  t.same(expired, ['Bo', 'Cy'])
})

t.test('spend then unspend: a code whose enrolment failed can be used again, unless it expired meanwhile', async t => {
  const { codes: c, clock } = codes()
  const { code } = c.issue({ name: '', ttlMs: 10_000 })
  const found = c.check(code)
  if (!found.ok) throw new Error('not found')
  c.spend(found.key)
  c.unspend(found.key)
  t.match(c.check(code), { ok: true })
  c.spend(found.key)
  clock.now += 10_000
  c.unspend(found.key)
  t.same(c.check(code), { ok: false, reason: 'spent' }, 'too late to give it back')
})

t.test('open codes are bounded; ttl is bounded; used-up codes are forgotten oldest first', async t => {
  const { codes: c } = codes(new ManualClock(), { rememberedMax: 2 })
  const issued = Array.from({ length: enrolmentCodesOpenMax }, (_, i) => c.issue({ name: `n${i}`, ttlMs: 60_000 }))
  t.throws(() => c.issue({ name: 'one more', ttlMs: 60_000 }), { code: 'ERR_LIMIT' }, `at most ${enrolmentCodesOpenMax} open`)
  t.throws(() => c.issue({ name: '', ttlMs: enrolmentTtlMsMax + 1 }), { code: 'ERR_LIMIT' })
  t.throws(() => c.issue({ name: '', ttlMs: 0 }), { code: 'ERR_LIMIT' })
  for (const { code } of issued.slice(0, 3)) {
    const f = c.check(code)
    if (f.ok) c.spend(f.key)
  }
  t.same(c.check(issued[0].code), { ok: false, reason: 'unknown' }, 'the oldest used-up code was forgotten')
  t.same(c.check(issued[2].code), { ok: false, reason: 'spent' })
  t.match(c.issue({ name: 'room again', ttlMs: 60_000 }), { code: /-/ }, 'spending made room')
  c.close()
})

// ---- The enrolled clients file ----------------------------------------------------------

const fixture = readFileSync(new URL('./fixtures/clients-v1.json', import.meta.url), 'utf8')

t.test('clients.json version 1: the pinned fixture reads, and re-encodes byte for byte', async t => {
  const clients = decodeClientsFile(fixture)
  t.equal(clients.length, 2)
  t.match(clients[0], { name: 'Ana (medic)', enrolledAtMs: 1795348800000 })
  t.notOk('revokedAtMs' in clients[0])
  t.match(clients[1], { name: 'lost tablet', revokedAtMs: 1795352400000 })
  t.equal(toHex(clients[0].publicKey), toHex(crypto.ed25519KeyPair(new Uint8Array(32).fill(0x31)).publicKey))
  t.equal(toHex(clients[0].xPublicKey), toHex(crypto.x25519KeyPair(new Uint8Array(32).fill(0x41)).publicKey))
  t.equal(encodeClientsFile(clients), fixture)
  t.equal(encodeClientsFile([]), '{"version":1,"clients":[]}\n')
})

t.test('clients.json: anything but the version-1 grammar is refused, saying what', async t => {
  const [a] = decodeClientsFile(fixture)
  const line = fixture.split('\n')[1].replace(/,$/, '')
  const key = JSON.parse(line).publicKey as string
  const file = (entries: string[]): string => `{"version":1,"clients":[${entries.join(',')}]}`
  const cases: Array<[string, string, RegExp]> = [
    ['not JSON', '{"version":1,', /not JSON/],
    ['another version', '{"version":2,"clients":[]}', /format version 2/],
    ['an unknown top-level key', '{"version":1,"clients":[],"extra":1}', /unexpected key "extra"/],
    ['an unknown entry key', file([line.replace('}', ',"role":"admin"}')]), /unexpected key "role"/],
    ['a key with a flipped character', file([line.replace(key, key.slice(0, 20) + (key[20] === 'A' ? 'B' : 'A') + key.slice(21))]), /checksum|valid user key/],
    ['a node id for a key', file([line.replace(key, '12D3KooWAbc')]), /node id/],
    ['a name with a control character', file([line.replace('Ana (medic)', 'Ana\\u001b[2J')]), /control/],
    ['an empty name', file([line.replace('Ana (medic)', '')]), /empty/],
    ['a fractional time', file([line.replace('1795348800000', '1.5')]), /not a time/],
    ['the same key twice', file([line, line]), /listed twice/],
  ]
  for (const [what, text, message] of cases) t.throws(() => decodeClientsFile(text), { code: 'ERR_CONFIG', message }, what)
  t.throws(() => encodeClientsFile([{ ...a, name: '\n' }]), { code: 'ERR_CONFIG' }, 'and never writes what it would refuse')
})

t.test('clients.json on disk: missing is empty, written atomically with mode 0600, refused when others can read it', async t => {
  const data = mkdtempSync(join(dir, 'data-'))
  t.same(await loadClientsFile(data), [], 'no file yet: nobody enrolled')
  const clients = decodeClientsFile(fixture)
  await saveClientsFile(data, clients)
  const path = join(data, clientsFileName)
  t.equal(statSync(path).mode & 0o777, 0o600)
  t.equal(readFileSync(path, 'utf8'), fixture)
  t.same(await loadClientsFile(data), clients)
  chmodSync(path, 0o644)
  await t.rejects(loadClientsFile(data), { code: 'ERR_CONFIG', message: /chmod 600/ })
  chmodSync(path, 0o600)
  writeFileSync(path, 'x'.repeat(200 * 1024), { mode: 0o600 })
  await t.rejects(loadClientsFile(data), { code: 'ERR_CONFIG', message: /more than/ })
})
