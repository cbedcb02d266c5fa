/**
 * Envelopes whose authorisation is not decidable yet (an unknown channel, author or
 * parent): held, oldest first, until channel state can decide (`retry`). Bounded in
 * count and bytes (limits.ts); when full, the oldest envelope of whoever holds most of
 * the pool goes, so a peer flooding envelopes nobody can place pushes out its own.
 *
 * @example
 * const held = new HeldPool({ counters, validate, accept, refuse, crowdedBy })
 * if (verdict.reason === 'pending') held.hold(env, peer)
 * held.retry()     // after channel state changed
 */
import type { Envelope } from '../envelope.ts'
import { pendingBytesMax, pendingEnvelopesMax } from '../limits.ts'
import type { PeerId } from '../ports.ts'
import type { Counters, HeldEnvelope, Refuse, Sender, Verdict } from './types.ts'
import { reasonOf, refusalReason } from './validate.ts'

export interface HeldPoolDeps {
  counters: Pick<Counters, 'heldPending'>
  validate (env: Envelope): Verdict
  /** Stores a newly authorised envelope; rejects if the store refuses it (quota, a failed write). */
  accept (env: Envelope, from: Sender): Promise<void>
  refuse: Refuse
  /** A peer holds more than half of a full pool: charge it (it is cut once pushed out a hundred times). */
  crowdedBy (peer: PeerId): void
}

export class HeldPool {
  readonly #deps: HeldPoolDeps
  readonly #held = new Map<string, HeldEnvelope>()
  #bytes = 0
  /** Held envelopes per sender, to make room fairly (see #drop). */
  readonly #by = new Map<Sender, number>()

  constructor (deps: HeldPoolDeps) { this.#deps = deps }

  has (key: string): boolean { return this.#held.has(key) }

  hold (env: Envelope, from: Sender): void {
    this.#held.set(env.key, { env, from })
    this.#bytes += env.bytes.length
    this.#by.set(from, (this.#by.get(from) ?? 0) + 1)
    this.#deps.counters.heldPending++
    while (this.#held.size > pendingEnvelopesMax || this.#bytes > pendingBytesMax) this.#drop()
  }

  /**
   * Asks again about every held envelope (call after channel state changed). Newly
   * decidable ones are stored or refused; the rest stay held.
   */
  retry (): void {
    for (const [key, h] of [...this.#held]) {
      const verdict = this.#deps.validate(h.env)
      if (!verdict.ok && verdict.reason === 'pending') continue
      this.#release(key, h)
      const peer = h.from === 'local' ? undefined : h.from
      if (!verdict.ok) { this.#deps.refuse(refusalReason(verdict), verdict.message, peer, h.env); continue }
      this.#deps.accept(h.env, h.from).catch((e: unknown) => { this.#deps.refuse(reasonOf(e), (e as Error).message, peer, h.env) })
    }
  }

  /**
   * The pool is full: the oldest envelope of whoever holds most of it goes, and a sender
   * holding more than half the pool is charged for it.
   */
  #drop (): void {
    let heaviest: Sender = 'local'
    for (const [from, n] of this.#by) if (n > (this.#by.get(heaviest) ?? 0)) heaviest = from
    const dominant = (this.#by.get(heaviest) ?? 0) * 2 > this.#held.size
    for (const [key, h] of this.#held) {
      if (h.from !== heaviest) continue
      this.#release(key, h)
      const peer = h.from === 'local' ? undefined : h.from
      this.#deps.refuse('unauthorised', 'dropped from the pending pool (full) before its authorisation could be decided', peer, h.env)
      if (peer !== undefined && dominant) this.#deps.crowdedBy(peer)
      return
    }
  }

  #release (key: string, h: HeldEnvelope): void {
    this.#held.delete(key)
    this.#bytes -= h.env.bytes.length
    const n = (this.#by.get(h.from) ?? 1) - 1
    if (n === 0) this.#by.delete(h.from)
    else this.#by.set(h.from, n)
  }
}
