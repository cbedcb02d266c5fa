/**
 * The three Reflect metadata functions that @peculiar/x509's dependency injection library
 * (tsyringe) needs and checks for when it is loaded: `getMetadata`, `getOwnMetadata`,
 * `defineMetadata`, with reflect-metadata's meaning (own metadata per target and key;
 * `getMetadata` also looks up the prototype chain). The library's README asks for a polyfill
 * package (reflect-metadata or another); none is installed, so this is the smallest stand-in,
 * installed only when nothing provides them, and only by the module that makes certificates.
 * Replace it with `import 'reflect-metadata'` if that package is added.
 *
 * @example
 * installReflectMetadata(); const x509 = await import('@peculiar/x509')
 */

type Target = object
type MetadataReflect = typeof Reflect & {
  getMetadata?: (key: unknown, target: Target) => unknown
  getOwnMetadata?: (key: unknown, target: Target) => unknown
  defineMetadata?: (key: unknown, value: unknown, target: Target) => void
}

export function installReflectMetadata (): void {
  const r = Reflect as MetadataReflect
  if (typeof r.getMetadata === 'function') return
  const store = new WeakMap<Target, Map<unknown, unknown>>()
  const own = (key: unknown, target: Target): unknown => store.get(target)?.get(key)
  r.getOwnMetadata = own
  r.getMetadata = (key, target) => {
    for (let t: Target | null = target; t !== null; t = Object.getPrototypeOf(t) as Target | null) {
      const m = store.get(t)
      if (m?.has(key) === true) return m.get(key)
    }
    return undefined
  }
  r.defineMetadata = (key, value, target) => {
    let m = store.get(target)
    if (m === undefined) { m = new Map(); store.set(target, m) }
    m.set(key, value)
  }
}
