/**
 * Typed readers for frame decoders: each takes a decoded `CborValue`, checks its shape
 * and returns it narrowed, or throws a `DecodeError` naming what was expected where
 * ("expected byte string of 32 bytes at hello field 2, got byte string of 31 bytes").
 * `what` is the caller's label for the position, used only in the message.
 *
 * Lengths are either an exact number or `{ min?, max? }` (inclusive).
 *
 * @example
 * const [version, id] = asArray(decodeStrict(frame), 'hello frame', 2)
 * asUint(version, 'hello field 0', 255)
 * asBytes(id, 'hello field 1', 32)
 */
import { DecodeError } from './errors.ts'
import { describe, type CborKey, type CborMap, type CborValue } from './cbor-core.ts'

export type LengthRule = number | { min?: number, max?: number }

function wrong (expected: string, what: string, v: CborValue | undefined): never {
  throw new DecodeError(`expected ${expected} at ${what}, got ${describe(v)}`)
}

function lengthOk (n: number, rule: LengthRule | undefined): boolean {
  if (rule === undefined) return true
  if (typeof rule === 'number') return n === rule
  return n >= (rule.min ?? 0) && n <= (rule.max ?? Infinity)
}

function lengthText (rule: LengthRule | undefined, unit: string): string {
  if (rule === undefined) return ''
  if (typeof rule === 'number') return ` of ${rule} ${unit}`
  if (rule.max === undefined) return ` of at least ${rule.min ?? 0} ${unit}`
  return ` of ${rule.min ?? 0}..${rule.max} ${unit}`
}

export function asArray (v: CborValue | undefined, what: string, length?: LengthRule): CborValue[] {
  if (!Array.isArray(v) || !lengthOk(v.length, length)) wrong(`array${lengthText(length, 'items')}`, what, v)
  return v
}

/** An unsigned integer in [min, max] (defaults 0 and 2^53 − 1). */
export function asUint (v: CborValue | undefined, what: string, max = Number.MAX_SAFE_INTEGER, min = 0): number {
  if (typeof v !== 'number' || v < min || v > max) wrong(`integer in ${min}..${max}`, what, v)
  return v
}

/** Any integer in [min, max]. */
export function asInt (v: CborValue | undefined, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || v < min || v > max) wrong(`integer in ${min}..${max}`, what, v)
  return v
}

export function asBytes (v: CborValue | undefined, what: string, length?: LengthRule): Uint8Array {
  if (!(v instanceof Uint8Array) || !lengthOk(v.length, length)) wrong(`byte string${lengthText(length, 'bytes')}`, what, v)
  return v
}

/** Text; `length` counts UTF-16 code units (what `string.length` reports). */
export function asText (v: CborValue | undefined, what: string, length?: LengthRule): string {
  if (typeof v !== 'string' || !lengthOk(v.length, length)) wrong(`text${lengthText(length, 'chars')}`, what, v)
  return v
}

export function asBool (v: CborValue | undefined, what: string): boolean {
  if (typeof v !== 'boolean') wrong('boolean', what, v)
  return v
}

export function asMap (v: CborValue | undefined, what: string): CborMap {
  if (!(v instanceof Map)) wrong('map', what, v)
  return v
}

/** `read(v)`, or undefined when `v` is null or absent (an optional field). */
export function orNull<T> (v: CborValue | undefined, read: (v: CborValue) => T): T | undefined {
  return v === null || v === undefined ? undefined : read(v)
}

/** The value under `key`, which must be present. */
export function field (m: CborMap, key: CborKey, what: string): CborValue {
  const v = m.get(key)
  if (v === undefined) throw new DecodeError(`missing field ${JSON.stringify(key)} at ${what}`)
  return v
}

/** Refuse keys outside `known`: a peer must not smuggle fields we would silently ignore. */
export function onlyKeys (m: CborMap, known: readonly CborKey[], what: string): CborMap {
  for (const k of m.keys()) {
    if (!known.includes(k)) throw new DecodeError(`unknown field ${JSON.stringify(k)} at ${what}`)
  }
  return m
}
