/**
 * Names to bytes for a simulated run: each node's user key (derived from the run seed
 * and the node id, so a seed replays the same signatures), 8-byte channel references
 * derived from channel names, a pairwise stream for direct messages, and the sim's
 * authoriser for ungoverned runs (the default), which accepts any envelope signed by
 * one of the scenario's users, members or not; `governance: true` runs use the channel
 * policy instead (sim/governed.ts).
 *
 * @example
 * const ids = new SimIdentities(crypto, 7, ['hq', 'truck'])
 * ids.user('hq').publicKey; ids.channelRef('ops'); ids.directRef('hq', 'truck')
 * createEngine({ authoriser: ids.authoriser, … })
 */
import { ConfigError } from '../protocol/errors.ts'
import type { Authoriser } from '../protocol/engine/types.ts'
import { authorRef, channelRefBytes } from '../protocol/envelope.ts'
import type { Crypto, KeyPair } from '../protocol/ports.ts'

const encoder = new TextEncoder()

function refKey (ref: Uint8Array): string {
  return String.fromCharCode.apply(null, ref as unknown as number[])
}

export class SimIdentities {
  readonly #crypto: Crypto
  readonly #users = new Map<string, KeyPair>()
  readonly #byRef = new Map<string, Uint8Array>()

  constructor (crypto: Crypto, seed: number, nodeIds: readonly string[]) {
    this.#crypto = crypto
    for (const id of nodeIds) {
      const keys = crypto.ed25519KeyPair(crypto.sha256(encoder.encode(`ddil/sim/user\n${seed}\n${id}`)))
      this.#users.set(id, keys)
      this.#byRef.set(refKey(authorRef(keys.publicKey)), keys.publicKey)
    }
  }

  user (node: string): KeyPair {
    const keys = this.#users.get(node)
    if (keys === undefined) throw new ConfigError(`unknown node ${JSON.stringify(node)}`)
    return keys
  }

  channelRef (name: string): Uint8Array {
    return this.#crypto.sha256(encoder.encode(`ddil/sim/channel\n${name}`)).slice(0, channelRefBytes)
  }

  /** The stream a direct message between two nodes travels in (same both ways). */
  directRef (a: string, b: string): Uint8Array {
    const [x, y] = a < b ? [a, b] : [b, a]
    return this.#crypto.sha256(encoder.encode(`ddil/sim/direct\n${x}\n${y}`)).slice(0, channelRefBytes)
  }

  readonly authoriser: Authoriser = {
    authorise: (env) => {
      const publicKey = this.#byRef.get(refKey(env.author))
      return publicKey === undefined ? { ok: false, reason: 'author is not a user of this scenario' } : { ok: true, publicKey }
    },
  }
}
