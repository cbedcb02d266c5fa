/**
 * What a channel's message list shows, one item per envelope id: readable text, or a
 * plain note for what cannot be shown as text (sealed before this user joined or after
 * they were removed, waiting for its keys, refused as tampered or forged). An item only
 * ever moves towards text (a message held for its keys becomes readable when they come),
 * never back, so a replayed or duplicated envelope changes nothing on screen.
 *
 * @example
 * const list = new MessageList()
 * list.put({ id, kind: 'text', text: 'Pump 3 offline', … })
 * list.sorted()                      // oldest first, by hybrid logical clock
 */
import { compareHlc, type Hlc } from '../../protocol/hlc.ts'
import type { Precedence } from '../../protocol/envelope.ts'

export type ItemKind = 'text' | 'waiting' | 'unreadable' | 'refused'

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
}

const rank: Record<ItemKind, number> = { refused: 0, unreadable: 1, waiting: 2, text: 3 }

export class MessageList {
  readonly #items = new Map<string, MessageItem>()
  #sorted: MessageItem[] | undefined

  get size (): number { return this.#items.size }
  get (id: string): MessageItem | undefined { return this.#items.get(id) }

  /** Adds or upgrades an item; returns whether anything changed. */
  put (item: MessageItem): boolean {
    const old = this.#items.get(item.id)
    if (old !== undefined && (rank[old.kind] > rank[item.kind] || (old.kind === item.kind && old.kind !== 'waiting'))) return false
    this.#items.set(item.id, item)
    this.#sorted = undefined
    return true
  }

  sorted (): MessageItem[] {
    this.#sorted ??= [...this.#items.values()].sort((a, b) => compareHlc(a.hlc, b.hlc) || (a.id < b.id ? -1 : 1))
    return this.#sorted
  }

  /** Texts by others stamped after `mark`: the unread ones. */
  unreadAfter (mark: Hlc): MessageItem[] {
    return this.sorted().filter(m => !m.mine && m.kind === 'text' && compareHlc(m.hlc, mark) > 0)
  }
}
