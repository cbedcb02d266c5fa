/**
 * The summary window shared by RefusalSummaries (repeats.ts) and AuditBudget (budget.ts): a
 * timer started by the first event after a quiet spell, which calls `ended` once the window
 * is over; `close()` ends the window now and for good (a graceful stop writes its summaries).
 *
 * @example
 * const w = new SummaryWindow(schedule, 60_000, () => writeSummaries())
 * w.start()   // on each event: starts a window unless one is running
 * w.close()   // writes what is open; later starts do nothing
 */
export type Schedule = (fn: () => void, ms: number) => () => void

export class SummaryWindow {
  readonly #schedule: Schedule
  readonly #ms: number
  readonly #ended: () => void
  #cancel: (() => void) | undefined
  #closed = false

  constructor (schedule: Schedule, ms: number, ended: () => void) {
    this.#schedule = schedule
    this.#ms = ms
    this.#ended = ended
  }

  get closed (): boolean { return this.#closed }

  /** Starts a window unless one is running or the window is closed. */
  start (): void {
    if (this.#closed) return
    this.#cancel ??= this.#schedule(() => { this.#cancel = undefined; this.#ended() }, this.#ms)
  }

  /** Ends the running window now (calling `ended`) and starts no more. */
  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.#cancel?.()
    this.#cancel = undefined
    this.#ended()
  }
}
