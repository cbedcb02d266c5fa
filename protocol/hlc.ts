/**
 * Hybrid logical clock (Kulkarni et al. 2014): a timestamp that stays close to
 * physical time but never goes backwards and always orders after every timestamp
 * it has observed. Fed by the `Clock` port, so it is pure and replayable.
 *
 * Far-future timestamps (beyond `clockSkewMsMax` of our own wall clock) are
 * refused: accepting them would drag every clock that hears them into the future.
 *
 * @example
 * const hlc = new HybridClock(() => clock.nowMs())
 * const stamp = hlc.now()          // for a local event or a send
 * hlc.observe(envelope.hlc)        // on receive; throws ClockSkewError if too far ahead
 */
import { ClockSkewError, LimitError } from './errors.ts'
import { clockSkewMsMax, hlcCounterMax } from './limits.ts'

/** Milliseconds since the Unix epoch (48 bits on the wire) and a logical counter. */
export interface Hlc {
  ms: number
  c: number
}

/** Largest `ms` the envelope's 6-byte field can carry (year 10889). */
export const hlcMsMax = 2 ** 48 - 1

export function compareHlc (a: Hlc, b: Hlc): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.c - b.c
}

/** Throws ClockSkewError when `stamp` is further ahead of `wallMs` than the allowance. */
export function checkNotFarFuture (stamp: Hlc, wallMs: number, allowanceMs = clockSkewMsMax): void {
  if (stamp.ms > wallMs + allowanceMs) {
    throw new ClockSkewError(`timestamp ${stamp.ms} is ${stamp.ms - wallMs} ms ahead of local time (allowance ${allowanceMs} ms)`)
  }
}

export class HybridClock {
  /** The physical part's source, read as whole ms: the envelope and client API codecs carry `ms` as an integer. */
  readonly #wallMs: () => number
  #last: Hlc

  constructor (wallMs: () => number, last: Hlc = { ms: 0, c: 0 }) {
    this.#wallMs = () => Math.floor(wallMs())
    this.#last = { ...last }
  }

  /** The last timestamp issued or observed (persist it to keep monotonicity across restarts). */
  get last (): Hlc { return { ...this.#last } }

  /** A new timestamp for a local event, strictly after everything seen so far. */
  now (): Hlc {
    const wall = this.#wallMs()
    const last = this.#last
    const next = wall > last.ms ? { ms: wall, c: 0 } : { ms: last.ms, c: last.c + 1 }
    return this.#commit(next)
  }

  /** Merge a remote timestamp (after validating it); later local stamps order after it. */
  observe (remote: Hlc): void {
    const wall = this.#wallMs()
    checkNotFarFuture(remote, wall)
    const last = this.#last
    const ms = Math.max(wall, last.ms, remote.ms)
    let c = 0
    if (ms === last.ms && ms === remote.ms) c = Math.max(last.c, remote.c) + 1
    else if (ms === last.ms) c = last.c + 1
    else if (ms === remote.ms) c = remote.c + 1
    this.#commit({ ms, c })
  }

  #commit (next: Hlc): Hlc {
    if (!Number.isSafeInteger(next.ms) || !Number.isSafeInteger(next.c)) throw new LimitError(`HLC parts must be whole numbers, got ${next.ms}.${next.c}`)
    if (next.c > hlcCounterMax) throw new LimitError(`HLC counter overflow at ${next.ms} ms`)
    if (next.ms > hlcMsMax) throw new LimitError('HLC milliseconds exceed 48 bits')
    this.#last = next
    return { ...next }
  }
}
