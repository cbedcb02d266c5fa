/**
 * Every bound in the protocol, in one place, with its unit last in its name.
 * A limit is checked before the allocation or work it guards. Change a value here
 * and the tests that probe it follow (they import these constants).
 */

// ---- Frames and encodings -------------------------------------------------

/** Largest frame on any link. 64 KiB keeps a frame under ~55 s on 9.6 kbps radio, and bounds per-peer buffering. */
export const frameBytesMax = 64 * 1024

/** Smallest frame budget a link may negotiate; an envelope of `envelopeBytesMax` must still fit with headroom. */
export const frameBytesMin = 2 * 1024

/** Largest envelope (header, ciphertext, signature). Text, receipts and governance fit; files do not belong here. */
export const envelopeBytesMax = 1500

/** Largest envelope body (ciphertext including its AEAD tag). */
export const envelopeBodyBytesMax = 1200

/** Deepest CBOR nesting we decode; our own structures nest at most 4 deep, so 16 leaves room without stack risk. */
export const cborDepthMax = 16

/** Most items in one CBOR array from a peer (id lists are bounded separately and tighter). */
export const cborArrayItemsMax = 4096

/** Most entries in one CBOR map from a peer: our maps are small records. */
export const cborMapEntriesMax = 64

/** Longest CBOR text string from a peer, bytes. */
export const cborTextBytesMax = 4096

/** Longest CBOR byte string from a peer: a whole frame's worth. */
export const cborBytesMax = frameBytesMax

/** Most ids in one announce or request frame: 1024 × 32 B = 32 KiB, half a frame. */
export const idListItemsMax = 1024

// ---- Envelopes -------------------------------------------------------------

/** Most causal dependencies one envelope may name (governance changes cite the heads they saw). */
export const envelopeDepsMax = 16

/**
 * Longest retention a channel's policy may set (#25): ten years, the longest records
 * schedules our buyers keep incident communications for. Standing channels live for years.
 */
export const retentionSecondsMax = 10 * 365 * 24 * 3600

/**
 * Longest time-to-live a sender may set: the longest retention (a channel's policy caps its
 * own, and relays refuse what exceeds it: protocol/channel/authorise.ts).
 */
export const ttlSecondsMax = retentionSecondsMax

/**
 * The TTL written on governance and keys envelopes. Relays keep those for their channel's
 * life whatever it says (envelope.ts `isLasting`, #25); it keeps its value from before, so
 * their bytes, ids and test vectors did not change.
 */
export const lastingTtlSeconds = 30 * 24 * 3600

/**
 * Board updates and profiles live at least this long, or the channel's retention when that
 * is longer: a situation board must outlive a week's message retention.
 */
export const stateTtlSecondsMin = 30 * 24 * 3600

/** Shortest time-to-live: below this a message cannot cross even one slow hop. */
export const ttlSecondsMin = 10

/**
 * How far in the future (receiver's clock) a sender's timestamp may be before we
 * refuse it. The threat catalogue requires nodes whose clocks are off by up to
 * ±24 h to keep working; beyond this we treat the timestamp as forged.
 */
export const clockSkewMsMax = 25 * 3600 * 1000


/** Largest HLC logical counter before we refuse to tick further in one millisecond. */
export const hlcCounterMax = 0xffff

/**
 * Most envelopes one relay's catalog holds (its in-memory index): 67 million, far past
 * any storage quota a relay's hardware allows at a few hundred bytes each.
 */
export const catalogEntriesMax = 2 ** 26

// ---- Peers -----------------------------------------------------------------

/** Score a peer starts with; invalid frames and envelopes subtract from it. */
export const peerScoreInitial = 100

/**
 * Score a peer wins back per hour without penalties, up to `peerScoreInitial`. A forger
 * still loses its link within minutes (ten forgeries), while the honest edge cases (an
 * expired envelope after a partition, a skewed clock) no longer add up over weeks on
 * a link that stays up: 101 untimely envelopes cost a link only within about ten hours.
 */
export const peerScorePerHourRecovered = 10

/** Below this score the engine asks the host to disconnect the peer. */
export const peerScoreDisconnectBelow = 0

/** Score lost for a frame that does not decode (junk, oversized, wrong version). */
export const peerPenaltyBadFrame = 10

/** Score lost for an envelope that fails decoding or its signature: ten forgeries and the peer is out. */
export const peerPenaltyBadEnvelope = 10

/**
 * Score lost for an untimely envelope (expired, or stamped beyond the skew allowance) or an
 * unauthorised one (its author not a member by our view of the channel): small, since a
 * skewed clock, a slow path or a partition that kept a removal from the peer can cause it
 * honestly, and taken once per envelope per link, since reconciliation offers an envelope
 * we refused again every round.
 */
export const peerPenaltyUntimely = 1

/**
 * Score lost for a peer's request that only costs us: a `prune` naming an author we never
 * forwarded, an envelope of its that the pending pool had to drop undecided. Small, since an
 * honest peer can cause one now and then; a flood of them adds up to a cut within a hundred.
 */
export const peerPenaltyWasteful = 1

/** Score lost when a peer leaves more control frames queued to it than `controlQueueBytesMax` (it does not read): a cut. */
export const peerPenaltyUnread = peerScoreInitial + 1

/**
 * Bytes of control frames (handshake, neighbours, have, want, reconcile replies) queued to one
 * peer. An honest peer reads them as they come, ahead of any envelope; a megabyte is fifteen
 * minutes of a 9.6 kbps radio. A peer that lets more pile up is cut: its requests (reconcile
 * sessions, `have` floods) would otherwise grow our memory without bound.
 */
export const controlQueueBytesMax = 1024 * 1024

/**
 * Reconciliation sessions a peer may open with us per minute. An honest peer opens one per
 * reconcile interval (30 s by default) and one per link-up; each session costs us a reply
 * of coded symbols, so a peer opening more is charged `peerPenaltyBadFrame` for each.
 */
export const reconcileSessionsPerMinuteMax = 20

/**
 * Ids one peer may announce to us (`have`) per second, with a burst of twice that. An honest
 * peer announces each envelope it stores for an author it pushes to us lazily, so this is its
 * ingest rate; announcements past it are dropped uncharged and left to reconciliation.
 */
export const announcedIdsPerSecondMax = 4096

/** Ids announced to us (`have`) whose eager copy we wait for, across all peers; past it, announcements wait for reconciliation. */
export const awaitedIdsMax = 65_536

/** Authors one peer may ask us to announce rather than push (`prune`), in memory and on disk; past it a prune is refused and charged. */
export const lazyAuthorsPerPeerMax = 4096

/** Channels whose creation a relay refused (authors.allow) that it remembers, so their other envelopes are refused, not held. */
export const notCarriedChannelsRememberedMax = 4096

/** Peers whose standing (score, prunes) a relay remembers across reconnects; the longest unseen are forgotten first. */
export const peersRememberedMax = 1024

/** Untimely envelope ids remembered per link, so that each costs its sender once. */
export const untimelyIdsRememberedMax = 4096

/** Most envelopes held while their authorisation is undecidable (unknown channel, author or parent). */
export const pendingEnvelopesMax = 4096

/** Bytes held in the pending pool: bounded so that junk claiming unknown channels cannot fill memory. */
export const pendingBytesMax = 4 * 1024 * 1024

/** Most neighbours one node advertises; a relay with more links than this is not a field relay. */
export const neighboursMax = 256

/** Most `wantSeq` frames one gap check sends each peer (one per run of missing numbers; later checks ask for the rest). */
export const gapRunsMax = 32

/**
 * Streams (channel, author) with a gap check pending. A stream has at most one: gaps revealed
 * while it waits join it, so a relay catching up (whose envelopes arrive in key-range order,
 * not in sequence) or an author jumping ahead envelope after envelope costs one check per
 * stream and grace delay, each asking for at most `idListItemsMax` numbers below the highest.
 * Past this bound a new gap is not asked for; reconciliation still repairs it. Any sequence
 * number is accepted: a relay back after days lacks whatever its peers stored meanwhile.
 */
export const gapChecksPendingMax = 4096

/**
 * Ids a node remembers as promised by a reconciling peer (past this it forgets them all: only
 * duplicates follow). Room for `catchUpIdsAheadMax` from each of two peers: a relay catching
 * up counts what is still on its way (catchup.ts). About 100 B each: 26 MiB when full.
 */
export const promisedIdsRememberedMax = 262_144

/** Ids remembered with every peer that promised them (a repair push is no reason to prune; reconciler.ts). */
export const repairPushersRememberedMax = 65_536

/**
 * Ids found by reconciliation and not yet moved, to or from one peer, past which its next
 * range session waits (catchup.ts): two ranges' worth, so one range's envelopes stream while
 * the next range is reconciled, and a catch-up of any size holds at most this many owed ids
 * and promises per link instead of the whole difference.
 */
export const catchUpIdsAheadMax = 2 * 65_536

/**
 * A periodic reconciliation with a peer waits while more ids than this, found by earlier ones,
 * are still moving to or from it: re-finding a catch-up's remaining difference every interval
 * costs about 50 B per id and finds nothing new. Below it a pass is cheap and finds what was lost.
 */
export const reconcileWaitsForIdsMin = 1024

/**
 * Streams (channel, author) and authors whose first envelope's way in a relay remembers,
 * for announcing a new author's first envelope where a co-located author was pruned
 * (push.ts). Past it, newer authors simply get no such guess: forgetting would make
 * known authors look new, and the guess is only for new ones.
 */
export const authorWaysRememberedMax = 65_536

/** Peers that went away a relay remembers, for status ("what waits for whom"); the longest gone are forgotten first. */
export const awayPeersRememberedMax = 256

/** Ids remembered per link as already sent (besides being forgotten after `resendAfterMs`). */
export const sentIdsRememberedMax = 8192

/**
 * After this long a sent envelope that reconciliation still finds missing is sent again
 * (its frame was lost). Once handed to the transport a frame arrives within seconds even
 * on 9.6 kbps radio; queueing happens before that point, not after.
 */
export const resendAfterMs = 15_000

// ---- Reconciliation --------------------------------------------------------

/**
 * Coded symbols each ReconcileSet keeps up to date on every add and delete. 4096
 * symbols decode differences up to about 2,900 ids with no O(N) work per session;
 * each add or delete touches about 16 of them. The cache is 64 KiB, never copied: a
 * session reads it live and undoes, on the symbols it reads, the changes since it began.
 */
export const reconcileCachedSymbols = 4096

/**
 * Most coded symbols one session sends or accepts: about 700,000 differences, 13 MiB of
 * symbols. Bounds the decoder's memory and a peer that keeps asking for, or sending, more.
 */
export const reconcileSymbolsMax = 1 << 20

/**
 * Largest estimated difference one session takes on; past it the responder answers
 * SPLIT and the key space is reconciled range by range (protocol/reconcile/range.ts).
 * 65,536 differences are about 90,000 symbols (1.2 MiB) and 2 MiB of id lists: at the
 * 2 KiB minimum frame that is about 1,600 messages, within `reconcileRoundsMax`, where
 * 150,000 would not be; the decoder's memory stays near 10 MiB; and on a catch-up the
 * first envelopes move after one range's reconciliation, not the whole difference's.
 */
export const reconcileSessionDifferenceMax = 1 << 16

/**
 * Most range sessions one pass of reconciliation with a peer runs (after a SPLIT or an
 * ABORT; see protocol/engine/ranges.ts). A catalog of `catalogEntriesMax` envelopes wholly
 * missing is 1,024 ranges at `reconcileSessionDifferenceMax`; four times that leaves room
 * for estimates that split twice. Each range costs one pass over the set on each side, so
 * a peer that keeps answering SPLIT cannot make us walk 2^32 ranges: the pass ends here,
 * and the next starts again from the whole set.
 */
export const reconcileRangesPerPassMax = 4096

/**
 * Most messages one side of a session handles. At the 2 KiB minimum frame this still
 * carries about 8 MiB each way; a peer that never finishes gets a LimitError here.
 */
export const reconcileRoundsMax = 4096

/**
 * Set changes remembered so that a session can read its symbols as of its start (the
 * cache is live; symbols past it are computed late). More changes than this during one
 * session end it with a LimitError (the next round retries). 192 KiB per set; a session
 * lasts a few round trips, in which a busy relay makes tens of changes, not thousands.
 */
export const reconcileJournalEntriesMax = 16_384

// ---- Simulator scenarios ----------------------------------------------------

/** Largest scenario file parsed, characters: thousands of lines of YAML; long contact traces go in their own file. */
export const scenarioCharsMax = 4 * 1024 * 1024

/** Most nodes one scenario may declare: the simulator target is 200 nodes; this leaves room without unbounded meshes. */
export const scenarioNodesMax = 10_000

/** Most lines read from one contact trace: a day of The ONE's Helsinki scenario is far below this. */
export const contactLinesMax = 1_000_000

/** Most messages one `at` or `every` traffic stream may ask for with `count`. */
export const trafficCountMax = 1_000_000

/** Most up/down periods one flap may produce: keeps a typo such as `up: 1ms` from building a huge timeline. */
export const flapPeriodsMax = 100_000

// ---- Node configuration and operator identity -------------------------------

/** Largest config.yaml read, bytes: the commented default is ~4 KB; a few thousand peers still fit. */
export const configFileBytesMax = 1024 * 1024

/** Most entries in one config list (listen addresses, static peers, allowed peers or clients): a typo cannot build a huge table. */
export const configListItemsMax = 10_000

/** Largest user.key read, bytes: the versioned JSON is ~250 B; anything far larger is not ours. */
export const userKeyFileBytesMax = 4096

/**
 * Largest protected key file read (node.key or user.key under a passphrase, node/protected-key.ts),
 * bytes: the JSON container around a ~250 B key is ~700 B; anything far larger is not ours.
 */
export const protectedKeyFileBytesMax = 8192

/**
 * scrypt cost written into new protected keys, as log2 N with r = 8 and p = 1: 2^16 × 128 × 8 B =
 * 64 MiB of memory and ~180 ms on a 2-core x64 server (slower on an ARM field box), per key, per
 * unlock. Memory-hard so that guessing passphrases on GPUs costs memory, not only time.
 */
export const scryptLog2NDefault = 16

/** Lowest scrypt log2 N accepted when reading: below 2^14 (16 MiB) a file was not written by ddil, or was weakened. */
export const scryptLog2NMin = 14

/** Highest scrypt log2 N accepted when reading: 2^18 × 1 KiB = 256 MiB; more could exhaust a field box's memory. */
export const scryptLog2NMax = 18

/** The scrypt block size r and parallelism p written and accepted: the values scrypt's authors recommend. */
export const scryptR = 8
export const scryptP = 1

/** Shortest passphrase accepted for protecting a key or a backup, characters: shorter ones fall to guessing despite scrypt. */
export const passphraseCharsMin = 8

/** Longest passphrase (and passphrase file) read, bytes: a typo such as naming a large file cannot fill memory. */
export const passphraseBytesMax = 1024

/** Shortest `engine.reconcileInterval`: below a second a node spends its link reconciling instead of delivering. */
export const reconcileIntervalMsMin = 1000

/** Shortest `engine.purgeInterval`: purging scans the expiry index, so more often than this is wasted work. */
export const purgeIntervalMsMin = 1000

/** Longest engine interval accepted, ms: a day; longer is almost certainly a unit typo (`30d` for `30s`). */
export const engineIntervalMsMax = 24 * 3_600_000

// ---- Audit log (node/audit) --------------------------------------------------

/** Largest `detail` object in one audit entry, bytes of its canonical JSON: room for ids, reasons and counts, not payloads. */
export const auditDetailBytesMax = 2048

/** Longest string kept in an audit field, characters; longer ones are cut and marked, so a peer cannot bloat the log. */
export const auditStringCharsMax = 256

/** Deepest nesting kept inside `detail`: our details are flat records; deeper values are replaced by a marker. */
export const auditDetailDepthMax = 4

/** Most keys per object and items per array kept inside `detail`; the rest are dropped with a count. */
export const auditDetailItemsMax = 32

/**
 * Longest audit log line, bytes. Three string fields of `auditStringCharsMax` characters escaped
 * as \uXXXX (1,536 B each), a full detail, hashes and the signature stay under it; longer lines are malformed.
 */
export const auditLineBytesMax = 8192

/** Most entries written with one fsync and one head update (group commit under a flood of security events). */
export const auditBatchEntriesMax = 64

/** Default entries between signed checkpoints: a few per busy hour, one verification each. */
export const auditCheckpointEntriesDefault = 256

/** Most problems one verification lists; the rest are counted, so a wholly rewritten log cannot flood the report. */
export const auditProblemsMax = 1000

/**
 * Readings `ddil audit verify` takes before it reports entries past the signed head (or a
 * torn last line) that a running node may still be confirming, and the pause before the
 * second, ms (doubling after): about 2.5 s in all for a node that stopped. A third of a
 * second was too short: on a loaded 2-core machine a live node's head update has taken
 * over 400 ms, and an SD card's fsync can take longer still.
 */
export const auditVerifyAttemptsMax = 9
export const auditVerifySettleMs = 10

/**
 * Repeated refusals (one remote address, one event type, one reason) are written once in
 * full and then counted: one summary entry per window while they go on. A connection
 * flood from one address otherwise adds an entry for each handshake libp2p lets through
 * (about 3.6 a second measured on loopback: 190 MB of audit log a day).
 */
export const auditRepeatWindowMs = 60_000

/** Refusal kinds (address × event type × reason) tracked per window; refusals beyond them are counted together. */
export const auditRepeatKeysMax = 64

/** Distinct peer ids counted per refusal kind and window (the rest only add to the repeat count). */
export const auditRepeatPeersMax = 1024

/**
 * Governance changes and key epochs a relay records in full per window (`auditRepeatWindowMs`);
 * beyond it they are counted per channel in one summary entry. Operators change governance by
 * hand (tens a minute at most); a catch-up may replay up to `governanceChangesMax` per channel,
 * and 100,000 entries cost the log about 9 s of writing and 60 MB (measured: 93 µs an entry).
 */
export const auditChannelEntriesPerWindowMax = 1000

/**
 * After a write failure the audit log retries opening itself, first after this, ms, doubling
 * per failed attempt up to `auditRecoverDelayMsMax`. A failure is usually a passing shortage
 * (no file descriptors, a full disk): logging must resume by itself once it passes, and an
 * attempt costs one read of the log's tail.
 */
export const auditRecoverDelayMsMin = 100

/** Longest wait between two attempts to reopen a failed audit log, ms: logging resumes within this of its cause going away. */
export const auditRecoverDelayMsMax = 5000

/** Largest audit head file, bytes: one short JSON line. */
export const auditHeadBytesMax = 1024

/**
 * Smallest `audit.rotateSize`, bytes: room for a batch of the longest lines
 * (`auditBatchEntriesMax` × `auditLineBytesMax` is 512 KiB), so a file is never only its two
 * rotation checkpoints. A file may pass the size by up to one batch: rotation happens between batches.
 */
export const auditRotateBytesMin = 1024 * 1024

/** Largest `audit.rotateSize`, bytes: `verify` and `export` read a file in one pass, and a copy off the node should not take all night. */
export const auditRotateBytesMax = 1024 ** 3

/** Shortest `audit.rotateAge`, ms: an hour; shorter makes more files than entries on a quiet node. */
export const auditRotateAgeMsMin = 3_600_000

/** Longest `audit.rotateAge`, ms: a year and a day, one file per year at the least. */
export const auditRotateAgeMsMax = 366 * 86_400_000

/** Most rotated audit files kept (`audit.keepFiles`); older ones are deleted. Bounds the directory listing `verify` and `export` read. */
export const auditKeepFilesMax = 10_000

// ---- Channel encryption (protocol/channel: keys, seal, content, epochs) -----

/**
 * Most recipients one epoch key is sealed to: a large incident channel, about 53 keys
 * envelopes of 19 recipients. Bounds the work and storage one admin's rotation causes.
 */
export const epochRecipientsMax = 1000

/** Most keys envelopes (chunks) one epoch may be split into: ceil(epochRecipientsMax / 19) with room. */
export const keysChunksMax = 64

/**
 * Most epoch instances one channel keyring holds. Daily rotation with a 7-day grace window
 * keeps about 8; the rest is room for concurrent epochs after partitions. A flood beyond it
 * (only admins can send keys envelopes) is refused rather than grown without bound.
 */
export const keyringInstancesMax = 256

/** Most message ids in one receipt: 36 × 32 B fill a body after the content-type byte and AEAD tag. */
export const receiptIdsMax = 36

/**
 * Longest display name (a member's profile, an enrolled device's name), UTF-16 code units:
 * a name shown beside each message on a phone, and one line of `ddil clients list`.
 */
export const displayNameCharsMax = 64

/** Default grace window for superseded epoch keys (brief §3: messages held in custody for days still open). */
export const epochGraceMsDefault = 7 * 24 * 3_600_000

// ---- Channel governance (protocol/channel: governance, resolve, pending, store, authorise) ----

/**
 * Most governance changes one channel may hold: a standing channel's years of membership
 * churn (#25 asks for 100,000). Relays keep every one (they are lasting), about 200 bytes
 * each plus an index entry, so a full channel costs about 26 MB of envelopes.
 */
export const governanceChangesMax = 131_072

/**
 * Most governance changes resolution works over at once: the window above the compacted root
 * (protocol/channel/compact.ts). Per-change causal state makes work and memory grow with the
 * square of this, so it bounds a partition's worth of concurrent changes, not a channel's life:
 * a change whose resolution would need a longer window is refused ('limit').
 */
export const governanceWindowChangesMax = 1024

/** The window is compacted once it holds this many changes, keeping half above the new root. */
export const governanceCompactAtChanges = 512

/** Most governance changes held waiting for unknown parents (all channels): a partition's worth of churn. */
export const governancePendingItemsMax = 512

/** Most bytes of envelopes held waiting for parents: ~512 governance envelopes; the oldest are evicted first. */
export const governancePendingBytesMax = 512 * 1024

/** Longest a change waits for its parents, ms: a day covers a data mule's round; after that reconciliation offers it again. */
export const governancePendingAgeMsMax = 24 * 3_600_000

/** Refused change ids remembered, so changes built on them are refused without waiting: a flood's worth, 64 B each. */
export const governanceRefusedIdsMax = 4096

// ---- Files and long messages (protocol/files, #23) ----------------------------

/**
 * Largest chunk of file content, bytes. A chunk payload is CBOR [version, manifest id, index,
 * data]: at most 1 + 1 + 34 + 5 + 3 = 44 bytes of framing; sealing adds 17 (content-type byte
 * and AEAD tag) and the public piece head at most 8 (protocol/files/piece.ts):
 * 1120 + 44 + 17 + 8 = 1189 ≤ `envelopeBodyBytesMax` (1200). The envelope's header with its one
 * dependency (the manifest's id) and its signature add about 130 B: about 1,320 B, under
 * `envelopeBytesMax`. A multiple of 16.
 */
export const fileChunkBytes = 1120

/** Longest caption on a file, bytes of UTF-8: with the longest name and media type the manifest still fits one envelope body. */
export const fileCaptionBytesMax = 500

/**
 * Most chunks one file may have: 2^20 (1.19 GB at `fileChunkBytes`). Bounds the assembler's
 * table and the Merkle work one manifest can ask for, far above any policy's file limit.
 */
export const fileChunksMax = 2 ** 20

/** Longest file name, bytes of UTF-8: what common file systems store (ext4, NTFS, APFS allow 255). */
export const fileNameBytesMax = 255

/** Longest media type, bytes: RFC 6838 allows 127 for the type and for the subtype, plus the slash. */
export const fileMediaTypeBytesMax = 255

/** Default largest file a channel accepts, bytes (25 MB): a few photos or a PDF; about 6 hours of 9.6 kbps radio. */
export const fileBytesMaxDefault = 25_000_000

/** Default largest text message a channel accepts, bytes (64 KB): a long situation report, under a minute at 9.6 kbps. */
export const longTextBytesMaxDefault = 64 * 1024

/**
 * Most envelopes a client submits in one request (a file's chunks): 32 × 1,320 B is about
 * 42 KB, 57 KB as the client API's base64 JSON, under its message bound; at the API's
 * default 50 requests a second that is 1,600 chunks (1.8 MB of file) a second.
 */
export const submitBatchEnvelopesMax = 32

/**
 * Files a relay refused whole for its quota whose ids it remembers (protocol/engine/intake.ts),
 * so their later chunks are refused rather than stored without their manifest: more files than
 * are in flight to one relay at once, at about 100 B each (400 KB). Past it the oldest is forgotten.
 */
export const refusedFilesMax = 4096

/**
 * Files held in part whose missing pieces a relay asks a peer for when their link comes up
 * (protocol/engine/gaps.ts): a few runs each, so 16 files cost a few hundred bytes; past it,
 * reconciliation finds the rest.
 */
export const filesAskedAtLinkUpMax = 16

// ---- Air-gap bundles (protocol/bundle, #27) ---------------------------------

/**
 * Most envelopes one bundle file carries: 65,536, about a week of a busy channel's traffic or
 * a 25 MB file twice over. An export over it is refused: narrow it with --channel or --since.
 */
export const bundleEnvelopesMax = 65_536

/** Most channels one bundle's scope names: an operator lists them by hand. */
export const bundleChannelsMax = 256

/** Longest exporting node id (a libp2p peer id is 52 characters; a simulator name is shorter). */
export const bundleNodeIdBytesMax = 128

/**
 * Most envelopes a bundle's holds section lists (version 2: what its exporter holds in the
 * scope's channels, 8-byte short ids): 1,048,576, so 8 MiB, about what the default 1 GB store
 * keeps of 1 KB envelopes. Past it the exporter lists its newest; the peer then
 * sends the others again, which costs bytes, never a message. A peer holds file is as long.
 */
export const bundleHoldsMax = 1_048_576

/**
 * Largest bundle file, bytes: every envelope at its largest with its 2-byte length, the
 * holds section at its largest (u32 count and 8 bytes an id), plus the header at its largest.
 * Checked against the file's size before it is read.
 */
export const bundleBytesMax = bundleEnvelopesMax * (envelopeBytesMax + 2) + 4 + bundleHoldsMax * 8 + 64 * 1024

// ---- Organisations (protocol/org, #29) -----------------------------------------------

/**
 * Largest organisation certificate or revocation, bytes, checked before it is decoded: a
 * user's 64-byte key, a 64-character name (at most 256 bytes of UTF-8), the 64-byte signature
 * and the CBOR framing come to under 460.
 */
export const orgDocumentBytesMax = 512

/**
 * How long a relay that refused a peer at hello waits before cutting the link, ms: long
 * enough for the `bye` saying why to cross a slow radio (200 B at 9.6 kbps is 170 ms) and
 * reach the refused relay's operator. Nothing the peer sends meanwhile is read.
 */
export const admissionByeGraceMs = 1000

/** Largest credentials a `hello` frame carries (an organisation certificate), bytes. */
export const helloCredentialsBytesMax = orgDocumentBytesMax

/**
 * Longest validity one certificate may state, ms (five years). Certificates expire so that a
 * key lost without anyone noticing stops being trusted on its own; an operator renews them.
 */
export const orgCertificateLifetimeMsMax = 5 * 365 * 86_400_000

/** Most partner organisations one relay's operator may accept (`ddil org trust`). */
export const orgPartnersMax = 256

/**
 * Most certificate revocations a relay keeps, all organisations together. Serials are
 * small integers, so 65,536 of them are well under a megabyte of trust store.
 */
export const orgRevocationsMax = 65_536

/**
 * Envelopes whose arrival link a relay in `peers.mode: org` remembers, newest kept (#29): a
 * refusal at a boundary further on travels back the way its envelope came, to the relay its
 * author submitted it at. About 100 bytes each; an older envelope's refusal stops at the relay
 * that forgot where it came from (its status there still says so).
 */
export const crossingOriginsRememberedMax = 65_536

/** Boundary verdicts remembered (a peer and an envelope refused or withheld), so each is judged, audited and told once. */
export const crossingVerdictsRememberedMax = 65_536

/**
 * Envelopes a peer said it does not carry, remembered so that reconciliation stops offering
 * them to it (engine/declined.ts): about 100 bytes each. Past the bound the oldest is offered
 * again (and declined again).
 */
export const declinedRememberedMax = 65_536

/** Channels a peer said it does not carry, remembered (engine/declined.ts): a peer and a channel each; past the bound the oldest is forgotten. */
export const declinedChannelsRememberedMax = 4_096

/**
 * How long a declined envelope stays out of that peer's reconciliation before it is offered once
 * more, ms: the peer's operator may have let it carry the channel since (a new link forgets at
 * once). An hour: 120 rounds of 30 s that each re-sent it before.
 */
export const declinedForgetMs = 3_600_000

/** Most channel creators one partner policy lists (`ddil org policy --creators`). */
export const partnerPolicyCreatorsMax = 1024
