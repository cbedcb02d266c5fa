/**
 * Bounds of the client API (the WebSocket that local clients use): message size,
 * request rate, authentication attempts, subscriptions, buffered output. Each is a
 * default that `startClientApi({ limits })` may override (tests shrink some); units
 * last in every name. Envelope-level bounds stay in `protocol/limits.ts`.
 *
 * @example
 * import { defaultClientApiLimits } from './limits.ts'
 * startClientApi({ port: 0, facade, crypto, logger, limits: { ...defaultClientApiLimits, sendBufferedBytesMax: 64 * 1024 } })
 */
import { envelopeBytesMax } from '../../protocol/limits.ts'

/**
 * Largest client message we parse, bytes. A submit of the largest envelope is ~2.1 KB of JSON;
 * a batch of a file's chunks (`submitBatchEnvelopesMax`, 32 of about 1,320 B) about 57 KB.
 * 60 KiB holds that and stays under `wsPayloadBytesMax`; parsing it takes well under a millisecond.
 */
export const clientMessageBytesMax = 60 * 1024

/**
 * Hard bound handed to ws as `maxPayload`, bytes: ws closes the connection (1009) on a frame beyond it
 * before buffering it. Between `clientMessageBytesMax` and this, a frame gets an ERR_LIMIT reply and the
 * connection stays up; beyond it, reading the frame at all would be the attack.
 */
export const wsPayloadBytesMax = 64 * 1024

/** Largest envelope a client may submit, bytes: the protocol's own bound, checked before base64 decoding. */
export const submitEnvelopeBytesMax = envelopeBytesMax

/**
 * Steady request rate per connection, requests per second (the default of config
 * `api.requestsPerSecond`). A CLI command sends a handful of requests and a person a
 * message every few seconds, so honest clients never come near it; it bounds what one
 * connection can cost a relay on a single-board computer, where even the dearest request
 * (a submit: an Ed25519 verification and a store write) takes well under a millisecond, so
 * 50 a second are a few percent of a core. A gateway or bulk import through one connection
 * needs the config key raised (the relay benchmark does).
 */
export const requestRatePerSecond = 50

/** Highest `api.requestsPerSecond` accepted, for a gateway or a bulk import; the refusal budget below still closes a flood beyond it. */
export const requestRatePerSecondMax = 10_000

/**
 * Token bucket depth per connection, in seconds of the steady rate: 200 requests at the
 * default. A field client coming back online sends a burst: auth, up to 32 subscribes, a
 * status, up to 64 submissions from its outbox in flight, about 100 requests in all.
 */
export const requestBurstSeconds = 4

/** Token bucket depth per connection at the default rate, requests. */
export const requestBurstMax = requestBurstSeconds * requestRatePerSecond

/**
 * Requests refused for rate that a connection may run up before it is closed (1008), and how
 * many of them are forgiven each second. Counting refusals "in a row" let any flood faster
 * than the refill through, since each refilled token reset the count; with this budget a
 * flood at 19,000 a second is closed within about 20 ms (its burst included), a client sending
 * at twice the rate within about 11 s, and one that slows down on ERR_RATE never.
 */
export const rateRefusalsMax = 200
export const rateRefusalsForgivenPerSecond = 20

/**
 * The client library paces its own requests at this share of the node's rate and burst, so
 * that the two buckets, started and measured at different moments, never disagree about a
 * request: an honest client is slowed, never refused.
 */
export const clientPaceShare = 0.9

/** Failed authentication attempts (bad key, bad signature, unlisted user, or a request before auth) before the connection is closed. */
export const authFailuresMax = 3

/** A connection that has not authenticated within this is closed, ms: bounds idle unauthenticated sockets (slowloris). */
export const authTimeoutMs = 10_000

/** Authenticated client connections at once: a node serves its own team's phones and laptops, not the Internet. */
export const clientConnectionsMax = 64

/**
 * Client sockets not yet authenticated, at once (node/admission.ts): a bound of their own, so
 * that strangers' sockets idling towards their auth timeout cannot take the authenticated
 * connections' places (they shared the 64, and a flood locked new clients out). Beyond it the
 * oldest unauthenticated socket is dropped for the newcomer.
 */
export const clientPendingMax = 16

/** More unauthenticated sockets, only from addresses a known user authenticated from: a stranger's flood cannot take these. */
export const clientPendingReservedMax = 8

/** Unauthenticated sockets from one address not known for a user at once: a phone or a laptop opens one or two. */
export const clientPendingPerSourceMax = 4

/** While half of `clientPendingMax` is taken, a socket not authenticated after this is dropped, ms: a client answers the challenge in one round trip. */
export const clientPressuredAuthTimeoutMs = 2000

/** Addresses remembered as ones a known user authenticated from (most recent kept). */
export const clientKnownSourcesMax = 256

/** The WebSocket upgrade request's headers must arrive within this, ms (Node's default is 60 s). */
export const clientUpgradeHeadersTimeoutMs = 5000

/** How often Node checks client sockets still in their upgrade request against that timeout, ms (its default is 30 s). */
export const clientUpgradeTimeoutCheckEveryMs = 1000

/** Channel subscriptions per connection: a client shows a handful of channels; 32 bounds the fan-out work per stored envelope. */
export const subscriptionsPerConnectionMax = 32

/** Most backlog envelopes one subscribe may ask for (~2.2 MB of JSON at the largest envelope). */
export const backlogEnvelopesMax = 1000

/** Live envelopes held for one subscription while its backlog is still being sent; more and the subscription is ended with ERR_LIMIT. */
export const subscribePendingEnvelopesMax = 1000

/** Submissions awaiting durability per connection; more get ERR_LIMIT. The store's group commit makes a deeper pipeline pointless. */
export const submitsInFlightMax = 64

/** Most pieces of a file sent in one `filePieces` reply: 24 of at most 1,500 B (2,000 as base64, with the id) is under 50 KB of JSON. */
export const filePageEnvelopesMax = 24

/** Submitted ids per connection whose delivery status is pushed (oldest forgotten first). */
export const trackedSubmissionsMax = 1024

// ---- Enrolment and enrolled clients (node/enrolment.ts, node/clients-file.ts) ---------------

/** Longest enrolment code a client may send, characters: a code is 11 (XXXXX-XXXXX); room for spaces a user typed. */
export const enrolmentCodeCharsMax = 32

/** Longest an enrolment code may stay valid, ms: a code is for a person standing by, not a standing invitation. */
export const enrolmentTtlMsMax = 24 * 3_600_000

/** Shortest, ms (tests use a second; an operator means minutes). */
export const enrolmentTtlMsMin = 1000

/** `ddil enrol` without --ttl, ms: long enough to hand a phone the code or QR, short enough to be useless later. */
export const enrolmentTtlMsDefault = 15 * 60_000

/**
 * Unused, unexpired codes at once. Each is 50 random bits, so with all of them open a guess
 * succeeds with probability 32 / 2^50 ≈ 3e-14; beyond it issuing fails (LimitError).
 */
export const enrolmentCodesOpenMax = 32

/** Spent and expired codes remembered (as hashes) so that a reused or late one is refused for what it is; oldest forgotten first. */
export const enrolmentCodesRememberedMax = 256

/**
 * Entries in `<data>/clients.json`, revoked ones included: a relay's team devices over its
 * life. A full `clients` reply (~250 B each) stays under the 64 KiB frame. When full, the
 * oldest revoked entry gives way (a revoked key is refused either way: it is not enrolled);
 * with none revoked, enrolment fails (LimitError).
 */
export const enrolledClientsMax = 200

/** Largest `<data>/clients.json` read, bytes: `enrolledClientsMax` entries of ~300 B with room; a bigger file is not ours. */
export const clientsFileBytesMax = 128 * 1024

/** Channels in one `channelList` reply (~70 B each): more memberships than a responder's phone shows. */
export const channelListMax = 256

// ---- The app's files on the same listeners (node/web/static.ts) -----------------------------

/** Longest request path served, characters: the app's paths are short; a long one is a probe. */
export const webPathCharsMax = 1024

/** Largest app file served, bytes: the whole shell is meant to be ~150 KB compressed; a bigger file is not the app's. */
export const webFileBytesMax = 8 * 1024 * 1024

/** Gzipped copies of app files kept in memory, bytes: the shell several times over, for a few versions. */
export const webCompressedCacheBytesMax = 4 * 1024 * 1024

/**
 * A connection that made a plain HTTP request (an app file) is closed if it goes this long
 * without reading or sending, ms: after its request it is outside admission, and one
 * connection per file costs a handshake, not an idle socket held by a client that stopped reading.
 */
export const webResponseIdleTimeoutMs = 10_000

// ---- The HTTPS listener's certificate (node/web/certificate.ts) -----------------------------

/** Validity of a certificate the node makes for itself, ms: 825 days, the longest iOS accepts for a TLS server certificate. */
export const webCertValidityMs = 825 * 86_400_000

/** A certificate the node made is replaced at start when it expires within this, ms. */
export const webCertRenewBeforeMs = 30 * 86_400_000

/** Largest PEM file read (a certificate chain or a key), bytes. */
export const webPemBytesMax = 64 * 1024

/**
 * Bytes the server may hold unsent for one client (ws `bufferedAmount`). Beyond this the client is a slow consumer
 * and is disconnected rather than buffered without bound; 1 MiB is ~450 of the largest envelopes.
 */
export const sendBufferedBytesMax = 1024 * 1024

/** On shutdown, clients get this long to answer the close handshake before their sockets are destroyed, ms. */
export const closeGraceMs = 1000

/** Client library: a request without a reply after this fails, ms. Submit waits for a durable write, which takes milliseconds. */
export const clientRequestTimeoutMs = 30_000

/** Client library: the server's challenge must arrive and auth be answered within this, ms. */
export const clientConnectTimeoutMs = 10_000

/** Longest request id (`rid`) a client may choose, characters when a string. */
export const ridCharsMax = 64

// ---- Admin endpoint (node/admin.ts: /healthz, /status, /metrics) ----------------------

/**
 * Admin connections at once, hard bound (the server drops connections beyond it at once).
 * A scraper and an operator's curl need a few; each response is small and closes its
 * connection, so only unfinished requests can hold one long. Without a bound one local
 * process holding unfinished requests took the relay to its file limit.
 */
export const adminConnectionsMax = 32

/** Admin requests whose headers have not all arrived, at once; beyond it the oldest is dropped (node/admission.ts). */
export const adminPendingMax = 8

/** ...of which one address may hold this many (a management network has several; loopback is one address). */
export const adminPendingPerSourceMax = 4

/** An admin request's headers fit one packet: once half the pending slots are taken, one not complete after this is dropped, ms. */
export const adminPressuredTimeoutMs = 1000

/** An admin request's headers must all arrive within this, ms (Node's default is 60 s). */
export const adminHeadersTimeoutMs = 5000

/** A whole admin request must arrive within this, ms (Node's default is 300 s). */
export const adminRequestTimeoutMs = 10_000

/** How often Node checks admin connections against the two timeouts above, ms (its default, 30 s, would let them run that much longer). */
export const adminTimeoutCheckEveryMs = 1000

/** The request rate and burst for a configured rate (config `api.requestsPerSecond`). */
export function apiRateLimits (requestsPerSecond: number): Pick<ClientApiLimits, 'requestRatePerSecond' | 'requestBurstMax'> {
  return { requestRatePerSecond: requestsPerSecond, requestBurstMax: requestBurstSeconds * requestsPerSecond }
}

/** Every bound above that the server reads at run time, as one overridable object. */
export interface ClientApiLimits {
  clientMessageBytesMax: number
  wsPayloadBytesMax: number
  requestRatePerSecond: number
  requestBurstMax: number
  rateRefusalsMax: number
  rateRefusalsForgivenPerSecond: number
  authFailuresMax: number
  authTimeoutMs: number
  clientConnectionsMax: number
  clientPendingMax: number
  clientPendingReservedMax: number
  clientPendingPerSourceMax: number
  clientPressuredAuthTimeoutMs: number
  subscriptionsPerConnectionMax: number
  backlogEnvelopesMax: number
  subscribePendingEnvelopesMax: number
  submitsInFlightMax: number
  trackedSubmissionsMax: number
  sendBufferedBytesMax: number
  closeGraceMs: number
}

export const defaultClientApiLimits: Readonly<ClientApiLimits> = Object.freeze({
  clientMessageBytesMax,
  wsPayloadBytesMax,
  requestRatePerSecond,
  requestBurstMax,
  rateRefusalsMax,
  rateRefusalsForgivenPerSecond,
  authFailuresMax,
  authTimeoutMs,
  clientConnectionsMax,
  clientPendingMax,
  clientPendingReservedMax,
  clientPendingPerSourceMax,
  clientPressuredAuthTimeoutMs,
  subscriptionsPerConnectionMax,
  backlogEnvelopesMax,
  subscribePendingEnvelopesMax,
  submitsInFlightMax,
  trackedSubmissionsMax,
  sendBufferedBytesMax,
  closeGraceMs,
})

/** Longest bundle file path an operator's CLI sends (#27): PATH_MAX on Linux. */
export const bundlePathCharsMax = 4096
