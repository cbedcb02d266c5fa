/**
 * One checker's verdict on a run (checkers.ts, channel-checkers.ts), as the report lists it.
 *
 * @example
 * const c: CheckResult = { name: 'no_duplicate_deliveries', ok: true, value: 0, detail: 'every node stored each message at most once' }
 */
export interface CheckResult {
  name: string
  ok: boolean
  /** The measured figure (a count or bytes). */
  value: number
  detail: string
}
