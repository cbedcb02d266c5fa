/**
 * The endpoints file: `ddil start` writes where its client API and admin server
 * listen (the addresses it bound, after flags and `DDIL_*` variables, with any port 0
 * resolved) to `<data>/endpoints.json`, and removes it when it stops. Client commands
 * on the same data directory read it instead of loading and validating the config,
 * which takes longer than the rest of a `ddil send` (zod, YAML, peer id checks).
 *
 * @example
 * await writeEndpoints(dataDir, { api: { host: '127.0.0.1', port: 4410 }, admin: { host: '127.0.0.1', port: 4411 } })
 * readEndpoints(dataDir)  // the same; undefined when no relay has written it
 */
import { readFileSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { StorageError } from '../protocol/errors.ts'
import { writeFileAtomic } from './fs-durable.ts'

export const endpointsFileName = 'endpoints.json'

export interface Endpoint { host: string, port: number }
/** Where the relay listens, and its client API's request rate per connection (a client keeps below it). */
export interface Endpoints { api: Endpoint, admin: Endpoint, requestsPerSecond?: number }

function isEndpoint (v: unknown): v is Endpoint {
  const e = v as Partial<Endpoint> | null
  return typeof e === 'object' && e !== null && typeof e.host === 'string' && e.host !== '' && Number.isInteger(e.port) && (e.port as number) > 0 && (e.port as number) < 65536
}

export async function writeEndpoints (dataDir: string, endpoints: Endpoints): Promise<void> {
  await writeFileAtomic(join(dataDir, endpointsFileName), JSON.stringify({ api: endpoints.api, admin: endpoints.admin, requestsPerSecond: endpoints.requestsPerSecond }) + '\n', 0o600)
}

export async function removeEndpoints (dataDir: string): Promise<void> {
  await rm(join(dataDir, endpointsFileName), { force: true })
}

/** What the relay running on `dataDir` wrote; undefined when there is no file (no relay has started there, or it stopped). */
export function readEndpoints (dataDir: string): Endpoints | undefined {
  const file = join(dataDir, endpointsFileName)
  let value: unknown
  try {
    value = JSON.parse(readFileSync(file, 'utf8'))
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new StorageError(`${file} is unreadable (${(e as Error).message}); restart the relay, which rewrites it`, { cause: e })
  }
  const v = value as Partial<Endpoints> | null
  if (typeof v !== 'object' || v === null || !isEndpoint(v.api) || !isEndpoint(v.admin)) throw new StorageError(`${file} does not hold the relay's api and admin addresses; restart the relay, which rewrites it`)
  const rate = v.requestsPerSecond
  return { api: v.api, admin: v.admin, ...(typeof rate === 'number' && Number.isInteger(rate) && rate > 0 ? { requestsPerSecond: rate } : {}) }
}
