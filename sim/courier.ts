/**
 * The courier (#27): a scenario's `carry: { from, to, after }` event at `at`. At `at` node
 * `from` exports every envelope its store holds durably (what `ddil bundle export` with no
 * scope writes: every channel and kind, governance and keys included); `after` later node
 * `to` imports them one by one, oldest first, through the engine's `importEnvelope`: the
 * checks an envelope from a peer gets (signature, authorisation, expiry, limits, quota). An
 * envelope `to` already holds is counted as held and changes nothing, so a bundle carried
 * twice delivers once. Unlike `ddil bundle import`, one pass: an envelope refused as
 * unauthorised is not tried again after the rest (the export's order, governance first by
 * stamp, makes that rare). The rule when a relay is down, the same for the run and the oracle:
 *
 * - `from` down (crashed) at `at`: nothing is carried (the leg is `skipped`);
 * - `to` down when the courier arrives: the courier waits, and the bundle is imported when
 *   `to` runs again (never, if it does not restart before the end);
 * - arriving at or after the end of the run: nothing is imported.
 *
 * The bundle file itself (its signature and checksum, protocol/bundle/format.ts) is not
 * written: the engine's import checks are the ones that decide what is stored. Nor is its
 * bound: a relay refuses to export more than `bundleEnvelopesMax` (65,536) envelopes, the
 * simulator carries them all (no shipped scenario comes near).
 *
 * @example
 * const legs = courierLegs(scenario, timeline)   // [{ from: 'site-a', to: 'site-b', atMs: 3600000, arriveMs: 6000000, … }]
 * buildOracleGraph(timeline, legs)               // the oracle counts them as paths
 */
import { compareHlc } from '../protocol/hlc.ts'
import { Kind, type Envelope } from '../protocol/envelope.ts'
import { decodeRecord } from '../protocol/engine/log.ts'
import { reasonOf } from '../protocol/engine/validate.ts'
import { isDdilError } from '../protocol/errors.ts'
import { prefixRange } from '../protocol/keys.ts'
import type { SimNode } from './node.ts'
import type { Scenario, SourcePos } from './scenario-types.ts'
import { intervalIndexAt, nodeUpAt, type Timeline } from './timeline.ts'

export interface CourierLeg {
  from: string
  to: string
  /** When `from` exports. */
  atMs: number
  /** When `to` imports: `atMs + after`, or later if `to` is down then (Infinity: never). */
  arriveMs: number
  /** `from` was down at `atMs`: nothing is carried. */
  skipped: boolean
  pos: SourcePos
}

/** The scenario's carries in event order, with the down-relay rule (header) applied. */
export function courierLegs (scenario: Scenario, timeline: Timeline): CourierLeg[] {
  const legs: CourierLeg[] = []
  for (const e of scenario.events) {
    if (e.kind !== 'carry') continue
    const skipped = !nodeUpAt(timeline, e.from, e.atMs)
    let arriveMs = e.atMs + e.afterMs
    const crashes = timeline.crashes.get(e.to) ?? []
    const k = intervalIndexAt(crashes, arriveMs)
    if (k >= 0) arriveMs = crashes[k].endMs // waits for the restart
    if (arriveMs >= timeline.durationMs) arriveMs = Infinity
    legs.push({ from: e.from, to: e.to, atMs: e.atMs, arriveMs, skipped, pos: e.pos })
  }
  return legs
}

/** What one carry did, for the report (`carries`). */
export interface CarryOutcome {
  from: string
  to: string
  at_ms: number
  /** When the import started, or null when nothing was imported. */
  imported_ms: number | null
  /** `carried`; `skipped` (from down at `at`); `undelivered` (to never ran again before the end). */
  status: 'carried' | 'skipped' | 'undelivered'
  envelopes: number
  added: number
  held: number
  refused: Record<string, number>
}

/** Every envelope record `node` holds durably, oldest first, governance before anything of its stamp (as the bundle exporter orders them). */
export function exportAll (node: SimNode, sha256: (b: Uint8Array) => Uint8Array): Envelope[] {
  const out = node.disk.rangeSync(prefixRange(['e'])).map(([, value]) => decodeRecord(value, sha256).envelope)
  return out.sort((a, b) => compareHlc(a.hlc, b.hlc) || Number(b.kind === Kind.governance) - Number(a.kind === Kind.governance))
}

/** Imports a bundle's envelopes into `node`'s running engine one at a time; counts into `outcome`. */
export async function importAll (node: SimNode, envelopes: readonly Envelope[], outcome: CarryOutcome): Promise<void> {
  for (const env of envelopes) {
    const engine = node.engine
    if (engine === undefined) return // crashed mid-import: the rest stays on the stick
    if (engine.holds(env.id)) { outcome.held++; continue }
    node.deps.wake.pending = true
    try {
      await engine.importEnvelope(env.bytes)
      outcome.added++
    } catch (e) {
      if (!isDdilError(e)) throw e
      const reason = reasonOf(e)
      outcome.refused[reason] = (outcome.refused[reason] ?? 0) + 1
    }
  }
}
