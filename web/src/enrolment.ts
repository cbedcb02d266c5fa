/**
 * Enrolment codes as a responder types them and as the relay refuses them: the code
 * normalised the way the relay expects it, the code taken from a `#enrol=CODE` link, and
 * what to say when the relay refuses one.
 *
 * @example
 * normaliseCode(' 7kq2m x9d4r ')     // '7KQ2MX9D4R'
 * codeFromHash('#enrol=7KQ2M-X9D4R') // '7KQ2M-X9D4R'
 */
import { isDdilError } from '../../protocol/errors.ts'
import { wireCodeOf } from '../../node/api/errors.ts'

/** What the responder types, as the relay expects it: upper case, no spaces. */
export function normaliseCode (code: string): string {
  return code.replace(/\s+/g, '').toUpperCase()
}

export function enrolFailure (e: unknown): string {
  if (isDdilError(e) && wireCodeOf(e) === 'ERR_AUTH') return `The relay refused this code (${e.message}). A code works once and expires: ask the operator for a new one ("ddil enrol").`
  return `Could not enrol: ${(e as Error).message}`
}

/** The code in a `#enrol=CODE` link, or '' when the hash is something else. */
export function codeFromHash (hash: string): string {
  const m = /^#enrol=([^&]*)$/.exec(hash)
  return m === null ? '' : decodeURIComponent(m[1])
}
