/**
 * Canonical JSON for audit `detail` values: no whitespace, object keys sorted by UTF-16
 * code units (JavaScript's default sort), strings and numbers exactly as JSON.stringify
 * writes them (shortest round-trip numbers, lowercase \u escapes). One value, one text.
 *
 * @example
 * canonicalJson({ b: 1, a: [true, null, 'x'] })   // '{"a":[true,null,"x"],"b":1}'
 */
import { auditDetailDepthMax, auditDetailItemsMax, auditStringCharsMax } from '../../protocol/limits.ts'

export type AuditValue = string | number | boolean | null | AuditValue[] | { [key: string]: AuditValue }
export type AuditDetail = { [key: string]: AuditValue }

export function canonicalJson (value: AuditValue): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value)
  if (typeof value === 'number') return JSON.stringify(Number.isFinite(value) ? value : null)
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`
  const keys = Object.keys(value).sort()
  return `{${keys.map(k => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`
}

/** Room for the writer's own markers (`_omitted`, `given_what`, `given_outcome`, `[+N items]`) beyond the item limit. */
const markerSlack = 4

/** True when `v` (from JSON.parse) stays within the bounds the writer enforces. */
export function isAuditValue (v: unknown, depth: number): boolean {
  if (v === null || typeof v === 'boolean') return true
  if (typeof v === 'number') return Number.isFinite(v)
  if (typeof v === 'string') return v.length <= auditStringCharsMax
  if (depth >= auditDetailDepthMax || typeof v !== 'object') return false
  if (Array.isArray(v)) return v.length <= auditDetailItemsMax + markerSlack && v.every(x => isAuditValue(x, depth + 1))
  const keys = Object.keys(v)
  return keys.length <= auditDetailItemsMax + markerSlack &&
    keys.every(k => k.length <= auditStringCharsMax && isAuditValue((v as Record<string, unknown>)[k], depth + 1))
}
