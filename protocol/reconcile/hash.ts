/**
 * The deterministic functions every reconciling peer must agree on bit for bit:
 * an item's 64-bit key (the first 8 bytes of its id, read as two little-endian
 * words), the key's 32-bit checksum, the 32 tug-of-war signs used by the
 * difference estimator, and the item's pseudo-random, increasingly sparse
 * sequence of coded-symbol indices (rateless IBLT mapping: index i is hit with
 * probability 1 / (1 + i/2), index 0 always).
 *
 * The index generator's state is 64 bits, a bijection of the key (a salt, fixed
 * per key, and a Weyl sequence started from a seed): distinct keys never share an
 * index sequence. Version 1 seeded a 32-bit state from a 32-bit hash of the key, so
 * two keys in a difference of d shared one with probability about d² / 2³³ (10% at
 * d = 30,000, 69% at 100,000). Such a pair sits in exactly the same symbols, so no
 * symbol ever holds one of them alone: the peeling decoder stalls for good, however
 * many symbols arrive ("no decode after 1048576 symbols"), for that pair of sets
 * every time and in both directions.
 *
 * Ids are SHA-256 outputs, so their bytes are already uniform: no keyed hashing
 * or randomness is needed, and all of this is a pure function of the 8-byte key
 * (the decoder only ever recovers keys, never whole ids, from coded symbols).
 * Only 32-bit integer arithmetic and correctly rounded IEEE operations are used,
 * so every JavaScript engine computes the same indices.
 *
 * @example
 * const [k0, k1] = [keyWord0(id), keyWord1(id)]
 * const salt = mapSalt(k0, k1)
 * let i = 0, s = mapSeed(k0, salt)
 * while (i < 100) { visit(i); s = mapStep(s); i = nextIndex(i, mapDraw(s, salt)) }
 */

/** Murmur3's 32-bit finaliser: a bijective avalanche mix of one word. */
export function fmix32 (h: number): number {
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

/** First key word: id bytes 0..3, little-endian. */
export function keyWord0 (id: Uint8Array, offset = 0): number {
  return (id[offset] | (id[offset + 1] << 8) | (id[offset + 2] << 16) | (id[offset + 3] << 24)) >>> 0
}

/** Second key word: id bytes 4..7, little-endian. */
export function keyWord1 (id: Uint8Array, offset = 0): number {
  return keyWord0(id, offset + 4)
}

/** A compact Map key for a 64-bit key (four UTF-16 code units; any code unit is fine in a Map). */
export function keyString (k0: number, k1: number): string {
  return String.fromCharCode(k0 & 0xffff, k0 >>> 16, k1 & 0xffff, k1 >>> 16)
}

/**
 * Checksum of a key. Non-linear in the key, so the XOR of several items' checksums
 * matches the checksum of the XOR of their keys only by chance (2^-32 per test).
 */
export function checksum (k0: number, k1: number): number {
  return fmix32(Math.imul(k0 ^ 0x243f6a88, 0x9e3779b1) ^ fmix32(k1 ^ 0x85a308d3))
}

/** 32 independent-looking ±1 signs (bit j set = +1) for the tug-of-war estimator; `lane` picks another 32. */
export function signs (k0: number, k1: number, lane: number): number {
  return fmix32(Math.imul(k1 ^ 0x13198a2e ^ lane, 0x85ebca77) ^ fmix32(k0 ^ 0x03707344))
}

/**
 * The fixed half of a key's index-generator state. For a given k0 it is a bijection
 * of k1 (k1 XOR a mix of k0), so with `mapSeed` the pair (seed, salt) is one-to-one
 * with the key: two keys never share a generator state. Independent of the
 * checksum and the signs (other constants).
 */
export function mapSalt (k0: number, k1: number): number {
  return (k1 ^ fmix32(Math.imul(k0 ^ 0x299f31d0, 0xc2b2ae3d))) >>> 0
}

/** Where a key's Weyl sequence starts: k0 XOR a mix of the salt (a Feistel round, so invertible). */
export function mapSeed (k0: number, salt: number): number {
  return (k0 ^ fmix32(salt ^ 0xa4093822)) >>> 0
}

/** Advance the index generator's moving state (a Weyl sequence; `mapDraw` mixes it with the salt). */
export function mapStep (state: number): number {
  return (state + 0x9e3779b9) >>> 0
}

/** A uniform 32-bit draw from the generator's state (moving word and salt). */
export function mapDraw (state: number, salt: number): number {
  return fmix32(state ^ salt)
}

/**
 * The next index after `i`, given a uniform 32-bit draw. With u uniform in (0, 1],
 * P(next > j) = ((i + 1.5) / (j + 1.5))², which makes each index j hit with
 * probability ≈ 1 / (1 + j/2): dense at the start, sparse later, so any prefix
 * of the symbol stream decodes a difference of about its own size.
 */
export function nextIndex (i: number, draw: number): number {
  const u = (draw + 1) / 4294967296
  const step = Math.ceil((i + 1.5) * (1 / Math.sqrt(u) - 1))
  return i + (step < 1 ? 1 : step)
}

/** Whether the key's index sequence hits `index` (walks the sequence: O(log index)). */
export function mapsTo (k0: number, k1: number, index: number): boolean {
  const salt = mapSalt(k0, k1)
  let i = 0
  let s = mapSeed(k0, salt)
  while (i < index) { s = mapStep(s); i = nextIndex(i, mapDraw(s, salt)) }
  return i === index
}
