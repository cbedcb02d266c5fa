/**
 * The channel's shared, encrypted state: name, topic and a situation board (status
 * lines, key facts, tasks) as one Yjs document merged at the endpoints. Two halves of
 * a team that edited the board during a partition see one merged board after heal.
 * Relays only ever carry the updates as ciphertext (content type 0x02).
 *
 * Determinism: the document's guid is the channel id and each writer's Yjs client id
 * is derived from its author key and a per-session seed (the device seed plus fresh
 * bytes from the injected random source), never drawn by Yjs itself. Per session,
 * because a client that rebuilds the board from a relay's backlog replays its own
 * earlier edits: reusing their client id would make Yjs re-draw one at random.
 * Untrusted updates are size-bounded and fully decoded before they are applied, so
 * garbage is refused in bounded time with the board unchanged; an update claiming
 * this session's own client id is refused too.
 *
 * @example
 * const board = new Board(channelIdHex, clientIdFor(crypto, authorEd, deviceSeed))
 * const update = board.edit(b => { b.setName('Grid outage, north'); b.addTask('Check substation 4') })
 * other.apply(update)   // DecodeError / LimitError on junk, board unchanged
 */
import * as Y from 'yjs'
import { DecodeError, LimitError } from '../errors.ts'
import { envelopeBodyBytesMax } from '../limits.ts'
import type { Crypto } from '../ports.ts'

/** Largest Yjs update we apply or emit: it must fit in one envelope with the content-type byte and AEAD tag. */
export const boardUpdateBytesMax = envelopeBodyBytesMax - 1 - 16
/** Most tasks, facts and status lines a board holds: a board is read on a phone during an outage. */
export const boardItemsMax = 200
/** Longest text of one board field, characters. */
export const boardTextCharsMax = 500

export interface Task { text: string, done: boolean }
export interface BoardView {
  name: string
  topic: string
  status: Record<string, string>
  facts: string[]
  tasks: Task[]
}

/** A 32-bit Yjs client id from the author's key and a per-device seed (unique per writer and device). */
export function clientIdFor (crypto: Crypto, authorEd: Uint8Array, deviceSeed: Uint8Array): number {
  const input = new Uint8Array(authorEd.length + deviceSeed.length)
  input.set(authorEd); input.set(deviceSeed, authorEd.length)
  const h = crypto.sha256(input)
  return ((h[0] << 24) | (h[1] << 16) | (h[2] << 8) | h[3]) >>> 0
}

function text (value: string, what: string): string {
  if (value.length > boardTextCharsMax) throw new LimitError(`${what} is ${value.length} characters; at most ${boardTextCharsMax}`)
  return value
}

export class BoardEditor {
  readonly #doc: Y.Doc
  constructor (doc: Y.Doc) { this.#doc = doc }
  setName (name: string): void { this.#doc.getMap('meta').set('name', text(name, 'name')) }
  setTopic (topic: string): void { this.#doc.getMap('meta').set('topic', text(topic, 'topic')) }
  setStatus (key: string, value: string): void {
    const status = this.#doc.getMap<string>('status')
    if (!status.has(key) && status.size >= boardItemsMax) throw new LimitError(`the board has ${boardItemsMax} status lines already`)
    status.set(text(key, 'status key'), text(value, 'status'))
  }

  addFact (fact: string): void {
    const facts = this.#doc.getArray<string>('facts')
    if (facts.length >= boardItemsMax) throw new LimitError(`the board has ${boardItemsMax} facts already`)
    facts.push([text(fact, 'fact')])
  }

  addTask (task: string): void {
    const tasks = this.#doc.getArray<Y.Map<unknown>>('tasks')
    if (tasks.length >= boardItemsMax) throw new LimitError(`the board has ${boardItemsMax} tasks already`)
    const m = new Y.Map<unknown>()
    m.set('text', text(task, 'task'))
    m.set('done', false)
    tasks.push([m])
  }

  /** Marks task `index` (0-based, as shown) done or not. */
  setDone (index: number, done: boolean): void {
    const tasks = this.#doc.getArray<Y.Map<unknown>>('tasks')
    if (!Number.isInteger(index) || index < 0 || index >= tasks.length) throw new LimitError(`there is no task ${index + 1}`)
    tasks.get(index).set('done', done)
  }
}

export class Board {
  readonly doc: Y.Doc

  constructor (channelIdHex: string, clientId: number) {
    this.doc = new Y.Doc({ guid: channelIdHex, gc: true })
    this.doc.clientID = clientId
  }

  /** Applies local edits; returns the update to encrypt and send (LimitError if it would not fit one envelope). */
  edit (fn: (b: BoardEditor) => void): Uint8Array {
    const before = Y.encodeStateVector(this.doc)
    this.doc.transact(() => fn(new BoardEditor(this.doc)), 'local')
    const update = Y.encodeStateAsUpdate(this.doc, before)
    if (update.length > boardUpdateBytesMax) throw new LimitError(`this board edit is ${update.length} bytes; at most ${boardUpdateBytesMax} fit one message: split it`)
    return update
  }

  /** Applies an update from a peer. Junk is refused (DecodeError / LimitError) and the board is unchanged. */
  apply (update: Uint8Array): void {
    if (update.length > boardUpdateBytesMax) throw new LimitError(`board update of ${update.length} bytes exceeds ${boardUpdateBytesMax}`)
    let decoded: ReturnType<typeof Y.decodeUpdate>
    try {
      // Decoding the whole update first means a malformed one throws here, before any state changes.
      decoded = Y.decodeUpdate(update)
    } catch (e) {
      throw new DecodeError(`not a board update: ${(e as Error).message}`)
    }
    if (decoded.structs.some(s => s.id.client === this.doc.clientID)) throw new DecodeError('board update claims this writer\'s own client id')
    try {
      Y.applyUpdate(this.doc, update, 'remote')
    } catch (e) {
      throw new DecodeError(`board update could not be applied: ${(e as Error).message}`)
    }
  }

  /** The whole state, for persistence (and for a new device to catch up). */
  snapshot (): Uint8Array { return Y.encodeStateAsUpdate(this.doc) }

  view (): BoardView {
    const meta = this.doc.getMap<string>('meta')
    return {
      name: meta.get('name') ?? '',
      topic: meta.get('topic') ?? '',
      status: Object.fromEntries([...this.doc.getMap<string>('status').entries()].sort(([a], [b]) => a < b ? -1 : a > b ? 1 : 0)),
      facts: this.doc.getArray<string>('facts').toArray(),
      tasks: this.doc.getArray<Y.Map<unknown>>('tasks').toArray().map(m => ({ text: String(m.get('text') ?? ''), done: m.get('done') === true })),
    }
  }
}
