/**
 * Bounds of the relay's libp2p host: connections, handshakes, streams, write
 * queues and redial pacing. Protocol-level bounds (frame size, ids per frame)
 * live in `protocol/limits.ts`; these guard the host's own resources, so they
 * stay in the daemon. Each is a default that `createHost` / `attachFrameTransport`
 * options may override; units last in every name.
 *
 * @example
 * import { linkWriteQueueBytesMax } from './limits.ts'
 * attachFrameTransport(host, handler, { writeQueueBytesMax: linkWriteQueueBytesMax })
 */

/** Open connections at once. A relay talks to a handful of peers; 64 leaves room for mules and clients on a single-board computer. */
export const hostConnectionsMax = 64

/**
 * Inbound connections still in their Noise handshake at once, from any address (our
 * admission, node/admission.ts); beyond it the oldest unfinished one is dropped for the
 * newcomer. Bounds the cost of a slow-handshake flood (libp2p's default is 10).
 */
export const hostInboundPendingConnectionsMax = 8

/** More inbound handshakes at once, only from addresses of static and allowlisted peers: a stranger's flood cannot take these. */
export const hostInboundPendingReservedMax = 4

/** Inbound handshakes at once from one address not known: a relay dials us once, twice while a redial races a dying connection. */
export const hostInboundPendingPerAddressMax = 2

/**
 * While half of `hostInboundPendingConnectionsMax` is taken, a handshake from an address not
 * known that has not finished after this is dropped, ms: Noise takes three messages, so a
 * second on a LAN and a few on a slow radio; static and allowlisted peers' addresses are exempt.
 */
export const hostInboundPressuredUpgradeTimeoutMs = 3000

/** Addresses remembered as those of allowlisted peers (most recent kept). */
export const hostKnownAddressesMax = 256

/**
 * libp2p's own bound on inbound upgrades (`maxIncomingPendingConnections`) refuses before our
 * admission sees a connection, unaudited, so it is set above ours (pool plus reserve) by
 * this many: connections we dropped whose upgrade is still unwinding.
 */
export const hostLibp2pPendingHeadroom = 4

/** Sockets one relay listener (TCP, WebSocket) holds at once, hard bound: connections, handshakes and their reserve, and some unwinding. Node drops the rest on accept. */
export const hostListenerSocketsMax = hostConnectionsMax + hostInboundPendingConnectionsMax + hostInboundPendingReservedMax + hostLibp2pPendingHeadroom

/** A connection to the WebSocket listener must send its first byte within this, ms (libp2p's listener waits for ever): a client sends its upgrade request at once. */
export const wsFirstByteTimeoutMs = 5000

/** ...and the upgrade request's headers within this, ms (Node's default is 60 s): a few hundred bytes, a second at 9.6 kbps. */
export const wsUpgradeHeadersTimeoutMs = 10_000

/** How often Node checks WebSocket upgrade requests against that timeout, ms (its default is 30 s). */
export const wsTimeoutCheckEveryMs = 1000

/** New inbound connections per second from one address that libp2p lets through to our admission (its `inboundConnectionThreshold`; this is its default). */
export const hostInboundConnectionsPerSecondPerAddressMax = 5

/** An inbound connection must finish Noise and muxer negotiation within this; about 3 KB of handshake fits at 9.6 kbps with satellite latency to spare. */
export const hostInboundUpgradeTimeoutMs = 10_000

/** An outbound dial (all addresses of one peer) gives up after this; the redialer tries again later. */
export const hostDialTimeoutMs = 10_000

/** Concurrent inbound streams of the sync protocol per connection: one link plus one replacement racing the old one's close. */
export const syncInboundStreamsPerConnectionMax = 2

/** Concurrent outbound streams of the sync protocol per connection, for the same reason. */
export const syncOutboundStreamsPerConnectionMax = 2

/** Concurrent inbound identify/ping streams per connection: each is short-lived, one at a time is normal. */
export const serviceInboundStreamsPerConnectionMax = 4

/**
 * Concurrent ping streams per connection, each way. The connection monitor's pings and the
 * link-up ping share one protocol, and the monitor's own pings overlap when a slow link takes
 * longer than its interval. A ping refused for exceeding this makes the monitor abort the whole
 * connection, so the bound leaves room for all of them; each stream is 32 bytes each way.
 */
export const pingStreamsPerConnectionMax = 8

/**
 * A link with a declared bandwidth takes frames at this share of it: TCP/IP, Noise and yamux
 * headers add about 6% to 1448-byte segments, and the acknowledgements share the link's far
 * direction. Paced at the full rate, the radio's own queue would grow without end.
 */
export const linkPaceShare = 0.9

/**
 * What one frame costs on the wire besides its own bytes, charged to the pacer: a yamux header
 * (12 B) and Noise's length and tag (18 B), in one TCP segment (coalesce.ts) with Ethernet, IP
 * and TCP headers with timestamps (66 B): 96 B, as captured on the emulated radio (a 1,114-byte
 * frame left as a 1,144-byte segment). Uncharged, a 9.6 kbps radio carrying 1.2 KB envelopes
 * was offered more than it carries: its queue grew until it dropped, TCP's retransmission timer
 * grew to 5-9 s, and a flash message waited 9-11 s (`ddil emulate` radio-burst, #26). Before
 * coalescing each frame left as four segments and this was 162 B, still short of the 300 B
 * the capture showed.
 */
export const linkFrameOverheadBytes = 96

/** How far ahead of the wire a paced link takes frames, ms: slack for timers, so the link never idles between frames. */
export const linkPaceAheadMs = 200

/** Bytes of frames queued for one peer beyond what the stream took. 1 MiB is 16 full frames: enough to keep a fast link busy, small enough for many peers. */
export const linkWriteQueueBytesMax = 1024 * 1024

/** Inbound bytes are fed to the frame decoder in slices of at most this, so its buffer never holds more than one frame plus one slice. */
export const linkDecodeSliceBytesMax = 16 * 1024

/** First redial of a dropped static peer waits this long; a cut link usually needs a moment to come back. */
export const redialDelayMsMin = 1000

/**
 * A static peer connected within this long, ms, is redialled every `redialRecentDelayMs`
 * without backoff (#26): a link cut for silence comes back as soon as packets flow, not
 * after a doubled delay. That costs two SYNs of about 70 bytes every 2.5 s (5% of a
 * 9.6 kbps radio) for two minutes at most; after that the backoff above resumes.
 */
export const redialRecentForMs = 120_000

/** ...the delay between those redials, ms (with jitter). */
export const redialRecentDelayMs = 500

/**
 * A redial whose TCP connection is not up within this, ms, is abandoned and tried afresh: the
 * kernel resends an unanswered SYN after 1 s, then 3 s, then 7 s, so a dial left to run meets a
 * healed link seconds late. 2 s covers a SYN's round trip over satcom (about 600 ms) and its one
 * resend; the Noise handshake that follows keeps the whole `hostDialTimeoutMs`.
 */
export const redialConnectWaitMs = 2000

/** Redial backoff stops growing here, so a peer back after a long partition is found within a minute. */
export const redialDelayMsMax = 60_000

/** Each failed redial multiplies the delay by this. */
export const redialBackoffFactor = 2

/** Random spread of each redial delay (fraction either side), so that nodes healed together do not all dial at once. */
export const redialJitterFraction = 0.2

/**
 * A peer the engine disconnected (score below zero after about ten bad frames or envelopes,
 * or no common link version) is kept away this long the first time, ms: neither redialled
 * nor let back in (node/p2p/backoff.ts). Long enough that a flood does not resume at once.
 */
export const peerBackoffDelayMsMin = 30_000

/** Each further disconnect multiplies the delay by this: 30 s, 2 min, 8 min, 32 min, then the cap. */
export const peerBackoffFactor = 4

/** The delay stops growing here, ms: the engine wins back 10 score points an hour, one more bad frame's worth. */
export const peerBackoffDelayMsMax = 3_600_000

/** A peer's disconnects are forgotten after this long without another, ms; until then each one keeps it away longer. */
export const peerBackoffForgetMs = 24 * 3_600_000

/** Peers whose disconnects are remembered (most recent kept): more than a relay ever has. */
export const peerBackoffPeersMax = 1024

/** Opening the sync stream (multistream-select over an open connection) gives up after this; the next connection or identify retries. */
export const syncStreamOpenTimeoutMs = 10_000

/** On shutdown, streams get this long to flush and close gracefully before they are reset. */
export const syncStreamCloseTimeoutMs = 2000

/** How often libp2p's connection monitor pings each connection, ms (its round trip is each link's measured latency). libp2p's own default. */
export const hostPingIntervalMs = 10_000

/**
 * libp2p's connection monitor aborts a connection whose ping goes unanswered this long; it
 * waits longer where pings have been slow, up to twice this. libp2p's own floor, 5 s, is less
 * than a ping takes behind a loaded 9.6 kbps radio's queue (6.5 s measured through tbf), so
 * such a link was cut and redialled every 10 to 20 s while it carried traffic. The answering
 * side keeps a ping stream open this long too (libp2p's 10 s reset it under load, and the
 * asking side's monitor then aborted the connection). A silent link is noticed much sooner
 * by what arrives on it (linkSilenceMsMin); this is the backstop for connections without a
 * sync link.
 */
export const hostPingTimeoutMsMin = 60_000

/**
 * A link on which nothing at all arrived for this long, ms, is dead and its connection is cut
 * (node/p2p/liveness.ts, #26), unless its round trips say wait longer (below). Judged by
 * arrivals, not by one ping's round trip: a loaded link keeps delivering bytes. 3 s is many
 * LAN or Wi-Fi round trips, and longer than a busy relay's event loop stalls.
 */
export const linkSilenceMsMin = 3000

/**
 * ...or this many of the link's round trips, each plus two frame times at its declared rate
 * (a probe may wait behind a frame each way), if that is longer: 9.6 kbps with 2 KiB frames,
 * about 12 s idle and 17 s loaded (measured round trips grow with the queue); satcom at
 * 64 kbps with a 600 ms round trip, about 8 s. A link quiet for a third of it is probed.
 */
export const linkSilenceRoundTrips = 3

/** How often each link's silence is looked at, ms: a quarter of a second on the limit. */
export const linkLivenessCheckEveryMs = 250

/** How often the sync transport reads each link's last round trip and tells the engine of a change, ms. */
export const linkMeasureEveryMs = 10_000

/** A measured one-way latency is reported again only when it moved by more than this fraction of the last report... */
export const linkLatencyChangeFractionMin = 0.25

/** ...and by more than this, ms: loopback and LAN jitter are not news. */
export const linkLatencyChangeMsMin = 5

/** On a link the operator declared slow (config peers.links), a frame is sized to about this much link time, ms: flash traffic waits at most that long behind a frame already on the wire. */
export const linkFrameTargetMs = 1000

/** The largest packet on an Ethernet-like link, bytes: a full TCP segment with Ethernet, IP and TCP headers. */
export const linkPacketBytesMax = 1514

/**
 * TCP's least retransmission timeout advised on a slow link's route, in full packets' time at
 * its rate (docs/OPERATOR.md "Pairing two relays"): a packet may wait behind one the pacer
 * already gave the radio, then takes its own time, then its acknowledgement comes back.
 */
export const slowLinkRtoPackets = 3

/** Linux's own least retransmission timeout, ms: links faster than about 180 kbps need nothing more. */
export const tcpRtoMinDefaultMs = 200

/** How long `ip route get` may take when a relay checks a slow link's route, ms. */
export const routeCheckTimeoutMs = 5_000

/**
 * How often a relay in `peers.mode: org` reads orgs.json again if it changed and judges its
 * linked peers' certificates again (#29), ms: `ddil org distrust` or a revocation cuts a
 * partner's link within this, and a certificate that expires on a long link is noticed.
 */
export const trustRecheckIntervalMs = 5_000

/** How long before this relay's own organisation certificate expires it warns at start-up, ms (two weeks, #29). */
export const ownCertificateWarnBeforeMs = 14 * 86_400_000
