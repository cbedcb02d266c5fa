/**
 * Start-up failures of the relay's listeners as one sentence that names the address,
 * says why, and names the config key and flag that change it (a ConfigError: exit
 * status 2), not a library's stack trace or advice about a library's settings.
 *
 * @example
 * const api = await listening(startClientApi(…), 'serve the client API', 'api.listen', '--api', '127.0.0.1:4410')
 */
import { createServer } from 'node:net'
import { ConfigError } from '../protocol/errors.ts'

/**
 * Awaits a listener's start. `probe`, when given, finds the failing address and its
 * system error itself (libp2p reports only that "some configured addresses failed").
 */
export async function listening<T> (started: Promise<T>, what: string, key: string, flag: string, address: string, probe?: () => Promise<{ address: string, error: unknown } | undefined>): Promise<T> {
  try {
    return await started
  } catch (e) {
    const found = await probe?.().catch(() => undefined)
    const where = found?.address ?? address
    throw new ConfigError(`cannot ${what} on ${where}: ${listenProblem(found?.error ?? e)}; change ${key} in the config or pass ${flag}`, { cause: e })
  }
}

/** Why a listen failed, in words, from the system error code wherever the library put it. */
function listenProblem (e: unknown): string {
  const code = errorCodes(e).find(c => /^E[A-Z]+$/.test(c))
  if (code === 'EADDRINUSE') return 'the port is in use (another relay or program holds it)'
  if (code === 'EACCES') return 'permission denied (ports below 1024 need privileges)'
  if (code === 'EADDRNOTAVAIL') return 'this machine has no such address'
  return code ?? (e instanceof Error ? e.message.split('\n')[0] : String(e))
}

/** System error codes in an error, its causes and its aggregated errors. */
function errorCodes (e: unknown, depth = 0): string[] {
  if (e === null || typeof e !== 'object' || depth > 4) return []
  const { code, cause, errors } = e as { code?: unknown, cause?: unknown, errors?: unknown }
  const nested = [cause, ...(Array.isArray(errors) ? errors : [])].flatMap(x => errorCodes(x, depth + 1))
  return [...(typeof code === 'string' ? [code] : []), ...nested]
}

/** The first `/ip4|ip6/HOST/tcp/PORT…` multiaddr that cannot be bound now, and the error. */
export async function firstBusyAddress (multiaddrs: string[]): Promise<{ address: string, error: unknown } | undefined> {
  for (const address of multiaddrs) {
    const m = /^\/(ip4|ip6)\/([^/]+)\/tcp\/(\d+)/.exec(address)
    if (m === null || m[3] === '0') continue
    const error = await bindError(m[2], Number(m[3]))
    if (error !== undefined) return { address, error }
  }
  return undefined
}

function bindError (host: string, port: number): Promise<unknown> {
  return new Promise(resolve => {
    const server = createServer()
    server.once('error', resolve)
    server.listen(port, host, () => { server.close(() => { resolve(undefined) }) })
  })
}
