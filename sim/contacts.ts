/**
 * Contact traces in The ONE simulator's external-events format, one per line:
 * `<seconds> CONN <a> <b> up|down`. Blank lines and lines starting with `#` are
 * skipped; any other action (The ONE's C, S, DR, …) is an error, since messages
 * come from the scenario's `traffic:`.
 *
 * Hosts are named either by node id (`truck`) or, as The ONE writes them, by a
 * numeric host address: `N` is the N-th node of the scenario counting from 0, in
 * declaration order with groups expanded (so in the example `0` is `hq`, `3` is
 * `field-1`). A token that is a node id is always read as that id.
 *
 * @example
 * parseContacts('600 CONN hq truck up\n900 CONN 0 2 down\n', 'x.one', ['hq', 'relay-a', 'truck'])
 * // [{ atMs: 600000, a: 'hq', b: 'truck', up: true, … }, { atMs: 900000, a: 'hq', b: 'truck', up: false, … }]
 */
import { ConfigError } from '../protocol/errors.ts'
import { contactLinesMax } from '../protocol/limits.ts'

/** One contact transition. */
export interface ContactEvent {
  atMs: number
  a: string
  b: string
  up: boolean
  /** Where it was written: trace file and 1-based line. */
  pos: { file: string, line: number, col: number }
}

function resolveHost (token: string, nodeIds: readonly string[], known: ReadonlySet<string>): string | undefined {
  if (known.has(token)) return token
  if (/^\d+$/.test(token)) return nodeIds[Number(token)]
  return undefined
}

/** Parse a trace; `fileName` is used in error messages. Sorted by time, ties kept in line order. */
export function parseContacts (text: string, fileName: string, nodeIds: readonly string[]): ContactEvent[] {
  const known = new Set(nodeIds)
  const lines = text.split(/\r?\n/)
  if (lines.length > contactLinesMax) {
    throw new ConfigError(`${fileName}: contact trace has ${lines.length} lines, more than the ${contactLinesMax} this simulator reads`)
  }
  const out: ContactEvent[] = []
  lines.forEach((raw, i) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const at = `${fileName}:${i + 1}:1`
    const f = line.split(/\s+/)
    if (f.length !== 5 || f[1] !== 'CONN' || (f[4] !== 'up' && f[4] !== 'down')) {
      throw new ConfigError(`${at}: expected "<seconds> CONN <a> <b> up|down" but found ${JSON.stringify(line)}`)
    }
    const seconds = Number(f[0])
    if (!/^\d+(\.\d+)?$/.test(f[0]) || !Number.isFinite(seconds)) {
      throw new ConfigError(`${at}: invalid time ${JSON.stringify(f[0])} (write seconds such as 600 or 12.5)`)
    }
    const a = resolveHost(f[2], nodeIds, known)
    const b = resolveHost(f[3], nodeIds, known)
    for (const [token, id] of [[f[2], a], [f[3], b]] as const) {
      if (id === undefined) {
        throw new ConfigError(`${at}: unknown host ${JSON.stringify(token)} (use a node id, or a host number from 0 to ${nodeIds.length - 1})`)
      }
    }
    if (a === b) throw new ConfigError(`${at}: a contact needs two different hosts but both are ${JSON.stringify(a)}`)
    out.push({ atMs: seconds * 1000, a: a as string, b: b as string, up: f[4] === 'up', pos: { file: fileName, line: i + 1, col: 1 } })
  })
  return out.map((c, i) => ({ c, i })).sort((x, y) => x.c.atMs - y.c.atMs || x.i - y.i).map(x => x.c)
}
