/**
 * Epoch upkeep, for owners and admins: a new epoch key, sealed to every current member,
 * whenever the channel needs one (none usable, a removed member holds the current one, a
 * member lacks it, or the rotation schedule says so), and the keys this user holds sealed
 * to a member who is to read the history. Split from the channel client (client.ts), which
 * calls it after every change of membership and when a channel's backlog is in.
 *
 * @example
 * const upkeep = new EpochUpkeep({ crypto, randomBytes, nowMs, stamp, reserveSeq, user, store, keyring, publish, rotation })
 * await upkeep.maintain(channel)   // true when it sent a new epoch
 */
import { sealEpoch } from './seal.ts'
import type { UserKeys } from './builders.ts'
import type { EpochKeyring, RotationPolicy } from './epochs.ts'
import type { GovernanceStore } from './store.ts'
import type { GovernanceState } from './state.ts'
import { toHex } from '../bytes.ts'
import { authorRef, Kind, Precedence, signEnvelope, type Envelope } from '../envelope.ts'
import type { Hlc } from '../hlc.ts'
import type { Crypto } from '../ports.ts'
import { lastingTtlSeconds } from '../limits.ts'

export interface EpochUpkeepDeps {
  crypto: Crypto
  randomBytes: (length: number) => Uint8Array
  nowMs: () => number
  stamp: () => Promise<Hlc>
  reserveSeq: (channelHex: string) => Promise<number>
  user: UserKeys
  store: GovernanceStore
  /** This user's keyring for a channel. */
  keyring: (channel: Uint8Array) => EpochKeyring
  /** Ingest locally and submit to the relay. */
  publish: (env: Envelope) => Promise<void>
  rotation: () => RotationPolicy
}

export class EpochUpkeep {
  readonly #deps: EpochUpkeepDeps
  /** The upkeep running per channel. */
  readonly #running = new Map<string, Promise<boolean>>()

  constructor (deps: EpochUpkeepDeps) { this.#deps = deps }

  /** Creates and publishes a new epoch if the channel needs one and this user may; returns whether it did. */
  async maintain (channel: Uint8Array): Promise<boolean> {
    // One at a time per channel: two calls that both found a new epoch due would seal two
    // instances of it, and a reader holding one key could open only half the messages.
    const key = toHex(channel)
    const before = this.#running.get(key) ?? Promise.resolve(false)
    const run = before.catch(() => false).then(async () => await this.#maintain(channel))
    this.#running.set(key, run)
    try { return await run } finally { if (this.#running.get(key) === run) this.#running.delete(key) }
  }

  async #maintain (channel: Uint8Array): Promise<boolean> {
    const { store, user, keyring, nowMs, rotation, crypto, randomBytes } = this.#deps
    const state = store.state(channel)
    const mine = state?.members.get(toHex(authorRef(user.ed25519.publicKey)))
    if (state === undefined || mine === undefined || (mine.role !== 'owner' && mine.role !== 'admin')) return false
    const ring = keyring(channel)
    const removed = [...state.removed.values()].map(r => r.ed)
    const members = [...state.members.values()].map(m => m.ed)
    if (!ring.needsNewEpoch(removed, nowMs(), rotation(), members)) return false
    const epoch = ring.nextEpoch()
    const bodies = sealEpoch(crypto, {
      channelId: state.channelId, channelRef: channel, epoch, epochKey: randomBytes(32), ephemeralSeed: randomBytes(32),
      recipients: [...state.members.values()].map(m => ({ ed: m.ed, x: m.x })),
    })
    await this.#publishKeys(channel, epoch, bodies)
    return true
  }

  /**
   * Seals the epoch keys this user holds to one member, each as an instance of its own (a
   * fresh ephemeral key): other members' keyrings gain an instance they cannot open and never
   * send under, since a higher epoch is current.
   */
  async shareKeys (channel: Uint8Array, member: { ed: Uint8Array, x: Uint8Array }): Promise<void> {
    const { store, keyring, crypto, randomBytes } = this.#deps
    const state = store.state(channel) as GovernanceState
    for (const { epoch, key } of keyring(channel).heldKeys()) {
      const bodies = sealEpoch(crypto, { channelId: state.channelId, channelRef: channel, epoch, epochKey: key, ephemeralSeed: randomBytes(32), recipients: [member] })
      await this.#publishKeys(channel, epoch, bodies)
    }
  }

  async #publishKeys (channel: Uint8Array, epoch: number, bodies: Uint8Array[]): Promise<void> {
    const { crypto, stamp, reserveSeq, user, publish } = this.#deps
    for (const body of bodies) {
      const seq = await reserveSeq(toHex(channel))
      const env = signEnvelope(crypto, {
        kind: Kind.keys, precedence: Precedence.flash, channel, author: authorRef(user.ed25519.publicKey), seq, hlc: await stamp(),
        ttlSeconds: lastingTtlSeconds, epoch, deps: [], body,
      }, user.ed25519.privateKey)
      await publish(env)
    }
  }
}
