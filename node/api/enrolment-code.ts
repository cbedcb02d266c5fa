/**
 * Enrolment codes as people read, type and say them: 10 symbols of Crockford's base32
 * (50 random bits), shown as two groups of five, `7KQ2M-X9D4R`. The alphabet has no I, L,
 * O or U, so what a user types is normalised before it is checked: case and spaces or
 * hyphens do not matter, O reads as 0, I and L as 1. The relay keeps only a hash of the
 * normalised code, under a label of its own. Pure (no node:*): the app shares it.
 *
 * @example
 * const code = formatEnrolmentCode(randomBytes(enrolmentCodeRandomBytes))   // '7KQ2M-X9D4R'
 * normaliseEnrolmentCode(' 7kq2m x9d4r ')                                   // '7KQ2MX9D4R'
 * normaliseEnrolmentCode('hello')                                            // undefined
 */
import { utf8 } from '../../protocol/bytes.ts'

const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
/** Symbols in a code: 10 × 5 bits. */
export const enrolmentCodeSymbols = 10
/** Random bytes a code is drawn from (56 bits, of which 50 are used). */
export const enrolmentCodeRandomBytes = 7
/** Domain label of the stored hash: the hash of a code means nothing else. */
export const enrolmentCodeHashLabel = 'ddil/v1/enrolment-code\n'

/** `XXXXX-XXXXX` from `enrolmentCodeRandomBytes` random bytes (their first 50 bits). */
export function formatEnrolmentCode (random: Uint8Array): string {
  if (random.length < enrolmentCodeRandomBytes) throw new RangeError(`an enrolment code needs ${enrolmentCodeRandomBytes} random bytes`)
  let bits = 0n
  for (const b of random.subarray(0, enrolmentCodeRandomBytes)) bits = (bits << 8n) | BigInt(b)
  let out = ''
  for (let i = 0; i < enrolmentCodeSymbols; i++) out += alphabet[Number((bits >> BigInt(51 - 5 * i)) & 31n)]
  return `${out.slice(0, 5)}-${out.slice(5)}`
}

/** The code's 10 symbols, or undefined when `typed` cannot be one. */
export function normaliseEnrolmentCode (typed: string): string | undefined {
  const plain = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1')
  if (plain.length !== enrolmentCodeSymbols) return undefined
  for (const ch of plain) if (!alphabet.includes(ch)) return undefined
  return plain
}

/** What is hashed for a normalised code: the label, then the symbols. */
export function enrolmentCodeHashInput (normalised: string): Uint8Array {
  return utf8(enrolmentCodeHashLabel + normalised)
}
