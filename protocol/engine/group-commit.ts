/**
 * Group commit: with no batch in flight, ops go to the store at once (the caller waits
 * on the store's own promise); ops written while one is in flight go out together in
 * the next batch, issued as soon as it lands. One failed batch fails only its writers.
 *
 * @example
 * const commit = new GroupCommit({ store })
 * await commit.write(ops)   // durable once it resolves
 */
import type { Store, StoreOp } from '../ports.ts'

export interface GroupCommitDeps {
  store: Pick<Store, 'batch'>
}

export class GroupCommit {
  readonly #store: Pick<Store, 'batch'>
  #ops: StoreOp[] = []
  #waiters: Array<{ resolve: () => void, reject: (e: unknown) => void }> = []
  #writing = false

  constructor (deps: GroupCommitDeps) { this.#store = deps.store }

  write (ops: StoreOp[]): Promise<void> {
    if (!this.#writing) return this.#batch(ops)
    return new Promise((resolve, reject) => {
      this.#ops.push(...ops)
      this.#waiters.push({ resolve, reject })
    })
  }

  #batch (ops: StoreOp[]): Promise<void> {
    this.#writing = true
    let landed: Promise<void>
    try {
      landed = this.#store.batch(ops)
    } catch (e) {
      landed = Promise.reject(e) // a store that throws rather than rejects
    }
    // Registered before the caller's await, so the next batch is issued before the caller resumes.
    landed.then(() => { this.#next() }, () => { this.#next() })
    return landed
  }

  /** The batch in flight landed: send what queued meanwhile, as one batch. */
  #next (): void {
    this.#writing = false
    if (this.#ops.length === 0) return
    const ops = this.#ops
    const waiters = this.#waiters
    this.#ops = []
    this.#waiters = []
    this.#batch(ops).then(() => { for (const w of waiters) w.resolve() }, (e: unknown) => { for (const w of waiters) w.reject(e) })
  }
}
