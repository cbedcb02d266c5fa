/**
 * A release bundle's integrity files (#27), shared by the packager (node/release/package.ts)
 * and `ddil verify-bundle`:
 *
 *   SHA256SUMS     `<sha256 hex>  <path>` per file, sorted by path (coreutils' format, so
 *                  `sha256sum -c SHA256SUMS` checks it too); every regular file of the
 *                  bundle but these three.
 *   MANIFEST.json  what the bundle is (format 1): name, version, platform, Node version,
 *                  file count, the SHA-256 of SHA256SUMS and the release public key (raw
 *                  Ed25519, hex).
 *   MANIFEST.sig   Ed25519 by the release key over "ddil/v1/release-manifest\n" ‖ MANIFEST.json's
 *                  exact bytes, base64.
 *
 * The key in the manifest only says who claims to have signed: the operator pins the release
 * public key (`--key`), and a bundle signed by any other key is refused.
 *
 * @example
 * const result = await verifyBundleDir('/opt/ddil/ddil-relay-0.1.0-linux-arm64', { pinnedKey })
 * result.fingerprint   // "ed25519:3f5a…" — the key that signed
 */
import nodeCrypto from 'node:crypto'
import { createReadStream } from 'node:fs'
import { lstat, readdir, readFile } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { ConfigError, DecodeError, SignatureError } from '../../protocol/errors.ts'

export const sumsFileName = 'SHA256SUMS'
export const manifestFileName = 'MANIFEST.json'
export const signatureFileName = 'MANIFEST.sig'
export const releaseManifestFormat = 1
const signatureLabel = Buffer.from('ddil/v1/release-manifest\n')
const integrityFiles = new Set([sumsFileName, manifestFileName, signatureFileName])

const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

export interface ReleaseManifest {
  format: number
  name: string
  version: string
  /** `linux-x64` or `linux-arm64`. */
  platform: string
  /** The Node runtime the bundle carries. */
  node: string
  files: number
  /** SHA-256 of SHA256SUMS, hex. */
  sums: string
  /** The release key's raw Ed25519 public key, hex. */
  releaseKey: string
}

/** What `verifyBundleDir` found: the bundle it checked and the key that signed it. */
export interface BundleCheck {
  manifest: ReleaseManifest
  fingerprint: string
  /** True when the signing key is the pinned one; false when no key was pinned. */
  pinned: boolean
}

/** "ed25519:" and the first 16 bytes of the key's SHA-256, hex: what operators compare. */
export function keyFingerprint (rawPublicKey: Uint8Array): string {
  return 'ed25519:' + nodeCrypto.createHash('sha256').update(rawPublicKey).digest('hex').slice(0, 32)
}

/** The raw 32-byte public key of an Ed25519 public (SPKI) or private (PKCS8) key in PEM. */
export function rawEd25519PublicKey (pem: string, what: string): Uint8Array {
  let key: nodeCrypto.KeyObject
  try {
    key = pem.includes('PRIVATE KEY') ? nodeCrypto.createPublicKey(nodeCrypto.createPrivateKey(pem)) : nodeCrypto.createPublicKey(pem)
  } catch (e) {
    throw new ConfigError(`${what} is not a PEM key: ${(e as Error).message}`)
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new ConfigError(`${what} is a ${String(key.asymmetricKeyType)} key, not Ed25519`)
  return new Uint8Array(key.export({ type: 'spki', format: 'der' }).subarray(ED25519_SPKI_PREFIX.length))
}

function publicKeyObject (raw: Uint8Array): nodeCrypto.KeyObject {
  return nodeCrypto.createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, raw]), format: 'der', type: 'spki' })
}

export function signManifest (manifestBytes: Uint8Array, privateKeyPem: string): string {
  return nodeCrypto.sign(null, Buffer.concat([signatureLabel, manifestBytes]), nodeCrypto.createPrivateKey(privateKeyPem)).toString('base64') + '\n'
}

export function encodeSums (sums: Map<string, string>): string {
  return [...sums].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([path, hash]) => `${hash}  ${path}\n`).join('')
}

/** Strict: one `<64 hex>  <relative path>` per line, sorted, no duplicates, no `..` or absolute paths. */
export function decodeSums (text: string): Map<string, string> {
  const sums = new Map<string, string>()
  let previous = ''
  for (const [i, line] of text.split('\n').entries()) {
    if (line === '') continue
    const m = /^([0-9a-f]{64}) {2}(.+)$/.exec(line)
    if (m === null) throw new DecodeError(`${sumsFileName} line ${i + 1} is not "<sha256>  <path>"`)
    const path = m[2]
    if (path.startsWith('/') || path.split('/').includes('..')) throw new DecodeError(`${sumsFileName} line ${i + 1} names a path outside the bundle: ${path}`)
    if (path <= previous) throw new DecodeError(`${sumsFileName} line ${i + 1} is out of order or repeated: ${path}`)
    previous = path
    sums.set(path, m[1])
  }
  return sums
}

function decodeManifest (bytes: Uint8Array): ReleaseManifest {
  let m: Partial<ReleaseManifest>
  try { m = JSON.parse(Buffer.from(bytes).toString('utf8')) } catch (e) { throw new DecodeError(`${manifestFileName} is not JSON: ${(e as Error).message}`) }
  if (m.format !== releaseManifestFormat) throw new DecodeError(`${manifestFileName} format ${String(m.format)} is not ${releaseManifestFormat}: this ddil cannot check it`)
  for (const field of ['name', 'version', 'platform', 'node', 'sums', 'releaseKey'] as const) {
    if (typeof m[field] !== 'string') throw new DecodeError(`${manifestFileName} has no ${field}`)
  }
  if (!/^[0-9a-f]{64}$/.test(m.releaseKey as string)) throw new DecodeError(`${manifestFileName} releaseKey is not a 32-byte hex key`)
  if (!Number.isSafeInteger(m.files)) throw new DecodeError(`${manifestFileName} has no file count`)
  return m as ReleaseManifest
}

export async function sha256File (path: string): Promise<string> {
  const hash = nodeCrypto.createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

/**
 * Every file under `root`, as `/`-separated relative paths. Anything but a regular file or a
 * directory (a symlink, a device) is refused: a bundle holds none, and a link could point
 * the runtime at code outside what was signed.
 */
export async function listFiles (root: string): Promise<string[]> {
  const out: string[] = []
  async function walk (dir: string): Promise<void> {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) await walk(path)
      else if (entry.isFile()) out.push(relative(root, path).split(sep).join('/'))
      else throw new SignatureError(`${relative(root, path)} is neither a file nor a directory; a release bundle holds none`)
    }
  }
  await walk(root)
  return out.sort()
}

/** Files hashed at once: thousands of small files, so waiting on one at a time is most of the cost. */
const hashingConcurrency = 16

/** What the first file found to differ from `sums` is (missing or altered); undefined when none does. */
async function firstDifference (root: string, sums: Map<string, string>): Promise<string | undefined> {
  const entries = [...sums]
  let next = 0
  let found: string | undefined
  async function worker (): Promise<void> {
    while (found === undefined && next < entries.length) {
      const [path, hash] = entries[next++]
      const info = await lstat(join(root, path)).catch(() => undefined)
      if (info === undefined) found ??= `${path} is missing: the bundle is incomplete`
      else if (await sha256File(join(root, path)) !== hash) found ??= `${path} does not match its signed hash: the bundle was altered or damaged`
    }
  }
  await Promise.all(Array.from({ length: hashingConcurrency }, worker))
  return found
}

/**
 * Checks a release bundle unpacked at `root`: the manifest's signature (by `pinnedKey` when
 * given), SHA256SUMS against the manifest, every file against SHA256SUMS, and that nothing
 * was added. Throws SignatureError naming the first file that differs.
 */
export async function verifyBundleDir (root: string, options: { pinnedKey?: Uint8Array } = {}): Promise<BundleCheck> {
  const read = async (name: string): Promise<Buffer> => {
    try { return await readFile(join(root, name)) } catch (e) {
      throw new ConfigError(`${root} has no readable ${name} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): is it a ddil-relay release bundle?`)
    }
  }
  const [manifestBytes, signature, sumsBytes] = await Promise.all([read(manifestFileName), read(signatureFileName), read(sumsFileName)])
  const manifest = decodeManifest(manifestBytes)
  const key = Buffer.from(manifest.releaseKey, 'hex')
  const fingerprint = keyFingerprint(key)
  if (options.pinnedKey !== undefined && !key.equals(options.pinnedKey)) {
    throw new SignatureError(`bundle is signed by release key ${fingerprint}, not the pinned key ${keyFingerprint(options.pinnedKey)}: do not install it`)
  }
  const signed = Buffer.concat([signatureLabel, manifestBytes])
  if (!nodeCrypto.verify(null, signed, publicKeyObject(key), Buffer.from(signature.toString('utf8').trim(), 'base64'))) {
    throw new SignatureError(`${manifestFileName}'s signature does not verify for release key ${fingerprint}: the bundle was altered`)
  }
  if (nodeCrypto.createHash('sha256').update(sumsBytes).digest('hex') !== manifest.sums) throw new SignatureError(`${sumsFileName} is not the one the manifest signed: the bundle was altered`)
  const sums = decodeSums(sumsBytes.toString('utf8'))
  if (sums.size !== manifest.files) throw new SignatureError(`${sumsFileName} lists ${sums.size} files; the manifest signed ${manifest.files}`)
  const present = (await listFiles(root)).filter(p => !integrityFiles.has(p))
  const extra = present.filter(p => !sums.has(p))
  if (extra.length > 0) throw new SignatureError(`${extra.length} file(s) not in the signed list, e.g. ${extra[0]}: the bundle was altered`)
  const differs = await firstDifference(root, sums)
  if (differs !== undefined) throw new SignatureError(differs)
  return { manifest, fingerprint, pinned: options.pinnedKey !== undefined }
}
