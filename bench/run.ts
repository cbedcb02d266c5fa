/**
 * Benchmark runner: `npm run bench -- <name> [--json] [--quick]`.
 * Each `bench/<name>.ts` exports `bench(options): Promise<BenchResult>`; this file
 * prints the rows as a table for people, or one JSON object with `--json`.
 *
 * @example
 * npm run bench -- protocol --json
 */
import { fileURLToPath } from 'node:url'
import { readdirSync } from 'node:fs'
import { dirname } from 'node:path'
import type { BenchModule, BenchResult } from './types.ts'

const here = dirname(fileURLToPath(import.meta.url))
const known = readdirSync(here).filter(f => f.endsWith('.ts') && !['run.ts', 'types.ts'].includes(f) && !f.startsWith('_')).map(f => f.slice(0, -3))

function usage (): never {
  process.stderr.write(`usage: npm run bench -- <${known.join('|')}> [--json] [--quick]\n`)
  process.exit(2)
}

function printHuman (name: string, result: BenchResult): void {
  process.stdout.write(`# bench ${name}\n`)
  if (result.rows.length > 0) console.table(result.rows)
  for (const note of result.notes ?? []) process.stdout.write(`${note}\n`)
}

async function main (): Promise<void> {
  const args = process.argv.slice(2)
  const json = args.includes('--json')
  const quick = args.includes('--quick')
  const names = args.filter(a => !a.startsWith('--'))
  if (names.length !== 1 || !known.includes(names[0])) usage()
  const name = names[0]
  const mod = await import(`./${name}.ts`) as BenchModule
  const result = await mod.bench({ json, quick, log: (line) => process.stderr.write(`${line}\n`) })
  if (json) process.stdout.write(JSON.stringify({ bench: name, ...result }) + '\n')
  else printHuman(name, result)
}

await main()
