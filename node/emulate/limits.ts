/**
 * Bounds of `ddil emulate`, units last. Each relay is a real `ddil start` process, so the
 * machine's memory and cores bound how many run at once.
 */

/** Relays one machine runs at once: about 100 MB and a share of a core each. */
export const emulateNodesMax = 40

/** The fastest speed-up: beyond it a relay's own reconciliation interval and timers are longer than the scenario's events. */
export const emulateTimeScaleMax = 1000

/** The port every relay listens on for peers, on each of its link addresses (each namespace has its own). */
export const emulateP2pPort = 4001

/** Client API and admin ports, on the relay's management address. */
export const emulateApiPort = 7070
export const emulateAdminPort = 7071

/** How long a relay may take to start (its "admin:" line), and the channel set-up to reach every member, on a loaded machine. */
export const emulateStartMsMax = 120_000
export const emulateSetupMsMax = 180_000

/**
 * After the scenario's last moment, how long the relays may still take to bring the pairs the
 * oracle delivers within the run, ms of real time: the emulation keeps its sessions open until
 * every such pair has arrived or this has passed. A loaded machine (CI beside other suites)
 * ran partition-heal ×600 to its end with one of about 2,000 pairs still crossing. The
 * simulator scores the same way: a pair counts when it arrives, and the oracle decides which.
 */
export const emulateDrainMsMax = 15_000

/** How often the drain looks at what has arrived, ms. */
export const emulateDrainCheckEveryMs = 250
