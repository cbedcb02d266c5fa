/**
 * The "did you mean" helper for misspelt config keys, words and variable names, and
 * for scenario fields and names. A module of its own so that code which only
 * registers command-line options (overrides.ts, loaded by every ddil command) does
 * not load the YAML parser.
 *
 * @example
 * didYouMean('quta', ['quota', 'sync'])  // 'quota'
 */

/** Edits (insert, delete, substitute, swap neighbours) turning `a` into `b`. */
function editDistance (a: string, b: string): number {
  let prev2: number[] = []
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const row = [i]
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1))
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) row[j] = Math.min(row[j], prev2[j - 2] + 1)
    }
    prev2 = prev
    prev = row
  }
  return prev[b.length]
}

/** The closest candidate if it is near enough to be a typo (about one edit per three letters). */
export function didYouMean (word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined
  let bestDistance = Math.max(1, Math.floor(word.length / 3)) + 1
  for (const c of candidates) {
    const d = editDistance(word.toLowerCase(), c.toLowerCase())
    if (d < bestDistance) { best = c; bestDistance = d }
  }
  return best
}
