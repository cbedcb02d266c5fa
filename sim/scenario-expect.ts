/**
 * The `expect:` section: checks the runner evaluates against its report. Each key
 * names a report figure (brief §5) and whether it is a floor (`min`) or a ceiling
 * (`max`). Keys, with `<p>` one of flash, immediate, priority, routine:
 *
 *   delivered_vs_oracle, <p>_delivered_vs_oracle   percent, min (delivered deliverable pairs / deliverable pairs)
 *   delivery_prob                                  percent, min (delivered / expected pairs)
 *   latency_{p50,p95,max}, <p>_latency_{…}         duration, max
 *   latency_{p50,p95,max}_vs_oracle, <p>_…         ratio, max (latency over the oracle's, per pair)
 *   duplicate_share (or duplicates)                percent, max (duplicate payload bytes / payload bytes)
 *   overhead_ratio                                 ratio, max (the report's wire.overhead_ratio)
 *
 * @example
 * readExpect(val) // [{ key: 'delivered_vs_oracle', op: 'min', limit: 1, unit: 'fraction', … }]
 */
import { precedenceNames } from '../protocol/envelope.ts'
import { parseDuration, parsePercent } from '../protocol/units.ts'
import type { Val } from './scenario-source.ts'
import type { ExpectCheck, ExpectSpec } from './scenario-types.ts'

/** How one expect key is written and compared. */
export interface ExpectKey { op: 'min' | 'max', unit: ExpectCheck['unit'] }

function buildExpectKeys (): Record<string, ExpectKey> {
  const keys: Record<string, ExpectKey> = {
    delivery_prob: { op: 'min', unit: 'fraction' },
    duplicates: { op: 'max', unit: 'fraction' },
    duplicate_share: { op: 'max', unit: 'fraction' },
    overhead_ratio: { op: 'max', unit: 'ratio' },
  }
  for (const prefix of ['', ...precedenceNames.map(p => `${p}_`)]) {
    keys[`${prefix}delivered_vs_oracle`] = { op: 'min', unit: 'fraction' }
    for (const stat of ['p50', 'p95', 'max']) {
      keys[`${prefix}latency_${stat}`] = { op: 'max', unit: 'ms' }
      keys[`${prefix}latency_${stat}_vs_oracle`] = { op: 'max', unit: 'ratio' }
    }
  }
  return keys
}

/** Every accepted `expect` key. */
export const expectKeys: Readonly<Record<string, ExpectKey>> = buildExpectKeys()

function readRatio (v: Val): number {
  const x = v.scalar('a ratio such as 2.0')
  if (typeof x !== 'number' || !Number.isFinite(x) || x < 0) v.fail(`expected a ratio such as 1.2 or 2.0 but found ${JSON.stringify(x)}`)
  return x
}

export function readExpect (v: Val | undefined): ExpectSpec {
  if (v === undefined) return []
  const f = v.map(Object.keys(expectKeys), 'a map of checks such as { delivered_vs_oracle: 100% }')
  return f.keys().map(key => {
    const { op, unit } = expectKeys[key]
    const val = f.get(key) as Val
    const limit = unit === 'fraction' ? val.unit(parsePercent) : unit === 'ms' ? val.unit(parseDuration) : readRatio(val)
    return { key, op, limit, unit, pos: val.pos }
  })
}
