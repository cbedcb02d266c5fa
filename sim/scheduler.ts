/**
 * The simulator's single event queue on virtual time. Events run in (time, sequence)
 * order: two events at the same instant run in the order they were scheduled, so a
 * run is a pure function of the scenario and the seed. Times are milliseconds since
 * the start of the scenario and may be fractional (serialisation times are). An event
 * may be marked a barrier (a scenario event: a crash, a link change, a post): the
 * runner lets every engine finish reacting to what happened before it (see runner.ts).
 *
 * @example
 * const s = new Scheduler()
 * s.at(1500, () => console.log('at 1.5 s'))
 * const cancel = s.after(10, () => {}); cancel()
 * while (s.step(Infinity)) {}
 */

interface Item { t: number, seq: number, fn: () => void, barrier: boolean }

export class Scheduler {
  /** Virtual time of the event running now (or of the last one run). */
  now = 0
  /** Events run so far. */
  executed = 0
  #seq = 0
  readonly #heap: Item[] = []

  get pending (): number { return this.#heap.length }

  /** Runs `fn` at virtual time `t` (not before now); `barrier` marks a scenario event. Returns a function that cancels it. */
  at (t: number, fn: () => void, barrier = false): () => void {
    const item: Item = { t: t < this.now ? this.now : t, seq: this.#seq++, fn, barrier }
    this.#push(item)
    return () => { item.fn = noop }
  }

  /** Runs `fn` after `delayMs` of virtual time. */
  after (delayMs: number, fn: () => void): () => void {
    return this.at(this.now + (delayMs > 0 ? delayMs : 0), fn)
  }

  /** Time of the next event, or Infinity when none is queued. */
  peekTime (): number { return this.#heap.length > 0 ? this.#heap[0].t : Infinity }

  /** Whether the next event is later than now, or a barrier (or there is none). */
  nextIsLaterOrBarrier (): boolean {
    const next = this.#heap[0]
    return next === undefined || next.t > this.now || next.barrier
  }

  /** Runs the next event if it is due before `untilMs`; false when there is none. */
  step (untilMs: number): boolean {
    const heap = this.#heap
    if (heap.length === 0 || heap[0].t >= untilMs) return false
    const top = this.#pop()
    this.now = top.t
    if (top.fn !== noop) {
      this.executed++
      top.fn()
    }
    return true
  }

  #less (a: Item, b: Item): boolean { return a.t < b.t || (a.t === b.t && a.seq < b.seq) }

  #push (item: Item): void {
    const h = this.#heap
    let i = h.length
    h.push(item)
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!this.#less(item, h[p])) break
      h[i] = h[p]
      i = p
    }
    h[i] = item
  }

  #pop (): Item {
    const h = this.#heap
    const top = h[0]
    const last = h.pop() as Item
    const n = h.length
    if (n === 0) return top
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      if (l >= n) break
      const r = l + 1
      const c = r < n && this.#less(h[r], h[l]) ? r : l
      if (!this.#less(h[c], last)) break
      h[i] = h[c]
      i = c
    }
    h[i] = last
    return top
  }
}

function noop (): void {}
