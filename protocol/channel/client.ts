/**
 * The channel client: everything an endpoint does with governed, end-to-end
 * encrypted channels, over two small ports — a `NodeLink` to its relay and a
 * `reserveSeq` that persists each sequence number before it is used (so a crash never
 * reuses an AES-GCM nonce). Used by the CLI, the simulator and later the browser.
 *
 * It ingests every envelope of a channel (`receive`: governance into a
 * GovernanceStore, keys into the EpochKeyring, the rest verified and decrypted),
 * and builds, signs and encrypts what the user does: create, add, remove, role,
 * send, board edits, receipts, read receipts, profiles. Admins keep the channel's epoch current
 * (`maintainEpochs`, epoch-upkeep.ts): a new epoch at every removal or addition and on schedule.
 *
 * @example
 * const client = new ChannelClient({ crypto, randomBytes, nowMs, node, reserveSeq }, user)
 * const { channel } = await client.createChannel({ name: 'ops' })
 * await client.addMember(channel, bob, 'member')
 * await client.sendText(channel, 'Pump 3 offline', { precedence: Precedence.flash })
 */
import { authoriseEnvelope } from './authorise.ts'
import { Board, clientIdFor, type BoardEditor, type BoardView } from './board.ts'
import { createChannel, signChange, type UserKeys } from './builders.ts'
import { ContentType, contentPayloadBytesMax, decryptContent, encryptContent, type ContentHeader } from './content.ts'
import { EpochKeyring, type RotationPolicy } from './epochs.ts'
import { EpochUpkeep } from './epoch-upkeep.ts'
import { certifiedMember, decodeChange, type Change, type Policy } from './governance.ts'
import { decodeKeysBody } from './keys.ts'
import { decodeReceipt, encodeReceipt } from './receipt.ts'
import { decodeProfile, encodeProfile, ProfileBook } from './profile.ts'
import type { Role } from './roles.ts'
import { openEpoch } from './seal.ts'
import { GovernanceStore } from './store.ts'
import type { GovernanceState } from './state.ts'
import { bytesEqual, concatBytes, fromUtf8, toHex, utf8 } from '../bytes.ts'
import { authorRef, decodeEnvelope, Kind, Precedence, signEnvelope, verifySignature, type Envelope } from '../envelope.ts'
import { CryptoError, isDdilError, UnauthorisedError } from '../errors.ts'
import { FileInbox, type FileProgress } from '../files/inbox.ts'
import { FileForm } from '../files/piece.ts'
import { decodeFileProgress, encodeFileProgress } from '../files/progress.ts'
import { longTextMediaType, longTextName, openPiece, pieceCount, ProgressReports, sealSplit, splitForChannel, type FileToSend, type PieceReceived, type SendOptions } from './files.ts'
import { compareHlc, type Hlc } from '../hlc.ts'
import type { Crypto } from '../ports.ts'
import { stateTtlSecondsMin, submitBatchEnvelopesMax, ttlSecondsMax } from '../limits.ts'

export interface NodeLink {
  submit (bytes: Uint8Array): Promise<{ id: Uint8Array }>
  /** Several envelopes in one request, in order (a file's chunks); resolves once the node holds them all. */
  submitMany?: (envelopes: Uint8Array[]) => Promise<void>
  stamp (): Promise<Hlc>
}

export interface ClientPorts {
  crypto: Crypto
  randomBytes: (length: number) => Uint8Array
  nowMs: () => number
  node: NodeLink
  /**
   * Returns the next sequence number for (channel, this user), durably recorded before it
   * returns; with `count`, the first of that many consecutive ones (a file's pieces).
   */
  reserveSeq: (channelHex: string, count?: number) => Promise<number>
  /** Per-device seed for this user's board client ids (mixed with fresh random bytes per session). */
  deviceSeed: Uint8Array
}

export type Received =
  | { type: 'text', id: Uint8Array, channel: Uint8Array, author: Uint8Array, seq: number, precedence: number, hlc: Hlc, text: string }
  | { type: 'board', id: Uint8Array, channel: Uint8Array, author: Uint8Array }
  | { type: 'receipt' | 'read', id: Uint8Array, channel: Uint8Array, author: Uint8Array, ids: Uint8Array[] }
  /** A member reports how much of a file it holds (#23): `fileDelivery` counts it. */
  | { type: 'progress', id: Uint8Array, channel: Uint8Array, author: Uint8Array, file: Uint8Array, heldBytes: number }
  /** A member's display name; `current` is false when a later profile of theirs is already known. */
  | { type: 'profile', id: Uint8Array, channel: Uint8Array, author: Uint8Array, name: string, current: boolean }
  | { type: 'governance' | 'keys', id: Uint8Array, channel: Uint8Array, author: Uint8Array }
  /**
   * Kept aside until what it needs arrives. `unreadable`: its epoch's keys are here and none
   * was sealed to this user (sent before they were added, unless an owner shares history).
   */
  | { type: 'held', id: Uint8Array, channel: Uint8Array, kind: Kind, reason: string, unreadable: boolean }
  | { type: 'refused', id: Uint8Array, channel: Uint8Array, kind: Kind, reason: string }
  /**
   * One piece of a file or long message (#23). `file` names it (its manifest envelope's id);
   * `progress` is the whole file's, as this client holds it: complete only when every chunk
   * is here and the hashes check (then `fileContent` gives it).
   */
  | PieceReceived

export type { FileToSend, SendOptions } from './files.ts'
export { longTextMediaType, longTextName } from './files.ts'

export const defaultPolicy: Policy = { retentionSeconds: 7 * 24 * 3600, allowedPrecedence: [0, 1, 2, 3] as Precedence[], whoMayPost: 'member' }
/** Most undecryptable envelopes held per client until their keys or governance arrive. */
const heldEnvelopesMax = 1024

interface ChannelLocal {
  keyring: EpochKeyring
  board: Board
  /** Highest sequence seen per author ref (the cut for a removal). */
  highest: Map<string, number>
  /** Receipts, read receipts included (a read implies delivered): message id hex → author refs. */
  receipts: Map<string, Set<string>>
  /** Read receipts: message id hex → reader author refs. */
  reads: Map<string, Set<string>>
  /** What members reported holding of files (#23). */
  progress: ProgressReports
  profiles: ProfileBook
  /** Member (author ref hex) → the user certificate their create or add carried (#29), newest kept. */
  certificates: Map<string, Uint8Array>
  /** The epoch this user's newest profile went under, and its name (see `refreshProfile`). */
  myProfile?: { name: string, epoch: number, hlc: Hlc }
}

export class ChannelClient {
  readonly store: GovernanceStore
  readonly #ports: ClientPorts
  readonly #user: UserKeys
  readonly #channels = new Map<string, ChannelLocal>()
  readonly #held = new Map<string, Envelope>()
  readonly #files: FileInbox
  readonly #upkeep: EpochUpkeep
  rotation: RotationPolicy = { intervalMs: 24 * 3600_000 }

  constructor (ports: ClientPorts, user: UserKeys) {
    this.#ports = ports
    this.#user = user
    this.store = new GovernanceStore(ports.crypto)
    this.#files = new FileInbox(ports.crypto)
    this.#upkeep = new EpochUpkeep({
      ...ports, stamp: async () => await ports.node.stamp(), user, store: this.store,
      keyring: channel => this.#local(channel).keyring, publish: async env => { await this.#publish(env) }, rotation: () => this.rotation,
    })
  }

  get me (): Uint8Array { return this.#user.ed25519.publicKey }

  state (channel: Uint8Array): GovernanceState | undefined { return this.store.state(channel) }

  #local (channel: Uint8Array): ChannelLocal {
    const key = toHex(channel)
    let c = this.#channels.get(key)
    if (c === undefined) {
      const state = this.store.state(channel)
      c = {
        keyring: new EpochKeyring(),
        board: new Board(toHex(state?.channelId ?? channel), clientIdFor(this.#ports.crypto, this.me, concatBytes([this.#ports.deviceSeed, this.#ports.randomBytes(8)]))),
        highest: new Map(),
        receipts: new Map(),
        reads: new Map(),
        progress: new ProgressReports(),
        profiles: new ProfileBook(),
        certificates: new Map(),
      }
      this.#channels.set(key, c)
    }
    return c
  }

  // ---- Ingest ------------------------------------------------------------------------

  /** Takes one envelope of a channel (from the relay's backlog or live feed, or our own). */
  receive (bytes: Uint8Array): Received {
    return this.receiveAll(bytes)[0]
  }

  /**
   * Takes one envelope, and returns what it is followed by what it released: envelopes
   * held for want of governance or keys that this one supplied (a message that arrived
   * before its keys is shown when they come, not lost).
   */
  receiveAll (bytes: Uint8Array): Received[] {
    const { crypto } = this.#ports
    const env = decodeEnvelope(bytes, b => crypto.sha256(b))
    const out = this.#receive(env)
    if (out.type !== 'held' && (env.kind === Kind.governance || env.kind === Kind.keys)) return [out, ...this.#retryHeld()]
    return [out]
  }

  #receive (env: Envelope): Received {
    try {
      return this.#receiveChecked(env)
    } catch (e) {
      if (!isDdilError(e)) throw e
      return { id: env.id, channel: env.channel, kind: env.kind, type: 'refused', reason: e.message }
    }
  }

  #receiveChecked (env: Envelope): Received {
    const base = { id: env.id, channel: env.channel }
    const auth = authoriseEnvelope(this.store, env, this.#ports.crypto)
    if (!auth.ok) {
      if (auth.pending === true) { this.#hold(env); return { ...base, type: 'held', kind: env.kind, reason: auth.reason, unreadable: false } }
      return { ...base, type: 'refused', kind: env.kind, reason: auth.reason }
    }
    verifySignature(this.#ports.crypto, env, auth.publicKey)
    const local = this.#local(env.channel)
    const ref = toHex(env.author)
    if (env.seq > (local.highest.get(ref) ?? 0)) local.highest.set(ref, env.seq)
    if (env.kind === Kind.governance) {
      this.#noteCertificate(local, env)
      return { ...base, type: 'governance', author: auth.publicKey }
    }
    const state = this.store.state(env.channel) as GovernanceState
    if (env.kind === Kind.keys) {
      const body = decodeKeysBody(env.body)
      const opened = openEpoch(this.#ports.crypto, { channelId: state.channelId, channelRef: env.channel, body: env.body, me: { ed: this.me, xPrivate: this.#user.x25519.privateKey } })
      local.keyring.add({ keysId: env.id, body, key: opened?.epochKey, knownAtMs: this.#ports.nowMs() })
      return { ...base, type: 'keys', author: auth.publicKey }
    }
    const keys = local.keyring.keysFor(env.epoch)
    if (keys.length === 0) {
      this.#hold(env)
      const unreadable = local.keyring.keyState(env.epoch) === 'sealed-to-others'
      return { ...base, type: 'held', kind: env.kind, unreadable, reason: unreadable ? `epoch ${env.epoch} was sealed to members that did not include you` : `no key for epoch ${env.epoch} (yet)` }
    }
    if (env.kind === Kind.file) return openPiece(this.#ports.crypto, this.#files, env, { author: auth.publicKey, keys, channelId: state.channelId })
    const content = decryptContent(this.#ports.crypto, { channelId: state.channelId, keys, header: headerOf(env, auth.publicKey), body: env.body })
    if (content.contentType === ContentType.text && env.kind === Kind.message) {
      return { ...base, type: 'text', author: auth.publicKey, seq: env.seq, precedence: env.precedence, hlc: env.hlc, text: fromUtf8(content.payload) }
    }
    if (content.contentType === ContentType.yjsUpdate && env.kind === Kind.state) {
      local.board.apply(content.payload)
      return { ...base, type: 'board', author: auth.publicKey }
    }
    if ((content.contentType === ContentType.receipt || content.contentType === ContentType.read) && env.kind === Kind.receipt) {
      const ids = decodeReceipt(content.payload)
      const read = content.contentType === ContentType.read
      for (const id of ids) {
        note(local.receipts, id, ref)
        if (read) note(local.reads, id, ref)
      }
      return { ...base, type: read ? 'read' : 'receipt', author: auth.publicKey, ids }
    }
    if (content.contentType === ContentType.fileProgress && env.kind === Kind.receipt) {
      const { file, heldBytes } = decodeFileProgress(content.payload)
      local.progress.note(file, ref, heldBytes)
      return { ...base, type: 'progress', author: auth.publicKey, file, heldBytes }
    }
    if (content.contentType === ContentType.profile && env.kind === Kind.state) {
      const profile = decodeProfile(content.payload)
      if (!local.profiles.take(auth.publicKey, ref, profile, env.hlc, env.id)) {
        return { ...base, type: 'refused', kind: env.kind, reason: 'a profile may only name its own author, and this one names another member' }
      }
      const current = local.profiles.nameOf(ref) === profile.name
      if (bytesEqual(auth.publicKey, this.me) && (local.myProfile === undefined || compareHlc(env.hlc, local.myProfile.hlc) > 0)) {
        local.myProfile = { name: profile.name, epoch: env.epoch, hlc: env.hlc }
      }
      return { ...base, type: 'profile', author: auth.publicKey, name: profile.name, current }
    }
    return { ...base, type: 'refused', kind: env.kind, reason: `content type ${content.contentType} does not belong in a ${env.kind} envelope` }
  }

  /** A file's progress at this client, if any piece of it arrived. */
  fileProgress (file: Uint8Array): FileProgress | undefined { return this.#files.progress(file) }

  /** A complete file's verified content (ProtocolError while incomplete). */
  fileContent (file: Uint8Array): Uint8Array { return this.#files.content(file) }

  /** Forgets a file's pieces held here (after it was saved or shown). */
  forgetFile (file: Uint8Array): void { this.#files.forget(file) }

  #hold (env: Envelope): void {
    this.#held.set(toHex(env.id), env)
    if (this.#held.size > heldEnvelopesMax) this.#held.delete(this.#held.keys().next().value as string)
  }

  /** Offers every held envelope again; returns those no longer held. */
  #retryHeld (): Received[] {
    const released: Received[] = []
    for (const [key, env] of [...this.#held]) {
      this.#held.delete(key)
      const r = this.#receive(env)
      if (r.type !== 'held') released.push(r)
    }
    return released
  }

  /** Highest sequence number seen from `authorEd` in `channel` (a restarted client must continue above it). */
  highestSeq (channel: Uint8Array, authorEd: Uint8Array): number {
    return this.#channels.get(toHex(channel))?.highest.get(toHex(authorRef(authorEd))) ?? 0
  }

  /** Messages received so far that were held (keys or governance missing), for a caller that wants to show them later. */
  get heldCount (): number { return this.#held.size }

  // ---- Governance ---------------------------------------------------------------------

  /** `options.certificate`: this user's certificate from their organisation (#29), carried on the genesis so members see whose user the owner is. */
  async createChannel (board: { name: string, topic?: string }, policy: Policy = defaultPolicy, options: { certificate?: Uint8Array } = {}): Promise<{ channel: Uint8Array, channelId: Uint8Array }> {
    const { crypto, randomBytes, node } = this.#ports
    const env = createChannel(crypto, this.#user, policy, randomBytes(16), await node.stamp(), undefined, options.certificate)
    const seq = await this.#ports.reserveSeq(toHex(env.channel))
    if (seq !== 1) throw new UnauthorisedError(`channel ${toHex(env.channel)} already has sequence numbers here`)
    await this.#publish(env)
    await this.maintainEpochs(env.channel)
    await this.editBoard(env.channel, b => { b.setName(board.name); if (board.topic !== undefined) b.setTopic(board.topic) })
    return { channel: env.channel, channelId: env.id }
  }

  /**
   * Adds a member. A new member reads from its join onward (a new epoch is sealed to it,
   * and it gets the board as it stands), unless `shareHistory`: then every epoch key this
   * user holds is sealed to it as well, so it can read the messages still kept under them.
   */
  async addMember (channel: Uint8Array, member: { ed: Uint8Array, x: Uint8Array }, role: Role = 'member', options: { shareHistory?: boolean, certificate?: Uint8Array } = {}): Promise<void> {
    await this.#change(channel, { op: 'add', memberEd: member.ed, memberX: member.x, role, ...(options.certificate !== undefined ? { memberCertificate: options.certificate } : {}) })
    if (options.shareHistory === true) await this.#upkeep.shareKeys(channel, member)
    await this.maintainEpochs(channel)
    const local = this.#local(channel)
    await this.#sendContent(channel, Kind.state, ContentType.yjsUpdate, local.board.snapshot(), Precedence.routine, ttlSecondsMax)
  }

  async removeMember (channel: Uint8Array, memberEd: Uint8Array): Promise<void> {
    const cutSeq = this.#local(channel).highest.get(toHex(authorRef(memberEd))) ?? 0
    await this.#change(channel, { op: 'remove', memberEd, cutSeq })
    await this.maintainEpochs(channel)
  }

  async setRole (channel: Uint8Array, memberEd: Uint8Array, role: Role): Promise<void> {
    await this.#change(channel, { op: 'role', memberEd, role })
  }

  /**
   * Changes the channel's policy (owners only, #25): retention, a legal hold, closing.
   * `edit` gets the current policy and the time this change is stamped at (a close names it).
   */
  async setPolicy (channel: Uint8Array, edit: (current: Policy, nowMs: number) => Policy): Promise<Policy> {
    const current = this.store.state(channel)?.policy
    if (current === undefined) throw new UnauthorisedError('this channel\'s governance has not reached this client yet')
    const policy = edit(current, (await this.#ports.node.stamp()).ms)
    await this.#change(channel, { op: 'policy', policy })
    return policy
  }

  async #change (channel: Uint8Array, change: Change): Promise<void> {
    const { crypto, node } = this.#ports
    const seq = await this.#ports.reserveSeq(toHex(channel))
    const env = signChange(crypto, this.#user, { channel, heads: this.store.heads(channel) }, change, seq, await node.stamp())
    const r = this.#receive(env)
    if (r.type !== 'governance') throw new UnauthorisedError(`this change is not allowed: ${'reason' in r ? r.reason : r.type}`)
    await node.submit(env.bytes)
  }

  /**
   * If this user is an owner or admin and the channel needs a new epoch (none usable, a
   * removed member holds the current one, a member lacks it, or the schedule says so),
   * creates and publishes one sealed to every current member. Returns whether it did.
   */
  async maintainEpochs (channel: Uint8Array): Promise<boolean> {
    return await this.#upkeep.maintain(channel)
  }

  // ---- Content ------------------------------------------------------------------------

  /**
   * Sends a text message. One that does not fit one envelope goes as a long message (#23): a
   * manifest and chunks, like a file, within the channel policy's text limit. Returns the
   * message's envelope (a long message's manifest, whose id names it).
   */
  async sendText (channel: Uint8Array, text: string, options: SendOptions = {}): Promise<Envelope> {
    const payload = utf8(text)
    if (payload.length > contentPayloadBytesMax) {
      const file = { name: longTextName, mediaType: longTextMediaType, content: payload }
      return (await this.#sendPieces(channel, file, FileForm.text, options)).manifest
    }
    return await this.#sendContent(channel, Kind.message, ContentType.text, payload, options.precedence ?? Precedence.routine, options.ttlSeconds ?? 24 * 3600)
  }

  /**
   * Sends a file (#23) within the channel policy's file limit: its manifest first, alone, so a
   * relay that cannot hold the whole file refuses it before any chunk is acknowledged; then its
   * chunks, in batches where the node link takes them (`onProgress` after each).
   */
  async sendFile (channel: Uint8Array, file: FileToSend, options: SendOptions = {}): Promise<{ manifest: Envelope, pieces: number }> {
    return await this.#sendPieces(channel, file, FileForm.file, options)
  }

  async #sendPieces (channel: Uint8Array, file: FileToSend, form: FileForm, options: SendOptions): Promise<{ manifest: Envelope, pieces: number }> {
    const { state, local, sending } = this.#sendingKey(channel)
    const { crypto, node } = this.#ports
    const split = splitForChannel(crypto, state.policy, file, form)
    const count = pieceCount(split)
    const firstSeq = await this.#ports.reserveSeq(toHex(channel), count)
    const author = { publicKey: this.me, privateKey: this.#user.ed25519.privateKey }
    const [manifest, ...chunks] = sealSplit(crypto, { state, sending, channel, author }, split, form, { ...options, hlc: await node.stamp(), firstSeq })
    local.keyring.countMessage(sending.epoch)
    const last = firstSeq + count - 1
    if (last > (local.highest.get(toHex(authorRef(this.me))) ?? 0)) local.highest.set(toHex(authorRef(this.me)), last)
    await this.#publish(manifest)
    let held = 0
    for (let i = 0; i < chunks.length; i += submitBatchEnvelopesMax) {
      const batch = chunks.slice(i, i + submitBatchEnvelopesMax)
      if (node.submitMany !== undefined) await node.submitMany(batch.map(e => e.bytes))
      else for (const env of batch) await node.submit(env.bytes)
      held = Math.min(split.manifest.size, held + batch.length * split.manifest.chunkSize)
      options.onProgress?.(held, split.manifest.size)
    }
    return { manifest, pieces: count }
  }

  async editBoard (channel: Uint8Array, fn: (b: BoardEditor) => void): Promise<Envelope> {
    const update = this.#local(channel).board.edit(fn)
    return await this.#sendContent(channel, Kind.state, ContentType.yjsUpdate, update, Precedence.routine, ttlSecondsMax)
  }

  board (channel: Uint8Array): BoardView { return this.#local(channel).board.view() }

  /** Tells the channel's members (encrypted) which messages reached this user. */
  async sendReceipt (channel: Uint8Array, ids: Uint8Array[]): Promise<Envelope> {
    return await this.#sendContent(channel, Kind.receipt, ContentType.receipt, encodeReceipt(ids), Precedence.routine, 24 * 3600)
  }

  /** Tells the channel's members (encrypted) how much of a file this user holds so far (#23). */
  async sendFileProgress (channel: Uint8Array, file: Uint8Array, heldBytes: number): Promise<Envelope> {
    return await this.#sendContent(channel, Kind.receipt, ContentType.fileProgress, encodeFileProgress({ file, heldBytes }), Precedence.routine, 24 * 3600)
  }

  /**
   * A file's delivery (#23): "delivered to k of N" as `delivery` counts it (a member holds it
   * whole and checked), and, for the others among the N that reported progress, the bytes each
   * holds so far, most first.
   */
  fileDelivery (channel: Uint8Array, file: Uint8Array, author: Uint8Array = this.me): { k: number, n: number, receiving: number[] } {
    const local = this.#channels.get(toHex(channel))
    const { k, n } = this.delivery(channel, file, author)
    const whole = local?.receipts.get(toHex(file))
    const members = this.store.state(channel)?.members
    const authorKey = toHex(authorRef(author))
    // The N: current members other than the author, not yet holding it whole.
    const receiving = local?.progress.receiving(file, ref => ref !== authorKey && members?.has(ref) === true && whole?.has(ref) !== true) ?? []
    return { k, n, receiving }
  }

  /** Whether `reader` (default: this user) sent a receipt naming `id` that reached this client. */
  receiptFrom (channel: Uint8Array, id: Uint8Array, reader: Uint8Array = this.me): boolean {
    return this.#channels.get(toHex(channel))?.receipts.get(toHex(id))?.has(toHex(authorRef(reader))) === true
  }

  /** Tells the channel's members (encrypted) which messages this user has read (shown to them, not only received). */
  async sendRead (channel: Uint8Array, ids: Uint8Array[]): Promise<Envelope> {
    return await this.#sendContent(channel, Kind.receipt, ContentType.read, encodeReceipt(ids), Precedence.routine, 24 * 3600)
  }

  /**
   * "Delivered to k of N": N is the channel's current members other than the message's
   * author; k is how many of them sent a receipt (or a read receipt) for it. So k ≤ N always:
   * the author's own receipt, a repeated one, or one from someone no longer a member does not count.
   */
  delivery (channel: Uint8Array, id: Uint8Array, author: Uint8Array = this.me): { k: number, n: number } {
    return this.#count(channel, this.#channels.get(toHex(channel))?.receipts.get(toHex(id)), author)
  }

  /** "Read by k of N", by the same rule as `delivery`, counting read receipts only. */
  readBy (channel: Uint8Array, id: Uint8Array, author: Uint8Array = this.me): { k: number, n: number } {
    return this.#count(channel, this.#channels.get(toHex(channel))?.reads.get(toHex(id)), author)
  }

  #count (channel: Uint8Array, readers: Set<string> | undefined, author: Uint8Array): { k: number, n: number } {
    const state = this.store.state(channel)
    const authorKey = toHex(authorRef(author))
    let k = 0
    let n = 0
    for (const member of state?.members.keys() ?? []) {
      if (member === authorKey) continue
      n++
      if (readers?.has(member) === true) k++
    }
    return { k, n }
  }

  /** Sets this user's display name in the channel (encrypted; members see it beside this user's messages). */
  async setProfile (channel: Uint8Array, name: string): Promise<Envelope> {
    return await this.#sendContent(channel, Kind.state, ContentType.profile, encodeProfile({ memberEd: this.me, name }), Precedence.routine, ttlSecondsMax)
  }

  /** Display names known in the channel: author reference (hex of the key's first 8 bytes) → name. */
  /** The user certificate a member's create or add carried (#29), if any: whose organisation vouches for them is the reader's call (protocol/org/member.ts). */
  memberCertificate (channel: Uint8Array, ref: string): Uint8Array | undefined {
    return this.#channels.get(toHex(channel))?.certificates.get(ref)
  }

  #noteCertificate (local: ChannelLocal, env: Envelope): void {
    const certified = certifiedMember(decodeChange(env.body)) // the store accepted it, so it decodes
    if (certified !== undefined) local.certificates.set(toHex(authorRef(certified.ed)), certified.certificate)
  }

  profiles (channel: Uint8Array): Map<string, string> {
    return this.#channels.get(toHex(channel))?.profiles.names() ?? new Map()
  }

  /**
   * Sends this user's newest display name again when it went under an older epoch than the
   * one now current: members added since (who read from their epoch on) then see it too.
   * Returns whether it sent one. Call it after a channel's backlog is in, and when keys change.
   */
  async refreshProfile (channel: Uint8Array): Promise<boolean> {
    const state = this.store.state(channel)
    const mine = this.#channels.get(toHex(channel))?.myProfile
    if (state === undefined || mine === undefined || !state.members.has(toHex(authorRef(this.me)))) return false
    const sending = this.#local(channel).keyring.currentForSending([...state.removed.values()].map(r => r.ed))
    if (sending === undefined || sending.epoch <= mine.epoch) return false
    await this.setProfile(channel, mine.name)
    return true
  }

  /** Whether this user can post on the channel now: its governance and a current key have reached this client. */
  canSend (channel: Uint8Array): boolean {
    const state = this.store.state(channel)
    return state !== undefined && this.#local(channel).keyring.currentForSending([...state.removed.values()].map(r => r.ed)) !== undefined
  }

  #sendingKey (channel: Uint8Array): { state: GovernanceState, local: ChannelLocal, sending: { epoch: number, key: Uint8Array } } {
    const state = this.store.state(channel)
    if (state === undefined) throw new UnauthorisedError(`unknown channel ${toHex(channel)}: its governance has not reached this client`)
    const local = this.#local(channel)
    const sending = local.keyring.currentForSending([...state.removed.values()].map(r => r.ed))
    if (sending === undefined) throw new CryptoError('no current key for this channel yet: an owner or admin must create one (their client does it when it next syncs)')
    return { state, local, sending }
  }

  async #sendContent (channel: Uint8Array, kind: Kind, contentType: number, payload: Uint8Array, precedence: Precedence, ttlSeconds: number): Promise<Envelope> {
    const { state, local, sending } = this.#sendingKey(channel)
    const { crypto, node } = this.#ports
    // Independent round trips (a durable write here, the relay's clock there): taken together.
    const [seq, hlc] = await Promise.all([this.#ports.reserveSeq(toHex(channel)), node.stamp()])
    // Relays refuse what asks to live longer than the channel retains (authorise.ts).
    const ttl = Math.min(ttlSeconds, kind === Kind.state ? Math.max(state.policy.retentionSeconds, stateTtlSecondsMin) : state.policy.retentionSeconds)
    const header: ContentHeader = { kind, precedence, channel, author: this.me, seq, epoch: sending.epoch }
    const body = encryptContent(crypto, { channelId: state.channelId, epochKey: sending.key, header, contentType, payload })
    const env = signEnvelope(crypto, { kind, precedence, channel, author: authorRef(this.me), seq, hlc, ttlSeconds: ttl, epoch: sending.epoch, deps: [], body }, this.#user.ed25519.privateKey)
    local.keyring.countMessage(sending.epoch)
    await this.#publish(env)
    return env
  }

  async #publish (env: Envelope): Promise<void> {
    this.#receive(env)
    await this.#ports.node.submit(env.bytes)
  }
}

function note (map: Map<string, Set<string>>, id: Uint8Array, ref: string): void {
  const key = toHex(id)
  const refs = map.get(key) ?? new Set<string>()
  refs.add(ref)
  map.set(key, refs)
}

function headerOf (env: Envelope, authorEd: Uint8Array): ContentHeader {
  return { kind: env.kind, precedence: env.precedence, channel: env.channel, author: authorEd, seq: env.seq, epoch: env.epoch }
}
