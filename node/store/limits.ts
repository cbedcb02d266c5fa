/**
 * Bounds of the relay's LevelDB store (level-store.ts): how it comes back after a write
 * failure such as a full disk. Units last in every name.
 *
 * @example
 * import { storeReopenFreeBytesMin } from './limits.ts'
 */

/**
 * After a write fails the store takes no writes until it has reopened the database; it first
 * checks for space after this, ms, doubling per attempt up to `storeReopenDelayMsMax`.
 */
export const storeReopenDelayMsMin = 1000

/** Longest wait between two checks for space after a write failure, ms: writes resume within this of space returning. */
export const storeReopenDelayMsMax = 30_000

/**
 * Free bytes on the store's file system before it reopens the database: LevelDB turns its
 * write-ahead log (up to a 4 MiB write buffer) into a table on open and starts a new log,
 * and a compaction may follow. Reopening with less would fail and leave the store closed
 * (unreadable) rather than read-only.
 */
export const storeReopenFreeBytesMin = 16 * 1024 * 1024
