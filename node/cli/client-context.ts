/**
 * What client commands that talk to the client API (`send`, `tail`, `channel …`) need:
 * the data directory, the operator user's keys, and a connection to the relay at the
 * address relay-address.ts finds.
 */
import { loadUserIdentity, type UserIdentity } from '../user-identity.ts'
import { createNodeCrypto } from '../crypto.ts'
import { connectClient, type Client } from '../api/client.ts'
import { UnauthorisedError } from '../../protocol/errors.ts'
import type { Crypto } from '../../protocol/ports.ts'
import { noRelay, relayAddresses, urlOf, type ClientOptions } from './relay-address.ts'
import { cliPassphrases } from './passphrase-prompt.ts'

export interface ClientContext {
  dataDir: string
  crypto: Crypto
  user: UserIdentity
}

export async function connect (opts: ClientOptions): Promise<{ client: Client, ctx: ClientContext }> {
  const { dataDir, api, requestsPerSecond } = await relayAddresses(opts)
  const crypto = createNodeCrypto()
  const user = await loadUserIdentity(dataDir, crypto, { passphrases: cliPassphrases(opts.passphraseFile) })
  const url = urlOf('ws', api)
  try {
    return { client: await connectClient({ url, user: user.ed25519, crypto, requestsPerSecond }), ctx: { dataDir, crypto, user } }
  } catch (e) {
    // The relay answered and said no: say that, not that nobody answered.
    if (e instanceof UnauthorisedError) throw new UnauthorisedError(`the relay at ${url} refused this user (${e.message}); its operator lets a user in with a code from "ddil enrol", or by adding the key from "ddil whoami" to clients.allow`, { cause: e })
    throw noRelay(url, e)
  }
}
