/**
 * What a channel's message list shows, one item per envelope id: readable text, a file
 * (#23, named by its manifest's id: name, type, size, how much of it is here), or a plain
 * note for what cannot be shown (sealed before this user joined or after they were removed,
 * waiting for its keys, refused as tampered or forged). An item only ever moves towards
 * text (a message held for its keys becomes readable when they come; a long message
 * arriving in pieces becomes text once whole), never back, so a replayed or duplicated
 * envelope changes nothing on screen. A file item is replaced as its pieces arrive.
 *
 * @example
 * const list = new MessageList()
 * list.put({ id, kind: 'text', text: 'Pump 3 offline', … })
 * list.sorted()                      // oldest first, by hybrid logical clock
 */
import { compareHlc, type Hlc } from '../../protocol/hlc.ts'
import type { Precedence } from '../../protocol/envelope.ts'

export type ItemKind = 'text' | 'file' | 'waiting' | 'unreadable' | 'refused'

/**
 * A file or long message as far as this device has it. `arriving`: pieces are coming (live, or
 * fetched); `not-fetched`: the relay holds more than is here, and nothing is fetching it (too
 * large to fetch unasked, or let go from memory); `complete`: whole and checked against its
 * manifest; `failed`: a piece or the whole did not match it.
 */
export interface FileView {
  form: 'text' | 'file'
  name: string
  mediaType: string
  size: number
  caption: string | undefined
  heldBytes: number
  state: 'arriving' | 'not-fetched' | 'complete' | 'failed'
  problem?: string
}

export interface MessageItem {
  id: string
  kind: ItemKind
  /** Hex of the author's 8-byte reference. */
  authorRef: string
  mine: boolean
  precedence: Precedence
  hlc: Hlc
  expiresAtMs: number
  /** The text, for `text` items. */
  text: string
  /** Why it is not text, for the others. */
  reason: string
  /** For `file` items. */
  file?: FileView
}

const rank: Record<ItemKind, number> = { refused: 0, unreadable: 1, waiting: 2, file: 3, text: 4 }
/** Kinds an item of the same kind may replace (its progress moves on). */
const replaceable: ReadonlySet<ItemKind> = new Set(['waiting', 'file'])

export class MessageList {
  readonly #items = new Map<string, MessageItem>()
  #sorted: MessageItem[] | undefined

  get size (): number { return this.#items.size }
  get (id: string): MessageItem | undefined { return this.#items.get(id) }

  /** Adds or upgrades an item; returns whether anything changed. */
  put (item: MessageItem): boolean {
    const old = this.#items.get(item.id)
    if (old !== undefined && (rank[old.kind] > rank[item.kind] || (old.kind === item.kind && !replaceable.has(old.kind)))) return false
    this.#items.set(item.id, item)
    this.#sorted = undefined
    return true
  }

  sorted (): MessageItem[] {
    this.#sorted ??= [...this.#items.values()].sort((a, b) => compareHlc(a.hlc, b.hlc) || (a.id < b.id ? -1 : 1))
    return this.#sorted
  }

  /** Texts and whole files by others stamped after `mark`: the unread ones (a read receipt says delivered too, so never for part of a file). */
  unreadAfter (mark: Hlc): MessageItem[] {
    return this.sorted().filter(m => !m.mine && (m.kind === 'text' || m.file?.state === 'complete') && compareHlc(m.hlc, mark) > 0)
  }
}
