/**
 * The key that signs the audit log is the node's own Ed25519 identity (`<dataDir>/node.key`,
 * see node/p2p/identity.ts), so `verify` needs nothing but the data directory, and an
 * attacker who rewrites the log with a key of their own is caught: their key is not the
 * node's. These helpers turn the libp2p key into the raw pair the Crypto port takes.
 *
 * @example
 * const log = await openAuditLog({ dataDir, crypto, key: auditKeyFromNodeKey(await loadOrCreateNodeKey(dataDir)), node: peerId, now: () => clock.nowMs() })
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { AuditError } from '../../protocol/errors.ts'
import type { KeyPair } from '../../protocol/ports.ts'

/** Name of the node key file in the data directory (node/p2p/identity.ts writes it). */
const nodeKeyFile = 'node.key'

/** An Ed25519 key in libp2p's protobuf form is 68 bytes; anything larger is not a node key. */
const nodeKeyBytesMax = 1024

/** Raw 32-byte seed and public key of a libp2p Ed25519 private key (its `raw` is seed ‖ public key). */
export function auditKeyFromNodeKey (key: PrivateKey): KeyPair {
  if (key.type !== 'Ed25519' || key.raw.length !== 64) throw new AuditError(`the audit log needs an Ed25519 node key, not ${key.type}`)
  return { privateKey: key.raw.slice(0, 32), publicKey: key.publicKey.raw.slice() }
}

/** The node's public key from `<dataDir>/node.key`, or undefined when there is no key file. */
export async function readNodePublicKey (dataDir: string): Promise<Uint8Array | undefined> {
  const path = join(dataDir, nodeKeyFile)
  let bytes: Uint8Array
  try {
    bytes = await readFile(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new AuditError(`cannot read ${path}: ${(e as Error).message}`, { cause: e })
  }
  if (bytes.length > nodeKeyBytesMax) throw new AuditError(`${path} is ${bytes.length} bytes, not a node key`)
  try {
    const key = privateKeyFromProtobuf(bytes)
    if (key.type !== 'Ed25519') throw new Error(`it holds a ${key.type} key`)
    return key.publicKey.raw.slice()
  } catch (e) {
    throw new AuditError(`${path} is not an Ed25519 node key: ${(e as Error).message}`, { cause: e })
  }
}
