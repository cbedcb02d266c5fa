/**
 * Every bound and tuning figure of the field client in one place, units last, each with
 * why. Protocol bounds stay in protocol/limits.ts, the client API's in node/api/limits.ts.
 *
 * @example
 * import { pinCharsMin } from './limits.ts'
 */

/** Shortest PIN or passphrase: six digits is what phones ask for; with PBKDF2 below, each guess costs a second on a phone. */
export const pinCharsMin = 6

/** Longest PIN or passphrase, characters: bounds the key-derivation input. */
export const pinCharsMax = 256

/** PBKDF2-HMAC-SHA256 iterations for the key that seals the user's keys (OWASP 2023 figure for this PRF). */
export const pinKdfIterations = 600_000

/** Wrong PINs in a row before the app makes each further try wait (doubling from `pinBackoffMs`). */
export const pinTriesBeforeBackoff = 5

/** First wait after too many wrong PINs, ms; doubles per further wrong PIN, up to `pinBackoffMsMax`. */
export const pinBackoffMs = 30_000

/** Longest wait between PIN tries, ms. */
export const pinBackoffMsMax = 15 * 60_000

/** Envelopes waiting on the device for the relay; beyond it, posting is refused with a clear reason (a full phone must not fail silently). */
export const outboxEntriesMax = 500

/** Envelopes kept on the device per channel (to read it offline and after a reload); the oldest messages and receipts go first, governance and keys never. */
export const cachedEnvelopesPerChannelMax = 3000

/**
 * A file's chunks waiting on the device for the relay (#23), in all: 8,930 chunks are 10 MB of
 * files, what the app lets a responder send (`fileSendBytesMax`) and what a phone's storage
 * holds without a second thought. Counted apart from `outboxEntriesMax`.
 */
export const outboxChunksMax = 8930

/** Largest file the app sends, bytes: its chunks must all fit the outbox (the channel's own limit, 25 MB by default, may be lower). */
export const fileSendBytesMax = 10_000_000

/** Shortest gap between two `submitBatch` requests of the outbox, ms: like `filePageGapMs`, within the relay's request rate. */
export const submitBatchGapMs = 25

/** Messages asked of the relay per channel when subscribing (the API allows 1000). */
export const backlogMessages = 200

/** Channels followed at once: the client API allows 32 subscriptions per connection. */
export const channelsFollowedMax = 32

/** Waits between reconnection attempts, ms: quick for a relay restart, then every 10 s during an outage. */
export const reconnectDelaysMs = [500, 1000, 2000, 5000, 10_000]

/** How long the app waits for the relay's handshake before calling it unreachable, ms. */
export const connectTimeoutMs = 15_000

/** How long one request may wait for its reply, ms (a submit waits for the relay's disk). */
export const requestTimeoutMs = 20_000

/** How long receipts for newly arrived messages are gathered into one envelope, ms. */
export const receiptBatchMs = 300

/** Message lifetimes a responder can pick, seconds (the channel's retention caps them). */
export const ttlChoicesSeconds = [3600, 6 * 3600, 24 * 3600, 3 * 24 * 3600, 7 * 24 * 3600]

/** Default message lifetime, seconds: a day, the CLI's default. */
export const ttlDefaultSeconds = 24 * 3600

/** How often the app asks the relay which channels this user belongs to, ms: the API has no push for "you were added". */
export const channelListPollMs = 5_000

/** How often the relative times and expiries on screen are refreshed, ms. */
export const clockTickMs = 15_000

/**
 * Largest file fetched whole without asking, bytes (#23): a few photos' worth over a slow link;
 * a larger one shows a button. Long messages (at most the policy's text limit, 64 KB by default)
 * are always fetched.
 */
export const fileAutoFetchBytesMax = 4_000_000

/**
 * Content of whole files kept in memory to show (images, download links), bytes; beyond it the
 * oldest file is let go and shows its button again. The relay still holds its pieces.
 */
export const fileContentKeptBytesMax = 64_000_000

/**
 * Shortest gap between two `filePage` requests, ms: 40 a second of the relay's default 50
 * (node/api/limits.ts), so a file's fetch leaves room for everything else on the connection
 * and is never refused for rate. 24 pieces a page: about 1 MB of file a second.
 */
export const filePageGapMs = 25
