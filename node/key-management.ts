/**
 * What `ddil key …` does to a data directory: protect node.key and user.key under one
 * passphrase, or remove that protection; export the operator identity (user.key) as an
 * encrypted backup, and import such a backup on replacement hardware.
 *
 * A backup is a protected user.key (node/protected-key.ts, `contains: "user.key"`),
 * always encrypted, whatever the key at rest is. Importing never silently replaces another
 * identity: a different user.key is refused unless `force`, and then kept as user.key.bak.
 *
 * @example
 * await exportIdentity({ dataDir: '/var/lib/ddil', to: '/media/usb/operator.ddilkey', passphrases })
 * await importIdentity({ from: '/media/usb/operator.ddilkey', dataDir: '/srv/ddil', passphrases })   // { publicKey, outcome: 'restored' }
 */
import { readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { ConfigError, StorageError } from '../protocol/errors.ts'
import { protectedKeyFileBytesMax } from '../protocol/limits.ts'
import { ensurePrivateDir, statOrUndefined, writeNewFile } from './config/files.ts'
import { createNodeCrypto } from './crypto.ts'
import { backupName } from './data-dir.ts'
import { protectKeyFile, readKeyFile, sealKeyBytes, unlockKeyBytes, unprotectKeyFile, type KeyAccess } from './key-files.ts'
import type { Passphrases } from './passphrase.ts'
import { decodeProtectedKey, isProtectedKey, openKey, type KeyFileName } from './protected-key.ts'
import { decodeUserKeyFile, encodeUserKeyFile, loadUserIdentity, loadUserPublicKey, userKeyFileName, userKeyPublicText } from './user-identity.ts'

export interface KeyOutcome { path: string, outcome: 'protected' | 'unprotected' | 'already' }

/** The data directory's key files, with the function giving each plain file's public half. */
async function keyFiles (dataDir: string): Promise<Array<{ path: string, contains: KeyFileName, publicText: (plain: Uint8Array) => string }>> {
  const { nodeKeyFileName, nodeKeyPublicText } = await import('./p2p/identity.ts') // libp2p's key codec: only when a key command runs
  return [
    { path: join(dataDir, nodeKeyFileName), contains: 'node.key', publicText: (b) => nodeKeyPublicText(b, join(dataDir, nodeKeyFileName)) },
    { path: join(dataDir, userKeyFileName), contains: 'user.key', publicText: (b) => userKeyPublicText(b, join(dataDir, userKeyFileName)) },
  ]
}

/**
 * Protects both keys under one passphrase. A key already protected is unlocked first, so the
 * other is protected under the same passphrase: `ddil start` asks for one.
 */
export async function protectKeys (dataDir: string, passphrases: Passphrases, access: KeyAccess = {}): Promise<KeyOutcome[]> {
  const files = await keyFiles(dataDir)
  const plain: typeof files = []
  for (const f of files) {
    const bytes = await readKeyFile(f.path, `the ${f.contains}`)
    if (isProtectedKey(bytes)) await unlockKeyBytes(bytes, f.path, f.contains, { passphrases })
    else plain.push(f)
  }
  if (plain.length === 0) return files.map(f => ({ path: f.path, outcome: 'already' }))
  const passphrase = await passphrases.choose(plain.map(f => f.path).join(' and '))
  const outcomes: KeyOutcome[] = []
  for (const f of files) outcomes.push({ path: f.path, outcome: await protectKeyFile(f.path, f.contains, passphrase, f.publicText, access) })
  return outcomes
}

/** Stores both keys unencrypted again (mode 0600). */
export async function unprotectKeys (dataDir: string, passphrases: Passphrases): Promise<KeyOutcome[]> {
  const outcomes: KeyOutcome[] = []
  for (const f of await keyFiles(dataDir)) outcomes.push({ path: f.path, outcome: await unprotectKeyFile(f.path, f.contains, { passphrases }) })
  return outcomes
}

/** Writes an encrypted backup of the operator identity to `to` (a new file, mode 0600). */
export async function exportIdentity (options: { dataDir: string, to: string, passphrases: Passphrases, access?: KeyAccess }): Promise<{ publicKey: string, to: string }> {
  const { dataDir, to, passphrases } = options
  if (await statOrUndefined(to) !== undefined) throw new StorageError(`${to} already exists; nothing was written (choose a new file name)`)
  const user = await loadUserIdentity(dataDir, createNodeCrypto(), { passphrases })
  const passphrase = await passphrases.choose(`the backup ${to}`)
  const plain = Buffer.from(encodeUserKeyFile(user), 'utf8')
  await writeNewFile(to, sealKeyBytes(plain, 'user.key', user.publicKey, passphrase, options.access), 0o600)
  return { publicKey: user.publicKey, to }
}

/**
 * A backup's bytes. Its mode is not checked: it is encrypted, and removable media often
 * show every file as 0755.
 */
async function readBackup (path: string): Promise<Uint8Array> {
  const stats = await statOrUndefined(path)
  if (stats === undefined || !stats.isFile()) throw new ConfigError(`${path} is not a file; give the backup "ddil key export" wrote`)
  if (stats.size > protectedKeyFileBytesMax) throw new ConfigError(`${path} is ${stats.size} bytes, not a ddil key backup`)
  return new Uint8Array(await readFile(path))
}

export interface ImportResult {
  publicKey: string
  path: string
  /** `same`: that identity was already there and nothing changed. */
  outcome: 'restored' | 'same'
  /** Where the identity it replaced was kept (only with `force`). */
  replaced?: string
  protected: boolean
}

/**
 * Restores the operator identity from a backup into `<dataDir>/user.key`: plain (0600), or
 * still encrypted under the backup's passphrase when `protect`. Refuses to replace a
 * different identity unless `force`.
 */
export async function importIdentity (options: { from: string, dataDir: string, passphrases: Passphrases, force?: boolean, protect?: boolean }): Promise<ImportResult> {
  const { from, dataDir, passphrases } = options
  const bytes = await readBackup(from)
  if (!isProtectedKey(bytes)) throw new ConfigError(`${from} is not a ddil key backup (those start with {"type": "ddil-protected-key"}; "ddil key export" writes them)`)
  const backup = decodeProtectedKey(Buffer.from(bytes).toString('utf8'), from)
  if (backup.contains !== 'user.key') throw new ConfigError(`${from} holds a protected ${backup.contains}, not an operator identity`)
  const plain = openKey(backup, await passphrases.unlock(from), from)
  const identity = decodeUserKeyFile(Buffer.from(plain).toString('utf8'), from)
  const path = join(dataDir, userKeyFileName)
  await ensurePrivateDir(dataDir)
  let replaced: string | undefined
  if (await statOrUndefined(path) !== undefined) {
    const current = (await loadUserPublicKey(dataDir)).text
    if (current === identity.publicKey) return { publicKey: identity.publicKey, path, outcome: 'same', protected: isProtectedKey(await readKeyFile(path, 'the operator user key')) }
    if (options.force !== true) {
      throw new StorageError(`${path} holds another operator identity (${current}); nothing was changed. Use --force to replace it with ${identity.publicKey} (the old one is kept as ${userKeyFileName}.bak)`)
    }
    replaced = await backupName(path)
    await rename(path, replaced)
  }
  await writeNewFile(path, options.protect === true ? bytes : plain, 0o600)
  return { publicKey: identity.publicKey, path, outcome: 'restored', protected: options.protect === true, ...(replaced !== undefined ? { replaced } : {}) }
}
