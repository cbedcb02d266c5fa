/**
 * A relay's data directory made ready: the node identity, the operator user identity, a
 * commented config and the HTTPS certificate, created where missing (keys are never
 * overwritten). `ddil init` runs it, and `ddil start` on a directory not initialised yet.
 * With `keys.protectWith` the new keys are protected under that passphrase; existing
 * protected keys are unlocked with `keys.passphrases`.
 *
 * @example
 * const r = await initDataDir({ dataDir: '/var/lib/ddil' })   // r.nodeId, r.userPublicKey, r.created
 */
import { rename } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError, StorageError } from '../protocol/errors.ts'
import { ensurePrivateDir, modeText, statOrUndefined, writeNewFile } from './config/files.ts'
import { configFileName } from './config/paths.ts'
import { checkDataFormat } from './data-format.ts'
import type { KeyAccess } from './key-files.ts'
import { createUserIdentityFile, loadUserIdentity, userKeyFileName } from './user-identity.ts'

/** Same as node/p2p/identity.ts's `nodeKeyFileName`, which is imported lazily (see `initDataDir`). */
const nodeKeyFileName = 'node.key'

export interface InitResult {
  dataDir: string
  nodeId: string
  userPublicKey: string
  files: { nodeKey: string, userKey: string, config: string, webCert: string, webKey: string }
  /** SHA-256 fingerprint of web-cert.pem, as `ddil start` and browsers show it. */
  webFingerprint: string
  /** Files this run created. */
  created: string[]
  /** Files that existed and were kept (only with --force). */
  kept: string[]
  /** Where the previous config.yaml went (only with --force). */
  configBackup?: string
  /** The keys created now were encrypted under a passphrase (`ddil init --protect`). */
  keysProtected: boolean
  /** Things the operator should know (an existing data directory others can read). */
  notes: string[]
}

/** The most `config.yaml.bak.N` names tried before giving up. */
const backupNamesMax = 1000

/** The first free `path.bak`, `path.bak.1`, … name: where a file about to be replaced is kept. */
export async function backupName (path: string): Promise<string> {
  for (let i = 0; i < backupNamesMax; i++) {
    const candidate = i === 0 ? `${path}.bak` : `${path}.bak.${i}`
    if (await statOrUndefined(candidate) === undefined) return candidate
  }
  throw new StorageError(`${path}.bak … ${path}.bak.${backupNamesMax - 1} all exist; remove old backups and try again`)
}

export async function initDataDir (options: { dataDir: string, force?: boolean, keys?: KeyAccess }): Promise<InitResult> {
  // libp2p, yaml and the rest are loaded here, not at the top: the init command's module loads this one.
  const [{ loadOrCreateNodeKey }, { peerIdFromPrivateKey }, { renderConfigTemplate }, { ensureWebCertificate, webCertFileName, webKeyFileName }] = await Promise.all([
    import('./p2p/identity.ts'), import('@libp2p/peer-id'), import('./config/template.ts'), import('./web/certificate.ts'),
  ])
  const { dataDir } = options
  const files = {
    nodeKey: join(dataDir, nodeKeyFileName), userKey: join(dataDir, userKeyFileName), config: join(dataDir, configFileName),
    webCert: join(dataDir, webCertFileName), webKey: join(dataDir, webKeyFileName),
  }
  const dir = await statOrUndefined(dataDir)
  if (dir !== undefined && !dir.isDirectory()) throw new ConfigError(`${dataDir} exists and is not a directory; choose another --data directory`)
  const existing: string[] = []
  // The certificate alone does not make a directory initialised: it is made again at start if missing.
  for (const path of [files.nodeKey, files.userKey, files.config]) if (await statOrUndefined(path) !== undefined) existing.push(path)
  if (existing.length > 0 && options.force !== true) {
    // StorageError, not ConfigError: the invocation is fine, the directory's state is the problem (exit 1).
    throw new StorageError(`${dataDir} is already initialised (${existing.join(', ')} exist${existing.length === 1 ? 's' : ''}); nothing was changed. ` +
      `Use "ddil init --force --data ${dataDir}" to create what is missing and write a fresh config.yaml (keys are never overwritten)`)
  }
  const dirState = await ensurePrivateDir(dataDir)
  await checkDataFormat(dataDir) // --force on a newer release's directory must not rewrite its config
  const notes = (dirState.mode & 0o077) === 0 ? [] : [`${dataDir} already existed with files in it and keeps its mode ${modeText(dirState.mode)}; the keys are 0600, but consider chmod 700 ${dataDir}`]
  const created: string[] = []
  const kept = [...existing]
  const user = existing.includes(files.userKey) ? await loadUserIdentity(dataDir, undefined, options.keys) : await createUserIdentityFile(dataDir, undefined, options.keys)
  if (!existing.includes(files.userKey)) created.push(files.userKey)
  const nodeKey = await loadOrCreateNodeKey(dataDir, options.keys)
  if (!existing.includes(files.nodeKey)) created.push(files.nodeKey)
  const nodeId = peerIdFromPrivateKey(nodeKey).toString()
  let configBackup: string | undefined
  if (existing.includes(files.config)) {
    configBackup = await backupName(files.config)
    await rename(files.config, configBackup)
    kept.splice(kept.indexOf(files.config), 1)
  }
  await writeNewFile(files.config, renderConfigTemplate({ nodeId }), 0o600)
  created.push(files.config)
  const web = await ensureWebCertificate(dataDir, { nowMs: Date.now() })
  if (web.created) created.push(files.webKey, files.webCert)
  else kept.push(files.webKey, files.webCert)
  return { dataDir, nodeId, userPublicKey: user.publicKey, files, webFingerprint: web.certificate.fingerprint, created, kept, notes, keysProtected: options.keys?.protectWith !== undefined, ...(configBackup !== undefined ? { configBackup } : {}) }
}

