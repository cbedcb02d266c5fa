/**
 * Client authentication: the server sends a fresh 32-byte nonce and its node id; the client
 * proves it holds a user key by signing, with Ed25519,
 *
 *   input = utf8("ddil/v1/client-auth\n") || nonce (32 bytes) || utf8(nodeId)
 *
 * The label keeps this signature from being valid as an envelope (their labels differ);
 * the nonce makes it single-use; the node id binds it to this node, so a node cannot
 * replay a client's answer to another. Fixed-length fields come first, so the
 * concatenation is unambiguous.
 *
 * @example
 * const signature = signClientAuth(crypto, user.privateKey, nonce, 'relay-a')
 * verifyClientAuth(crypto, user.publicKey, nonce, 'relay-a', signature)   // true
 */
import { utf8 } from '../../protocol/bytes.ts'
import type { Crypto } from '../../protocol/ports.ts'

export const clientAuthLabel = utf8('ddil/v1/client-auth\n')
export const authNonceBytes = 32
export const publicKeyBytes = 32
export const signatureBytes = 64

export function clientAuthInput (nonce: Uint8Array, nodeId: string): Uint8Array {
  const id = utf8(nodeId)
  const out = new Uint8Array(clientAuthLabel.length + nonce.length + id.length)
  out.set(clientAuthLabel)
  out.set(nonce, clientAuthLabel.length)
  out.set(id, clientAuthLabel.length + nonce.length)
  return out
}

export function signClientAuth (crypto: Crypto, privateKey: Uint8Array, nonce: Uint8Array, nodeId: string): Uint8Array {
  return crypto.ed25519Sign(privateKey, clientAuthInput(nonce, nodeId))
}

export function verifyClientAuth (crypto: Crypto, publicKey: Uint8Array, nonce: Uint8Array, nodeId: string, signature: Uint8Array): boolean {
  if (nonce.length !== authNonceBytes || publicKey.length !== publicKeyBytes || signature.length !== signatureBytes) return false
  return crypto.ed25519Verify(publicKey, clientAuthInput(nonce, nodeId), signature)
}
