/**
 * What `ddil tail` shows of one channel, kept across reconnects: each readable message
 * once, oldest first; for the user's own messages "delivered to k of N", printed again
 * whenever a receipt changes it; plain notes for what cannot be read; and which messages
 * still need this user's receipt. The channel client (new on each connection) decides
 * what an envelope is; this decides what the person sees.
 *
 * @example
 * const view = new TailView({ me, json: false, write, note })
 * view.take(cc, channel, received, live)   // for each envelope of the backlog, then live
 * view.backlogDone(cc, channel)            // prints the backlog; returns ids to acknowledge
 */
import { fromUtf8, toHex } from '../../protocol/bytes.ts'
import type { FileProgress } from '../../protocol/files/inbox.ts'
import { FileForm } from '../../protocol/files/piece.ts'
import { formatBytes } from '../../protocol/units.ts'
import type { ChannelClient, Received } from '../../protocol/channel/client.ts'
import { authorRef, Kind, precedenceNames } from '../../protocol/envelope.ts'
import { compareHlc } from '../../protocol/hlc.ts'

/** What tail prints as one message: a text, a long message once whole, or a file's line (`file` set). */
type Text = Pick<Extract<Received, { type: 'text' }>, 'id' | 'author' | 'seq' | 'precedence' | 'hlc' | 'text'> & { file?: Uint8Array }
type FilePiece = Extract<Received, { type: 'file' }>

/** Files in a backlog up to this size are fetched whole, so tail can show them complete (and acknowledge them); larger ones wait for `ddil get`. */
export const tailFetchBytesMax = 2 * 1000 * 1000

export interface TailViewDeps {
  /** This user's Ed25519 public key. */
  me: Uint8Array
  json: boolean
  /** A line for the person (stdout). */
  write: (line: string) => void
  /** A remark about the view, not a message (stderr in JSON mode, so the stream stays one object a line). */
  note: (line: string) => void
  /** Tell the file's sender how much of it is here (at each quarter while it arrives, #23). */
  report?: (channel: Uint8Array, file: Uint8Array, heldBytes: number) => void
}

export class TailView {
  readonly #d: TailViewDeps
  readonly #me: string
  readonly #printed = new Set<string>()
  /** Our own messages shown → the status last shown for each. */
  readonly #mine = new Map<string, { text: Text, status: string }>()
  /** Messages of others shown that this run has acknowledged. */
  readonly #acknowledged = new Set<string>()
  #backlog: Text[] = []
  readonly #unreadable = new Set<string>()
  readonly #waiting = new Set<string>()
  #member: boolean | undefined
  /** Files shown: id hex → the quarter of their size last reported (4 once complete). */
  readonly #files = new Map<string, number>()
  /** Backlog files to fetch whole before the backlog is printed. */
  readonly #wanted = new Map<string, Uint8Array>()
  /** Backlog files fetched (or being fetched): their line says how much of them is here. */
  readonly #wantedOnce = new Set<string>()

  constructor (deps: TailViewDeps) {
    this.#d = deps
    this.#me = toHex(deps.me)
  }

  /** One received item. Backlog texts are kept until `backlogDone`; live ones print at once. Returns ids to acknowledge now. */
  take (cc: ChannelClient, channel: Uint8Array, r: Received, live: boolean): Uint8Array[] {
    switch (r.type) {
      case 'text':
        this.#unreadable.delete(toHex(r.id)); this.#waiting.delete(toHex(r.id))
        if (!live) { this.#backlog.push(r); return [] }
        return this.#show(cc, channel, r)
      case 'receipt':
      case 'read': // a read implies delivered: it moves "delivered to k of N" too
        if (live) this.#refreshMine(cc, channel, r.ids)
        return []
      case 'held':
        if (r.kind !== Kind.message) return []
        if (live) this.#d.note(r.unreadable ? 'a message arrived that you cannot read: it was sealed to members that do not include you' : 'a message arrived whose keys have not reached this relay yet; it is shown when they do')
        else (r.unreadable ? this.#unreadable : this.#waiting).add(toHex(r.id))
        return []
      case 'governance':
        if (live) this.#checkMembership(cc, channel)
        return []
      case 'file':
        return this.#takeFile(cc, channel, r, live)
      case 'progress': // a recipient's bytes so far move our file's status
        if (live) this.#refreshMine(cc, channel, [r.file])
        return []
      default:
        return []
    }
  }

  /**
   * One piece of a file or long message. A long message is shown once whole, as text. A file
   * is shown at its manifest (name, type, size); while followed, its progress at this relay is
   * noted at each quarter, and it is acknowledged once whole and checked.
   */
  #takeFile (cc: ChannelClient, channel: Uint8Array, r: FilePiece, live: boolean): Uint8Array[] {
    const p = r.progress
    const manifest = p.manifest
    if (manifest === undefined) return []
    const key = toHex(r.file)
    const base = { id: r.file, author: r.author, precedence: r.precedence, hlc: r.hlc, seq: r.piece === 0 ? r.seq : r.seq - r.piece }
    if (p.form === FileForm.text) {
      if (p.state !== 'complete' || this.#printed.has(key)) {
        if (!live && p.state === 'incomplete') this.#wanted.set(key, r.file)
        return []
      }
      const shown = { ...base, text: fromUtf8(cc.fileContent(r.file)) }
      cc.forgetFile(r.file)
      if (!live) { this.#backlog.push(shown); return [] }
      return this.#show(cc, channel, shown)
    }
    if (!this.#files.has(key)) {
      this.#files.set(key, 0)
      const shown = { ...base, text: describeFile(p, 'here'), file: r.file }
      if (!live) {
        if (p.state === 'incomplete' && manifest.size <= tailFetchBytesMax) { this.#wanted.set(key, r.file); this.#wantedOnce.add(key) }
        this.#backlog.push(shown)
        return []
      }
      return this.#show(cc, channel, shown)
    }
    const quarter = p.state === 'complete' ? 4 : Math.floor((p.heldBytes / manifest.size) * 4)
    if (!live || quarter <= (this.#files.get(key) ?? 0)) return []
    this.#files.set(key, quarter)
    // Your own file's pieces come back from your relay: its status line says how far it got.
    if (toHex(r.author) === this.#me) { if (p.state === 'complete') cc.forgetFile(r.file); return [] }
    if (p.state === 'failed') { this.#d.note(`${manifest.name} does not match its manifest: ${p.problem ?? 'hash check failed'}`); return [] }
    if (p.state !== 'complete') {
      this.#d.note(`${manifest.name}: ${formatBytes(p.heldBytes)} of ${formatBytes(manifest.size)} at your relay`)
      this.#d.report?.(channel, r.file, p.heldBytes)
      return []
    }
    this.#d.note(`${manifest.name} complete (${formatBytes(manifest.size)}, hash checked): ddil get ${toHex(channel)} ${key.slice(0, 16)}`)
    cc.forgetFile(r.file)
    return this.#acknowledge(cc, channel, r.file, r.author)
  }

  /** Backlog files and long messages to fetch whole before `backlogDone` (tail.ts fetches them through this view). */
  wanted (): Uint8Array[] {
    const out = [...this.#wanted.values()]
    this.#wanted.clear()
    return out
  }

  /** The backlog is in: prints it oldest first with current statuses, and says what it could not show. Returns ids to acknowledge. */
  backlogDone (cc: ChannelClient, channel: Uint8Array): Uint8Array[] {
    const texts = this.#backlog.sort((a, b) => compareHlc(a.hlc, b.hlc))
    this.#backlog = []
    const ack = texts.flatMap(r => this.#show(cc, channel, r))
    this.#refreshMine(cc, channel)
    const unreadable = this.#unreadable.size
    if (unreadable > 0) this.#d.note(`${plural(unreadable, 'earlier message')} ${unreadable === 1 ? 'was' : 'were'} sealed before you could read this channel: a member added later reads from then on, unless an owner adds them with --share-history`)
    if (this.#waiting.size > 0) this.#d.note(`${plural(this.#waiting.size, 'message')} ${this.#waiting.size === 1 ? 'waits' : 'wait'} for keys that have not reached this relay yet`)
    this.#unreadable.clear(); this.#waiting.clear()
    this.#checkMembership(cc, channel)
    return ack
  }

  #show (cc: ChannelClient, channel: Uint8Array, shown: Text): Uint8Array[] {
    const key = toHex(shown.id)
    if (this.#printed.has(key)) return []
    this.#printed.add(key)
    // A file's line says how much of it is here now (a backlog file may have been fetched since it was listed).
    const progress = shown.file === undefined ? undefined : cc.fileProgress(shown.file)
    const mineShown = toHex(shown.author) === this.#me
    const r = progress?.manifest === undefined ? shown : { ...shown, text: describeFile(progress, mineShown ? 'mine' : this.#wantedOnce.has(key) || progress.state !== 'incomplete' ? 'here' : 'unfetched') }
    if (toHex(r.author) === this.#me) {
      const status = statusText(cc, channel, r)
      this.#mine.set(key, { text: r, status })
      this.#print(r, status)
      return []
    }
    this.#print(r, 'received')
    if (r.file !== undefined) {
      // A file counts as delivered only when all of it is here and checked.
      if (cc.fileProgress(r.file)?.state !== 'complete') return []
      this.#files.set(key, 4)
      cc.forgetFile(r.file)
    }
    return this.#acknowledge(cc, channel, r.id, r.author)
  }

  #acknowledge (cc: ChannelClient, channel: Uint8Array, id: Uint8Array, author: Uint8Array): Uint8Array[] {
    const key = toHex(id)
    if (toHex(author) === this.#me || this.#acknowledged.has(key) || cc.receiptFrom(channel, id)) return []
    this.#acknowledged.add(key)
    return [id]
  }

  /** Prints our messages whose "delivered to k of N" changed (among `ids`, or all). */
  #refreshMine (cc: ChannelClient, channel: Uint8Array, ids?: Uint8Array[]): void {
    const keys = ids === undefined ? [...this.#mine.keys()] : ids.map(toHex).filter(k => this.#mine.has(k))
    for (const key of keys) {
      const mine = this.#mine.get(key) as { text: Text, status: string }
      const status = statusText(cc, channel, mine.text)
      if (status === mine.status) continue
      mine.status = status
      this.#print(mine.text, status, true)
    }
  }

  #checkMembership (cc: ChannelClient, channel: Uint8Array): void {
    const member = cc.state(channel)?.members.has(toHex(authorRef(this.#d.me))) === true
    if (this.#member === true && !member) this.#d.note('you are no longer a member of this channel: new messages use a key you do not have')
    this.#member = member
  }

  #print (r: Text, status: string, update = false): void {
    const mine = toHex(r.author) === this.#me
    const line = { id: toHex(r.id), time: new Date(r.hlc.ms).toISOString(), author: toHex(r.author).slice(0, 16), seq: r.seq, precedence: precedenceNames[r.precedence], text: r.text, status }
    if (this.#d.json) { this.#d.write(JSON.stringify(update ? { ...line, update: true } : line)); return }
    if (update) { this.#d.write(`${new Date().toISOString()}  status  ${line.id.slice(0, 8)} "${clip(r.text)}"  now ${status}`); return }
    this.#d.write(`${line.time}  ${line.author.slice(0, 8)}${mine ? ' (you)' : ''}  [${line.precedence}]  ${r.text}  (${status})`)
  }
}

function statusText (cc: ChannelClient, channel: Uint8Array, r: Text): string {
  if (r.file === undefined) {
    const d = cc.delivery(channel, r.id, r.author)
    return `delivered to ${d.k} of ${d.n}`
  }
  // A file: whole at k of N, and how far it has reached each other recipient that said so.
  const d = cc.fileDelivery(channel, r.file, r.author)
  const size = cc.fileProgress(r.file)?.totalBytes
  const receiving = d.receiving.length === 0 ? '' : `; receiving: ${d.receiving.map(b => formatBytes(b)).join(', ')}${size === undefined ? '' : ` of ${formatBytes(size)}`}`
  return `delivered to ${d.k} of ${d.n}${receiving}`
}

/**
 * A file's line: name, type, size, and how much of it is here: 'here' for a file fetched or
 * arriving, 'unfetched' for a backlog file too large to fetch for a listing (`ddil get` does),
 * 'mine' for the user's own (its status says whether it was delivered).
 */
function describeFile (p: FileProgress, view: 'here' | 'unfetched' | 'mine'): string {
  const m = p.manifest as NonNullable<FileProgress['manifest']>
  const held = view === 'mine' ? 'sent' : p.state === 'complete' ? 'complete' : p.state === 'failed' ? 'does not match its manifest' : view === 'unfetched' ? 'ddil get fetches it' : `${formatBytes(p.heldBytes)} here so far`
  return `file ${m.name} (${m.mediaType}, ${formatBytes(m.size)}, ${held})${m.caption === undefined ? '' : ` "${m.caption}"`}`
}

function plural (n: number, noun: string): string {
  return n === 1 ? `1 ${noun}` : `${n} ${noun}s`
}

function clip (text: string): string {
  return text.length <= 40 ? text : `${text.slice(0, 39)}…`
}
