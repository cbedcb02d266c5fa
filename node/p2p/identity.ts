/**
 * The node's libp2p identity: an Ed25519 private key kept at `<dataDir>/node.key`
 * (libp2p's protobuf key encoding), so the peer id survives restarts and peers'
 * allowlists keep recognising us. The file is created with mode 0600 by writing a
 * temporary file and renaming it over, so a crash never leaves half a key; a key
 * file that group or others can read is refused (ConfigError: fix the mode), and
 * one that does not decode to an Ed25519 key is refused (StorageError: corrupt).
 * A key protected under a passphrase (`ddil key protect`, node/key-files.ts) is unlocked
 * with the passphrase `access` gives, and a new one is protected when `access.protectWith` is set.
 *
 * @example
 * const key = await loadOrCreateNodeKey('/var/lib/ddil')
 * const host = await createHost({ privateKey: key, listen: ['/ip4/127.0.0.1/tcp/4001'] })
 */
import type { Stats } from 'node:fs'
import { lstat, mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { ConfigError, StorageError } from '../../protocol/errors.ts'
import { protectedKeyFileBytesMax } from '../../protocol/limits.ts'
import { writeFileAtomic } from '../fs-durable.ts'
import { newKeyBytes, unlockKeyBytes, type KeyAccess } from '../key-files.ts'

export const nodeKeyFileName = 'node.key'

/** Permission bits for group and others: none may be set on a private key. */
const groupOrOtherBits = 0o077

export async function loadOrCreateNodeKey (dataDir: string, access: KeyAccess = {}): Promise<PrivateKey> {
  const path = join(dataDir, nodeKeyFileName)
  const existing = await statOrUndefined(path)
  if (existing === undefined) return await createNodeKey(dataDir, path, access)
  if (!existing.isFile()) throw new StorageError(`${path} is not a regular file; move it away and restart to create a new node key`)
  if (process.platform !== 'win32' && (existing.mode & groupOrOtherBits) !== 0) {
    const mode = (existing.mode & 0o777).toString(8).padStart(4, '0')
    throw new ConfigError(`${path} has mode ${mode}: a node key must not be readable by group or others; run chmod 600 ${path}`)
  }
  // A plain Ed25519 key in libp2p protobuf is 68 bytes, a protected one under 1 KB: anything much larger is not ours.
  if (existing.size > protectedKeyFileBytesMax) throw new StorageError(`${path} is ${existing.size} bytes, not a node key (corrupt?)`)
  return decodeNodeKey(path, await unlockKeyBytes(await readFile(path), path, 'node.key', access))
}

/** The public half of a plain node.key file's bytes, base64url of the raw Ed25519 key (StorageError when corrupt). */
export function nodeKeyPublicText (plain: Uint8Array, where = nodeKeyFileName): string {
  return publicText(decodeNodeKey(where, plain))
}

function publicText (key: PrivateKey): string {
  return Buffer.from(key.publicKey.raw).toString('base64url')
}

function decodeNodeKey (path: string, bytes: Uint8Array): PrivateKey {
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(bytes)
  } catch (e) {
    throw new StorageError(`${path} is corrupt: ${(e as Error).message}`)
  }
  if (key.type !== 'Ed25519') throw new StorageError(`${path} holds a ${key.type} key; ddil nodes use Ed25519`)
  return key
}

async function createNodeKey (dataDir: string, path: string, access: KeyAccess): Promise<PrivateKey> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const key = await generateKeyPair('Ed25519')
  try {
    await writeFileAtomic(path, newKeyBytes(privateKeyToProtobuf(key), 'node.key', publicText(key), access), 0o600)
  } catch (e) {
    throw new StorageError(`cannot write ${path}: ${(e as Error).message}`)
  }
  return key
}

async function statOrUndefined (path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new StorageError(`cannot read ${path}: ${(e as Error).message}`)
  }
}
