/**
 * Large posts as file pieces (#23): a post larger than one envelope body becomes a manifest
 * and its chunks, split with the protocol's own `splitFile` and laid out as `sealPieces`
 * lays them out (protocol/files): each body is the public piece head followed by a sealed
 * part exactly as long as the real one (content-type byte, payload, AEAD tag). The node then
 * signs them as kind `file` with one stamp, one time to live, consecutive sequence numbers
 * and the manifest's id as each chunk's one dependency (sim/node.ts `signPieces`). Relays
 * therefore see what a client's file gives them: the same kinds, heads, dependencies and
 * sizes, byte for byte in length.
 *
 * What the simulator skips, and why it changes nothing a relay sees:
 * - hashing: the manifest's SHA-256, Merkle root and id are sealed, so only their 32-byte
 *   length reaches a relay; `splitFile` runs with a stand-in digest of that length instead of
 *   hashing a 2 MB post three times over (and keeping it in the fleet's SHA-256 memo);
 * - encryption: the sealed part is the content-type byte, the payload and a 16-byte tag of
 *   zeros, as long as AES-256-GCM's output. Ungoverned runs never encrypt (a message body is
 *   the post's seeded bytes), and nobody in the simulator opens a file.
 *
 * @example
 * if (isFilePost(p.sizeBytes)) {
 *   const bodies = pieceBodies(content)                 // manifest first, then the chunks
 *   const pieces = node.signPieces({ channel, precedence, ttlSeconds, bodies })
 * }
 */
import { concatBytes } from '../protocol/bytes.ts'
import { contentOverheadBytes, ContentType } from '../protocol/channel/content.ts'
import { fileHashBytes } from '../protocol/files/format.ts'
import { encodePieceHead, FileForm } from '../protocol/files/piece.ts'
import { splitFile } from '../protocol/files/split.ts'
import { envelopeBodyBytesMax, longTextBytesMaxDefault } from '../protocol/limits.ts'
import type { Crypto } from '../protocol/ports.ts'

/** A post travels as file pieces when its content does not fit one envelope body (as a message's body, in the simulator). */
export function isFilePost (sizeBytes: number): boolean {
  return sizeBytes > envelopeBodyBytesMax
}

/**
 * The limit a relay holds a post to: up to the default long-text limit it is a long message
 * (form text, as a client sends a long situation report), beyond it a file (a photo, a PDF).
 */
export function pieceForm (sizeBytes: number): FileForm {
  return sizeBytes <= longTextBytesMaxDefault ? FileForm.text : FileForm.file
}

const digest = new Uint8Array(fileHashBytes)
/** `splitFile` only hashes through this: a digest of the right length, no work (see the header). */
const sizeOnlyHashing = { sha256: (_bytes: Uint8Array): Uint8Array => digest } as unknown as Crypto
const tag = new Uint8Array(contentOverheadBytes - 1)

/** The bodies of a post's pieces, manifest first: piece head, then a sealed part as long as the real one. */
export function pieceBodies (content: Uint8Array): Uint8Array[] {
  const form = pieceForm(content.length)
  const file = splitFile(sizeOnlyHashing, { name: 'post.bin', mediaType: 'application/octet-stream', content })
  const payloads = [file.manifestBytes, ...file.chunks]
  const count = payloads.length
  return payloads.map((payload, index) => concatBytes([
    encodePieceHead({ form, index, count }),
    Uint8Array.of(index === 0 ? ContentType.fileManifest : ContentType.fileChunk),
    payload,
    tag,
  ]))
}
