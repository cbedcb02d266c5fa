// #27 install from media, as an operator at an air-gapped site would: `npm run package` builds
// both platforms' bundles; this machine's is unpacked outside the checkout, verified against
// the pinned release key, and run in a network namespace with no route and no link but
// loopback, with a clean PATH (no Node of the host), a fresh HOME and no node_modules above
// it: init, start, status, channel create, send, tail. Tampering, an unpinned signer and an
// older release on a newer data directory are refused. The arm64 bundle cannot run here, so
// its binaries are checked to be arm64 builds. Needs root (network namespaces) and npm's
// registry or its cache (the arm64 packages); CI has both.
import t from 'tap'
import { execFileSync, spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { elfArch, fileElfArch } from '../node/release/elf.ts'
import { dataFormatFileName, encodeDataFormat } from '../node/data-format.ts'
import { waitUntil } from './helpers/wait.ts'

const repo = fileURLToPath(new URL('../', import.meta.url))
const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version
const hostPlatform = `${process.platform}-${process.arch}`
const otherPlatform = hostPlatform === 'linux-x64' ? 'linux-arm64' : 'linux-x64'
const work = mkdtempSync(join(tmpdir(), 'ddil-release-'))
const netns = `ddil-airgap-${process.pid}`
t.teardown(() => {
  spawnSync('ip', ['netns', 'del', netns])
  rmSync(work, { recursive: true, force: true })
})

function run (command: string, args: string[], options: { env?: NodeJS.ProcessEnv } = {}): SpawnSyncReturns<string> {
  return spawnSync(command, args, { encoding: 'utf8', env: options.env, timeout: 300_000 })
}
function ok (r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0) throw new Error(`${what} exited ${r.status}: ${r.stderr}${r.stdout}`)
  return r.stdout
}

// The release key, and the bundles, built as `npm run package` builds them.
const key = join(work, 'keys', 'release.key')
ok(run(process.execPath, [join(repo, 'node/release/package.ts'), '--new-key', key]), 'package --new-key')
const out = join(work, 'release')
// --fast: gzip -1, the one difference from a release build; it saves this test about 9 s of CPU.
const built = ok(run(process.execPath, [join(repo, 'node/release/package.ts'), '--key', key, '--out', out, '--fast']), 'package')
const archive = (platform: string): string => join(out, `ddil-relay-${version}-${platform}.tar.gz`)
const fingerprint = (/release key (ed25519:[0-9a-f]{32})/.exec(built) as RegExpExecArray)[1]

// Unpacked where no node_modules is reachable by Node's resolution (it looks in every parent).
const site = join(work, 'site')
mkdirSync(site)
execFileSync('tar', ['-xzf', archive(hostPlatform), '-C', site])
const bundle = join(site, `ddil-relay-${version}-${hostPlatform}`)
const ddil = join(bundle, 'bin', 'ddil')
const home = join(work, 'home')
mkdirSync(home)
/** As at a site with nothing installed: no PATH to any Node, a home of its own, nothing inherited. */
const bare = { HOME: home, PATH: '/nonexistent', LANG: 'C.UTF-8' }

t.test('npm run package writes both platforms\' archives, their checksums and the release public key', async t => {
  for (const platform of [hostPlatform, otherPlatform]) t.ok(existsSync(archive(platform)), `${platform} archive`)
  const sums = readFileSync(join(out, 'SHA256SUMS'), 'utf8')
  t.match(sums, new RegExp(`^[0-9a-f]{64}  ddil-relay-${version}-linux-arm64\\.tar\\.gz$`, 'm'))
  t.equal(run('sh', ['-c', 'cd "$0" && sha256sum --quiet -c SHA256SUMS', out]).status, 0, 'sha256sum -c checks the archives')
  t.match(readFileSync(join(out, 'ddil-relay-release.pub'), 'utf8'), /BEGIN PUBLIC KEY/)
  for (const p of ['/node_modules', join(tmpdir(), 'node_modules'), join(work, 'node_modules')]) t.notOk(existsSync(p), `${p} does not exist`)
})

t.test('verify-bundle checks every file against the pinned key, and says who signed', async t => {
  const pinned = ok(run(ddil, ['verify-bundle', '--key', join(out, 'ddil-relay-release.pub')], { env: bare }), 'verify-bundle')
  t.match(pinned, `ddil-relay ${version} for ${hostPlatform}`)
  t.match(pinned, `signed by the pinned release key ${fingerprint}`)
  t.match(ok(run(ddil, ['verify-bundle'], { env: bare }), 'verify-bundle unpinned'), `signed by release key ${fingerprint}: compare it`)

  const otherKey = join(work, 'keys', 'other.key')
  ok(run(process.execPath, [join(repo, 'node/release/package.ts'), '--new-key', otherKey]), 'another key')
  const wrongKey = run(ddil, ['verify-bundle', '--key', `${otherKey}.pub`], { env: bare })
  t.equal(wrongKey.status, 1)
  t.match(wrongKey.stderr, `signed by release key ${fingerprint}, not the pinned key`)

  const target = join(bundle, 'app', 'protocol', 'limits.ts')
  const original = readFileSync(target)
  appendFileSync(target, '\n')
  const altered = run(ddil, ['verify-bundle'], { env: bare })
  writeFileSync(target, original)
  t.equal(altered.status, 1)
  t.match(altered.stderr, 'app/protocol/limits.ts does not match its signed hash')

  const planted = join(bundle, 'app', 'node_modules', 'planted.js')
  writeFileSync(planted, '')
  const added = run(ddil, ['verify-bundle'], { env: bare })
  rmSync(planted)
  t.equal(added.status, 1)
  t.match(added.stderr, 'not in the signed list, e.g. app/node_modules/planted.js')
  t.equal(run(ddil, ['verify-bundle'], { env: bare }).status, 0, 'restored, it verifies again')
})

t.test('the bundle installs and runs in a network namespace with no route, no host Node and a fresh HOME', async t => {
  if (process.getuid?.() !== 0) throw new Error('this test needs root to create a network namespace (CI runs as root)')
  ok(run('ip', ['netns', 'add', netns]), 'ip netns add')
  ok(run('ip', ['netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up']), 'lo up')
  const inside = (args: string[]): SpawnSyncReturns<string> => run('ip', ['netns', 'exec', netns, 'env', '-i', ...Object.entries(bare).map(([k, v]) => `${k}=${v}`), ddil, ...args])
  const links = ok(run('ip', ['netns', 'exec', netns, 'ip', '-o', 'link']), 'ip link')
  t.same(links.trim().split('\n').map(l => l.split(':')[1].trim()), ['lo'], 'loopback is the only link')
  t.equal(ok(run('ip', ['netns', 'exec', netns, 'ip', '-4', 'route', 'show']), 'ip route').trim(), '', 'no IPv4 route at all')
  const noNode = run('ip', ['netns', 'exec', netns, 'env', '-i', ...Object.entries(bare).map(([k, v]) => `${k}=${v}`), '/bin/sh', '-c', 'command -v node || echo none'])
  t.equal(noNode.stdout.trim(), 'none', 'no node on the PATH the launcher gets')

  const data = join(work, 'data')
  t.match(ok(inside(['init', '--data', data]), 'ddil init'), 'Initialised ddil relay')
  const daemon = spawn('ip', ['netns', 'exec', netns, 'env', '-i', ...Object.entries(bare).map(([k, v]) => `${k}=${v}`), ddil, 'start', '--data', data], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  daemon.stdout.on('data', (c: Buffer) => { output += c.toString() })
  daemon.stderr.on('data', (c: Buffer) => { output += c.toString() })
  const exited = new Promise(resolve => daemon.once('exit', resolve))
  t.teardown(async () => { if (daemon.exitCode === null) { daemon.kill('SIGKILL'); await exited } })
  await waitUntil('the bundled relay to start', () => {
    if (daemon.exitCode !== null) throw new Error(`ddil start exited ${daemon.exitCode}: ${output}`)
    return output.includes('admin:') ? true : undefined
  })
  t.match(ok(inside(['status', '--data', data]), 'ddil status'), /node/i)
  t.match(ok(inside(['channel', 'create', '--data', data, 'ops']), 'channel create'), 'created channel "ops"')
  ok(inside(['send', '--data', data, 'ops', 'Substation 4 on generator power', '--precedence', 'flash']), 'ddil send')
  t.match(ok(inside(['tail', '--data', data, 'ops']), 'ddil tail'), 'Substation 4 on generator power')
  daemon.kill('SIGTERM')
  await exited
  t.equal(daemon.exitCode, 0, 'stops cleanly')

  // An update switched back: this release on a directory a newer release wrote.
  writeFileSync(join(data, dataFormatFileName), encodeDataFormat(2))
  const older = inside(['start', '--data', data])
  t.equal(older.status, 2)
  t.match(older.stderr, `is in data format 2, written by a newer ddil-relay; this is ddil-relay ${version}, which reads format 1: start the newer release`)
})

t.test(`the ${otherPlatform} bundle holds ${otherPlatform} builds of Node and of every native module`, async t => {
  const other = join(work, 'other')
  mkdirSync(other)
  const root = join(other, `ddil-relay-${version}-${otherPlatform}`)
  const name = `ddil-relay-${version}-${otherPlatform}`
  // Only what is checked: unpacking all of it costs seconds of this suite for nothing more.
  execFileSync('tar', ['-xzf', archive(otherPlatform), '-C', other, '--wildcards', `${name}/SHA256SUMS`, `${name}/MANIFEST.json`, `${name}/runtime/bin/node`, '*.node'])
  const arch = otherPlatform.split('-')[1]
  const sums = readFileSync(join(root, 'SHA256SUMS'), 'utf8').split('\n').filter(Boolean).map(l => l.slice(66))
  const natives = sums.filter(p => p.endsWith('.node'))
  t.ok(natives.some(p => p.startsWith(`app/node_modules/classic-level/prebuilds/${otherPlatform}/`)), 'LevelDB\'s prebuilt binary')
  t.ok(natives.some(p => p.startsWith(`app/node_modules/@cbor-extract/cbor-extract-${otherPlatform}/`)), 'cbor-extract\'s prebuilt binary')
  t.notOk(sums.some(p => p.includes(hostPlatform)), `nothing built for ${hostPlatform}`)
  for (const p of [...natives, 'runtime/bin/node']) t.equal(await fileElfArch(join(root, p)), arch, `${p} is an ${arch} build`)
  t.equal(elfArch(readFileSync(process.execPath).subarray(0, 20)), process.arch, 'the check tells this machine\'s build apart')
  t.match(JSON.parse(readFileSync(join(root, 'MANIFEST.json'), 'utf8')), { platform: otherPlatform, version })
})
