/**
 * What one peer is owed: ids a reconciliation found it lacking that we have not yet
 * handed to its link. They wait here as ids, by precedence and in the order given
 * (oldest first), and move into the link's byte-bounded queue only as the link drains
 * (catchup.ts), so a difference of any size crosses at the link's pace with none
 * dropped from an overflowing queue and found again by the next reconciliation. An id
 * the peer turns out to hold is cancelled; one the queue drops on overflow comes back.
 *
 * @example
 * const owed = new ServeBacklog()
 * owed.add(key, Precedence.routine)
 * owed.shift()      // the next id to send: flash first, then in order
 */
export class ServeBacklog {
  /** Ids per precedence, in the order added; those no longer owed are skipped when reached. */
  readonly #lanes: string[][] = [[], [], [], []]
  readonly #heads = [0, 0, 0, 0]
  /** Ids the link's queue dropped on overflow, sent again first. */
  #returned: string[] = []
  /** Every id owed (in a lane or returned): membership, and cancelling without a search. */
  readonly #owed = new Set<string>()
  #reading = false

  /** A store read for the next batch is in flight (catchup.ts): no other starts meanwhile. */
  get reading (): boolean { return this.#reading }

  /** A store read for the next batch started (`true`) or ended. */
  readingNext (reading: boolean): void { this.#reading = reading }

  /** Ids owed. */
  get size (): number { return this.#owed.size }

  has (key: string): boolean { return this.#owed.has(key) }

  /** Owes the peer this id (false if it was owed already). */
  add (key: string, precedence: number): boolean {
    if (this.#owed.has(key)) return false
    this.#owed.add(key)
    this.#lanes[precedence].push(key)
    return true
  }

  /** The peer holds it, or it went by another way: no longer owed. */
  delete (key: string): boolean { return this.#owed.delete(key) }

  /** An id the link's queue dropped on overflow: owed again, and sent before the rest. */
  putBack (key: string): void {
    if (this.#owed.has(key)) return
    this.#owed.add(key)
    this.#returned.push(key)
  }

  /** Takes the next id owed: returned ones first, then by precedence, each lane in order. */
  shift (): string | undefined {
    while (this.#returned.length > 0) {
      const key = this.#returned.pop() as string
      if (this.#owed.delete(key)) return key
    }
    for (let p = 0; p < this.#lanes.length; p++) {
      const lane = this.#lanes[p]
      while (this.#heads[p] < lane.length) {
        const key = lane[this.#heads[p]++]
        if (this.#owed.delete(key)) { this.#compact(p); return key }
      }
      if (lane.length > 0) { this.#lanes[p] = []; this.#heads[p] = 0 }
    }
    return undefined
  }

  /** Drops a lane's consumed front once it is most of the lane. */
  #compact (p: number): void {
    const head = this.#heads[p]
    if (head < 4096 || 2 * head < this.#lanes[p].length) return
    this.#lanes[p] = this.#lanes[p].slice(head)
    this.#heads[p] = 0
  }
}
