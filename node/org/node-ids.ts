/**
 * A relay's node id (a libp2p peer id, `12D3KooW…`) and the Ed25519 key it embeds: what an
 * organisation certificate names (#29).
 *
 * @example
 * nodeIdOfKey(nodeKeyOfId('12D3KooW…')) === '12D3KooW…'
 */
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { UsageError } from '../../protocol/errors.ts'

/** The Ed25519 key inside a libp2p node id; a UsageError for anything else. */
export function nodeKeyOfId (nodeId: string): Uint8Array {
  let key: Uint8Array | undefined
  try { key = peerIdFromString(nodeId.trim()).publicKey?.raw } catch { key = undefined }
  if (key === undefined || key.length !== 32) throw new UsageError(`"${nodeId}" is not a relay's node id (12D3KooW…, as "ddil status" or "ddil init" prints it)`)
  return key
}

export function nodeIdOfKey (key: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(key)).toString()
}
