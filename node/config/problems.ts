/**
 * Turns zod issues into operator sentences: where (file and line, or the variable or
 * flag that set the value), the key path, the bad value, and the fix. Unknown keys
 * get a "did you mean" from their siblings or, failing that, from keys elsewhere
 * (`mdns` under `node` → `discovery.mdns`).
 *
 * @example
 * describeIssue({ code: 'unrecognized_keys', keys: ['quta'], path: ['storage'], … }, ctx)
 * // [{ rank: 12, text: 'config.yaml:12: unknown key storage.quta (did you mean "quota"?)' }]
 */
import type { z } from 'zod'
import { configKeys, findKey, keysOf, sectionNames } from './keys.ts'
import { didYouMean } from '../../protocol/did-you-mean.ts'
import { formatPath, lineOf, type KeyPath, type YamlSource } from './source.ts'

export interface IssueContext {
  src: YamlSource
  /** The config after overrides, for quoting bad values. */
  raw: unknown
  /** Key path → variable or flag that set it. */
  origins: Map<string, string>
}

export interface Problem {
  /** Sort key: the line in the file; overrides come after the file. */
  rank: number
  text: string
}

const overrideRank = Number.MAX_SAFE_INTEGER

function valueAt (raw: unknown, path: KeyPath): unknown {
  let v = raw
  for (const seg of path) v = typeof v === 'object' && v !== null ? (v as Record<string | number, unknown>)[seg] : undefined
  return v
}

function show (v: unknown): string {
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object' && v !== null) return 'a map'
  return JSON.stringify(v) ?? String(v)
}

/** Where a path is: its override's name, or `file:line`. */
function where (path: KeyPath, ctx: IssueContext, atKey = false): { rank: number, text: string } {
  const origin = path.length >= 2 ? ctx.origins.get(`${String(path[0])}.${String(path[1])}`) : undefined
  if (origin !== undefined) return { rank: overrideRank, text: origin }
  const line = lineOf(ctx.src, path, atKey) ?? 1
  return { rank: line, text: `${ctx.src.file}:${line}` }
}

function unknownKey (parent: KeyPath, key: string, ctx: IssueContext): Problem {
  const at = where([...parent, key], ctx, true)
  const full = formatPath([...parent, key])
  const siblings = parent.length === 0 ? [...sectionNames] : parent.length === 1 ? keysOf(String(parent[0])) : []
  let hint: string
  const exact = configKeys.find(k => k.path === key)
  const guess = didYouMean(key, siblings)
  const elsewhere = configKeys.find(k => k.path.endsWith(`.${key}`)) ?? configKeys.find(k => didYouMean(key, [k.path.split('.')[1]]) !== undefined)
  if (exact !== undefined) {
    const [section, name] = key.split('.')
    hint = `write it nested: "${section}:" on one line and "${name}:" indented below it`
  } else if (guess !== undefined) {
    hint = `did you mean "${parent.length === 0 ? guess : formatPath([...parent, guess])}"?`
  } else if (elsewhere !== undefined) {
    hint = `did you mean "${elsewhere.path}"?`
  } else {
    hint = siblings.length > 0 ? `expected one of: ${siblings.join(', ')}` : 'remove it'
  }
  return { rank: at.rank, text: `${at.text}: unknown key ${full} (${hint})` }
}

/** What belongs at `path` and how to write it. */
function expected (path: KeyPath): { what: string, example: string } {
  if (path.length === 0) return { what: 'a map of sections', example: `"node:", "peers:" … (${sectionNames.join(', ')})` }
  if (path.length === 1) return { what: `a map of ${String(path[0])} settings`, example: `${keysOf(String(path[0])).join(', ')} indented below "${String(path[0])}:"` }
  const key = findKey(formatPath(path))
  if (key === undefined) return { what: 'a valid value', example: 'the value shown in docs/CONFIG.md' }
  if (typeof path[path.length - 1] === 'number' && key.item !== undefined) return { what: key.item, example: key.example.replace(/^\[|\]$/g, '') }
  return { what: key.what, example: key.example }
}

function withFix (path: KeyPath, ctx: IssueContext, fragment: string): Problem {
  const at = where(path, ctx)
  const name = formatPath(path)
  return { rank: at.rank, text: `${at.text}: ${name === '' ? 'the file' : name}: ${fragment}` }
}

export function describeIssue (issue: z.core.$ZodIssue, ctx: IssueContext): Problem[] {
  const path = issue.path as KeyPath
  const value = valueAt(ctx.raw, path)
  const { what, example } = expected(path)
  if (issue.code === 'unrecognized_keys') return issue.keys.map(k => unknownKey(path, k, ctx))
  if (value === null) return [withFix(path, ctx, `has no value; write e.g. ${example}, or delete the line to use the default`)]
  switch (issue.code) {
    case 'custom':
      return [withFix(path, ctx, `${show(value)} ${issue.message}`)]
    case 'invalid_type':
      return [withFix(path, ctx, `${show(value)} is not ${what}; write e.g. ${example}`)]
    case 'invalid_value': {
      const guess = typeof value === 'string' ? didYouMean(value, issue.values.map(String)) : undefined
      const fix = guess !== undefined ? `did you mean "${guess}"? (write ${example})` : `write ${example}`
      return [withFix(path, ctx, `${show(value)} is not ${what}; ${fix}`)]
    }
    case 'too_big':
      return [withFix(path, ctx, `has ${Array.isArray(value) ? value.length : 'too many'} entries, more than the ${String(issue.maximum)} allowed`)]
    default:
      return [withFix(path, ctx, `${show(value)} is not ${what} (${issue.message}); write e.g. ${example}`)]
  }
}
