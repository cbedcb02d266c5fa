/**
 * Reading config.yaml with positions: parse it (syntax errors become a ConfigError
 * with the line), turn it into plain values, and find the line of any key path so
 * that validation errors can say `config.yaml:12: storage.quota: …`.
 *
 * @example
 * const src = parseYamlSource(text, '/var/lib/ddil/config.yaml')
 * lineOf(src, ['storage', 'quota'])        // 12
 */
import { LineCounter, isMap, isScalar, isSeq, parseDocument, type Document, type Node as YamlNode } from 'yaml'
import { ConfigError } from '../../protocol/errors.ts'

export interface YamlSource {
  file: string
  doc: Document
  lines: LineCounter
  /** The document as plain values (`{}` for an empty file). */
  value: unknown
}

export type KeyPath = ReadonlyArray<string | number>

export function parseYamlSource (text: string, file: string): YamlSource {
  const lines = new LineCounter()
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true })
  if (doc.errors.length > 0) {
    const e = doc.errors[0]
    const what = e.code === 'DUPLICATE_KEY' ? 'the same key appears twice in one map' : e.message.split('\n')[0]
    throw new ConfigError(`${file}:${lines.linePos(e.pos[0]).line}: YAML syntax error: ${what}`)
  }
  let value: unknown
  try {
    value = doc.toJS({ maxAliasCount: 100 })
  } catch (e) {
    throw new ConfigError(`${file}: cannot read the YAML: ${(e as Error).message}`)
  }
  return { file, doc, lines, value: value ?? {} }
}

/**
 * The 1-based line of `path` in the file: of the key itself when `atKey` (unknown keys),
 * else of its value; the deepest existing ancestor when the path is not in the file.
 */
export function lineOf (src: YamlSource, path: KeyPath, atKey = false): number | undefined {
  let node = src.doc.contents as YamlNode | null
  let at: YamlNode | null = node
  for (let i = 0; i < path.length && node !== null; i++) {
    const seg = path[i]
    if (isMap(node)) {
      const pair = node.items.find(p => isScalar(p.key) && p.key.value === seg)
      if (pair === undefined) break
      const last = i === path.length - 1
      at = (last && atKey) || pair.value === null ? pair.key as YamlNode : pair.value as YamlNode
      node = pair.value as YamlNode | null
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      node = node.items[seg] as YamlNode | null
      at = node ?? at
    } else {
      break
    }
  }
  const offset = at?.range?.[0]
  return offset === undefined ? undefined : src.lines.linePos(offset).line
}

/** `['node', 'listen', 0]` → `node.listen[0]`. */
export function formatPath (path: KeyPath): string {
  return path.reduce<string>((out, seg) => typeof seg === 'number' ? `${out}[${seg}]` : out === '' ? seg : `${out}.${seg}`, '')
}
