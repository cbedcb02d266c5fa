/**
 * The engine's timers, at its edge: every delayed action goes through here, so closing
 * the engine cancels them all and a timer that fires after close does nothing.
 *
 * @example
 * const timers = new Timers({ clock })
 * timers.every(60_000, purge); timers.schedule(20, flush)
 * timers.close()
 */
import type { Clock } from '../ports.ts'

export interface TimersDeps {
  clock: Pick<Clock, 'schedule'>
}

export class Timers {
  readonly #clock: Pick<Clock, 'schedule'>
  readonly #cancels = new Set<() => void>()
  #closed = false

  constructor (deps: TimersDeps) { this.#clock = deps.clock }

  get closed (): boolean { return this.#closed }

  /** Runs `fn` after `ms` unless closed first (a fired timer forgets its cancel). */
  schedule (ms: number, fn: () => void): void {
    const cancel = this.#clock.schedule(ms, () => {
      this.#cancels.delete(cancel)
      if (!this.#closed) fn()
    })
    this.#cancels.add(cancel)
  }

  /** Runs `fn` every `ms` until closed. */
  every (ms: number, fn: () => void): void {
    this.schedule(ms, () => { fn(); this.every(ms, fn) })
  }

  close (): void {
    this.#closed = true
    for (const cancel of this.#cancels) cancel()
    this.#cancels.clear()
  }
}
