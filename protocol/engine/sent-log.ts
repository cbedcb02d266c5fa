/**
 * The ids one link's peer has or is about to have, and since when: sent on the link, or
 * announced by the peer. Such an id is not pushed or re-served for `resendAfterMs`
 * unless the peer asks. Bounded in time (the horizon) and in size (`sentIdsRememberedMax`).
 *
 * @example
 * const sent = new SentLog()
 * sent.remember(key, nowMs); sent.forget(nowMs)
 * sent.recently(key, nowMs)   // true within resendAfterMs
 */
import { resendAfterMs, sentIdsRememberedMax } from '../limits.ts'

/** Forgotten entries at the front of the log before it is copied down. */
const sentLogCompactAt = 1024

export class SentLog {
  /** Id → when it was last sent or announced (none older than `resendAfterMs` once `forget` ran). */
  readonly #at = new Map<string, number>()
  /**
   * The same events in the order they happened, from `#head` on (a key sent again
   * appears twice; only the entry matching its time in `#at` counts): forgetting the
   * oldest takes no walk over the map's deleted entries.
   */
  #keys: string[] = []
  #times: number[] = []
  #head = 0

  /** Ids remembered. */
  get size (): number { return this.#at.size }

  /** Whether `key` went out (or was announced) recently enough that it is still on its way or was just received. */
  recently (key: string, nowMs: number): boolean {
    const at = this.#at.get(key)
    return at !== undefined && nowMs - at < resendAfterMs
  }

  remember (key: string, nowMs: number): void {
    this.#at.set(key, nowMs)
    this.#keys.push(key)
    this.#times.push(nowMs)
  }

  /** Drops ids past the resend horizon (they no longer matter) and beyond the cap, oldest first. */
  forget (nowMs: number): void {
    const keys = this.#keys
    const times = this.#times
    let head = this.#head
    while (head < keys.length) {
      if (nowMs - times[head] < resendAfterMs && this.#at.size <= sentIdsRememberedMax) break
      if (this.#at.get(keys[head]) === times[head]) this.#at.delete(keys[head])
      head++
    }
    if (head >= sentLogCompactAt && 2 * head >= keys.length) {
      this.#keys = keys.slice(head)
      this.#times = times.slice(head)
      head = 0
    }
    this.#head = head
  }
}
