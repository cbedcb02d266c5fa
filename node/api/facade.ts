/**
 * What the client API needs from the relay: the narrow facade the daemon implements
 * over its engine, and the delivery status the API pushes to clients. The API never
 * touches the engine, store or transport directly, so it is tested against any
 * implementation (the tests wrap a real engine on an in-memory store).
 *
 * @example
 * const facade: NodeFacade = {
 *   nodeId: 'relay-a',
 *   submit: async (bytes) => ({ id: (await engine.submit(bytes)).id }),
 *   backlog: (channel, { limit }) => channelHistory(channel, limit),
 *   onStored: (listener) => storedListeners.add(listener),   // return the remover
 *   onStatus: (listener) => statusListeners.add(listener),
 *   stamp: () => engine.stamp(),
 *   status: () => engine.status(),
 *   isAllowedUser: (key) => registry.isAllowed(key),
 *   isOperator: (key) => registry.isOperator(key),
 *   channels: (user) => policy.memberships(user, channelListMax),
 *   clients: registry,                                        // node/client-registry.ts
 * }
 */
import type { Hlc } from '../../protocol/hlc.ts'
import type { ChannelMembership, ClientRecord, MessageStatus } from './wire.ts'

/** One stored envelope as the API hands it on. An engine `Envelope` satisfies this shape as it is. */
export interface ApiEnvelope {
  /** 32-byte id (SHA-256 of `bytes`). */
  id: Uint8Array
  /** 8-byte channel reference from the envelope header. */
  channel: Uint8Array
  /** The envelope's one byte form. */
  bytes: Uint8Array
}

/** The delivery status the API pushes to clients is part of the wire contract (wire.ts). */
export { messageStates, type MessageState, type MessageStatus } from './wire.ts'

/** Enrolment and revocation of client devices (the daemon's node/client-registry.ts). */
export interface ClientAdmin {
  /**
   * Lets a device's key in with a one-time code. Rejects with UnauthorisedError when the code
   * cannot be spent (wrong, used, expired) or the key was revoked; LimitError, StorageError or
   * AuditError when it cannot be done or recorded.
   */
  enrol (request: { code: string, publicKey: Uint8Array, xPublicKey: Uint8Array, name: string, remote?: string }): Promise<void>
  /** A new single-use code, named for whom it is (may be ''). */
  issue (options: { name: string, ttlMs: number }): Promise<{ code: string, expiresAtMs: number }>
  /** Revokes an enrolled key; every `onRevoked` listener hears of it before this resolves. */
  revoke (publicKey: Uint8Array): Promise<void>
  list (): ClientRecord[]
  /** Revocations as they happen; returns the remover. */
  onRevoked (listener: (publicKey: Uint8Array) => void): () => void
}

/** Who asked: lets the daemon audit a submission by the authenticated user. */
export interface SubmitContext {
  /** The client's authenticated Ed25519 public key, 32 bytes. */
  user: Uint8Array
  /** One of a file's chunks (`submitBatch`): stored like any envelope, its status not tracked. */
  batch?: boolean
}

/**
 * What an export covers (protocol/bundle/format.ts) and where the relay writes it (an absolute
 * path on its machine). `forNodeId`: leave out what that node's newest imported bundle said it
 * holds (excludes `sinceMs` > 0).
 */
export interface BundleExportRequest { path: string, channels: Uint8Array[], precedences: number, sinceMs: number, forNodeId?: string }
/** `leftOut` (with `forNodeId` only): envelopes of the scope's channels not written because that node holds them. */
export interface BundleExportResult { envelopes: number, bytes: number, hash: string, leftOut?: number }
export interface BundleImportResult {
  /** The exporting node's id, as its signature proves. */
  nodeId: string
  envelopes: number
  /** Stored now. */
  added: number
  /** Already held here (or once held and purged or discarded): nothing stored. */
  held: number
  refused: number
  /** Refused envelopes by reason (the engine's refusal reasons: unauthorised, expired, signature, …). */
  reasons: Record<string, number>
}

/** Operator-only bundle operations (the client API's `bundleExport` and `bundleImport`). */
export interface BundleAdmin {
  export (request: BundleExportRequest): Promise<BundleExportResult>
  import (request: { path: string }): Promise<BundleImportResult>
}

export interface NodeFacade {
  /** This node's id, bound into every client's authentication signature. */
  readonly nodeId: string
  /**
   * Validates and stores an envelope; resolves once durable (custody acknowledged).
   * Rejects with a DdilError (DecodeError, SignatureError, ExpiredError, UnauthorisedError,
   * QuotaError, ClockSkewError, LimitError, StorageError) when refused; AuditError for a
   * governance change while the audit log cannot record it.
   */
  submit (envelopeBytes: Uint8Array, context: SubmitContext): Promise<{ id: Uint8Array }>
  /**
   * A channel's backlog, oldest first: what a client needs to read it (its governance, keys
   * and board history) and its newest `limit` messages with their receipts. Bounded by
   * the implementation; `limit` counts messages only.
   */
  backlog (channel: Uint8Array, options: { limit: number }): AsyncIterable<ApiEnvelope>
  /**
   * One page of a file's pieces held here (#23): the file named by its manifest's `id`, pieces
   * after `after` in the node's order, at most `filePageEnvelopesMax`. `last` is the last id
   * looked at (pass it as `after` for the next page); `more` is 0 at the end.
   */
  filePage (channel: Uint8Array, id: Uint8Array, after?: Uint8Array): Promise<{ pieces: Array<{ id: Uint8Array, envelope: Uint8Array }>, more: number, last?: Uint8Array }>
  /** Live feed of newly stored envelopes (local or from peers); returns the unsubscriber. Listeners must not throw. */
  onStored (listener: (envelope: ApiEnvelope) => void): () => void
  /** Delivery status updates by envelope id; returns the unsubscriber. */
  onStatus (listener: (id: Uint8Array, status: MessageStatus) => void): () => void
  /** A hybrid-logical-clock timestamp for a new envelope, after everything this node has seen. */
  stamp (): Hlc
  /** Node status summary; must be JSON-compatible (no Uint8Array, no bigint). */
  status (): Record<string, unknown>
  /** Whether this Ed25519 public key (32 bytes) may use the client API. */
  isAllowedUser (publicKey: Uint8Array): boolean
  /** Whether this key is the data directory's operator user (operator-only requests). */
  isOperator (publicKey: Uint8Array): boolean
  /** Channels whose governance, as this node verified it, lists the user as a current member (bounded). */
  channels (user: Uint8Array): ChannelMembership[]
  clients: ClientAdmin
  /** Air-gap bundles (#27), operator only; absent where the node has none (a test facade). */
  bundles?: BundleAdmin
}
