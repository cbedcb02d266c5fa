/**
 * The commented config.yaml that `ddil init` writes: every key with its default and
 * a comment saying what it does, built from the key table with the `yaml` package
 * (so values are quoted correctly and comments sit on the keys they explain).
 *
 * @example
 * writeFileSync('config.yaml', renderConfigTemplate({ nodeId: '12D3KooW…' }))
 */
import { Document, isMap, isPair, isScalar, type YAMLMap } from 'yaml'
import { configKeys, sectionHelp, sectionNames } from './keys.ts'

export interface TemplateOptions {
  /** Named in the header so an operator can tell data directories apart. */
  nodeId?: string
}

function header (options: TemplateOptions): string {
  return [
    ' ddil relay configuration.',
    ...(options.nodeId !== undefined ? [` Node id: ${options.nodeId}`] : []),
    '',
    ' Every key is optional: delete one to use its default (shown here). Check',
    ' changes with "ddil configtest" before restarting. Environment variables and',
    ' "ddil start" flags override some keys (flag over variable over this file):',
    ...configKeys.filter(k => k.env !== undefined).map(k => `   ${k.path.padEnd(13)} ${k.env} / ${k.flag}`),
    ' List values in variables and flags are comma-separated. See docs/CONFIG.md.',
  ].join('\n')
}

function comment (lines: readonly string[]): string {
  return lines.map(l => ` ${l}`).join('\n')
}

export function renderConfigTemplate (options: TemplateOptions = {}): string {
  const value: Record<string, Record<string, unknown>> = {}
  for (const key of configKeys) {
    const [section, name] = key.path.split('.')
    value[section] ??= {}
    value[section][name] = key.defaultValue
  }
  const doc = new Document(value)
  doc.commentBefore = header(options)
  const root = doc.contents as YAMLMap
  for (const sectionPair of root.items) {
    if (!isScalar(sectionPair.key) || !isMap(sectionPair.value)) continue
    const section = String(sectionPair.key.value)
    sectionPair.key.commentBefore = ` ---- ${section}: ${sectionHelp[section] ?? ''}`
    sectionPair.key.spaceBefore = section !== sectionNames[0]
    for (const pair of sectionPair.value.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue
      const key = configKeys.find(k => k.path === `${section}.${String((pair.key as { value: unknown }).value)}`)
      if (key !== undefined) pair.key.commentBefore = comment(key.help)
    }
  }
  return doc.toString({ lineWidth: 0 })
}
