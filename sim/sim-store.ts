/**
 * One incarnation's view of a simulated node's disk: the `Store` port over a
 * `SimDisk` that outlives the node's crashes. A batch becomes durable (is applied and resolves) `writeMs` of
 * virtual time after it is issued, as a scheduled event; a crash before then loses
 * it, exactly the window a real fsync leaves. Reads answer at once.
 *
 * The engine awaits these promises, so after a batch resolves (or a read is issued)
 * its continuations must run before virtual time moves on: the store raises
 * `wake.pending` and the runner drains the microtask queue before the next later
 * event (or scenario event), and only then.
 *
 * @example
 * const disk = new SimDisk()
 * const store = new SimStore(disk, scheduler, 1, wake)   // one incarnation of the node
 * store.crash()                                         // pending batches never land
 * const again = new SimStore(disk, scheduler, 1, wake)  // after restart: what was durable
 */
import { StorageError } from '../protocol/errors.ts'
import { validateBatch } from '../protocol/memory-store.ts'
import type { RangeOptions, Store, StoreOp } from '../protocol/ports.ts'
import type { Scheduler } from './scheduler.ts'
import type { SimDisk } from './sim-disk.ts'

/** Set when promise continuations are waiting to run; the runner clears it after draining. */
export interface Wake { pending: boolean }

export class SimStore implements Store {
  readonly disk: SimDisk
  readonly #s: Scheduler
  readonly #writeMs: number
  readonly #wake: Wake
  #live = true
  /** Batches applied, and lost to a crash. */
  batches = 0
  lost = 0
  #inFlight = 0

  constructor (disk: SimDisk, scheduler: Scheduler, writeMs: number, wake: Wake) {
    this.disk = disk
    this.#s = scheduler
    this.#writeMs = writeMs
    this.#wake = wake
  }

  async get (key: Uint8Array): Promise<Uint8Array | undefined> {
    this.#check()
    this.#wake.pending = true
    return this.disk.getSync(key)
  }

  batch (ops: StoreOp[]): Promise<void> {
    this.#check()
    validateBatch(ops) // a malformed batch fails now, as LevelDB's would, not at the crash window
    this.#inFlight++
    return new Promise(resolve => {
      this.#s.after(this.#writeMs, () => {
        this.#inFlight--
        if (!this.#live) { this.lost++; return }
        this.disk.applyValidated(ops)
        this.batches++
        this.#wake.pending = true
        resolve()
      })
    })
  }

  range (options: RangeOptions): AsyncIterable<[Uint8Array, Uint8Array]> {
    this.#check()
    this.#wake.pending = true
    return this.disk.range(options)
  }

  async close (): Promise<void> { this.#live = false }

  /** The node died: batches not yet durable are lost; this view of the disk is finished. */
  crash (): void { this.#live = false }

  #check (): void {
    if (!this.#live) throw new StorageError('store is closed (the node crashed)')
  }
}
