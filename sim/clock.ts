/**
 * A simulated node's clock: the `Clock` port over the shared virtual time, with an
 * optional skew (the wall clock is off by a fixed amount, e.g. a node whose clock was
 * set a day wrong) and drift (it runs fast or slow, in parts per million). Timers go
 * into the one event queue; a node's clock is retired when it crashes, so timers its
 * dead engine left behind never fire.
 *
 * Scenario nodes write `skew: -24h` / `skew: +90s` and `drift: 50ppm` / `drift: -20ppm`.
 *
 * @example
 * const clock = new NodeClock(scheduler, simEpochMs, { skewMs: 24 * 3_600_000, driftPpm: 0 })
 * clock.nowMs()  // a day ahead of true time
 */
import { ConfigError } from '../protocol/errors.ts'
import type { Clock } from '../protocol/ports.ts'
import { parseDuration } from '../protocol/units.ts'
import type { Scheduler } from './scheduler.ts'

/** Virtual time 0 as a wall clock reads it: 2026-11-22T12:00:00Z (fixed, so runs replay). */
export const simEpochMs = 1_795_348_800_000

/** Largest drift accepted: 1% is already a broken oscillator. */
const driftPpmMax = 10_000

export interface ClockFault {
  /** Wall-clock offset from true time, ms (positive: ahead). */
  skewMs: number
  /** Rate error, parts per million (positive: runs fast). */
  driftPpm: number
}

export const noClockFault: Readonly<ClockFault> = { skewMs: 0, driftPpm: 0 }

/** `'-24h'`, `'+90s'`, `'2h'`, `0`: a signed duration in ms. */
export function parseSkew (text: string | number): number {
  if (typeof text === 'string' && (text.startsWith('-') || text.startsWith('+'))) {
    const ms = parseDuration(text.slice(1))
    return text.startsWith('-') ? -ms : ms
  }
  return parseDuration(text)
}

/** `'50ppm'`, `'-20ppm'`, `0`: parts per million. */
export function parseDrift (text: string | number): number {
  if (text === 0 || text === '0') return 0
  const m = typeof text === 'string' ? /^([+-]?\d+(?:\.\d+)?)ppm$/.exec(text) : null
  const ppm = m === null ? NaN : Number(m[1])
  if (!(Math.abs(ppm) <= driftPpmMax)) throw new ConfigError(`invalid drift ${JSON.stringify(String(text))} (write it like 50ppm or -20ppm, at most ${driftPpmMax}ppm)`)
  return ppm
}

export class NodeClock implements Clock {
  readonly #s: Scheduler
  readonly #base: number
  readonly #rate: number
  #live = true

  constructor (scheduler: Scheduler, epochMs: number, fault: ClockFault) {
    this.#s = scheduler
    this.#base = epochMs + fault.skewMs
    this.#rate = 1 + fault.driftPpm / 1e6
  }

  /** Whole milliseconds: envelope timestamps are integers. */
  nowMs (): number { return Math.floor(this.#base + this.#s.now * this.#rate) }

  monotonicMs (): number { return Math.floor(this.#s.now * this.#rate) }

  /** `delayMs` of this node's time, which is `delayMs / rate` of true time. */
  schedule (delayMs: number, fn: () => void): () => void {
    return this.#s.after(delayMs / this.#rate, () => { if (this.#live) fn() })
  }

  /** The node crashed: nothing scheduled through this clock runs any more. */
  retire (): void { this.#live = false }
}
