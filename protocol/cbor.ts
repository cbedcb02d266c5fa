/**
 * The strict CBOR codec for everything ddil-relay exchanges with peers: one byte form
 * per value. `decodeStrict` refuses anything non-canonical, tagged, floating, oversized
 * or too deep (see `cbor-decode.ts` for the full list); `encodeCanonical` writes exactly
 * the form it accepts; the `as*` readers turn decoded values into typed frame fields.
 *
 * @example
 * import { decodeStrict, encodeCanonical, asArray, asUint, asBytes } from './cbor.ts'
 * const bytes = encodeCanonical([1, new Uint8Array(32)])
 * const [kind, id] = asArray(decodeStrict(bytes), 'have frame', 2)
 * asUint(kind, 'have field 0', 255); asBytes(id, 'have field 1', 32)
 */
export type { CborValue, CborKey, CborMap, CborLimits, CborOptions } from './cbor-core.ts'
export { defaultCborLimits, resolveLimits, compareBytes } from './cbor-core.ts'
export { decodeStrict } from './cbor-decode.ts'
export { encodeCanonical } from './cbor-encode.ts'
export { asArray, asUint, asInt, asBytes, asText, asBool, asMap, orNull, field, onlyKeys } from './cbor-read.ts'
export type { LengthRule } from './cbor-read.ts'
