/**
 * Who may use the client API, and the operator's tools for changing it: the config's
 * `clients.allow` (and the operator's own key), plus the devices enrolled with a one-time
 * code (node/enrolment.ts) and kept in `<data>/clients.json` (node/clients-file.ts), minus
 * the revoked ones. Every change is audited, and a change the audit log cannot record is
 * refused (an enrolment) or reported as unrecorded (a revocation, which takes effect
 * anyway: withdrawing access never waits on the log). A revocation ends the key's live
 * sessions at once through `onRevoked`.
 *
 * @example
 * const registry = await ClientRegistry.open({ dataDir, operator, configured, clock, randomBytes, crypto, audit, record })
 * const { code } = await registry.issue({ name: 'Ana', ttlMs: 15 * 60_000 })
 * await registry.enrol({ code, publicKey, xPublicKey, name: 'Ana phone' })   // UnauthorisedError for a bad code
 * registry.isAllowed(publicKey)                                              // true
 * await registry.revoke(publicKey)                                           // its sessions end
 */
import { AuditError, LimitError, StorageError, UnauthorisedError, UsageError } from '../protocol/errors.ts'
import { bytesEqual, toHex } from '../protocol/bytes.ts'
import type { Clock, Crypto } from '../protocol/ports.ts'
import type { AuditEvent } from './audit/index.ts'
import { loadClientsFile, saveClientsFile } from './clients-file.ts'
import { codeRefusalText, EnrolmentCodes } from './enrolment.ts'
import { formatUserPublicKey } from './user-identity.ts'
import { enrolledClientsMax } from './api/limits.ts'
import type { ClientRecord } from './api/wire.ts'

export interface ClientRegistryOptions {
  dataDir: string
  /** The data directory's operator user (Ed25519 public key). */
  operator: Uint8Array
  /** Whether the config lets this key in (`clients.allow`, `operator` included). */
  configured: (publicKey: Uint8Array) => boolean
  clock: Clock
  randomBytes: (length: number) => Uint8Array
  crypto: Crypto
  /** Appends an entry and resolves once it is durable; rejects (AuditError) when the log cannot record it. */
  audit: (event: AuditEvent) => Promise<void>
  /** Records an event without waiting (refusals are summarised when they repeat); never throws. */
  record: (event: AuditEvent) => void
  clientsMax?: number
}

export interface EnrolRequest {
  code: string
  publicKey: Uint8Array
  xPublicKey: Uint8Array
  /** The name the device gives itself. */
  name: string
  /** The client's address, for the audit log. */
  remote?: string
}

export class ClientRegistry {
  readonly #o: ClientRegistryOptions
  readonly #codes: EnrolmentCodes
  #clients: ClientRecord[]
  readonly #revokedListeners = new Set<(publicKey: Uint8Array) => void>()
  /** Changes to the clients file, one at a time. */
  #queue: Promise<unknown> = Promise.resolve()

  private constructor (options: ClientRegistryOptions, clients: ClientRecord[]) {
    this.#o = options
    this.#clients = clients
    this.#codes = new EnrolmentCodes({
      clock: options.clock,
      randomBytes: options.randomBytes,
      sha256: (b) => options.crypto.sha256(b),
      onExpired: (name, expiresAtMs) => { options.record({ who: 'operator', what: 'enrolment.expired', outcome: 'ok', detail: { name, expiresAtMs } }) },
    })
  }

  static async open (options: ClientRegistryOptions): Promise<ClientRegistry> {
    return new ClientRegistry(options, await loadClientsFile(options.dataDir))
  }

  isOperator (publicKey: Uint8Array): boolean {
    return bytesEqual(publicKey, this.#o.operator)
  }

  /** Listed in the config (or the operator there), or enrolled and not revoked. */
  isAllowed (publicKey: Uint8Array): boolean {
    if (this.#o.configured(publicKey)) return true
    const c = this.#find(publicKey)
    return c !== undefined && c.revokedAtMs === undefined
  }

  /** Whether an enrolled, unrevoked device has this author reference (first 8 bytes of its key, hex). */
  enrolledAuthor (authorRefHex: string): boolean {
    return this.#clients.some(c => c.revokedAtMs === undefined && toHex(c.publicKey.subarray(0, 8)) === authorRefHex)
  }

  list (): ClientRecord[] {
    return this.#clients.map(c => ({ ...c }))
  }

  /** Called with the key of every revocation (sessions of that key must end); returns the remover. */
  onRevoked (listener: (publicKey: Uint8Array) => void): () => void {
    this.#revokedListeners.add(listener)
    return () => { this.#revokedListeners.delete(listener) }
  }

  /** A new single-use code. Refused (AuditError) when the audit log cannot record it. */
  async issue (options: { name: string, ttlMs: number }): Promise<{ code: string, expiresAtMs: number }> {
    const { code, key, expiresAtMs } = this.#codes.issue(options)
    try {
      await this.#o.audit({ who: 'operator', what: 'enrolment.issued', outcome: 'ok', detail: { name: options.name, ttlMs: options.ttlMs, expiresAtMs } })
    } catch (e) {
      this.#codes.withdraw(key)
      throw e
    }
    return { code, expiresAtMs }
  }

  /**
   * Lets `publicKey` in with a code: UnauthorisedError (audited, `enrolment.refused`) when the
   * code is not one that can be spent now or the key was revoked here; LimitError when the
   * list is full; AuditError or StorageError when the change cannot be recorded (the code
   * then stays usable). The code is spent before anything is awaited, so it lets in one device.
   */
  async enrol (req: EnrolRequest): Promise<void> {
    const who = toHex(req.publicKey)
    const refuse = (reason: string): never => {
      this.#o.record({ who, what: 'enrolment.refused', outcome: 'refused', remote: req.remote, detail: { reason } })
      throw new UnauthorisedError(reason)
    }
    const found = this.#codes.check(req.code)
    if (!found.ok) return refuse(codeRefusalText[found.reason])
    if (this.#find(req.publicKey)?.revokedAtMs !== undefined) return refuse('this key was revoked on this relay; the device must create a new key and enrol again')
    this.#codes.spend(found.key)
    const name = found.name !== '' ? found.name : req.name
    const key = formatUserPublicKey(req.publicKey, req.xPublicKey)
    try {
      await this.#change(async () => {
        const known = this.#find(req.publicKey)
        const next = known !== undefined
          ? this.#clients.map(c => c === known ? { ...c, name } : c)
          : [...this.#roomFor(1), { publicKey: req.publicKey, xPublicKey: req.xPublicKey, name, enrolledAtMs: this.#o.clock.nowMs() }]
        // Recorded before it takes effect: an enrolment the audit log cannot hold does not happen.
        await this.#o.audit({ who, what: 'client.enrolled', outcome: 'ok', remote: req.remote, detail: { key, name, deviceName: req.name, again: known !== undefined } })
        await saveClientsFile(this.#o.dataDir, next)
        this.#clients = next
      })
    } catch (e) {
      this.#codes.unspend(found.key)
      throw e
    }
  }

  /**
   * Revokes an enrolled key: refused at once, its live sessions ended, the file rewritten,
   * the change audited. UsageError for the operator's key, a key the config lists, or one
   * never enrolled. If the file or the log cannot be written the revocation still holds
   * until the relay restarts, and the error says so.
   */
  async revoke (publicKey: Uint8Array): Promise<void> {
    if (this.isOperator(publicKey)) throw new UsageError('that is the operator\'s own key, which cannot be revoked; to lock it out, remove "operator" from clients.allow in the config')
    if (this.#o.configured(publicKey)) throw new UsageError('that key is listed in clients.allow in the config: remove it there and restart the relay')
    const known = this.#find(publicKey)
    if (known === undefined) throw new UsageError('that key is not an enrolled client of this relay ("ddil clients list" shows them)')
    await this.#change(async () => {
      const first = known.revokedAtMs === undefined
      const revoked = { ...known, revokedAtMs: known.revokedAtMs ?? this.#o.clock.nowMs() }
      this.#clients = this.#clients.map(c => bytesEqual(c.publicKey, publicKey) ? revoked : c)
      for (const listener of this.#revokedListeners) listener(publicKey)
      if (!first) return
      const done = 'the key is revoked and its sessions ended, but'
      await saveClientsFile(this.#o.dataDir, this.#clients).catch((e: Error) => {
        throw new StorageError(`${done} clients.json could not be written, so the revocation lasts only until the relay restarts: ${e.message}`, { cause: e })
      })
      const key = formatUserPublicKey(known.publicKey, known.xPublicKey)
      await this.#o.audit({ who: 'operator', what: 'client.revoked', outcome: 'ok', detail: { key, name: known.name } }).catch((e: Error) => {
        throw new AuditError(`${done} the audit log could not record it: ${e.message}`, { cause: e })
      })
    })
  }

  close (): void {
    this.#codes.close()
  }

  #find (publicKey: Uint8Array): ClientRecord | undefined {
    return this.#clients.find(c => bytesEqual(c.publicKey, publicKey))
  }

  /** The list with room for `n` more: the oldest revoked entries give way; LimitError if that is not enough. */
  #roomFor (n: number): ClientRecord[] {
    const max = this.#o.clientsMax ?? enrolledClientsMax
    let over = this.#clients.length + n - max
    const kept = this.#clients.filter(c => {
      if (over <= 0 || c.revokedAtMs === undefined) return true
      over--
      return false
    })
    if (over > 0) throw new LimitError(`this relay has ${max} enrolled clients, none of them revoked; revoke lost devices ("ddil clients revoke") to make room`)
    return kept
  }

  #change<T> (fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => {})
    return run
  }
}
