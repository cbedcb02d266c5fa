/**
 * The enrolment codes a relay has issued: single use, expiring, bounded in number, kept
 * only as hashes (node/api/enrolment-code.ts has the format). `check` says whether a typed
 * code may be spent now and, if not, why: never issued (or mistyped), already used, or
 * expired. Spent and expired codes are remembered (bounded) so that a reused or late code
 * is refused for what it is. Codes live in memory: a relay that restarts forgets them, and
 * the operator issues new ones. Time and randomness come in through ports.
 *
 * @example
 * const codes = new EnrolmentCodes({ clock, randomBytes, sha256, onExpired: (name) => audit(name) })
 * const { code, expiresAtMs } = codes.issue({ name: 'Ana', ttlMs: 15 * 60_000 })
 * const found = codes.check(typed)     // { ok: true, key, name } | { ok: false, reason: 'spent' | … }
 * if (found.ok) codes.spend(found.key)
 */
import { LimitError } from '../protocol/errors.ts'
import { toHex } from '../protocol/bytes.ts'
import type { Clock } from '../protocol/ports.ts'
import { enrolmentCodeHashInput, enrolmentCodeRandomBytes, formatEnrolmentCode, normaliseEnrolmentCode } from './api/enrolment-code.ts'
import { enrolmentCodesOpenMax, enrolmentCodesRememberedMax, enrolmentTtlMsMax, enrolmentTtlMsMin } from './api/limits.ts'

export type CodeRefusal = 'malformed' | 'unknown' | 'spent' | 'expired'

/** One sentence per refusal, for the client (the wire's ERR_AUTH message). */
export const codeRefusalText: Readonly<Record<CodeRefusal, string>> = {
  malformed: 'this is not an enrolment code: a code is 10 letters and digits, like 7KQ2M-X9D4R',
  unknown: 'this relay did not issue that enrolment code (mistyped, or issued before the relay restarted); check it, or ask the operator for a new one',
  spent: 'that enrolment code has been used already: each code lets in one device; ask the operator for a new one',
  expired: 'that enrolment code has expired; ask the operator for a new one',
}

export type CodeCheck = { ok: true, key: string, name: string } | { ok: false, reason: CodeRefusal }

interface Issued {
  name: string
  expiresAtMs: number
  state: 'open' | 'spent' | 'expired'
  cancel: () => void
}

export interface EnrolmentCodesDeps {
  clock: Clock
  randomBytes: (length: number) => Uint8Array
  sha256: (data: Uint8Array) => Uint8Array
  /** An unused code's time ran out (for the audit log). */
  onExpired?: (name: string, expiresAtMs: number) => void
  openMax?: number
  rememberedMax?: number
}

export class EnrolmentCodes {
  readonly #d: EnrolmentCodesDeps
  /** By hash (hex), in issue order. */
  readonly #codes = new Map<string, Issued>()
  #open = 0

  constructor (deps: EnrolmentCodesDeps) {
    this.#d = deps
  }

  /** Codes that can still be spent. */
  get openCount (): number { return this.#open }

  /** A new open code; `key` (its hash) lets the caller `withdraw` it if it cannot go ahead. */
  issue (options: { name: string, ttlMs: number }): { code: string, key: string, expiresAtMs: number } {
    const { ttlMs } = options
    if (!Number.isSafeInteger(ttlMs) || ttlMs < enrolmentTtlMsMin || ttlMs > enrolmentTtlMsMax) throw new LimitError(`an enrolment code lives from ${enrolmentTtlMsMin} ms to ${enrolmentTtlMsMax} ms, not ${ttlMs}`)
    const openMax = this.#d.openMax ?? enrolmentCodesOpenMax
    if (this.#open >= openMax) throw new LimitError(`${openMax} enrolment codes are open already; use or let some expire first`)
    let code: string
    let key: string
    do { // a collision with a code already issued is astronomically unlikely, and would make both ambiguous
      code = formatEnrolmentCode(this.#d.randomBytes(enrolmentCodeRandomBytes))
      key = this.#keyOf(normaliseEnrolmentCode(code) as string)
    } while (this.#codes.has(key))
    const expiresAtMs = this.#d.clock.nowMs() + ttlMs
    const issued: Issued = { name: options.name, expiresAtMs, state: 'open', cancel: () => {} }
    issued.cancel = this.#d.clock.schedule(ttlMs, () => { this.#expire(key) })
    this.#codes.set(key, issued)
    this.#open++
    return { code, key, expiresAtMs }
  }

  /** Forgets an open code as if it had never been issued. */
  withdraw (key: string): void {
    const issued = this.#codes.get(key)
    if (issued?.state !== 'open') return
    issued.cancel()
    this.#codes.delete(key)
    this.#open--
  }

  /** Whether `typed` may be spent now; changes nothing. */
  check (typed: string): CodeCheck {
    const normalised = normaliseEnrolmentCode(typed)
    if (normalised === undefined) return { ok: false, reason: 'malformed' }
    const key = this.#keyOf(normalised)
    const issued = this.#codes.get(key)
    if (issued === undefined) return { ok: false, reason: 'unknown' }
    if (issued.state === 'open' && this.#d.clock.nowMs() >= issued.expiresAtMs) this.#expire(key)
    if (issued.state !== 'open') return { ok: false, reason: issued.state }
    return { ok: true, key, name: issued.name }
  }

  /** Uses up a code `check` found open. */
  spend (key: string): void {
    const issued = this.#codes.get(key)
    if (issued?.state !== 'open') return
    issued.state = 'spent'
    issued.cancel()
    this.#open--
    this.#forgetOld()
  }

  /** Makes a spent code usable again (the enrolment it was spent on could not be completed), if it has not expired. */
  unspend (key: string): void {
    const issued = this.#codes.get(key)
    const left = issued === undefined ? 0 : issued.expiresAtMs - this.#d.clock.nowMs()
    if (issued?.state !== 'spent' || left <= 0) return
    issued.state = 'open'
    issued.cancel = this.#d.clock.schedule(left, () => { this.#expire(key) })
    this.#open++
  }

  /** Cancels the expiry timers (the relay is stopping). */
  close (): void {
    for (const issued of this.#codes.values()) issued.cancel()
  }

  #keyOf (normalised: string): string {
    return toHex(this.#d.sha256(enrolmentCodeHashInput(normalised)))
  }

  #expire (key: string): void {
    const issued = this.#codes.get(key)
    if (issued?.state !== 'open') return
    issued.state = 'expired'
    issued.cancel()
    this.#open--
    this.#d.onExpired?.(issued.name, issued.expiresAtMs)
    this.#forgetOld()
  }

  /** Keeps at most `rememberedMax` used-up codes, forgetting the oldest first. */
  #forgetOld (): void {
    const max = this.#d.rememberedMax ?? enrolmentCodesRememberedMax
    let over = this.#codes.size - this.#open - max
    for (const [key, issued] of this.#codes) {
      if (over <= 0) break
      if (issued.state === 'open') continue
      this.#codes.delete(key)
      over--
    }
  }
}
