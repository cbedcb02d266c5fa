/**
 * Profiles (content type 0x05, in state envelopes): the display name a member chooses,
 * end-to-end encrypted like the rest of the channel's content. The payload names the
 * member it is about, so a profile is self-describing, and a reader accepts it only
 * when that member is the envelope's (signature-checked) author: nobody names anyone
 * but themself.
 *
 *   profile = {0: memberEd (32 B), 1: name (text)}   ; canonical CBOR, exactly these keys
 *
 * A name is 1..`displayNameCharsMax` characters (UTF-16 code units, what `length`
 * counts), not blank, and free of control, bidirectional-override and line-separator
 * characters: names are printed in terminals and next to other people's text, where
 * those would let a member forge output or disguise who wrote what.
 *
 * Per member the profile with the highest HLC wins, ties to the higher envelope id,
 * so every reader holding the same envelopes shows the same names whatever their
 * arrival order (`ProfileBook`).
 *
 * @example
 * const payload = encodeProfile({ memberEd: me, name: 'Ana (medic)' })
 * decodeProfile(payload)                       // { memberEd: me, name: 'Ana (medic)' }
 * displayNameProblem('\u001b[31mroot')        // 'contains a control character …'
 */
import { compareBytes } from '../bytes.ts'
import { asBytes, asMap, asText, decodeStrict, encodeCanonical, field, onlyKeys, type CborValue } from '../cbor.ts'
import { DecodeError } from '../errors.ts'
import { compareHlc, type Hlc } from '../hlc.ts'
import { displayNameCharsMax } from '../limits.ts'
import { edKeyLength } from './governance.ts'

export interface Profile {
  /** The member the profile is about: their full Ed25519 key. */
  memberEd: Uint8Array
  name: string
}

/** C0 and C1 controls, DEL, bidirectional embeddings, overrides and isolates, line and paragraph separators. */
const forbiddenChars = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/u

/** Why `name` is not a valid display name, or undefined when it is. Shared by profiles and client enrolment. */
export function displayNameProblem (name: string): string | undefined {
  if (name.length === 0 || name.trim().length === 0) return 'is empty or blank'
  if (name.length > displayNameCharsMax) return `is ${name.length} characters; at most ${displayNameCharsMax}`
  if (forbiddenChars.test(name)) return 'contains a control, bidirectional-override or line-separator character'
  // Lone surrogates cannot be written as UTF-8: the encoder would replace them, so the bytes would not decode back.
  if (!name.isWellFormed()) return 'is not well-formed Unicode (a lone surrogate)'
  return undefined
}

function checkName (name: string): string {
  const problem = displayNameProblem(name)
  if (problem !== undefined) throw new DecodeError(`display name ${problem}`)
  return name
}

export function encodeProfile (p: Profile): Uint8Array {
  const bytes = encodeCanonical(new Map<number, CborValue>([[0, p.memberEd], [1, checkName(p.name)]]))
  decodeProfile(bytes) // one definition of validity: never send what a reader would refuse
  return bytes
}

/** Strict decode; DecodeError (or LimitError) on anything but one canonical profile. */
export function decodeProfile (payload: Uint8Array): Profile {
  const what = 'profile'
  const m = onlyKeys(asMap(decodeStrict(payload), what), [0, 1], what)
  const memberEd = asBytes(field(m, 0, what), `${what} member key`, edKeyLength)
  const name = checkName(asText(field(m, 1, what), `${what} name`, { max: displayNameCharsMax }))
  return { memberEd, name }
}

interface Entry { name: string, hlc: Hlc, id: Uint8Array }

/** The display names of one channel's members: the latest profile per author, in any arrival order. */
export class ProfileBook {
  readonly #byAuthor = new Map<string, Entry>()

  /**
   * Takes a decoded profile from an envelope whose signature was checked for `authorEd`.
   * Returns false (and changes nothing) when it names someone other than its author.
   */
  take (authorEd: Uint8Array, authorRefHex: string, profile: Profile, hlc: Hlc, id: Uint8Array): boolean {
    if (compareBytes(profile.memberEd, authorEd) !== 0) return false
    const known = this.#byAuthor.get(authorRefHex)
    const order = known === undefined ? 1 : compareHlc(hlc, known.hlc) || compareBytes(id, known.id)
    if (order > 0) this.#byAuthor.set(authorRefHex, { name: profile.name, hlc, id })
    return true
  }

  /** Author reference (hex) → display name. */
  names (): Map<string, string> {
    return new Map([...this.#byAuthor].map(([ref, e]) => [ref, e.name]))
  }

  nameOf (authorRefHex: string): string | undefined {
    return this.#byAuthor.get(authorRefHex)?.name
  }
}
