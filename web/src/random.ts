/**
 * Randomness in the browser: crypto.getRandomValues, the platform's CSPRNG (available
 * in insecure contexts too, unlike crypto.subtle). The protocol never draws its own: the
 * channel client is handed `randomBytes` (keys, nonces, epoch keys, board client ids).
 *
 * @example
 * const seed = randomBytes(32)
 */

/** getRandomValues fills at most 65,536 bytes per call (Web Crypto spec). */
const chunkBytesMax = 65_536

export function randomBytes (length: number): Uint8Array {
  const out = new Uint8Array(length)
  for (let off = 0; off < length; off += chunkBytesMax) crypto.getRandomValues(out.subarray(off, Math.min(length, off + chunkBytesMax)))
  return out
}
