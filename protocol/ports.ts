/**
 * Ports: everything the pure protocol core needs from the outside world, passed in.
 * The relay daemon implements them with node:crypto, LevelDB, libp2p and the real
 * clock; the simulator with a virtual clock, seeded randomness and in-memory stores.
 *
 * @example
 * const engine = createEngine({ clock, random, crypto, store, transport, logger }, config)
 */

/** Time. `nowMs` is realtime (whole Unix ms, may jump); `monotonicMs` never goes back (may be fractional). */
export interface Clock {
  nowMs (): number
  monotonicMs (): number
  /** Run `fn` after `delayMs`; returns a function that cancels it. */
  schedule (delayMs: number, fn: () => void): () => void
}

/** Randomness (seeded in the simulator and in tests). */
export interface Random {
  bytes (length: number): Uint8Array
  /** Uniform in [0, 1). */
  float (): number
}

export interface KeyPair {
  publicKey: Uint8Array // 32 bytes raw
  privateKey: Uint8Array // 32 bytes raw seed / scalar
}

/**
 * Synchronous cryptography (the deterministic core cannot await crypto).
 * Raw 32-byte keys throughout, so that browsers (WebCrypto) interoperate.
 */
export interface Crypto {
  ed25519KeyPair (seed: Uint8Array): KeyPair
  ed25519Sign (privateKey: Uint8Array, message: Uint8Array): Uint8Array
  ed25519Verify (publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean
  x25519KeyPair (seed: Uint8Array): KeyPair
  x25519 (privateKey: Uint8Array, publicKey: Uint8Array): Uint8Array
  hkdfSha256 (ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array
  /** AES-256-GCM; returns ciphertext with the 16-byte tag appended. */
  aesGcmSeal (key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): Uint8Array
  /** AES-256-GCM; throws CryptoError when the tag does not verify. */
  aesGcmOpen (key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, aad: Uint8Array): Uint8Array
  sha256 (data: Uint8Array): Uint8Array
}

export interface Logger {
  debug (fields: Record<string, unknown>, msg: string): void
  info (fields: Record<string, unknown>, msg: string): void
  warn (fields: Record<string, unknown>, msg: string): void
  error (fields: Record<string, unknown>, msg: string): void
}

/** A peer as the engine knows it: the host's stable string id (libp2p peer id, or a simulator node name). */
export type PeerId = string

/** What the host tells the engine about a link when it comes up. */
export interface LinkInfo {
  /** Largest frame the link should carry, bytes (slow links get small frames). */
  frameBytesMax?: number
  /** Nominal bandwidth if known, bits per second (the simulator knows; libp2p does not). */
  bandwidthBitsPerSecond?: number
  /** One-way latency if known, ms (libp2p's hosts measure it after the link is up: `linkMeasured`). */
  latencyMs?: number
}

/** Outbound frames. `send` returns false when the link cannot take the frame now (back-pressure or down). */
export interface Transport {
  send (peer: PeerId, frame: Uint8Array): boolean
  /** Ask the host to drop a misbehaving peer. */
  disconnect (peer: PeerId, reason: string): void
}

/** What the host calls on the engine. */
export interface LinkHandler {
  linkUp (peer: PeerId, info: LinkInfo): void
  linkDown (peer: PeerId): void
  receive (peer: PeerId, frame: Uint8Array): void
  /** The link can take frames again after `send` returned false. */
  drain? (peer: PeerId): void
  /** The host measured a link that is up (a ping's round trip, say): its latency or bandwidth changed. */
  linkMeasured? (peer: PeerId, info: LinkInfo): void
}

/** Ordered key-value storage. Keys are byte strings compared bytewise (see `keys.ts` for tuples). */
export type StoreOp =
  | { type: 'put', key: Uint8Array, value: Uint8Array }
  | { type: 'del', key: Uint8Array }

export interface RangeOptions {
  /** Inclusive lower bound. */
  gte?: Uint8Array
  /** Exclusive upper bound. */
  lt?: Uint8Array
  limit?: number
  reverse?: boolean
}

export interface Store {
  get (key: Uint8Array): Promise<Uint8Array | undefined>
  /** All or nothing; resolves once durable. */
  batch (ops: StoreOp[]): Promise<void>
  range (options: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]>
  close (): Promise<void>
}
