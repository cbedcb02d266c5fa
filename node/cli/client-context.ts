/**
 * What client commands (`status`, `peers`, `send`, `tail`) need: the data directory, the
 * config (for the node's API and admin addresses) and the operator user's keys.
 */
import { loadConfig, resolveDataDir } from '../config/index.ts'
import { loadUserIdentity } from '../user-identity.ts'
import { createNodeCrypto } from '../crypto.ts'
import { connectClient, type Client } from '../api/client.ts'
import { ProtocolError, UnauthorisedError } from '../../protocol/errors.ts'

export async function clientContext (opts: { data?: string, config?: string }) {
  const dataDir = resolveDataDir({ dataDir: opts.data, env: process.env })
  const { config } = loadConfig({ dataDir, configPath: opts.config, env: process.env, flags: {} })
  const crypto = createNodeCrypto()
  return { dataDir, config, crypto, user: () => loadUserIdentity(dataDir, crypto) }
}

export async function connect (opts: { data?: string, config?: string }): Promise<{ client: Client, ctx: Awaited<ReturnType<typeof clientContext>> }> {
  const ctx = await clientContext(opts)
  const user = await ctx.user()
  const url = `ws://${ctx.config.api.listen.host === '0.0.0.0' ? '127.0.0.1' : ctx.config.api.listen.host}:${ctx.config.api.listen.port}`
  try {
    return { client: await connectClient({ url, user: user.ed25519, crypto: ctx.crypto }), ctx }
  } catch (e) {
    // The relay answered and said no: say that, not that nobody answered.
    if (e instanceof UnauthorisedError) throw new UnauthorisedError(`the relay at ${url} refused this user (${e.message}); its operator lets a user in by adding the key from "ddil whoami" to clients.allow`, { cause: e })
    throw new ProtocolError(`no relay answering at ${url} (is "ddil start" running with this data directory?): ${(e as Error).message}`, { cause: e })
  }
}

export async function adminGet (opts: { data?: string, config?: string }, path: string): Promise<unknown> {
  const { config } = await clientContext(opts)
  const host = config.admin.listen.host === '0.0.0.0' ? '127.0.0.1' : config.admin.listen.host
  const url = `http://${host}:${config.admin.listen.port}${path}`
  let res: Response
  try { res = await fetch(url) } catch (e) {
    throw new ProtocolError(`no relay answering at ${url} (is "ddil start" running with this data directory?)`, { cause: e })
  }
  if (!res.ok) throw new ProtocolError(`${url} answered ${res.status}`)
  return await res.json()
}
