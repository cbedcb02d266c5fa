/**
 * Admission of connections that have not yet proved anything: a TCP connection before its
 * Noise handshake, a client socket before it authenticates, an admin request whose headers
 * have not arrived. Each holds a file descriptor and a slot while it idles, so a flood of
 * silent connections could otherwise lock everyone else out (brief §7, connection floods
 * and slow handshakes). The surfaces keep their own normal timeouts; this adds:
 *
 * - a bound on unproven connections (`pendingMax`) and, beyond it, `reservedMax` more
 *   slots that only known sources may use (addresses of allowlisted peers, of users who
 *   authenticated before), so a stranger's flood cannot take the last slot from them;
 * - a bound per source address (`perSourceMax`), so one address holds a few slots at most;
 * - eviction instead of refusal: when a bound is reached, the oldest unproven connection in
 *   the way is dropped and the newcomer kept. An honest handshake takes milliseconds, so it
 *   only loses its slot if a whole pool of newer connections arrives meanwhile; a refused
 *   newcomer would lose every time the pool is full of idle ones;
 * - a short deadline under pressure: while half of `pendingMax` is taken, an unproven
 *   connection from a source not known older than `pressuredTimeoutMs` is dropped (checked
 *   every `pressuredTimeoutMs`); a known source may be slow (a peer behind a radio link).
 *
 * Every drop is reported through `onDrop` (source, reason) for the audit log, which folds
 * repeats. Callers pass the source address (IP, without a port).
 *
 * @example
 * const admission = new Admission({ limits, clock, isKnown: ip => peersSeen.has(ip), onDrop: (ip, why) => audit(ip, why) })
 * const ticket = admission.admit(socket.remoteAddress ?? '', (why) => socket.destroy())
 * socket.once('close', ticket.done)    // and ticket.done() once it authenticates
 */
import type { Clock } from '../protocol/ports.ts'

export interface AdmissionLimits {
  /** Unproven connections at once from any source. */
  pendingMax: number
  /** More unproven connections, for known sources only, once `pendingMax` is reached. */
  reservedMax: number
  /** Unproven connections at once from one source that is not known. */
  perSourceMax: number
  /** Under pressure (half of `pendingMax` taken), an unproven connection from a source not known older than this is dropped, ms. */
  pressuredTimeoutMs: number
}

export interface AdmissionOptions {
  limits: AdmissionLimits
  clock: Pick<Clock, 'schedule'>
  /** A source whose connections may use the reserved slots and are not bounded per source. */
  isKnown?: (source: string) => boolean
  /** A connection was dropped before it proved anything, and why. */
  onDrop?: (source: string, reason: string) => void
}

export interface Ticket {
  /** The connection proved itself or closed: its slot is free. Idempotent. */
  readonly done: () => void
}

interface Entry {
  source: string
  reserved: boolean
  drop: (reason: string) => void
  cancel: () => void
}

export const droppedForSource = 'too many unfinished handshakes from this address'
export const droppedForSlots = 'handshake slots full: the oldest unfinished handshake made way'
export const droppedUnderPressure = 'handshake too slow while handshake slots are scarce'

export class Admission {
  readonly #o: AdmissionOptions
  /** Unproven connections, oldest first (a Map keeps insertion order). */
  readonly #pending = new Map<number, Entry>()
  readonly #perSource = new Map<string, number>()
  #shared = 0
  #reserved = 0
  #next = 0

  constructor (options: AdmissionOptions) {
    this.#o = options
  }

  /** Unproven connections now (for status and tests). */
  get pending (): number { return this.#pending.size }

  /** Takes a slot for a new connection from `source`, dropping older ones in its way; `drop` closes it if it must go later. */
  admit (source: string, drop: (reason: string) => void): Ticket {
    const { limits } = this.#o
    const known = this.#o.isKnown?.(source) === true
    if (!known && (this.#perSource.get(source) ?? 0) >= limits.perSourceMax) this.#evictOldest(e => e.source === source, droppedForSource)
    let reserved = false
    if (this.#shared >= limits.pendingMax) {
      if (known && this.#reserved < limits.reservedMax) reserved = true
      else if (known && limits.reservedMax > 0) { this.#evictOldest(e => e.reserved, droppedForSlots); reserved = true }
      else this.#evictOldest(e => !e.reserved, droppedForSlots)
    }
    const id = this.#next++
    const entry: Entry = { source, reserved, drop, cancel: () => {} }
    this.#pending.set(id, entry)
    this.#perSource.set(source, (this.#perSource.get(source) ?? 0) + 1)
    if (reserved) this.#reserved++
    else this.#shared++
    if (!known) this.#watch(id, entry)
    return { done: () => { this.#remove(id) } }
  }

  /** Every `pressuredTimeoutMs` while unproven: dropped if the slots are under pressure then. */
  #watch (id: number, entry: Entry): void {
    entry.cancel = this.#o.clock.schedule(this.#o.limits.pressuredTimeoutMs, () => {
      if (this.#pressured()) this.#drop(id, droppedUnderPressure)
      else this.#watch(id, entry)
    })
  }

  #pressured (): boolean { return 2 * this.#shared >= this.#o.limits.pendingMax }

  #evictOldest (match: (e: Entry) => boolean, reason: string): void {
    for (const [id, e] of this.#pending) {
      if (match(e)) { this.#drop(id, reason); return }
    }
  }

  #drop (id: number, reason: string): void {
    const entry = this.#remove(id)
    if (entry === undefined) return
    this.#o.onDrop?.(entry.source, reason)
    entry.drop(reason)
  }

  #remove (id: number): Entry | undefined {
    const entry = this.#pending.get(id)
    if (entry === undefined) return undefined
    this.#pending.delete(id)
    entry.cancel()
    const left = (this.#perSource.get(entry.source) ?? 1) - 1
    if (left === 0) this.#perSource.delete(entry.source)
    else this.#perSource.set(entry.source, left)
    if (entry.reserved) this.#reserved--
    else this.#shared--
    return entry
  }
}

/**
 * A socket's address as a source: `/ip4/a.b.c.d` or `/ip6/…` (an IPv4-mapped IPv6 address
 * is its IPv4 address), the form libp2p's remote addresses start with, so the audit log
 * folds repeats from one address whichever surface they hit. `/unknown` when the socket
 * has none (already closed).
 */
export function sourceOf (address: string | undefined): string {
  if (address === undefined || address === '') return '/unknown'
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  return v4 !== null ? `/ip4/${v4[1]}` : `/ip6/${address}`
}

/** Remembers up to `max` sources (most recent kept): addresses known peers or users came from. */
export class RecentSources {
  readonly #max: number
  readonly #seen = new Set<string>()

  constructor (max: number, initial: Iterable<string> = []) {
    this.#max = max
    for (const s of initial) this.add(s)
  }

  add (source: string): void {
    this.#seen.delete(source)
    this.#seen.add(source)
    if (this.#seen.size > this.#max) this.#seen.delete(this.#seen.values().next().value as string)
  }

  has (source: string): boolean { return this.#seen.has(source) }
}
