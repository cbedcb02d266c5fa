/**
 * Per-peer outbound queue ordered by precedence: a flash item is always taken before any
 * routine item that has not started. Within one precedence, items belong to flows, taken
 * in turn, one item each (round robin): every file is a flow of its own (its pieces, #23)
 * and everything else shares one flow, in age order. So a file never starves what shares
 * its precedence: a message waits behind at most one chunk per file being sent, not behind
 * the whole file. Items are hints (the store is the truth), so when the queue is over its
 * byte bound the lowest precedence's largest flow loses its newest item (a big file sheds
 * its own tail before a short message goes) and reconciliation picks it up later.
 *
 * @example
 * const q = new PrecedenceQueue<Item>(64 * 1024)
 * q.push(Precedence.routine, chunk, 1300, fileKey); q.push(Precedence.routine, text, 300)
 * q.push(Precedence.flash, urgent, 200)
 * q.shift() // urgent, then chunk and text in turn
 */

/** The flow of everything that is not a file's piece. */
export const sharedFlow = ''

interface Flow<T> { items: Array<{ item: T, bytes: number }>, head: number, bytes: number }

interface Lane<T> {
  flows: Map<string, Flow<T>>
  /** Flows with items, in turn order; `next` is the one to take from. */
  turns: string[]
  next: number
  count: number
}

export class PrecedenceQueue<T> {
  readonly #lanes: Array<Lane<T>> = [0, 1, 2, 3].map(() => ({ flows: new Map(), turns: [], next: 0, count: 0 }))
  readonly #bytesMax: number
  #bytes = 0
  #count = 0

  constructor (bytesMax: number) { this.#bytesMax = bytesMax }

  get bytes (): number { return this.#bytes }
  get length (): number { return this.#count }

  /** Files with pieces waiting (flows other than the shared one), over all precedences. */
  get fileFlows (): number {
    let n = 0
    for (const lane of this.#lanes) n += lane.turns.length - (lane.flows.has(sharedFlow) ? 1 : 0)
    return n
  }

  /** Items waiting per precedence (flash first). */
  depths (): number[] { return this.#lanes.map(l => l.count) }

  /** Adds an item to its flow; returns the items dropped to stay under the byte bound (possibly this one). */
  push (precedence: number, item: T, bytes: number, flow: string = sharedFlow): T[] {
    const lane = this.#lanes[precedence]
    let f = lane.flows.get(flow)
    if (f === undefined) {
      f = { items: [], head: 0, bytes: 0 }
      lane.flows.set(flow, f)
      lane.turns.push(flow)
    }
    f.items.push({ item, bytes })
    f.bytes += bytes
    lane.count++
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
    for (const lane of this.#lanes) {
      if (lane.count === 0) continue
      const f = lane.flows.get(lane.turns[lane.next]) as Flow<T>
      return f.items[f.head].item
    }
    return undefined
  }

  /** Takes the item `peek` showed, and passes its lane's turn to the next flow. */
  shift (): T | undefined {
    for (const lane of this.#lanes) {
      if (lane.count === 0) continue
      const key = lane.turns[lane.next]
      const f = lane.flows.get(key) as Flow<T>
      const { item, bytes } = f.items[f.head]
      f.head++
      f.bytes -= bytes
      lane.count--
      this.#bytes -= bytes
      this.#count--
      if (f.head === f.items.length) this.#retire(lane, lane.next)
      else {
        if (f.head > 1024 && f.head * 2 > f.items.length) { f.items = f.items.slice(f.head); f.head = 0 }
        lane.next = (lane.next + 1) % lane.turns.length
      }
      return item
    }
    return undefined
  }

  clear (): void {
    for (const lane of this.#lanes) { lane.flows.clear(); lane.turns = []; lane.next = 0; lane.count = 0 }
    this.#bytes = 0
    this.#count = 0
  }

  /** An emptied flow leaves the turn order; the turn stays with the flow that followed it. */
  #retire (lane: Lane<T>, at: number): void {
    lane.flows.delete(lane.turns[at])
    lane.turns.splice(at, 1)
    if (lane.next > at) lane.next--
    if (lane.next >= lane.turns.length) lane.next = 0
  }

  #dropNewestOfLowest (): T | undefined {
    for (let p = this.#lanes.length - 1; p >= 0; p--) {
      const lane = this.#lanes[p]
      if (lane.count === 0) continue
      let at = 0
      for (let i = 1; i < lane.turns.length; i++) {
        if ((lane.flows.get(lane.turns[i]) as Flow<T>).bytes > (lane.flows.get(lane.turns[at]) as Flow<T>).bytes) at = i
      }
      const f = lane.flows.get(lane.turns[at]) as Flow<T>
      const { item, bytes } = f.items.pop() as { item: T, bytes: number }
      f.bytes -= bytes
      lane.count--
      this.#bytes -= bytes
      this.#count--
      if (f.head === f.items.length) this.#retire(lane, at)
      return item
    }
    return undefined
  }
}
