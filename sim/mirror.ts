/**
 * A scenario with its node ids renamed so that their order is reversed (#26). The engine
 * breaks ties by peer id (the smaller id opens a link's reconciliation sessions), and the
 * simulator's ids are the scenario's node names, so every run of a scenario exercises one
 * order only: file-radio's command post "cp" always initiated, and a bug that only bit when
 * the file's receiver initiated (no reconciliation after a drop until the file had passed)
 * showed up under emulation, whose ids are random, and never in the simulator. Running a
 * scenario mirrored exercises the other side of every tie.
 *
 * @example
 * const mirrored = mirrorNodeIds(parseScenario(text, file))   // cp, field, op → m2-cp, m1-field, m0-op
 */
import type { Scenario } from './scenario-types.ts'

/** Keys whose strings are never node ids: channel and group names, text, positions. */
const notNodeIdKeys = new Set(['name', 'description', 'fileName', 'channel', 'group', 'org', 'key', 'contactsFile', 'warnings', 'pos'])

export function mirrorNodeIds (scenario: Scenario): Scenario {
  const sorted = scenario.nodes.map(n => n.id).sort()
  const width = String(sorted.length).length
  const renamed = new Map(sorted.map((id, i) => [id, `m${String(sorted.length - 1 - i).padStart(width, '0')}-${id}`]))
  const rename = (value: unknown): unknown => {
    if (typeof value === 'string') return renamed.get(value) ?? value
    if (Array.isArray(value)) return value.map(rename)
    if (value === null || typeof value !== 'object') return value
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, notNodeIdKeys.has(k) ? v : rename(v)]))
  }
  // Object keys (group names under `groups`) are kept; every value naming a node is renamed.
  return rename(scenario) as Scenario
}
