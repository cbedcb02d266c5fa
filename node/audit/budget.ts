/**
 * Keeps events that arrive in bursts of legitimate work (a catch-up replaying governance,
 * a full store evicting for every new envelope) from turning into an audit write storm.
 * Each event draws on a budget of entries written in full per window; once the budget is
 * spent, events are counted per `key` and, when the window ends, one summary per key adds
 * up their numbers (`sums`). Beyond `keysMax` keys in a window, events are counted together
 * per event type. Nothing is dropped silently: every event is its own entry or counted in a
 * summary; `close()` writes the open summaries (a graceful stop).
 *
 * Unlike RefusalSummaries (repeats.ts), which folds every repeat after the first, this
 * writes everything in full while the budget lasts: a handful of membership changes are
 * each on record, a catch-up of thousands costs the budget and a summary per channel.
 *
 * @example
 * const budget = new AuditBudget({ append: e => log.append(e), schedule, budgets: { channel: 1000, eviction: 1 } })
 * budget.record(event, { budget: 'channel', key: `membership.changed ${channel}`, keep: { channel }, sums: { add: 1 } })
 * budget.close()
 */
import { auditRepeatKeysMax, auditRepeatPeersMax, auditRepeatWindowMs } from '../../protocol/limits.ts'
import type { AuditEvent } from './sanitise.ts'
import { SummaryWindow, type Schedule } from './window.ts'

export interface Fold {
  /** Which budget the event draws on. */
  budget: string
  /** What a summary groups by once the budget is spent (e.g. the event type and channel). */
  key: string
  /** Detail a summary keeps from the first event it counts (e.g. the channel). */
  keep: Record<string, unknown>
  /** Numbers a summary adds up (e.g. `{ add: 1 }`, `{ envelopes: 3, bytes: 900 }`). */
  sums: Record<string, number>
}

export interface AuditBudgetOptions {
  append: (event: AuditEvent) => void
  /** Runs `fn` after `ms`; returns a cancel. */
  schedule: Schedule
  /** Entries written in full per window, per budget name (absent: 0, every event is counted). */
  budgets: Record<string, number>
  windowMs?: number
  keysMax?: number
  whoMax?: number
}

interface Tally { first: AuditEvent, keep: Record<string, unknown>, events: number, sums: Record<string, number>, who: Set<string> }

export class AuditBudget {
  readonly #o: Required<AuditBudgetOptions>
  readonly #spent = new Map<string, number>()
  readonly #tallies = new Map<string, Tally>()
  readonly #window: SummaryWindow

  constructor (options: AuditBudgetOptions) {
    this.#o = { windowMs: auditRepeatWindowMs, keysMax: auditRepeatKeysMax, whoMax: auditRepeatPeersMax, ...options }
    this.#window = new SummaryWindow(this.#o.schedule, this.#o.windowMs, () => { this.#windowEnded() })
  }

  record (event: AuditEvent, fold: Fold): void {
    if (this.#window.closed) { this.#o.append(event); return }
    this.#window.start()
    const spent = this.#spent.get(fold.budget) ?? 0
    if (spent < (this.#o.budgets[fold.budget] ?? 0)) {
      this.#spent.set(fold.budget, spent + 1)
      this.#o.append(event)
      return
    }
    const overflow = !this.#tallies.has(fold.key) && this.#tallies.size >= this.#o.keysMax
    const key = overflow ? `\n${event.what}` : fold.key
    let t = this.#tallies.get(key)
    if (t === undefined) {
      t = { first: event, keep: overflow ? { reason: 'more keys than tracked in one window' } : fold.keep, events: 0, sums: {}, who: new Set() }
      this.#tallies.set(key, t)
    }
    t.events++
    for (const [name, n] of Object.entries(fold.sums)) t.sums[name] = (t.sums[name] ?? 0) + n
    if (t.who.size < this.#o.whoMax) t.who.add(event.who)
  }

  /** Writes the open summaries; later events are written in full. */
  close (): void { this.#window.close() }

  #windowEnded (): void {
    for (const t of this.#tallies.values()) this.#o.append(this.#summary(t))
    this.#tallies.clear()
    this.#spent.clear()
  }

  #summary (t: Tally): AuditEvent {
    const who = t.who.size === 1 ? [...t.who][0] : `${t.who.size}${t.who.size >= this.#o.whoMax ? '+' : ''} actors`
    return {
      who, what: t.first.what, outcome: t.first.outcome,
      detail: { ...t.keep, ...t.sums, events: t.events, windowMs: this.#o.windowMs, summary: true },
    }
  }
}
