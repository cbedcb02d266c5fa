/**
 * Where a client command finds the relay: the endpoints file that the relay running
 * on the data directory wrote (node/endpoints.ts). Only when none is there, or when
 * `--config` or `$DDIL_CONFIG` names a config file, is the config loaded (zod and
 * YAML: longer than the rest of the command) for its `api.listen` and `admin.listen`.
 *
 * @example
 * const { api } = await relayAddresses({ data: '/var/lib/ddil' })
 * urlOf('ws', api)  // 'ws://127.0.0.1:4410'
 */
import { resolveDataDir } from '../config/paths.ts'
import { readEndpoints, type Endpoint, type Endpoints } from '../endpoints.ts'
import { ProtocolError } from '../../protocol/errors.ts'

export interface ClientOptions {
  data?: string
  config?: string
  /** For a protected user.key (cli/passphrase-prompt.ts). */
  passphraseFile?: string
}

/** Any-address listeners are dialled on loopback. */
const loopbackFor: Readonly<Record<string, string>> = { '0.0.0.0': '127.0.0.1', '::': '::1' }

export function urlOf (scheme: 'ws' | 'http', endpoint: Endpoint, path = ''): string {
  const host = loopbackFor[endpoint.host] ?? endpoint.host
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${endpoint.port}${path}`
}

export async function relayAddresses (opts: ClientOptions): Promise<Endpoints & { dataDir: string }> {
  const dataDir = resolveDataDir({ dataDir: opts.data, env: process.env })
  const configNamed = opts.config !== undefined || (process.env.DDIL_CONFIG ?? '') !== ''
  const written = configNamed ? undefined : readEndpoints(dataDir)
  if (written !== undefined) return { ...written, dataDir }
  const { loadConfig } = await import('../config/load.ts')
  const { config } = loadConfig({ dataDir, configPath: opts.config, env: process.env, flags: {} })
  return { api: config.api.listen, admin: config.admin.listen, requestsPerSecond: config.api.requestsPerSecond, dataDir }
}

export function noRelay (url: string, cause: unknown): ProtocolError {
  return new ProtocolError(`no relay answering at ${url} (is "ddil start" running with this data directory?): ${(cause as Error).message}`, { cause })
}

/**
 * A GET with node:http, not fetch, whose first use costs more than the request; and
 * node:http taken with getBuiltinModule, because importing it builds an ES module of
 * all its exports, which loads fetch's code too.
 */
function httpGet (url: string): Promise<{ status: number, body: string }> {
  const { request } = process.getBuiltinModule('node:http')
  return new Promise((resolve, reject) => {
    request(url, res => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      res.on('error', reject)
    }).on('error', reject).end()
  })
}

export async function adminGet (opts: ClientOptions, path: string): Promise<unknown> {
  const url = urlOf('http', (await relayAddresses(opts)).admin, path)
  const { status, body } = await httpGet(url).catch((e: unknown) => { throw noRelay(url, e) })
  if (status < 200 || status > 299) throw new ProtocolError(`${url} answered ${status}`)
  return JSON.parse(body)
}
