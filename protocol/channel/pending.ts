/**
 * Governance changes held until their parents arrive, and the memory of refused ones.
 * Both are bounded (protocol/limits.ts, "Channel governance"): the pool by count, total
 * bytes and age, evicting the oldest first; the refused set by count, forgetting the
 * oldest. An evicted change is simply forgotten: reconciliation offers it again later.
 *
 * @example
 * const pool = new PendingPool()
 * pool.hold(env, ['ab…'], nowMs)      // waits for change ab…
 * pool.release('ab…')                 // → entries whose last missing parent was ab…
 */
import { toHex } from '../bytes.ts'
import type { Envelope } from '../envelope.ts'
import { governancePendingAgeMsMax, governancePendingBytesMax, governancePendingItemsMax, governanceRefusedIdsMax } from '../limits.ts'

export interface Held { env: Envelope, key: string, missing: Set<string>, receivedMs: number }

export interface PendingLimits { itemsMax: number, bytesMax: number, ageMsMax: number }

export const defaultPendingLimits: PendingLimits = {
  itemsMax: governancePendingItemsMax,
  bytesMax: governancePendingBytesMax,
  ageMsMax: governancePendingAgeMsMax,
}

export class PendingPool {
  /** Insertion order is age order: the first entry is the oldest. */
  readonly #held = new Map<string, Held>()
  readonly #waiters = new Map<string, Set<string>>()
  readonly #limits: PendingLimits
  #bytes = 0

  constructor (limits: Partial<PendingLimits> = {}) { this.#limits = { ...defaultPendingLimits, ...limits } }

  get size (): number { return this.#held.size }
  get bytes (): number { return this.#bytes }
  has (key: string): boolean { return this.#held.has(key) }
  get (key: string): Held | undefined { return this.#held.get(key) }

  /** Hold `env` until every key in `missing` is released; returns what was evicted to make room. */
  hold (env: Envelope, missing: readonly string[], receivedMs: number): Held[] {
    const key = toHex(env.id)
    if (this.#held.has(key)) return []
    const h: Held = { env, key, missing: new Set(missing), receivedMs }
    this.#held.set(key, h)
    this.#bytes += env.bytes.length
    for (const m of h.missing) {
      let w = this.#waiters.get(m)
      if (w === undefined) { w = new Set(); this.#waiters.set(m, w) }
      w.add(key)
    }
    const evicted: Held[] = []
    while (this.#held.size > this.#limits.itemsMax || this.#bytes > this.#limits.bytesMax) {
      const oldest = this.#held.values().next().value as Held
      this.#remove(oldest)
      evicted.push(oldest)
    }
    return evicted
  }

  /** `key` is now known: returns (and removes) the entries for which it was the last missing parent. */
  release (key: string): Held[] {
    const out: Held[] = []
    for (const k of this.#takeWaiters(key)) {
      const h = this.#held.get(k)
      if (h === undefined) continue
      h.missing.delete(key)
      if (h.missing.size === 0) { this.#remove(h); out.push(h) }
    }
    return out
  }

  /** `key` was refused: returns (and removes) every entry that waited on it. */
  dropDependents (key: string): Held[] {
    const out: Held[] = []
    for (const k of this.#takeWaiters(key)) {
      const h = this.#held.get(k)
      if (h !== undefined) { this.#remove(h); out.push(h) }
    }
    return out
  }

  /** Drop entries held longer than the age bound or whose envelope has expired. */
  prune (nowMs: number): Held[] {
    const out: Held[] = []
    for (const h of [...this.#held.values()]) {
      if (nowMs - h.receivedMs > this.#limits.ageMsMax || h.env.expiresAtMs <= nowMs) { this.#remove(h); out.push(h) }
    }
    return out
  }

  #takeWaiters (key: string): string[] {
    const w = this.#waiters.get(key)
    this.#waiters.delete(key)
    return w === undefined ? [] : [...w]
  }

  #remove (h: Held): void {
    this.#held.delete(h.key)
    this.#bytes -= h.env.bytes.length
    for (const m of h.missing) {
      const w = this.#waiters.get(m)
      if (w === undefined) continue
      w.delete(h.key)
      if (w.size === 0) this.#waiters.delete(m)
    }
  }
}

/** Ids refused for good (forged, unauthorised in their causal past, invalid), so their descendants are refused too. */
export class RefusedIds {
  readonly #reasons = new Map<string, string>()
  readonly #max: number
  constructor (max: number = governanceRefusedIdsMax) { this.#max = max }

  get (key: string): string | undefined { return this.#reasons.get(key) }

  add (key: string, reason: string): void {
    this.#reasons.delete(key)
    this.#reasons.set(key, reason)
    while (this.#reasons.size > this.#max) this.#reasons.delete(this.#reasons.keys().next().value as string)
  }
}
