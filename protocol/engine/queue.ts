/**
 * Per-peer outbound queue ordered by precedence, then age: a flash item is always
 * taken before any routine item that has not started. Items are hints (the store
 * is the truth), so when the queue is over its byte bound the lowest-precedence,
 * newest items are dropped and reconciliation picks them up later.
 *
 * @example
 * const q = new PrecedenceQueue<Item>(64 * 1024)
 * q.push(Precedence.routine, item, 300); q.push(Precedence.flash, urgent, 200)
 * q.shift() // urgent
 */
export class PrecedenceQueue<T> {
  readonly #lanes: Array<{ items: Array<{ item: T, bytes: number }>, head: number }> = [0, 1, 2, 3].map(() => ({ items: [], head: 0 }))
  readonly #bytesMax: number
  #bytes = 0
  #count = 0

  constructor (bytesMax: number) { this.#bytesMax = bytesMax }

  get bytes (): number { return this.#bytes }
  get length (): number { return this.#count }

  /** Items waiting per precedence (flash first). */
  depths (): number[] { return this.#lanes.map(l => l.items.length - l.head) }

  /** Adds an item; returns the items dropped to stay under the byte bound (possibly this one). */
  push (precedence: number, item: T, bytes: number): T[] {
    this.#lanes[precedence].items.push({ item, bytes })
    this.#bytes += bytes
    this.#count++
    const dropped: T[] = []
    while (this.#bytes > this.#bytesMax && this.#count > 1) {
      const d = this.#dropNewestOfLowest()
      if (d === undefined) break
      dropped.push(d)
    }
    return dropped
  }

  peek (): T | undefined {
    for (const lane of this.#lanes) if (lane.head < lane.items.length) return lane.items[lane.head].item
    return undefined
  }

  shift (): T | undefined {
    for (const lane of this.#lanes) {
      if (lane.head < lane.items.length) {
        const { item, bytes } = lane.items[lane.head]
        lane.head++
        this.#bytes -= bytes
        this.#count--
        if (lane.head > 1024 && lane.head * 2 > lane.items.length) { lane.items = lane.items.slice(lane.head); lane.head = 0 }
        return item
      }
    }
    return undefined
  }

  clear (): void {
    for (const lane of this.#lanes) { lane.items = []; lane.head = 0 }
    this.#bytes = 0
    this.#count = 0
  }

  #dropNewestOfLowest (): T | undefined {
    for (let p = this.#lanes.length - 1; p >= 0; p--) {
      const lane = this.#lanes[p]
      if (lane.head < lane.items.length) {
        const { item, bytes } = lane.items.pop() as { item: T, bytes: number }
        this.#bytes -= bytes
        this.#count--
        return item
      }
    }
    return undefined
  }
}
