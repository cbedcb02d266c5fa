// `ddil init --protect`, `ddil key export`, and what a protected key means for whoami, audit verify and
// start, through the real binary: exit statuses (0 ok, 2 no passphrase given) and the
// sentences an operator reads; configtest's warning in process. The formats and refusals
// themselves are tested in process (protected-key.test.ts, key-restore.test.ts): each
// run of the binary costs about half a second.
import t from 'tap'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ddil as run } from './helpers/cli.ts'
import { isProtectedKey } from '../node/protected-key.ts'
import { createUserIdentityFile } from '../node/user-identity.ts'

/** No passphrase source from the caller's shell; stdin is never a terminal (helpers/cli.ts), so nothing prompts. */
const noSource = { DDIL_PASSPHRASE: undefined, DDIL_PASSPHRASE_FILE: undefined, DDIL_DATA: undefined, DDIL_CONFIG: undefined }

const root = mkdtempSync(join(tmpdir(), 'ddil-key-cli-'))
t.teardown(() => rmSync(root, { recursive: true, force: true }))
const data = join(root, 'data')
const passFile = join(root, 'passphrase')
writeFileSync(passFile, 'correct horse battery staple\n', { mode: 0o600 })

t.test('init --protect: both keys encrypted, 0600; whoami needs no passphrase', async t => {
  const r = await run(['init', '--protect', '--passphrase-file', passFile, '--data', data], noSource)
  t.equal(r.code, 0, r.stderr)
  for (const f of ['node.key', 'user.key']) {
    t.ok(isProtectedKey(readFileSync(join(data, f))), `${f} encrypted`)
    t.equal(statSync(join(data, f)).mode & 0o777, 0o600, `${f} 0600`)
  }
  const user = /^operator user: +(\S+)$/m.exec(r.stdout)?.[1]
  const who = await run(['whoami', '--data', data], noSource)
  t.equal(who.code, 0, who.stderr)
  t.equal(who.stdout.trim(), user, 'whoami prints the same key without unlocking')
})

t.test('audit verify checks the log against a protected node.key without its passphrase', async t => {
  const [{ openAuditLog, auditKeyFromNodeKey }, { createNodeCrypto }, { createPassphrases }, { loadOrCreateNodeKey }] = await Promise.all([
    import('../node/audit/index.ts'), import('../node/crypto.ts'), import('../node/passphrase.ts'), import('../node/p2p/identity.ts'),
  ])
  const nodeKey = await loadOrCreateNodeKey(data, { passphrases: createPassphrases({ env: {}, file: passFile }) })
  const log = await openAuditLog({ dataDir: data, crypto: createNodeCrypto(), key: auditKeyFromNodeKey(nodeKey), node: 'test', now: () => Date.now() })
  await log.append({ who: 'test', what: 'peer.accepted', outcome: 'ok' })
  await log.close()
  const r = await run(['audit', 'verify', '--json', '--data', data], noSource)
  t.equal(r.code, 0, r.stderr)
  t.match(JSON.parse(r.stdout), { ok: true, key: Buffer.from(nodeKey.publicKey.raw).toString('hex') })
})

t.test('start with a protected key and no passphrase source off a terminal: exit 2, says how', async t => {
  const r = await run(['start', '--data', data, '--listen', '/ip4/127.0.0.1/tcp/0', '--api', '127.0.0.1:0', '--admin', '127.0.0.1:0'], noSource)
  t.equal(r.code, 2, 'exit 2')
  t.match(r.stderr, /node\.key needs a passphrase, and none was given: use --passphrase-file FILE, set DDIL_PASSPHRASE_FILE or DDIL_PASSPHRASE/)
})

t.test('export writes an encrypted backup, 0600, with the passphrase from DDIL_PASSPHRASE_FILE', async t => {
  const backup = join(root, 'operator.ddilkey')
  const r = await run(['key', 'export', '--to', backup, '--data', data], { ...noSource, DDIL_PASSPHRASE_FILE: passFile })
  t.equal(r.code, 0, r.stderr)
  t.ok(isProtectedKey(readFileSync(backup)))
  t.equal(statSync(backup).mode & 0o777, 0o600)
})

t.test('configtest warns about unencrypted keys, and not about protected ones', async t => {
  const { runConfigtest } = await import('../node/cli/commands/configtest.ts')
  const plain = join(root, 'plain')
  mkdirSync(plain, { mode: 0o700 })
  await createUserIdentityFile(plain)
  copyFileSync(join(data, 'config.yaml'), join(plain, 'config.yaml'))
  let out = ''
  const io = { env: {}, stdout: (s: string) => { out += s }, stderr: (s: string) => { out += s } }
  t.equal(await runConfigtest({ data: data }, io), 0, out)
  t.notMatch(out, /unencrypted/)
  out = ''
  t.equal(await runConfigtest({ data: plain }, io), 0, out)
  t.match(out, /warning: user\.key is stored unencrypted; ddil key protect encrypts it/)
})
