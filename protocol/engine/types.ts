/**
 * The engine's contract with its host: what it needs (ports and an authoriser),
 * how it is configured, what it reports (events and counters).
 */
import type { Envelope } from '../envelope.ts'
import type { Clock, Crypto, Logger, PeerId, Store, Transport } from '../ports.ts'

/** Decides whether an author may write an envelope, and supplies the key to verify it with. */
export type AuthoriseResult =
  | { ok: true, publicKey: Uint8Array }
  /**
   * `carried: false`: refused by this relay's own policy, no fault of whoever forwarded it;
   * `wholeChannel`: it carries nothing of this envelope's channel (not, say, one author's posts),
   * so the peer need send none of the channel (engine/declined.ts).
   */
  | { ok: false, reason: string, carried?: false, wholeChannel?: true }
  /** Not decidable yet (unknown channel, author or parent): hold it and ask again later. */
  | { ok: false, pending: true, reason: string }

/** Where an envelope came from: a peer's link, or a local client (`submit`). */
export type Sender = PeerId | 'local'

/** An envelope whose authorisation is not decidable yet, and who sent it (the held pool's entries). */
export interface HeldEnvelope { env: Envelope, from: Sender }

/** Reports a refusal: counted, and told to the host's `refused` event (`peer` undefined for a local client). */
export type Refuse = (reason: RefusalReason, detail: string, peer?: PeerId, env?: Envelope) => void

export interface Authoriser {
  authorise (env: Envelope): AuthoriseResult
  /**
   * Whether a channel's expired envelopes must be kept (a legal hold, #25): the purge leaves
   * them and takes them once the hold is lifted. Absent: nothing is ever held.
   */
  onHold? (channel: Uint8Array): boolean
}

/**
 * Who may link (#29): what this node presents in its `hello`, and the decision on what a
 * peer presented in its own. A refused peer is told why (`bye`, ERR_UNAUTHORISED) and cut,
 * without a score penalty. Absent: every peer that speaks our link version is let in (the
 * host's own allowlist, if any, ran before the link came up).
 */
export interface PeerAdmission {
  /** What to present, e.g. this relay's organisation certificate; read at each link-up. */
  credentials (): Uint8Array | undefined
  admit (peer: PeerId, credentials: Uint8Array | undefined): { ok: true } | { ok: false, reason: string }
}

/**
 * What may cross a boundary between organisations (#29): the host's per-partner policy, judged
 * on links to a partner's relays only. An envelope the policy refuses from such a peer is not
 * stored (the peer is told why, without a penalty); one it keeps from such a peer is not sent
 * there. Either way the reason travels back the way the envelope came, to the relay its author
 * submitted it at (`refused` frames, code ERR_POLICY), whose clients see it.
 */
export interface BoundaryPolicy {
  /** The partner organisation across this peer's link, named for the sender; undefined: no boundary here, nothing is judged. */
  partner (peer: PeerId): string | undefined
  /**
   * Whether `env` may cross from (`in`) or to (`out`) `peer`: undefined when it may; else why
   * not, and whether it only waits (a rate: it is not stored or sent now, nothing is told, and
   * reconciliation offers it again) or is refused (told to its sender, once).
   */
  judge (peer: PeerId, env: Envelope, direction: 'in' | 'out'): { reason: string, wait: boolean } | undefined
}

export interface EngineDeps {
  clock: Clock
  crypto: Crypto
  store: Store
  transport: Transport
  logger: Logger
  authoriser: Authoriser
  events?: EngineEvents
  admission?: PeerAdmission
  boundary?: BoundaryPolicy
  /**
   * Decodes an envelope received or submitted (default: `decodeEnvelope` with
   * `crypto.sha256`). Engines never mutate an Envelope, so a host running many engines
   * may hand them one decoded object for identical bytes (the simulator does).
   */
  decode?: (bytes: Uint8Array) => Envelope
}

export interface EngineConfig {
  /** This node's peer id, as its peers know it (tie-breaks and neighbour lists). */
  nodeId: PeerId
  /** Storage quota for envelopes and their indexes, bytes. */
  storageBytesMax: number
  /** How often expired envelopes are purged, ms. */
  purgeIntervalMs: number
  /** How often each link is reconciled while up, ms (also on every link-up). */
  reconcileIntervalMs: number
  /** How long a sequence gap may stand before we ask peers for it, ms. */
  gapGraceMs: number
  /** Byte bound of each peer's outbound queue (hints; the store is the truth). */
  peerQueueBytesMax: number
  /** How long announced ids may wait to be batched into one `have` frame, ms. */
  haveBatchMs: number
  /** After a `have` for an id we lack, how long to wait for an eager copy before asking (graft), ms. */
  graftDelayMs: number
  /**
   * When an envelope arrives this long or more after another peer announced it, that peer's
   * path is the faster one: ask it to push the author's envelopes eagerly (graft), ms. A
   * wide margin: announcements are control frames and overtake the announcer's queued
   * envelopes, so a congested path looks faster than it is. At 25 ms the push benchmark's
   * meshes swapped paths back and forth (5.1% duplicates in steady state against 0.3%
   * without grafts); at 100 ms, 1.7%. A smaller lead is enough when it exceeds a round
   * trip of the announcer's link plus `haveBatchMs` (a detour 50 ms slower than a 5 ms
   * link was kept for good otherwise); the push benchmark moved from 5.42% to 5.46% on
   * one mesh. No graft either within `pruneRepeatMs` of pruning that author on that link.
   */
  graftLeadMs: number
  /**
   * After we asked a peer to announce an author's envelopes rather than push them (prune),
   * how long before another duplicate from it may ask again, ms. It goes eager again when
   * we graft, or when it restarts and forgets; asking only once would leave it pushing
   * duplicates for good.
   */
  pruneRepeatMs: number
  /**
   * A link up for less than this is young (#24): contacts between responders on the move last
   * seconds to minutes, too short for per-author prunes to build a push tree, so eager copies
   * of relayed envelopes cross (on a random-waypoint trace, 12% of payload bytes went to nodes
   * that had them, 82% of those within 10 ms of the first copy). On a young link a relayed
   * envelope is announced instead, where another of our neighbours reaches the peer too
   * (forwarding.ts `announcesRelayed`), and the peer asks for it at once. ms.
   */
  youngLinkMs: number
  /** `haveBatchMs` on a young link: an announcement there stands in for a push, ms. */
  youngLinkHaveBatchMs: number
  /** `graftDelayMs` on a young link: long enough for a copy already under way to land first, ms. */
  youngLinkGraftDelayMs: number
}

export const defaultEngineConfig: Omit<EngineConfig, 'nodeId'> = {
  storageBytesMax: 1024 ** 3,
  purgeIntervalMs: 60_000,
  reconcileIntervalMs: 30_000,
  gapGraceMs: 5_000,
  peerQueueBytesMax: 4 * 1024 * 1024,
  haveBatchMs: 20,
  graftDelayMs: 400,
  graftLeadMs: 100,
  pruneRepeatMs: 10_000,
  youngLinkMs: 120_000,
  youngLinkHaveBatchMs: 2,
  youngLinkGraftDelayMs: 10,
}

export type RefusalReason = 'decode' | 'signature' | 'unauthorised' | 'expired' | 'clock-skew' | 'limit' | 'quota' | 'storage'

/**
 * Whether an envelope may be stored (validate.ts): a value, never an exception. `pending`:
 * not decidable yet (hold it, ask again later); `not-carried`: refused by this relay's own
 * policy, no fault of whoever forwarded it.
 */
export type Verdict = { ok: true } | Refusal
export interface Refusal { ok: false, reason: RefusalReason | 'pending' | 'not-carried', message: string, wholeChannel?: true }

/** Hooks for the daemon (client API, audit log) and the simulator (delivery times). Must not throw. */
export interface EngineEvents {
  /** A new envelope is durably stored here (from a local client or a peer). */
  stored? (env: Envelope, from: PeerId | 'local'): void
  /** An envelope was refused; `peer` is undefined for local submissions. */
  refused? (reason: RefusalReason, detail: string, peer?: PeerId, env?: Envelope): void
  /** One author signed two envelopes with one sequence number in one channel. */
  equivocation? (first: Envelope | Uint8Array, second: Envelope): void
  /** A peer's score fell below the threshold; the engine asked the host to disconnect it. */
  penalised? (peer: PeerId, reason: string): void
  /** Envelopes removed for quota (evicted), age (purged) or because channel state discarded them; `bytes`: what they counted against the quota (given for evictions). */
  removed? (ids: Uint8Array[], why: 'evicted' | 'purged' | 'discarded', bytes?: number): void
  /** An envelope was handed to the transport for a peer (`bytes`: the envelope's; it may still be on its way to this relay's store). */
  sent? (id: Uint8Array, peer: PeerId, bytes: Uint8Array): void
  /** The boundary policy refused an envelope from a partner's relay (`in`) or kept it from one (`out`), once per envelope and peer. */
  crossingRefused? (env: Envelope, peer: PeerId, reason: string, direction: 'in' | 'out'): void
  /**
   * An envelope this relay holds did not cross a boundary further on, and why (its own gateway's
   * policy, or a refusal relayed back to it): once per envelope. The relay the author submitted
   * it at tells its clients.
   */
  refusedBeyond? (id: Uint8Array, reason: string): void
  /** During `open`, once per stored envelope (so channel state can be rebuilt before links come up). */
  restored? (env: Envelope): void
}

export interface Counters {
  framesSent: number[]
  bytesSent: number[]
  framesReceived: number[]
  bytesReceived: number[]
  /** Envelope bytes handed to the transport. */
  payloadBytesSent: number
  /** Envelope bytes received that we already held (or were storing). */
  duplicatePayloadBytesReceived: number
  duplicatesReceived: number
  submitted: number
  /** New envelopes stored (local or from peers). */
  stored: number
  purged: number
  evicted: number
  expiredOnArrival: number
  /** Envelopes that expired in an outbound queue and were dropped there, unsent. */
  expiredUnsent: number
  refused: number
  equivocations: number
  gapRequests: number
  reconcileSessions: number
  prunesSent: number
  /** Times we asked a peer to push an author's envelopes eagerly again (a `want` after the graft delay, or a `graft` to a faster announcer). */
  grafts: number
  peersPenalised: number
  /** Envelopes held because their authorisation was not decidable yet. */
  heldPending: number
  /** Envelopes removed because channel state later discarded them (strong removal). */
  discarded: number
  /** Envelopes the boundary policy refused from, or kept from, a partner organisation's relays (#29). */
  crossingsRefused: number
}

export function newCounters (): Counters {
  const perType = (): number[] => new Array(16).fill(0)
  return {
    framesSent: perType(), bytesSent: perType(), framesReceived: perType(), bytesReceived: perType(),
    payloadBytesSent: 0, duplicatePayloadBytesReceived: 0, duplicatesReceived: 0, submitted: 0, stored: 0,
    purged: 0, evicted: 0, expiredOnArrival: 0, expiredUnsent: 0, refused: 0, equivocations: 0, gapRequests: 0, reconcileSessions: 0, prunesSent: 0, grafts: 0, peersPenalised: 0, heldPending: 0, discarded: 0, crossingsRefused: 0,
  }
}

export interface EngineStatus {
  nodeId: PeerId
  /** `latencyMs` one way, as the host told or measured it (null while unknown); `costMs` what we advertise for the link. */
  peers: Array<{ id: PeerId, ready: boolean, score: number, queued: number[], latencyMs: number | null, costMs: number }>
  envelopes: number
  storeBytes: number
  storageBytesMax: number
  queuedByPrecedence: number[]
  counters: Counters
}

/**
 * A peer that was linked and is not now: since when (network time, ms), how many
 * unexpired envelopes stamped since then wait for it per precedence (they are offered
 * when it is back), and how old the oldest of them is (ms).
 */
export interface AwayPeer { id: PeerId, sinceMs: number, waiting: number[], oldestWaitingMs: number | null }
