/**
 * Benchmark runner: `npm run bench -- <name> [--json] [--quick] [--against=DIR] [--minutes=N]`.
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
  process.stderr.write(`usage: npm run bench -- <${known.join('|')}> [--json] [--quick] [--against=DIR (sim: another checkout at the same time)] [--minutes=N (sim: the first N simulated minutes)]\n`)
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
  const valueOf = (flag: string): string | undefined => args.find(a => a.startsWith(`--${flag}=`))?.slice(flag.length + 3)
  const against = valueOf('against')
  const minutesText = valueOf('minutes')
  const minutes = minutesText === undefined ? undefined : Number(minutesText)
  const names = args.filter(a => !a.startsWith('--'))
  if (names.length !== 1 || !known.includes(names[0]) || against === '') usage()
  if (minutes !== undefined && !(Number.isInteger(minutes) && minutes > 0)) usage()
  const unknown = args.filter(a => a.startsWith('--') && !['--json', '--quick'].includes(a) && !/^--(against|minutes)=/.test(a))
  if (unknown.length > 0 || (against !== undefined && names[0] !== 'sim') || (minutes !== undefined && names[0] !== 'sim')) usage()
  const name = names[0]
  const mod = await import(`./${name}.ts`) as BenchModule
  const result = await mod.bench({ json, quick, against, minutes, log: (line) => process.stderr.write(`${line}\n`) })
  if (json) process.stdout.write(JSON.stringify({ bench: name, ...result }) + '\n')
  else printHuman(name, result)
}

try {
  await main()
} catch (e) {
  process.stderr.write(`bench: ${(e as Error).message}\n`)
  process.exit(1)
}
