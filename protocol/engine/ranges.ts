/**
 * One pass of range-by-range reconciliation with one peer. A session over the whole
 * set (or over a range) that cannot take on its difference ends with a split depth
 * (the responder's SPLIT, or an ABORT: one level deeper); the pass then reconciles
 * that range as its subranges, one session each, depth first, until none is left.
 * Pending work is a stack of runs of consecutive ranges at one depth (at most one run
 * per depth, 32 in all), never a list of ranges: a split to depth 20 is one run.
 *
 * @example
 * const walk = new RangeWalk()
 * walk.finished(wholeRange, 3)       // the whole set split into 8 ranges
 * walk.next()                        // { depth: 3, index: 0 }
 * walk.finished({ depth: 3, index: 0 }, 0)
 */
import { reconcileRangesPerPassMax } from '../limits.ts'
import { type KeyRange, wholeRange } from '../reconcile/index.ts'

export class RangeWalk {
  readonly #runs: Array<{ depth: number, next: number, end: number }> = []
  /** Range sessions this pass has finished. */
  sessions = 0

  /** The range to reconcile next: the whole set when no pass is under way. */
  next (): KeyRange {
    const top = this.#runs[this.#runs.length - 1]
    return top === undefined ? wholeRange : { depth: top.depth, index: top.next }
  }

  /** Whether a pass is under way (ranges are left to reconcile). */
  get active (): boolean { return this.#runs.length > 0 }

  /**
   * The session over `range` ended; `splitDepth` > its depth asks for its subranges at
   * that depth. Past `reconcileRangesPerPassMax` sessions the pass is abandoned.
   */
  finished (range: KeyRange, splitDepth: number): void {
    const top = this.#runs[this.#runs.length - 1]
    if (top !== undefined && top.depth === range.depth && top.next === range.index) {
      top.next++
      if (top.next === top.end) this.#runs.pop()
    }
    if (range.depth > 0) this.sessions++
    if (splitDepth > range.depth) {
      const n = 2 ** (splitDepth - range.depth)
      this.#runs.push({ depth: splitDepth, next: range.index * n, end: (range.index + 1) * n })
    }
    if (this.sessions >= reconcileRangesPerPassMax || !this.active) this.abandon()
  }

  /** Ends the pass: the next session covers the whole set again. */
  abandon (): void {
    this.#runs.length = 0
    this.sessions = 0
  }
}
