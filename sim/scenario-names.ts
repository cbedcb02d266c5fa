/**
 * Node and group names while a scenario is being resolved: reads a node reference,
 * a group, `all`/`any`, or a list of them, and turns typos into errors with a
 * suggestion. Also reads link knobs and node pairs, which every section shares.
 *
 * @example
 * const names = new Names()
 * names.addNode('hq', nodeVal); names.addGroup('field', ['field-1', 'field-2'], groupVal)
 * names.nodesOf(val, { all: true }) // 'field' → ['field-1', 'field-2']
 */
import { parseDuration, parsePercent, parseRate } from '../protocol/units.ts'
import { knobField, linkKnobs, type LinkKnobName, type LinkParams } from './knobs.ts'
import { didYouMean } from '../protocol/did-you-mean.ts'
import type { Fields, Val } from './scenario-source.ts'
import type { Pair, ResolvedChannel, ResolvedLink, ScenarioDefaults } from './scenario-types.ts'

/** What the traffic, event and expect readers need from the sections read before them. */
export interface ResolveContext {
  names: Names
  durationMs: number
  defaults: ScenarioDefaults
  channels: ResolvedChannel[]
  /** Declared links and links created by the contact trace. */
  links: ResolvedLink[]
  /** `pairKey` of every entry in `links`. */
  linkKeys: Set<string>
  /** `governance: true`: relays enforce channel membership, which changes what a warning must say. */
  governed: boolean
  /** Things that parse but are probably not meant; returned in `Scenario.warnings`. */
  warnings: string[]
}

/** Node ids and group names: a letter first (so numeric host ids in contact traces are never ambiguous). */
const namePattern = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/

/** Words with a meaning of their own wherever nodes are named. */
const reservedNames = ['all', 'any']

export class Names {
  /** Node ids in declaration order. */
  readonly order: string[] = []
  readonly groups = new Map<string, string[]>()
  readonly #nodes = new Set<string>()

  hasNode (id: string): boolean { return this.#nodes.has(id) }

  /** Checks `id` is well-formed and new. */
  checkNew (id: string, at: Val, what: string): void {
    if (!namePattern.test(id)) at.fail(`invalid ${what} ${JSON.stringify(id)} (use letters, digits, ".", "_" or "-", starting with a letter, like relay-a)`)
    if (reservedNames.includes(id)) at.fail(`"${id}" is reserved and cannot be a ${what}`)
    if (this.#nodes.has(id) || this.groups.has(id)) at.fail(`${what} ${JSON.stringify(id)} is already defined`)
  }

  addNode (id: string, at: Val): void {
    this.checkNew(id, at, 'node id')
    this.#nodes.add(id)
    this.order.push(id)
  }

  /** Orders ids as declared, without duplicates. */
  sorted (ids: Iterable<string>): string[] {
    const set = new Set(ids)
    return this.order.filter(id => set.has(id))
  }

  /** A single node id. */
  node (v: Val): string {
    const id = v.str('a node id')
    if (this.#nodes.has(id)) return id
    if (this.groups.has(id)) v.fail(`"${id}" is a group but a single node is needed here`)
    this.#unknown(v, id, 'node')
  }

  /**
   * A node, a group, `all`/`any` (when allowed) or a list of nodes and groups; returns node ids in
   * declaration order. `all` and `any` mean every node.
   */
  nodesOf (v: Val, allow: { all?: boolean, any?: boolean } = {}): string[] {
    if (v.isList()) {
      const ids = v.list('node ids or groups').flatMap(item => this.nodesOf(item))
      if (ids.length === 0) v.fail('expected at least one node id or group')
      return this.sorted(ids)
    }
    const name = v.str('a node id or group')
    if ((name === 'all' && allow.all === true) || (name === 'any' && allow.any === true)) return [...this.order]
    if (this.#nodes.has(name)) return [name]
    const group = this.groups.get(name)
    if (group !== undefined) return [...group]
    this.#unknown(v, name, 'node or group')
  }

  /** Two different nodes written `[a, b]`. */
  pair (v: Val): Pair {
    const items = v.list('two node ids')
    if (items.length !== 2) v.fail(`expected exactly two node ids like [hq, relay-a] but found ${items.length}`)
    const a = this.node(items[0])
    const b = this.node(items[1])
    if (a === b) v.fail(`a link needs two different nodes but both are "${a}"`)
    return { a, b }
  }

  #unknown (v: Val, name: string, what: string): never {
    const guess = didYouMean(name, [...this.order, ...this.groups.keys()])
    v.fail(`unknown ${what} ${JSON.stringify(name)}${guess !== undefined ? ` (did you mean "${guess}"?)` : ''}`)
  }
}

/** The knob keys, for map validation. */
export const knobKeys = Object.keys(linkKnobs) as LinkKnobName[]

/** Reads whichever link knobs `fields` sets. */
export function readKnobs (fields: Fields): Partial<LinkParams> {
  const out: Partial<LinkParams> = {}
  for (const key of knobKeys) {
    const v = fields.get(key)
    if (v === undefined) continue
    const unit = linkKnobs[key].unit
    out[knobField[key]] = unit === 'rate' ? v.unit(parseRate) : unit === 'duration' ? v.unit(parseDuration) : v.unit(parsePercent)
  }
  return out
}

/** Canonical key of an undirected pair. */
export function pairKey (a: string, b: string): string {
  return a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`
}
