// Keys at rest under a passphrase (node/protected-key.ts, node/key-files.ts, node/passphrase.ts):
// pinned vectors both ways, checked once against a derivation written out here; every refusal
// (wrong passphrase, tampered header or ciphertext, truncation, weakened or huge cost) is a
// typed error, never a crash; loaders refuse a protected key with no passphrase source.
import t from 'tap'
import { createCipheriv, scryptSync } from 'node:crypto'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { decodeProtectedKey, encodeProtectedKey, isProtectedKey, openKey, sealKey, type KeyFileName } from '../node/protected-key.ts'
import { createPassphrases, noPassphrases } from '../node/passphrase.ts'
import { keyWarnings, protectedNodePublicKey, unlockKeyBytes, type KeyAccess } from '../node/key-files.ts'
import { createUserIdentityFile, loadUserIdentity, loadUserPublicKey } from '../node/user-identity.ts'
import { loadOrCreateNodeKey } from '../node/p2p/identity.ts'
import { protectKeys, unprotectKeys } from '../node/key-management.ts'
import { passphraseCharsMin, scryptLog2NMin } from '../protocol/limits.ts'

interface Accept { name: string, passphrase: string, contains: KeyFileName, publicKey: string, log2N: number, salt: string, nonce: string, plaintext: string, text: string }
interface Reject { name: string, passphrase?: string, text: string, code: string, why: string }
const vectors = JSON.parse(readFileSync(new URL('./vectors/protected-key.json', import.meta.url), 'utf8')) as { accept: Accept[], reject: Reject[] }
const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'hex'))

const root = mkdtempSync(join(tmpdir(), 'ddil-keys-'))
t.teardown(() => rmSync(root, { recursive: true, force: true }))
let dirs = 0
const freshDir = (): string => { const dir = join(root, `d${dirs++}`); mkdirSync(dir, { mode: 0o700 }); return dir }

/** The cheapest cost readers accept: these tests check behaviour, not strength. */
const cheap: KeyAccess = { scryptLog2N: scryptLog2NMin }
const passphrase = 'correct horse battery staple'
const env = { DDIL_PASSPHRASE: passphrase }

t.test('pinned vectors seal and open both ways', async t => {
  t.ok(vectors.accept.length >= 2 && vectors.reject.length >= 15)
  for (const v of vectors.accept) {
    const text = sealKey(hex(v.plaintext), v.passphrase, { contains: v.contains, publicKey: v.publicKey, salt: hex(v.salt), nonce: hex(v.nonce), log2N: v.log2N })
    t.equal(text, v.text, `${v.name}: sealed text`)
    const decoded = decodeProtectedKey(v.text, v.name)
    t.equal(encodeProtectedKey(decoded), v.text, `${v.name}: decode then encode gives the same text`)
    t.same(openKey(decoded, v.passphrase, v.name), hex(v.plaintext), `${v.name}: opens`)
  }
  // The same passphrase typed as decomposed characters (another keyboard) opens it: NFC.
  const v = vectors.accept[1]
  t.same(openKey(decodeProtectedKey(v.text, 'nfd'), v.passphrase.normalize('NFD'), 'nfd'), hex(v.plaintext), 'NFD input opens an NFC-sealed key')
})

t.test('the first vector, derived step by step without node/protected-key.ts', async t => {
  const v = vectors.accept[0]
  const file = JSON.parse(v.text) as Record<string, unknown>
  const { ciphertext, ...header } = file
  const key = scryptSync(v.passphrase, hex(v.salt), 32, { N: 2 ** v.log2N, r: 8, p: 1 })
  const cipher = createCipheriv('aes-256-gcm', key, hex(v.nonce)).setAAD(Buffer.from(JSON.stringify(header)))
  const expected = Buffer.concat([cipher.update(hex(v.plaintext)), cipher.final(), cipher.getAuthTag()]).toString('base64url')
  t.equal(ciphertext, expected)
})

t.test('every rejected vector is a typed error, none a crash', async t => {
  for (const v of vectors.reject) {
    t.throws(() => openKey(decodeProtectedKey(v.text, 'key.file'), v.passphrase ?? vectors.accept[0].passphrase, 'key.file'), { code: v.code, message: v.why }, v.name)
  }
  const text = vectors.accept[0].text
  for (let n = 0; n < text.length - 1; n += 7) t.throws(() => decodeProtectedKey(text.slice(0, n), 'cut'), { code: 'ERR_CONFIG' }, `cut at ${n}`)
})

t.test('plain key files are not mistaken for protected ones', async t => {
  t.notOk(isProtectedKey(new Uint8Array([0x08, 0x01, 0x12, 0x40])), 'libp2p protobuf')
  t.notOk(isProtectedKey(Buffer.from('{"type":"ddil-user-key","version":1}')), 'plain user.key')
  t.ok(isProtectedKey(Buffer.from('{\n  "type": "ddil-protected-key",\n  "vers')), 'a truncated protected key is still one, and is reported as truncated')
  t.ok(isProtectedKey(Buffer.from(vectors.accept[0].text)))
})

t.test('passphrase sources: file first, then DDIL_PASSPHRASE, then the prompt, asked once', async t => {
  const file = join(root, 'pass')
  writeFileSync(file, 'from the file 123\n', { mode: 0o600 })
  t.equal(await createPassphrases({ file, env }).unlock('k'), 'from the file 123', '--passphrase-file wins, newline dropped')
  t.equal(await createPassphrases({ env: { ...env, DDIL_PASSPHRASE_FILE: file } }).unlock('k'), 'from the file 123', 'DDIL_PASSPHRASE_FILE before DDIL_PASSPHRASE')
  t.equal(await createPassphrases({ env }).unlock('k'), passphrase)
  let asked = 0
  const prompted = createPassphrases({ env: {}, prompt: async () => { asked++; return 'typed passphrase' } })
  t.equal(await prompted.unlock('node.key'), 'typed passphrase')
  t.equal(await prompted.unlock('user.key'), 'typed passphrase')
  t.equal(asked, 1, 'one prompt serves the whole command')
  chmodSync(file, 0o644)
  await t.rejects(createPassphrases({ file, env }).unlock('k'), { code: 'ERR_CONFIG', message: /chmod 600/ }, 'a passphrase file others can read is refused')
  await t.rejects(createPassphrases({ env: {} }).unlock('/d/user.key'), { code: 'ERR_CONFIG', message: /\/d\/user.key needs a passphrase.*--passphrase-file.*DDIL_PASSPHRASE/ }, 'no source and no terminal: says how to give one')
})

t.test('a new passphrase: long enough, typed the same twice', async t => {
  await t.rejects(createPassphrases({ env: { DDIL_PASSPHRASE: 'x'.repeat(passphraseCharsMin - 1) } }).choose('k'), { code: 'ERR_CONFIG', message: /shorter than/ })
  const answers = ['first passphrase', 'second passphrase']
  await t.rejects(createPassphrases({ env: {}, prompt: async () => answers.shift() ?? '' }).choose('k'), { code: 'ERR_CONFIG', message: /differ/ })
  const same = createPassphrases({ env: {}, prompt: async () => 'twice the same' })
  t.equal(await same.choose('k'), 'twice the same')
})

t.test('loaders unlock protected keys, and refuse them without a passphrase source', async t => {
  const dir = freshDir()
  const keys = { ...cheap, passphrases: createPassphrases({ env }), protectWith: passphrase }
  const me = await createUserIdentityFile(dir, undefined, keys)
  const node = await loadOrCreateNodeKey(dir, keys)
  for (const f of ['user.key', 'node.key']) {
    t.ok(isProtectedKey(readFileSync(join(dir, f))), `${f} written protected`)
    t.equal(statSync(join(dir, f)).mode & 0o777, 0o600, `${f} 0600`)
  }
  t.equal((await loadUserIdentity(dir, undefined, keys)).publicKey, me.publicKey)
  t.same((await loadOrCreateNodeKey(dir, keys)).raw, node.raw)
  t.equal((await loadUserPublicKey(dir)).text, me.publicKey, 'the public key is readable without the passphrase')
  t.same(await protectedNodePublicKey(dir), node.publicKey.raw, 'so is the node\'s, for audit verify')
  await t.rejects(loadUserIdentity(dir), { code: 'ERR_CONFIG', message: /needs a passphrase/ })
  await t.rejects(loadOrCreateNodeKey(dir, { passphrases: noPassphrases }), { code: 'ERR_CONFIG', message: /needs a passphrase/ })
  await t.rejects(loadUserIdentity(dir, undefined, { passphrases: createPassphrases({ env: { DDIL_PASSPHRASE: 'not the passphrase' } }) }), { code: 'ERR_CRYPTO', message: /wrong passphrase/ })
  const cut = join(freshDir(), 'user.key')
  writeFileSync(cut, readFileSync(join(dir, 'user.key')).subarray(0, 200), { mode: 0o600 })
  await t.rejects(loadUserIdentity(join(cut, '..'), undefined, keys), { code: 'ERR_CONFIG', message: /not a readable protected key \(not complete JSON: truncated\?\)/ }, 'a truncated key file is named as such')
  // A protected node.key put where user.key belongs is refused by name, not half-read.
  const nodeText = readFileSync(join(dir, 'node.key'))
  await t.rejects(unlockKeyBytes(nodeText, 'user.key', 'user.key', keys), { code: 'ERR_CONFIG', message: /holds a protected node.key/ })
  t.same(await keyWarnings(dir), [], 'configtest: nothing to say about protected 0600 keys')
})

t.test('protect and unprotect in place; configtest warns about plain and loose keys', async t => {
  const dir = freshDir()
  const me = await createUserIdentityFile(dir)
  await loadOrCreateNodeKey(dir)
  t.match(await keyWarnings(dir), [/node.key and user.key are stored unencrypted; ddil key protect encrypts them/])
  const passphrases = createPassphrases({ env })
  t.same((await protectKeys(dir, passphrases, cheap)).map(r => r.outcome), ['protected', 'protected'])
  t.same((await protectKeys(dir, passphrases, cheap)).map(r => r.outcome), ['already', 'already'])
  t.same(await keyWarnings(dir), [])
  t.equal((await loadUserIdentity(dir, undefined, { passphrases })).publicKey, me.publicKey)
  await t.rejects(unprotectKeys(dir, createPassphrases({ env: { DDIL_PASSPHRASE: 'not the passphrase' } })), { code: 'ERR_CRYPTO' }, 'wrong passphrase: refused…')
  t.ok(isProtectedKey(readFileSync(join(dir, 'node.key'))), '…and nothing changed')
  t.same((await unprotectKeys(dir, passphrases)).map(r => r.outcome), ['unprotected', 'unprotected'])
  t.equal((await loadUserIdentity(dir)).publicKey, me.publicKey, 'plain again, same identity')
  chmodSync(join(dir, 'user.key'), 0o640)
  t.match(await keyWarnings(dir), [/user.key has mode 0640: ddil start refuses/, /stored unencrypted/])
  await t.rejects(loadUserIdentity(dir), { code: 'ERR_CONFIG', message: /chmod 600/ }, 'and loading it is refused')
})

t.test('one passphrase for the directory: a key already protected is unlocked before the other is protected', async t => {
  const dir = freshDir()
  await createUserIdentityFile(dir, undefined, { ...cheap, protectWith: passphrase })
  await loadOrCreateNodeKey(dir)
  await t.rejects(protectKeys(dir, createPassphrases({ env: { DDIL_PASSPHRASE: 'another passphrase' } }), cheap), { code: 'ERR_CRYPTO' })
  t.notOk(isProtectedKey(readFileSync(join(dir, 'node.key'))), 'node.key left plain')
  t.same((await protectKeys(dir, createPassphrases({ env }), cheap)).map(r => r.outcome), ['protected', 'already'])
})
