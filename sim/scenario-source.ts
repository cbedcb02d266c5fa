/**
 * Reading a YAML (or JSON) scenario with positions. `Val` wraps one YAML node and its
 * path (`links[0].latency`) so that every validation error names `file:line:col`,
 * the path and the fix in one sentence. Anchors and aliases are refused: a scenario
 * should read top to bottom.
 *
 * @example
 * const root = openSource(text, 'x.yaml')
 * const top = root.map(['name', 'seed'])
 * const seed = top.get('seed')?.int(0) ?? 1
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq, parseDocument, type Node as YamlNode, type Scalar } from 'yaml'
import { ConfigError, isDdilError } from '../protocol/errors.ts'
import { scenarioCharsMax } from '../protocol/limits.ts'
import { didYouMean } from '../protocol/did-you-mean.ts'
import type { SourcePos } from './scenario-types.ts'

/** The file and its line index, shared by every `Val`. */
export interface Source { file: string, lines: LineCounter }

/** A missing key: reported at its parent map. */
type Node = YamlNode | null

/** A map's fields, by key. */
export class Fields {
  readonly owner: Val
  readonly #values: Map<string, Val>

  constructor (owner: Val, values: Map<string, Val>) {
    this.owner = owner
    this.#values = values
  }

  has (key: string): boolean { return this.#values.has(key) }
  get (key: string): Val | undefined { return this.#values.get(key) }
  keys (): string[] { return [...this.#values.keys()] }

  /** The value, or an error at the map saying the key is missing. */
  req (key: string, example: string): Val {
    const v = this.#values.get(key)
    if (v === undefined) this.owner.fail(`missing key "${key}" (for example ${example})`)
    return v
  }
}

/** One YAML node and where it is. */
export class Val {
  readonly src: Source
  readonly node: Node
  readonly path: string
  /** Where to report this value when it has no position of its own (an empty value is reported at its key). */
  readonly #at: Node

  constructor (src: Source, node: Node, path: string, at: Node = node) {
    this.src = src
    this.node = node
    this.path = path
    this.#at = at
  }

  get pos (): SourcePos {
    const offset = this.#at?.range?.[0] ?? 0
    const { line, col } = this.src.lines.linePos(offset)
    return { file: this.src.file, line, col }
  }

  /** Throws ConfigError `file:line:col: <path>: <message>`. */
  fail (message: string, prefixPath = true): never {
    const p = this.pos
    const where = prefixPath && this.path !== '' ? `${this.path}: ` : ''
    throw new ConfigError(`${p.file}:${p.line}:${p.col}: ${where}${message}`)
  }

  /** The scalar's value (string, number, boolean or null). */
  scalar (what: string): unknown {
    if (!isScalar(this.node)) this.fail(`expected ${what} but found ${this.#kind()}`)
    return (this.node as Scalar).value
  }

  str (what = 'text'): string {
    const v = this.scalar(what)
    if (typeof v !== 'string' || v === '') this.fail(`expected ${what} but found ${JSON.stringify(v)}`)
    return v
  }

  int (min: number, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.scalar('a whole number')
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(`expected a whole number from ${min} to ${max} but found ${JSON.stringify(v)}`)
    }
    return v
  }

  /** A unit value parsed by one of `protocol/units.ts` (numbers pass through for bare 0 and ratios). */
  unit<T> (parse: (text: never) => T): T {
    const v = this.scalar('a value with a unit')
    try {
      return parse(v as never)
    } catch (e) {
      if (isDdilError(e) && e.code === 'ERR_CONFIG') this.fail(e.message)
      throw e
    }
  }

  list (what: string): Val[] {
    if (!isSeq(this.node)) this.fail(`expected a list of ${what} but found ${this.#kind()}`)
    return this.node.items.map((item, i) => this.#child(item as Node, `${this.path}[${i}]`))
  }

  isList (): boolean { return isSeq(this.node) }
  isMap (): boolean { return isMap(this.node) }

  /** A map whose keys must all be in `allowed` (an unknown key is an error at that key, with a suggestion). */
  map (allowed: readonly string[], what = 'a map'): Fields {
    if (!isMap(this.node)) this.fail(`expected ${what} but found ${this.#kind()}`)
    const values = new Map<string, Val>()
    for (const pair of this.node.items) {
      const keyVal: Val = this.#child(pair.key as Node, this.path)
      const key = keyVal.scalar('a key')
      if (typeof key !== 'string' || !allowed.includes(key)) {
        const guess = typeof key === 'string' ? didYouMean(key, allowed) : undefined
        const hint = guess !== undefined ? `did you mean "${guess}"?` : `expected one of: ${allowed.join(', ')}`
        keyVal.fail(`unknown key ${JSON.stringify(key)} in ${this.path === '' ? 'the scenario' : this.path} (${hint})`, false)
      }
      values.set(key, this.#child(pair.value as Node, this.path === '' ? key : `${this.path}.${key}`, keyVal))
    }
    return new Fields(this, values)
  }

  #child (node: Node, path: string, fallback?: Val): Val {
    if (isAlias(node)) new Val(this.src, node, path).fail('anchors and aliases are not supported in scenarios (write the value out)')
    // A key with no value (`key:`) has no useful position of its own: report it at the key.
    if (node === null || (isScalar(node) && node.value === null)) {
      return new Val(this.src, node, path, fallback?.node ?? node ?? this.#at)
    }
    return new Val(this.src, node, path)
  }

  #kind (): string {
    if (this.node === null) return 'nothing'
    if (isMap(this.node)) return 'a map'
    if (isSeq(this.node)) return 'a list'
    if (isScalar(this.node)) return this.node.value === null ? 'nothing' : JSON.stringify(this.node.value)
    return 'something else'
  }
}

/** Parse YAML or JSON text into the root `Val`; syntax errors become ConfigError with their position. */
export function openSource (text: string, file: string): Val {
  if (text.length > scenarioCharsMax) throw new ConfigError(`${file}: scenario is ${text.length} characters, more than the ${scenarioCharsMax} allowed`)
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  const src: Source = { file, lines }
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    const { line, col } = lines.linePos(e.pos[0])
    const what = e.code === 'DUPLICATE_KEY' ? 'the same key appears twice in one map' : e.message.split('\n')[0]
    throw new ConfigError(`${file}:${line}:${col}: YAML syntax error: ${what}`)
  }
  if (doc.contents === null) throw new ConfigError(`${file}:1:1: the scenario is empty (start with "name:" and "duration:")`)
  return new Val(src, doc.contents as YamlNode, '')
}
