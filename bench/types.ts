/** The contract between `bench/run.ts` and each benchmark module. */
export interface BenchOptions {
  json: boolean
  /** Smaller sizes, for a smoke run in tests. */
  quick: boolean
  /** Another checkout to run beside this one, at the same time (`--against=DIR`; benchmarks that support it). */
  against?: string
  /** Run only the first N simulated minutes (`--minutes=N`; the sim benchmark). */
  minutes?: number
  /** Progress lines; goes to stderr, never into --json output. */
  log: (line: string) => void
}

export interface BenchResult {
  rows: Array<Record<string, string | number | boolean | null>>
  notes?: string[]
  [key: string]: unknown
}

export interface BenchModule {
  bench (options: BenchOptions): Promise<BenchResult>
}
