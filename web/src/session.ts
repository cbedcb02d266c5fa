/**
 * The unlocked app: one user's channels on this device, driving protocol/'s ChannelClient
 * (the same code as the CLI and the relay) over the relay link, the outbox and the
 * on-device cache. Envelopes from the cache are replayed first (the app reads offline),
 * then each connection subscribes to the user's channels and takes their backlog and live
 * feed; everything the user makes goes to the outbox first, with a sequence number that is
 * durable before use and a timestamp from the relay (or, offline, from a hybrid clock
 * kept near the relay's time). Receipts go out for what arrives; read receipts for what
 * the user has on screen. Views (views.ts) read the state; `changed` listeners re-render.
 *
 * Long messages and files (#23) come as pieces: live, all of them through the subscription;
 * from the backlog (and the cache, which keeps manifests only) just the manifest, so the
 * session fetches the rest with `filePage` (long messages always, files up to
 * `fileAutoFetchBytesMax`; larger ones when the user asks). A long message shows as text once
 * whole; a file's content is kept as a Blob (files.ts) once whole and checked, and only then
 * acknowledged with a receipt.
 *
 * @example
 * const s = await FieldSession.start({ db, crypto, me, url: apiUrl(location), nowMs: Date.now })
 * s.onChange(render)
 * await s.send(channelHex, 'Pump 3 offline', Precedence.flash, 3600)
 */
import { ChannelClient, type Received } from '../../protocol/channel/client.ts'
import type { BoardEditor } from '../../protocol/channel/board.ts'
import type { Role } from '../../protocol/channel/roles.ts'
import { bytesEqual, concatBytes, fromHex, fromUtf8, toHex, utf8 } from '../../protocol/bytes.ts'
import { userCertificateKeys } from '../../protocol/org/member.ts'
import { authorRef, decodeEnvelope, expiresAtMs, Kind, Precedence, type Envelope } from '../../protocol/envelope.ts'
import { isDdilError, LimitError, UsageError } from '../../protocol/errors.ts'
import type { FileProgress } from '../../protocol/files/inbox.ts'
import { FileForm } from '../../protocol/files/piece.ts'
import { compareHlc, HybridClock, type Hlc } from '../../protocol/hlc.ts'
import { fileChunkBytes, receiptIdsMax } from '../../protocol/limits.ts'
import { chunkCountFor, isMediaType } from '../../protocol/files/format.ts'
import type { Crypto } from '../../protocol/ports.ts'
import { formatBytes } from '../../protocol/units.ts'
import type { MessageStatus } from '../../node/api/facade.ts'
import { ApiConnection, type ApiHandlers } from './api.ts'
import { cacheRecord, cachedChannels, loadChannel, pruneChannel, putCached, type CachedEnvelope } from './cache.ts'
import type { Db } from './idb.ts'
import type { Identity } from './keystore.ts'
import { fetchPieces, FileShelf } from './files.ts'
import { backlogMessages, channelListPollMs, channelsFollowedMax, fileAutoFetchBytesMax, fileContentKeptBytesMax, filePageGapMs, fileSendBytesMax, receiptBatchMs } from './limits.ts'
import { RelayLink, type LinkState } from './link.ts'
import { MessageList, type FileView } from './messages.ts'
import { Outbox } from './outbox.ts'
import { randomBytes } from './random.ts'
import { parseUserKey } from './user-key.ts'

export interface SessionDeps {
  db: Db
  crypto: Crypto
  me: Identity
  url: string
  nowMs: () => number
  /** A connection already open (enrolment's), used first. */
  first?: ApiConnection
}

/** A flash message that arrived while the app was connected: what a notification shows. */
export interface FlashNotice { channel: string, channelName: string, author: string, text: string }

export interface ChannelEntry {
  hex: string
  ref: Uint8Array
  messages: MessageList
  /** What the relay's channel list said (role, member count), before governance is in. */
  listed?: { role: Role, members: number }
  /** Hybrid clock of the newest message this user has had on screen. */
  readMark: Hlc
  /** The relay's backlog for this channel is in (on the current connection). */
  loaded: boolean
  /** Why the relay refused this user's own change or keys here (a channel it will not carry, say). */
  refused?: string
}

export class FieldSession {
  readonly me: Identity
  readonly crypto: Crypto
  readonly cc: ChannelClient
  readonly link: RelayLink
  readonly channels = new Map<string, ChannelEntry>()
  /** The relay's last word on the user's own messages, by id hex. */
  readonly relayStatus = new Map<string, MessageStatus>()
  /** Things that went wrong outside any button press (a receipt that could not be sent), newest last. */
  readonly problems: string[] = []
  relayInfo: Record<string, unknown> | undefined
  readonly outbox: Outbox
  readonly #d: SessionDeps
  readonly #seen = new Set<string>()
  readonly #meta = new Map<string, { precedence: Precedence, hlc: Hlc, expiresAtMs: number, authorRef: string }>()
  readonly #listeners = new Set<() => void>()
  readonly #flashListeners = new Set<(n: FlashNotice) => void>()
  readonly #receipts = new Map<string, Set<string>>()
  #receiptTimer: ReturnType<typeof setTimeout> | undefined
  #cacheQueue: CachedEnvelope[] = []
  #cacheTimer: ReturnType<typeof setTimeout> | undefined
  #pollTimer: ReturnType<typeof setInterval> | undefined
  readonly #hlc: HybridClock
  #offsetMs: number
  readonly #loading = new Set<string>()
  readonly #turns = new Map<string, Promise<void>>()
  readonly #files = new FileShelf(fileContentKeptBytesMax)
  /** Files being fetched now (id hex), and the queue they are fetched in, one at a time. */
  readonly #fetching = new Set<string>()
  #fetches: Promise<void> = Promise.resolve()
  readonly #handlers: ApiHandlers = { envelope: (_c, _id, bytes) => { this.#ingest(bytes, true) }, status: (id, s) => { this.#status(id, s) } }

  private constructor (d: SessionDeps, outbox: Outbox, deviceSeed: Uint8Array, offsetMs: number) {
    this.#d = d
    this.me = d.me
    this.crypto = d.crypto
    this.outbox = outbox
    this.#offsetMs = offsetMs
    this.#hlc = new HybridClock(() => d.nowMs() + this.#offsetMs)
    let cc: ChannelClient | undefined
    this.cc = cc = new ChannelClient({
      crypto: d.crypto,
      randomBytes,
      nowMs: d.nowMs,
      deviceSeed,
      node: { submit: async bytes => await this.#submit(bytes), submitMany: async list => { await this.#submitMany(list) }, stamp: async () => await this.#stamp() },
      // Returns the first of `count`: the stored counter moves past them all in one write (a file's pieces).
      reserveSeq: async (hex, count = 1) => await d.db.update<number>('seq', hex, old => Math.max(old ?? 0, (cc as ChannelClient).highestSeq(fromHex(hex), d.me.ed25519.publicKey)) + count) - count + 1,
    }, { ed25519: d.me.ed25519, x25519: d.me.x25519 })
    this.link = new RelayLink({
      url: d.url,
      nowMs: d.nowMs,
      open: async url => await ApiConnection.open(url, { crypto: d.crypto, user: d.me.ed25519, handlers: this.#handlers }),
      online: api => { void this.#online(api) },
      changed: () => { this.#changed() },
    })
  }

  static async start (d: SessionDeps): Promise<FieldSession> {
    const { db } = d
    let seed = await db.get<Uint8Array>('meta', 'deviceSeed')
    if (seed === undefined) { seed = randomBytes(16); await db.put('meta', seed, 'deviceSeed') }
    const s = new FieldSession(d, await Outbox.load(db), seed, await db.get<number>('meta', 'clockOffsetMs') ?? 0)
    const marks = await db.get<Record<string, Hlc>>('meta', 'readMarks') ?? {}
    const statusKeys = await db.keys('mine')
    const statuses = await db.getAll<MessageStatus>('mine')
    statusKeys.forEach((k, i) => s.relayStatus.set(String(k), statuses[i]))
    for (const hex of await cachedChannels(db)) {
      await pruneChannel(db, hex, d.nowMs())
      s.#entry(hex).readMark = marks[hex] ?? { ms: 0, c: 0 }
      for (const r of await loadChannel(db, hex, d.nowMs())) s.#ingest(r.bytes, false, true)
    }
    // The cache keeps no file chunks: the user's own still waiting for the relay are in the outbox.
    for (const o of s.outbox.entries()) if (o.kind === Kind.file) s.#ingest(o.bytes, false, true)
    const refusals = await db.get<Record<string, string>>('meta', 'refusals') ?? {}
    for (const e of s.channels.values()) { e.readMark = marks[e.hex] ?? e.readMark; e.refused = refusals[e.hex] }
    d.first?.attach(s.#handlers)
    s.link.start(d.first)
    return s
  }

  stop (): void {
    this.link.stop()
    clearInterval(this.#pollTimer)
    clearTimeout(this.#receiptTimer)
    void this.#flushCache()
  }

  onChange (fn: () => void): () => void { this.#listeners.add(fn); return () => { this.#listeners.delete(fn) } }
  onFlash (fn: (n: FlashNotice) => void): () => void { this.#flashListeners.add(fn); return () => { this.#flashListeners.delete(fn) } }
  get state (): LinkState { return this.link.state }
  nowMs (): number { return this.#d.nowMs() }
  meta (idHex: string): { precedence: Precedence, hlc: Hlc, expiresAtMs: number, authorRef: string } | undefined { return this.#meta.get(idHex) }

  #changed (): void { for (const fn of this.#listeners) fn() }

  #problem (what: string, e: unknown): void {
    this.problems.push(`${new Date(this.#d.nowMs()).toLocaleTimeString()}: ${what}: ${(e as Error).message}`)
    if (this.problems.length > 20) this.problems.shift()
    this.#changed()
  }

  #entry (hex: string): ChannelEntry {
    let e = this.channels.get(hex)
    if (e === undefined) {
      e = { hex, ref: fromHex(hex), messages: new MessageList(), readMark: { ms: 0, c: 0 }, loaded: false }
      this.channels.set(hex, e)
    }
    return e
  }

  // ---- Ingest --------------------------------------------------------------------------

  /** One envelope from the relay or the cache (never twice per session). */
  #ingest (bytes: Uint8Array, live: boolean, fromCache = false): void {
    let env: Envelope
    try {
      env = decodeEnvelope(bytes, b => this.crypto.sha256(b))
    } catch (e) {
      this.#problem('the relay sent an envelope that does not decode', e)
      return
    }
    const id = toHex(env.id)
    // A file's pieces may come again (fetched after arriving in part): the channel client counts
    // each once, and a file already whole drops them. Chunk ids are not remembered (a file has thousands).
    const piece = env.kind === Kind.file
    if (piece && this.#files.isDone(toHex(env.deps[0] ?? env.id))) return
    const first = !this.#seen.has(id)
    if (!piece && !first) return
    if (!piece || env.deps.length === 0) this.#seen.add(id)
    this.#note(env)
    const results = this.cc.receiveAll(bytes)
    for (const r of results) this.#apply(r, live && !this.#loading.has(toHex(env.channel)))
    // The cache keeps manifests, not chunks: a 25 MB file's 22,000 would push out everything else.
    if (!fromCache && first && results[0].type !== 'refused' && !(piece && env.deps.length > 0)) this.#cache(cacheRecord(env))
    this.#changed()
  }

  /** What the screen shows of a message, or of a file by its manifest. */
  #note (env: Envelope): void {
    if (env.kind === Kind.message || (env.kind === Kind.file && env.deps.length === 0)) {
      this.#meta.set(toHex(env.id), { precedence: env.precedence, hlc: env.hlc, expiresAtMs: expiresAtMs(env), authorRef: toHex(env.author) })
    }
  }

  /** One result of the channel client; `own`: it is an envelope this user just made (the channel client keeps its own epochs current). */
  #apply (r: Received, live: boolean, own = false): void {
    const hex = toHex(r.channel)
    const entry = this.#entry(hex)
    const id = toHex(r.id)
    const meta = this.#meta.get(id)
    if (r.type === 'text') {
      const mine = bytesEqual(r.author, this.me.ed25519.publicKey)
      entry.messages.put({ id, kind: 'text', authorRef: toHex(authorRef(r.author)), mine, precedence: r.precedence as Precedence, hlc: r.hlc, expiresAtMs: meta?.expiresAtMs ?? 0, text: r.text, reason: '' })
      if (!mine && !this.cc.receiptFrom(r.channel, r.id)) this.#queueReceipt(hex, id)
      if (live && !mine && r.precedence === Precedence.flash) this.#flash(entry, r.author, r.text)
      return
    }
    if (r.type === 'file') { this.#applyFile(entry, r, live); return }
    if ((r.type === 'held' || r.type === 'refused') && (r.kind === Kind.message || r.kind === Kind.file) && meta !== undefined) {
      const kind = r.type === 'refused' ? 'refused' : r.unreadable ? 'unreadable' : 'waiting'
      entry.messages.put({ id, kind, authorRef: meta.authorRef, mine: meta.authorRef === toHex(authorRef(this.me.ed25519.publicKey)), precedence: meta.precedence, hlc: meta.hlc, expiresAtMs: meta.expiresAtMs, text: '', reason: r.reason })
      return
    }
    if (r.type === 'governance' && entry.loaded && !own) this.#maintain(entry)
  }

  /**
   * One piece of a long message or file. Once whole, its content leaves the channel client: a
   * long message becomes a text item, a file's content is kept to show; either is acknowledged
   * then (a receipt says delivered, so never for part of a file). Until then the item shows
   * how much is here.
   */
  #applyFile (entry: ChannelEntry, r: Extract<Received, { type: 'file' }>, live: boolean): void {
    const p = r.progress
    const m = p.manifest
    if (m === undefined) return
    const id = toHex(r.file)
    const mine = bytesEqual(r.author, this.me.ed25519.publicKey)
    const base = { id, authorRef: toHex(authorRef(r.author)), mine, precedence: r.precedence as Precedence, hlc: r.hlc, expiresAtMs: this.#meta.get(id)?.expiresAtMs ?? 0, text: '', reason: '' }
    if (p.state === 'complete' || p.state === 'failed') {
      const content = p.state === 'complete' ? this.cc.fileContent(r.file) : undefined
      this.cc.forgetFile(r.file)
      if (content !== undefined && p.form === FileForm.text) {
        this.#files.done(id)
        const text = fromUtf8(content)
        entry.messages.put({ ...base, kind: 'text', text })
        if (live && !mine && r.precedence === Precedence.flash) this.#flash(entry, r.author, text)
      } else {
        if (content === undefined) this.#files.done(id)
        else for (const gone of this.#files.keep(id, entry.hex, content, m.mediaType)) this.#letGo(gone.channel, gone.id)
        entry.messages.put({ ...base, kind: 'file', file: fileView(p, p.state) })
      }
      if (content !== undefined && !mine && !this.cc.receiptFrom(r.channel, r.file)) this.#queueReceipt(entry.hex, id)
      return
    }
    // Arriving: live, fetched, or the user's own (its pieces are being made here).
    const view = fileView(p, live || mine || this.#fetching.has(id) ? 'arriving' : 'not-fetched')
    const old = entry.messages.get(id)?.file
    // A re-render per whole percent, not per piece: a 25 MB file has 22,000.
    if (old !== undefined && old.state === view.state && Math.floor(old.heldBytes * 100 / old.size) === Math.floor(view.heldBytes * 100 / view.size)) return
    entry.messages.put({ ...base, kind: 'file', file: view })
  }

  /** A whole file let go from memory (to keep others): it shows as not fetched, fetched again when asked. */
  #letGo (hex: string, id: string): void {
    const list = this.channels.get(hex)?.messages
    const item = list?.get(id)
    if (item?.file === undefined) return
    list?.put({ ...item, file: { ...item.file, heldBytes: 0, state: 'not-fetched' } })
  }

  /**
   * Asks the relay again what it says of itself (its status: the organisations it accepts,
   * #29), e.g. when the members view opens: its operator may have cut a partner off since.
   */
  async refreshRelayInfo (): Promise<void> {
    const api = this.link.api
    if (api === undefined) return
    this.relayInfo = await api.status()
    this.#changed()
  }

  /** The content of a whole file this session holds (images and download links are made from it). */
  fileBlob (idHex: string): Blob | undefined { return this.#files.blob(idHex) }

  /** Fetches a file's pieces from the relay (the user asked, or it is small enough to fetch unasked). */
  async fetchFile (hex: string, idHex: string): Promise<void> {
    const api = this.link.api
    if (api === undefined) throw new UsageError('The relay is unreachable: ask again once it is back.')
    await this.#fetch(api, hex, idHex)
  }

  /** Queues a file's fetch after those before it; resolves when it is done (or failed). */
  #fetch (api: ApiConnection, hex: string, idHex: string): Promise<void> {
    const run = this.#fetches.then(async () => {
      if (this.#files.isDone(idHex) || this.#fetching.has(idHex) || !api.open) return
      this.#fetching.add(idHex)
      this.#refreshFile(hex, idHex)
      try {
        const wait = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, filePageGapMs)) }
        await fetchPieces(api, fromHex(hex), fromHex(idHex), bytes => { this.#ingest(bytes, false) }, () => this.#files.isDone(idHex), wait)
      } finally {
        this.#fetching.delete(idHex)
        this.#refreshFile(hex, idHex)
      }
    })
    this.#fetches = run.catch(() => undefined)
    return run
  }

  /** A file item still arriving shows whether something is fetching it. */
  #refreshFile (hex: string, idHex: string): void {
    const p = this.cc.fileProgress(fromHex(idHex))
    const item = this.channels.get(hex)?.messages.get(idHex)
    if (p?.manifest === undefined || item?.kind !== 'file' || p.state === 'complete' || p.state === 'failed') return
    this.channels.get(hex)?.messages.put({ ...item, file: fileView(p, this.#fetching.has(idHex) ? 'arriving' : 'not-fetched') })
    this.#changed()
  }

  /** After a channel's backlog: fetches what came as a manifest only, long messages always, files up to the bound. */
  #fetchWanted (api: ApiConnection, e: ChannelEntry): void {
    for (const m of e.messages.sorted()) {
      const f = m.file
      // Arriving but not fetched: its live pieces stopped with the last connection.
      const wanted = f?.state === 'not-fetched' || (f?.state === 'arriving' && !this.#fetching.has(m.id))
      if (m.kind !== 'file' || f === undefined || !wanted || (f.form === 'file' && f.size > fileAutoFetchBytesMax)) continue
      this.#fetch(api, e.hex, m.id).catch((err: unknown) => { if (api.open) this.#problem(`fetching ${f.form === 'text' ? 'a long message' : f.name} failed`, err) })
    }
  }

  #flash (entry: ChannelEntry, author: Uint8Array, text: string): void {
    const names = this.cc.profiles(entry.ref)
    const notice: FlashNotice = { channel: entry.hex, channelName: this.cc.board(entry.ref).name, author: names.get(toHex(authorRef(author))) ?? toHex(authorRef(author)).slice(0, 8), text }
    for (const fn of this.#flashListeners) fn(notice)
  }

  #status (id: Uint8Array, s: MessageStatus): void {
    const hex = toHex(id)
    if (!this.#meta.has(hex)) return // receipts, keys, board: their relay status is not shown
    this.relayStatus.set(hex, s)
    this.#d.db.put('mine', s, hex).catch((e: unknown) => { this.#problem('could not keep a message status on the device', e) })
    this.#changed()
  }

  #cache (r: CachedEnvelope): void {
    this.#cacheQueue.push(r)
    this.#cacheTimer ??= setTimeout(() => { void this.#flushCache() }, 200)
  }

  async #flushCache (): Promise<void> {
    this.#cacheTimer = undefined
    const batch = this.#cacheQueue
    this.#cacheQueue = []
    await putCached(this.#d.db, batch).catch((e: unknown) => { this.#problem('could not keep envelopes on the device', e) })
  }

  // ---- The relay -----------------------------------------------------------------------

  async #online (api: ApiConnection): Promise<void> {
    for (const e of this.channels.values()) e.loaded = false
    try {
      this.relayInfo = await api.status()
      await this.#pump(api)
      await this.#refreshChannels(api)
    } catch (e) {
      if (api.open) this.#problem('syncing with the relay failed', e)
      return
    }
    clearInterval(this.#pollTimer)
    this.#pollTimer = setInterval(() => {
      if (!api.open) { clearInterval(this.#pollTimer); return }
      this.#refreshChannels(api).catch((e: unknown) => { if (api.open) this.#problem('asking the relay for the channel list failed', e) })
    }, channelListPollMs)
  }

  async #pump (api: ApiConnection): Promise<void> {
    const before = this.outbox.size
    await this.outbox.pump(api, {
      submitted: entry => { if (this.#meta.has(entry.id) && !this.relayStatus.has(entry.id)) this.#status(fromHex(entry.id), { state: 'queued' }) },
      refused: (entry, _code, reason) => {
        if (entry.kind === Kind.governance || entry.kind === Kind.keys) this.#channelRefused(entry.channel, reason)
        this.#status(fromHex(entry.id), { state: 'refused', reason })
      },
    })
    if (this.outbox.size !== before) this.#changed()
  }

  #channelRefused (hex: string, reason: string): void {
    const e = this.#entry(hex)
    if (e.refused !== undefined) return
    e.refused = reason
    const all = Object.fromEntries([...this.channels.values()].filter(c => c.refused !== undefined).map(c => [c.hex, c.refused]))
    this.#d.db.put('meta', all, 'refusals').catch((err: unknown) => { this.#problem('could not keep a refusal on the device', err) })
  }

  /** Asks which channels the user belongs to and follows each (up to the API's subscription bound). */
  async #refreshChannels (api: ApiConnection): Promise<void> {
    for (const c of await api.channels()) this.#entry(toHex(c.channel)).listed = { role: c.role, members: c.members }
    const follow = [...this.channels.values()].filter(e => !e.loaded && !this.#loading.has(e.hex)).slice(0, channelsFollowedMax)
    for (const e of follow) await this.#follow(api, e)
    this.#changed()
  }

  async #follow (api: ApiConnection, e: ChannelEntry): Promise<void> {
    this.#loading.add(e.hex)
    try {
      await api.subscribe(e.ref, backlogMessages)
    } finally {
      this.#loading.delete(e.hex)
    }
    e.loaded = true
    this.#maintain(e)
    this.#fetchWanted(api, e)
  }

  /**
   * After a channel's backlog and after governance changes: an owner or admin keeps the
   * epoch current (a new one when a member was removed or added), a member makes sure the
   * others can read their display name.
   */
  #maintain (e: ChannelEntry): void {
    this.#serial(e.hex, async () => { if (await this.#upkeep(e.ref)) this.#afterLocal() }, `keeping channel ${e.hex.slice(0, 8)} current`)
  }

  /** The upkeep itself, in the channel's turn; returns whether it sent anything. */
  async #upkeep (ref: Uint8Array): Promise<boolean> {
    const myRef = toHex(authorRef(this.me.ed25519.publicKey))
    if (this.cc.state(ref)?.members.has(myRef) !== true) return false
    const sent = await this.cc.maintainEpochs(ref)
    if (!this.cc.profiles(ref).has(myRef)) { await this.cc.setProfile(ref, this.me.name); return true }
    return await this.cc.refreshProfile(ref) || sent
  }

  /** A change of this user's that may need a new epoch, then the channel's upkeep, in the channel's turn. */
  async #change (hex: string, change: (ref: Uint8Array) => Promise<void>): Promise<void> {
    await this.#inTurn(hex, async () => {
      await change(fromHex(hex))
      await this.#upkeep(fromHex(hex))
    })
    this.#afterLocal()
  }

  /** Runs upkeep after the channel's previous upkeep or change: two at once would both seal a new epoch. */
  #serial (hex: string, fn: () => Promise<void>, what: string): void {
    void this.#inTurn(hex, fn).catch((err: unknown) => { this.#problem(`${what} failed`, err) })
  }

  /** Runs `fn` once everything queued for the channel before it is done; its result and error go to the caller. */
  async #inTurn<T> (hex: string, fn: () => Promise<T>): Promise<T> {
    const run = (this.#turns.get(hex) ?? Promise.resolve()).then(fn)
    this.#turns.set(hex, run.then(() => undefined, () => undefined))
    return await run
  }

  // ---- Ports of the channel client ------------------------------------------------------

  async #submit (bytes: Uint8Array): Promise<{ id: Uint8Array }> {
    const env = this.#own(bytes)
    await this.outbox.add(env, cacheRecord(env), this.#d.nowMs())
    this.#changed()
    return { id: env.id }
  }

  /** A file's chunks (#23): shown here, then kept in the outbox in one write (not cached: the relay serves them again). */
  async #submitMany (list: Uint8Array[]): Promise<void> {
    const envs = list.map(bytes => this.#own(bytes))
    await this.outbox.addBatch(envs, this.#d.nowMs())
    this.#changed()
  }

  /** An envelope this user made, into the channel client and the views. */
  #own (bytes: Uint8Array): Envelope {
    const env = decodeEnvelope(bytes, b => this.crypto.sha256(b))
    const id = toHex(env.id)
    if (!this.#seen.has(id)) {
      if (env.kind !== Kind.file || env.deps.length === 0) this.#seen.add(id)
      this.#note(env)
      for (const r of this.cc.receiveAll(bytes)) this.#apply(r, false, true)
    }
    return env
  }

  async #stamp (): Promise<Hlc> {
    const api = this.link.api
    if (api !== undefined) {
      try {
        const stamp = await api.stamp()
        const offset = stamp.ms - this.#d.nowMs()
        if (Math.abs(offset - this.#offsetMs) > 1000) {
          this.#offsetMs = offset
          void this.#d.db.put('meta', offset, 'clockOffsetMs').catch((e: unknown) => { this.#problem('could not keep the relay\'s clock offset', e) })
        }
        this.#hlc.observe(stamp)
        return stamp
      } catch (e) {
        if (api.open) throw e
      }
    }
    return this.#hlc.now()
  }

  /** Something the user did went into the outbox: send it now if the relay is there. */
  #afterLocal (): void {
    this.#changed()
    const api = this.link.api
    if (api !== undefined) this.#pump(api).catch((e: unknown) => { this.#problem('sending to the relay failed', e) })
  }

  // ---- Receipts ------------------------------------------------------------------------

  #queueReceipt (hex: string, id: string): void {
    const set = this.#receipts.get(hex) ?? new Set<string>()
    set.add(id)
    this.#receipts.set(hex, set)
    this.#receiptTimer ??= setTimeout(() => { void this.#sendReceipts() }, receiptBatchMs)
  }

  async #sendReceipts (): Promise<void> {
    this.#receiptTimer = undefined
    const all = [...this.#receipts]
    this.#receipts.clear()
    for (const [hex, ids] of all) {
      if (!this.#isMember(hex)) continue
      await this.#inChunks([...ids], chunk => this.cc.sendReceipt(fromHex(hex), chunk)).catch((e: unknown) => { this.#problem('a delivery receipt could not be sent', e) })
    }
    this.#afterLocal()
  }

  async #inChunks (ids: string[], send: (chunk: Uint8Array[]) => Promise<unknown>): Promise<void> {
    for (let i = 0; i < ids.length; i += receiptIdsMax) await send(ids.slice(i, i + receiptIdsMax).map(fromHex))
  }

  #isMember (hex: string): boolean {
    return this.cc.state(fromHex(hex))?.members.has(toHex(authorRef(this.me.ed25519.publicKey))) === true
  }

  /** The user has the channel on screen: everything shown is read (read receipts go out, the unread count drops). */
  async markRead (hex: string): Promise<void> {
    const e = this.channels.get(hex)
    if (e === undefined) return
    const unread = e.messages.unreadAfter(e.readMark)
    const newest = e.messages.sorted().at(-1)
    if (newest === undefined || compareHlc(newest.hlc, e.readMark) <= 0) return
    e.readMark = newest.hlc
    const marks = Object.fromEntries([...this.channels.values()].map(c => [c.hex, c.readMark]))
    await this.#d.db.put('meta', marks, 'readMarks')
    if (unread.length > 0 && this.#isMember(hex)) await this.#inChunks(unread.map(m => m.id), chunk => this.cc.sendRead(e.ref, chunk))
    this.#afterLocal()
  }

  // ---- What the user does ------------------------------------------------------------------

  async createChannel (name: string, topic: string): Promise<string> {
    const { channel } = await this.cc.createChannel({ name, topic: topic === '' ? undefined : topic })
    const hex = toHex(channel)
    await this.cc.setProfile(channel, this.me.name)
    const entry = this.#entry(hex)
    entry.readMark = { ms: 0, c: 0 }
    this.#afterLocal()
    const api = this.link.api
    if (api !== undefined) await this.#follow(api, entry).catch((e: unknown) => { this.#problem('following the new channel failed', e) })
    return hex
  }

  async send (hex: string, text: string, precedence: Precedence, ttlSeconds: number): Promise<void> {
    if (text.trim() === '') throw new UsageError('Write something first.')
    // A long message goes as pieces (#23): all of them must fit the outbox, or none is made.
    const chunks = chunkCountFor(utf8(text).length, fileChunkBytes)
    if (chunks > 1 && !this.outbox.fits(chunks, true)) throw new LimitError('too much is already waiting on this device for the relay to add this long message; wait until it is reachable')
    await this.cc.sendText(fromHex(hex), text, { precedence, ttlSeconds })
    this.#afterLocal()
  }

  /**
   * Sends a file (#23), the text as its caption. Like a message it is kept on the device first,
   * all of it (the outbox takes its chunks in one write), then goes to the relay: the manifest
   * alone, so a relay that cannot hold the whole file refuses it before any chunk is sent, then
   * the chunks in batches.
   */
  async sendFile (hex: string, file: { name: string, mediaType: string, content: Uint8Array, caption?: string }, precedence: Precedence, ttlSeconds: number): Promise<void> {
    const size = file.content.length
    if (size > fileSendBytesMax) throw new LimitError(`${file.name} is ${formatBytes(size)}: the app sends files up to ${formatBytes(fileSendBytesMax)}`)
    if (!this.outbox.fits(chunkCountFor(size, fileChunkBytes), true)) throw new LimitError('too much is already waiting on this device for the relay to add this file; wait until it has it')
    // A media type the manifest cannot carry ("text/plain; charset=utf-8", none at all) goes as plain bytes.
    const mediaType = isMediaType(file.mediaType) ? file.mediaType : 'application/octet-stream'
    await this.cc.sendFile(fromHex(hex), { ...file, mediaType }, { precedence, ttlSeconds })
    this.#afterLocal()
  }

  /**
   * Adds a member by their `ddil1:` key; `shareHistory` seals the keys this user holds to them
   * too, so they read what is still kept. `certificate` (#29): their user certificate from their
   * organisation, which must name that key; relays judge it and members see whose user they are.
   */
  async addMember (hex: string, keyText: string, role: Role, shareHistory = false, certificate?: Uint8Array): Promise<void> {
    const key = parseUserKey(this.crypto, keyText)
    if ('problem' in key) throw new UsageError(key.problem)
    if (certificate !== undefined && !bytesEqual(userCertificateKeys(certificate).subject, concatBytes([key.ed, key.x]))) throw new UsageError('That certificate is for another user than the key given.')
    await this.#change(hex, async ref => { await this.cc.addMember(ref, { ed: key.ed, x: key.x }, role, { shareHistory, ...(certificate !== undefined ? { certificate } : {}) }) })
  }

  async removeMember (hex: string, ed: Uint8Array): Promise<void> {
    await this.#change(hex, async ref => { await this.cc.removeMember(ref, ed) })
  }

  async setRole (hex: string, ed: Uint8Array, role: Role): Promise<void> {
    await this.#change(hex, async ref => { await this.cc.setRole(ref, ed, role) })
  }

  async editBoard (hex: string, fn: (b: BoardEditor) => void): Promise<void> {
    await this.cc.editBoard(fromHex(hex), fn)
    this.#afterLocal()
  }

  async setName (hex: string, name: string): Promise<void> {
    await this.cc.setProfile(fromHex(hex), name)
    this.#afterLocal()
  }

  /** The user's messages still on the device (receipts, keys and board edits waiting too are not counted: people post messages). */
  waitingMessages (): number {
    return this.outbox.entries().filter(e => e.kind === Kind.message || (e.kind === Kind.file && e.file === undefined)).length
  }

  /** Tries to reach the relay now. */
  retry (): void { this.link.retry() }
}

function fileView (p: FileProgress, state: FileView['state']): FileView {
  const m = p.manifest as NonNullable<FileProgress['manifest']>
  const view: FileView = { form: p.form === FileForm.text ? 'text' : 'file', name: m.name, mediaType: m.mediaType, size: m.size, caption: m.caption, heldBytes: p.heldBytes, state }
  if (p.problem !== undefined) view.problem = p.problem
  return view
}

export function errorText (e: unknown): string {
  return isDdilError(e) || e instanceof Error ? e.message : String(e)
}
