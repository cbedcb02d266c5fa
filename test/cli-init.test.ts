// The real `ddil` binary as child processes: init, configtest, whoami on a fresh data
// directory, their exit statuses (0 ok, 1 failed check, 2 bad usage) and file modes.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadOrCreateNodeKey } from '../node/p2p/identity.ts'
import { parseUserPublicKey } from '../node/user-identity.ts'

const bin = new URL('../node/cli/bin.js', import.meta.url).pathname

/** The environment without any DDIL_* variable, so the caller's shell cannot change the outcome. */
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('DDIL_')))

function ddil (args: string[], env: Record<string, string> = {}): { code: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...cleanEnv, ...env }, timeout: 60_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const root = mkdtempSync(join(tmpdir(), 'ddil-cli-'))
t.teardown(() => rmSync(root, { recursive: true, force: true }))
const data = join(root, 'data')
const mode = (p: string): number => statSync(p).mode & 0o777

t.test('init creates a private data directory, prints the node id and the operator key', async t => {
  const r = ddil(['init', '--data', data])
  t.equal(r.code, 0, r.stderr)
  t.equal(mode(data), 0o700, 'data directory 0700')
  for (const f of ['node.key', 'user.key', 'config.yaml']) t.equal(mode(join(data, f)), 0o600, `${f} 0600`)
  const nodeId = /^node id: +(\S+)$/m.exec(r.stdout)?.[1]
  const user = /^operator user: +(\S+)$/m.exec(r.stdout)?.[1]
  t.equal(nodeId, peerIdFromPrivateKey(await loadOrCreateNodeKey(data)).toString(), 'printed id is the stored key\'s peer id')
  t.match(nodeId, /^12D3KooW/)
  t.doesNotThrow(() => parseUserPublicKey(user ?? ''), 'printed user key parses')
  t.match(r.stdout, join(data, 'config.yaml'), 'says where the files are')
})

t.test('a second init fails with status 1 and leaves everything untouched', async t => {
  const files = ['node.key', 'user.key', 'config.yaml'].map(f => join(data, f))
  const before = files.map(f => [readFileSync(f, 'hex'), statSync(f).mtimeMs])
  const r = ddil(['init', '--data', data])
  t.equal(r.code, 1)
  t.match(r.stderr, /already initialised.*nothing was changed/)
  t.equal(r.stdout, '')
  t.same(files.map(f => [readFileSync(f, 'hex'), statSync(f).mtimeMs]), before)
})

t.test('configtest: the fresh config is valid (0), a broken one names the key (1), bad usage is 2', async t => {
  const ok = ddil(['configtest', '--data', data])
  t.equal(ok.code, 0, ok.stderr)
  t.match(ok.stdout, /config\.yaml is valid\./)
  t.match(ok.stdout, /Listen for relays on \/ip4\/0\.0\.0\.0\/tcp\/4401/)
  t.match(ok.stdout, /Serve \/healthz, \/status and \/metrics/, 'names the admin endpoints the relay serves')

  const broken = join(root, 'broken.yaml')
  writeFileSync(broken, 'storage:\n  quota: 1 gigabyte\n')
  const bad = ddil(['configtest', '--data', data, '--config', broken])
  t.equal(bad.code, 1)
  t.match(bad.stderr, /broken\.yaml:2: storage\.quota: "1 gigabyte" is not a size; write e\.g\. 500MB or 1GB/)

  const viaEnv = ddil(['configtest', '--json'], { DDIL_DATA: data, DDIL_LOG_LEVEL: 'loud' })
  t.equal(viaEnv.code, 1)
  const report = JSON.parse(viaEnv.stdout) as { valid: boolean, problems: string[] }
  t.equal(report.valid, false)
  t.match(report.problems[0], /^DDIL_LOG_LEVEL: log\.level: "loud" is not a log level/)

  t.equal(ddil(['configtest', '--bogus']).code, 2)
})

t.test('whoami prints a key that parseUserPublicKey accepts, and refuses a readable user.key', async t => {
  const r = ddil(['whoami'], { DDIL_DATA: data })
  t.equal(r.code, 0, r.stderr)
  const key = parseUserPublicKey(r.stdout)
  t.equal(`${key.text}\n`, r.stdout, 'exactly the key and a newline')
  const init = ddil(['whoami', '--json', '--data', data])
  t.equal((JSON.parse(init.stdout) as { publicKey: string }).publicKey, key.text)

  chmodSync(join(data, 'user.key'), 0o644)
  const leaky = ddil(['whoami', '--data', data])
  t.equal(leaky.code, 2)
  t.match(leaky.stderr, /mode 0644.*chmod 600/)
  chmodSync(join(data, 'user.key'), 0o600)
})

t.test('init --force keeps the keys and backs up the old config', async t => {
  const before = ['node.key', 'user.key'].map(f => readFileSync(join(data, f), 'hex'))
  writeFileSync(join(data, 'config.yaml'), 'log:\n  level: warn\n')
  const r = ddil(['init', '--force', '--json', '--data', data])
  t.equal(r.code, 0, r.stderr)
  const out = JSON.parse(r.stdout) as { nodeId: string, kept: string[], configBackup: string }
  t.same(['node.key', 'user.key'].map(f => readFileSync(join(data, f), 'hex')), before, 'keys unchanged')
  t.equal(out.nodeId, peerIdFromPrivateKey(await loadOrCreateNodeKey(data)).toString())
  t.equal(readFileSync(out.configBackup, 'utf8'), 'log:\n  level: warn\n', 'old config kept as backup')
  t.match(readFileSync(join(data, 'config.yaml'), 'utf8'), /# ddil relay configuration/)
})
