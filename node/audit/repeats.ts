/**
 * Keeps a flood of repeated events from growing the audit log without bound. A refusal of a
 * new kind (event type, reason, and the remote address without its port, or the peer when
 * there is no address) is written in full at once; repeats of that kind within the window
 * are counted, and when the window ends one summary entry records how many there were and
 * from how many peer ids. A kind still repeating keeps being summarised, once a window; a
 * kind that went quiet is forgotten, so its next refusal is written in full again. Beyond
 * `keysMax` kinds in one window, refusals are counted together per event type (an attacker
 * rotating addresses or reasons).
 *
 * Admissions that a reconnecting party repeats (`peer.accepted` on every link-up,
 * `client.authenticated` on every connection) are folded the same way, per party as well:
 * otherwise each reconnect of a flapping or hostile peer was one more signed entry. Other
 * events pass straight through.
 *
 * Nothing is dropped silently: every folded event is either its own entry or counted in a
 * summary. `close()` writes the summaries still open (a graceful stop); a crash loses at
 * most one window of counts, never a first occurrence.
 *
 * @example
 * const refusals = new RefusalSummaries({ append: (e) => { log.append(e).catch(report) }, schedule: (fn, ms) => { const h = setTimeout(fn, ms); return () => clearTimeout(h) } })
 * refusals.record({ who: peer, what: 'peer.refused', outcome: 'refused', remote: addr, detail: { reason } })
 * refusals.close()
 */
import { auditRepeatKeysMax, auditRepeatPeersMax, auditRepeatWindowMs } from '../../protocol/limits.ts'
import type { AuditEvent } from './sanitise.ts'
import { SummaryWindow, type Schedule } from './window.ts'

/** Admissions folded like refusals: each reconnect repeats them. */
export const repeatedAdmissions: ReadonlyArray<AuditEvent['what']> = ['peer.accepted', 'client.authenticated']

export interface RefusalSummariesOptions {
  /** Writes an entry (the caller's audit log). */
  append: (event: AuditEvent) => void
  /** Runs `fn` after `ms`; returns a cancel. */
  schedule: Schedule
  windowMs?: number
  keysMax?: number
  peersMax?: number
}

interface Kind {
  first: AuditEvent
  repeats: number
  peers: Set<string>
}

const overflowReason = 'more refusal kinds than tracked in one window (rotating addresses or reasons)'

export class RefusalSummaries {
  readonly #o: Required<RefusalSummariesOptions>
  readonly #kinds = new Map<string, Kind>()
  /** Refusals past `keysMax` kinds this window, per event type. */
  readonly #overflow = new Map<AuditEvent['what'], Kind>()
  readonly #window: SummaryWindow

  constructor (options: RefusalSummariesOptions) {
    this.#o = { windowMs: auditRepeatWindowMs, keysMax: auditRepeatKeysMax, peersMax: auditRepeatPeersMax, ...options }
    this.#window = new SummaryWindow(this.#o.schedule, this.#o.windowMs, () => { this.#windowEnded() })
  }

  record (event: AuditEvent): void {
    if (!folded(event) || this.#window.closed) { this.#o.append(event); return }
    const key = kindOf(event)
    const known = this.#kinds.get(key)
    if (known !== undefined) { this.#count(known, event); return }
    if (this.#kinds.size < this.#o.keysMax) {
      this.#kinds.set(key, { first: event, repeats: 0, peers: new Set([event.who]) })
      this.#o.append(event)
    } else {
      let over = this.#overflow.get(event.what)
      if (over === undefined) { over = { first: event, repeats: 0, peers: new Set() }; this.#overflow.set(event.what, over) }
      this.#count(over, event)
    }
    this.#window.start()
  }

  /** Writes the open summaries and stops summarising (later refusals are written in full). */
  close (): void { this.#window.close() }

  /** Kinds being tracked (for tests and status). */
  get tracked (): number { return this.#kinds.size }

  #count (kind: Kind, event: AuditEvent): void {
    kind.repeats++
    if (kind.peers.size < this.#o.peersMax) kind.peers.add(event.who)
  }

  #windowEnded (): void {
    for (const [key, kind] of this.#kinds) {
      if (kind.repeats === 0) { this.#kinds.delete(key); continue }
      this.#o.append(summary(kind, reasonOf(kind.first), this.#o))
      kind.repeats = 0
      kind.peers = new Set()
    }
    for (const over of this.#overflow.values()) this.#o.append(summary(over, overflowReason, this.#o, true))
    this.#overflow.clear()
    if (this.#kinds.size > 0) this.#window.start()
  }
}

function folded (event: AuditEvent): boolean {
  return event.outcome === 'refused' || (event.outcome === 'ok' && repeatedAdmissions.includes(event.what))
}

function reasonOf (event: AuditEvent): string {
  const reason = event.detail?.reason
  return typeof reason === 'string' ? reason : ''
}

/** The remote address without its port (`/ip4/10.0.0.7/tcp/50122` → `/ip4/10.0.0.7`); a new port per connection is the same source. */
export function remoteHost (remote: string): string {
  return remote.split('/').slice(0, 3).join('/')
}

/** A refusal's kind leaves out who (one address rotating peer ids is one flood); an admission's is per party. */
function kindOf (event: AuditEvent): string {
  const source = event.remote !== undefined ? remoteHost(event.remote) : event.who
  const who = event.outcome === 'refused' ? '' : event.who
  return `${event.what}\n${source}\n${reasonOf(event)}\n${who}`
}

function summary (kind: Kind, reason: string, o: { windowMs: number, peersMax: number }, overflow = false): AuditEvent {
  const { first } = kind
  const who = kind.peers.size === 1 ? [...kind.peers][0] : `${kind.peers.size}${kind.peers.size >= o.peersMax ? '+' : ''} peers`
  return {
    who,
    what: first.what,
    outcome: first.outcome,
    ...(first.remote !== undefined && !overflow ? { remote: remoteHost(first.remote) } : {}),
    detail: { ...(reason !== '' || first.outcome === 'refused' ? { reason } : {}), repeats: kind.repeats, windowMs: o.windowMs, summary: true },
  }
}
