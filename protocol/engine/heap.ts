/**
 * A binary min-heap with a caller-supplied order. Used for expiry and eviction
 * order, with lazy deletion: callers skip popped items that are no longer live.
 *
 * @example
 * const h = new Heap<number>((a, b) => a - b); h.push(3); h.push(1); h.pop() // 1
 */
export class Heap<T> {
  readonly #items: T[] = []
  readonly #less: (a: T, b: T) => number

  constructor (compare: (a: T, b: T) => number) { this.#less = compare }

  get size (): number { return this.#items.length }

  /** The items in heap order (not sorted): for rebuilding without some of them. */
  get items (): readonly T[] { return this.#items }

  peek (): T | undefined { return this.#items[0] }

  push (item: T): void {
    const a = this.#items
    a.push(item)
    let i = a.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (this.#less(a[i], a[parent]) >= 0) break
      ;[a[i], a[parent]] = [a[parent], a[i]]
      i = parent
    }
  }

  pop (): T | undefined {
    const a = this.#items
    if (a.length === 0) return undefined
    const top = a[0]
    const last = a.pop() as T
    if (a.length > 0) {
      a[0] = last
      let i = 0
      for (;;) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < a.length && this.#less(a[l], a[m]) < 0) m = l
        if (r < a.length && this.#less(a[r], a[m]) < 0) m = r
        if (m === i) break
        ;[a[i], a[m]] = [a[m], a[i]]
        i = m
      }
    }
    return top
  }
}
