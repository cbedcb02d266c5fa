/**
 * A copy-on-write map for governance state: `fork()` costs the size of a small overlay, not
 * of the map. Each change's causal state is its parent's extended by one change, and a
 * standing channel's removed members only grow (tens of thousands over years), so copying
 * them per change would make a long history quadratic.
 *
 * The base is shared between forks and never written; writes go to the overlay, which is
 * merged into a fresh base once it holds `overlayMax` keys (amortised O(n / overlayMax)).
 *
 * @example
 * const a = new CowMap<number>()
 * a.set('x', 1)
 * const b = a.fork(); b.set('x', 2)   // a.get('x') is still 1
 */
const gone = Symbol('gone')
const overlayMax = 256

export class CowMap<V> implements Iterable<[string, V]> {
  #base: ReadonlyMap<string, V>
  #over: Map<string, V | typeof gone>
  #size: number

  constructor (entries?: Iterable<[string, V]>) {
    this.#base = new Map(entries)
    this.#over = new Map()
    this.#size = this.#base.size
  }

  /** An independent copy: O(overlay). */
  fork (): CowMap<V> {
    const copy = new CowMap<V>()
    copy.#base = this.#base
    copy.#over = new Map(this.#over)
    copy.#size = this.#size
    return copy
  }

  get size (): number { return this.#size }

  get (key: string): V | undefined {
    const v = this.#over.get(key)
    if (v === gone) return undefined
    return v ?? this.#base.get(key)
  }

  has (key: string): boolean { return this.get(key) !== undefined }

  set (key: string, value: V): this {
    if (!this.has(key)) this.#size++
    this.#over.set(key, value)
    this.#settle()
    return this
  }

  delete (key: string): boolean {
    if (!this.has(key)) return false
    this.#size--
    if (this.#base.has(key)) this.#over.set(key, gone)
    else this.#over.delete(key)
    this.#settle()
    return true
  }

  * entries (): IterableIterator<[string, V]> {
    for (const [k, v] of this.#base) if (!this.#over.has(k)) yield [k, v]
    for (const [k, v] of this.#over) if (v !== gone) yield [k, v]
  }

  * values (): IterableIterator<V> {
    for (const [, v] of this.entries()) yield v
  }

  [Symbol.iterator] (): IterableIterator<[string, V]> { return this.entries() }

  /**
   * Keys whose value differs between `earlier` and this map (compared as objects), when both
   * grew from one base (forks, with no merge between): only the overlays can differ.
   * Undefined when they do not share a base; then only a full comparison tells.
   */
  changedSince (earlier: CowMap<V>): string[] | undefined {
    if (earlier.#base !== this.#base) return undefined
    const changed: string[] = []
    for (const k of this.#over.keys()) if (this.#over.get(k) !== earlier.#over.get(k)) changed.push(k)
    for (const k of earlier.#over.keys()) if (!this.#over.has(k)) changed.push(k)
    return changed
  }

  #settle (): void {
    if (this.#over.size < overlayMax) return
    this.#base = new Map(this.entries())
    this.#over = new Map()
  }
}
