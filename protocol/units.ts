/**
 * Human units used in configs, scenarios and the CLI: durations, sizes, rates,
 * percentages, size ranges and Poisson rates, parsed strictly and formatted back.
 *
 * Sizes are decimal (SI): `KB` = 1000 B, `MB` = 10^6 B, `GB` = 10^9 B (`kB` is
 * accepted as a spelling of `KB`); binary sizes are written `KiB` = 1024 B,
 * `MiB`, `GiB`. Rates are bits per second, decimal: `9.6kbps` = 9600 bit/s.
 * Bad input throws `ConfigError` quoting the value and showing a valid example;
 * callers that know the file position prefix it.
 *
 * @example
 * parseDuration('2h30m')    // 9_000_000 (ms)
 * parseSize('4KB')          // 4000 (bytes)
 * parseRate('9.6kbps')      // 9600 (bit/s)
 * parsePercent('2%')        // 0.02
 * parsePoissonRate('20/h')  // 20 / 3_600_000 (events per ms)
 * formatDuration(9_000_000) // '2h30m'
 */
import { ConfigError } from './errors.ts'

const number = '(\\d+(?:\\.\\d+)?)'

/** Milliseconds per duration unit, largest first (the order compound durations must use). */
const durationUnitsMs: ReadonlyArray<readonly [string, number]> = [
  ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000], ['ms', 1],
]

const sizeUnitsBytes: Readonly<Record<string, number>> = {
  B: 1, KB: 1e3, kB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KiB: 1024, MiB: 1024 ** 2, GiB: 1024 ** 3, TiB: 1024 ** 4,
}

const rateUnitsBps: Readonly<Record<string, number>> = {
  bps: 1, kbps: 1e3, Kbps: 1e3, Mbps: 1e6, Gbps: 1e9,
}

/** A size range (inclusive) in bytes. */
export interface SizeRange { minBytes: number, maxBytes: number }

/** A duration range (inclusive) in milliseconds. */
export interface DurationRange { minMs: number, maxMs: number }

function bad (kind: string, value: unknown, example: string): ConfigError {
  return new ConfigError(`invalid ${kind} ${JSON.stringify(String(value))} (write it like ${example})`)
}

/**
 * `'500ms'`, `'30s'`, `'10m'`, `'6h'`, `'7d'`, compounds largest unit first (`'2h30m'`,
 * `'1m30s500ms'`), decimals (`'1.5h'`), and the bare number 0. Returns milliseconds.
 */
export function parseDuration (text: string | number): number {
  const example = '500ms, 30s, 10m, 2h30m or 7d'
  if (text === 0 || text === '0') return 0
  if (typeof text !== 'string' || text.length === 0 || text.length > 64) throw bad('duration', text, example)
  const part = new RegExp(`^${number}(ms|s|m|h|d)`)
  let rest = text
  let total = 0
  let lastRank = -1
  while (rest.length > 0) {
    const m = part.exec(rest)
    if (m === null) throw bad('duration', text, example)
    const rank = durationUnitsMs.findIndex(([u]) => u === m[2])
    if (rank <= lastRank) throw bad('duration', text, `${example}, largest unit first`)
    lastRank = rank
    total += Number(m[1]) * durationUnitsMs[rank][1]
    rest = rest.slice(m[0].length)
  }
  if (!Number.isFinite(total)) throw bad('duration', text, example)
  return total
}

/** `'200B'`, `'4KB'`, `'50MB'`, `'1GB'`, `'64KiB'`, `'1.5KB'`. Returns a whole number of bytes. */
export function parseSize (text: string): number {
  const example = '200B, 4KB, 50MB or 64KiB (KB = 1000 B, KiB = 1024 B)'
  const m = typeof text === 'string' ? new RegExp(`^${number}\\s?([A-Za-z]+)$`).exec(text) : null
  const scale = m === null ? undefined : sizeUnitsBytes[m[2]]
  if (m === null || scale === undefined) throw bad('size', text, example)
  // Decimal fractions times powers of ten are not exact in binary (4.35 * 1000 = 4350.000000000001): round what is within float error.
  const raw = Number(m[1]) * scale
  const bytes = Math.round(raw)
  if (Math.abs(raw - bytes) > 1e-9 * Math.max(1, raw) || !Number.isSafeInteger(bytes)) throw bad('size', text, `a whole number of bytes such as ${example}`)
  return bytes
}

/** `'9.6kbps'`, `'64kbps'`, `'1Mbps'`, `'2.4kbps'`. Returns bits per second (> 0). */
export function parseRate (text: string): number {
  const example = '9.6kbps, 64kbps or 1Mbps'
  const m = typeof text === 'string' ? new RegExp(`^${number}\\s?([A-Za-z]+)$`).exec(text) : null
  const scale = m === null ? undefined : rateUnitsBps[m[2]]
  if (m === null || scale === undefined) throw bad('rate', text, example)
  const bps = Number(m[1]) * scale
  if (!(bps > 0) || !Number.isFinite(bps)) throw bad('rate', text, `a rate above zero such as ${example}`)
  return bps
}

/** `'2%'` → 0.02; `'0%'`..`'100%'`, and the bare number 0. */
export function parsePercent (text: string | number): number {
  const example = '0%, 2% or 12.5%'
  if (text === 0 || text === '0') return 0
  const m = typeof text === 'string' ? new RegExp(`^${number}%$`).exec(text) : null
  if (m === null) throw bad('percentage', text, example)
  const value = Number(m[1])
  if (value > 100) throw bad('percentage', text, `a value from 0% to 100% such as ${example}`)
  return value / 100
}

/** `'100B..1KB'` (inclusive) or a single size `'200B'` (min = max). */
export function parseSizeRange (text: string): SizeRange {
  const [lo, hi, extra] = typeof text === 'string' ? text.split('..') : []
  if (lo === undefined || extra !== undefined) throw bad('size range', text, '100B..1KB or 200B')
  const minBytes = parseSize(lo)
  const maxBytes = hi === undefined ? minBytes : parseSize(hi)
  if (maxBytes < minBytes) throw bad('size range', text, '100B..1KB (smallest first)')
  return { minBytes, maxBytes }
}

/** `'25s..35s'` (inclusive) or a single duration `'2m'` (min = max). */
export function parseDurationRange (text: string | number): DurationRange {
  const [lo, hi, extra] = typeof text === 'string' ? text.split('..') : [text]
  if (lo === undefined || extra !== undefined) throw bad('duration range', text, '25s..35s or 2m')
  const minMs = parseDuration(lo)
  const maxMs = hi === undefined ? minMs : parseDuration(hi)
  if (maxMs < minMs) throw bad('duration range', text, '25s..35s (shortest first)')
  return { minMs, maxMs }
}

/** `'20/h'`, `'3/10m'`, `'0.5/s'`: events per period. Returns events per millisecond (> 0). */
export function parsePoissonRate (text: string): number {
  const example = '20/h, 3/10m or 0.5/s'
  const m = typeof text === 'string' ? new RegExp(`^${number}/(${number})?(ms|s|m|h|d)$`).exec(text) : null
  if (m === null) throw bad('Poisson rate', text, example)
  const perMs = Number(m[1]) / parseDuration(`${m[3] ?? '1'}${m[4]}`)
  if (!(perMs > 0) || !Number.isFinite(perMs)) throw bad('Poisson rate', text, `a rate above zero such as ${example}`)
  return perMs
}

function trimmed (value: number, decimals: number): string {
  return String(Number(value.toFixed(decimals)))
}

/**
 * Milliseconds as a compound duration that `parseDuration` reads back:
 * 9_000_000 → `'2h30m'`, 1500 → `'1s500ms'`, 833.3333 → `'833.333ms'`, 0 → `'0ms'`.
 */
export function formatDuration (ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return String(ms)
  let rest = ms
  let out = ''
  for (const [unit, size] of durationUnitsMs) {
    if (size === 1) break
    const whole = Math.floor(rest / size)
    if (whole > 0) { out += `${whole}${unit}`; rest -= whole * size }
  }
  if (rest > 0 || out === '') out += `${trimmed(rest, 3)}ms`
  return out
}

/** Bytes in the largest decimal unit at or below the value: 200 → `'200B'`, 1500 → `'1.5KB'`. */
export function formatBytes (bytes: number): string {
  for (const [unit, size] of [['GB', 1e9], ['MB', 1e6], ['KB', 1e3]] as const) {
    if (bytes >= size) return `${trimmed(bytes / size, 3)}${unit}`
  }
  return `${trimmed(bytes, 3)}B`
}

/** Bits per second as a rate: 9600 → `'9.6kbps'`, 1e6 → `'1Mbps'`. */
export function formatRate (bitsPerSecond: number): string {
  for (const [unit, size] of [['Gbps', 1e9], ['Mbps', 1e6], ['kbps', 1e3]] as const) {
    if (bitsPerSecond >= size) return `${trimmed(bitsPerSecond / size, 3)}${unit}`
  }
  return `${trimmed(bitsPerSecond, 3)}bps`
}
