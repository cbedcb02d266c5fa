/**
 * Sequence-gap repair. A gap in one author's stream still open after the grace delay is
 * asked for, one `wantSeq` per run of missing numbers (a range spanning numbers we hold
 * would bring those again): first from the peer whose envelope revealed the gap (it lies
 * on the author's path; the cheapest ready peer if it is gone or the envelope was local),
 * and what is still missing another grace delay later from every other ready peer. Asking
 * all at once brought each missing envelope from every peer that held it.
 *
 * A stream has one check pending at a time, and gaps revealed meanwhile join it: a relay
 * catching up receives a stream out of sequence (range by range), which opened a gap,
 * and so a timer and up to 32 frames, with nearly every envelope. While the peer that
 * revealed the gap is still bringing what its reconciliation promised, the check waits
 * another grace delay: the gap is most likely on its way.
 *
 * @example
 * gaps.check(env.stream, env.channel, env.author, highestBefore + 1, env.seq - 1, from)
 */
import type { Catalog } from './catalog.ts'
import type { Links } from './links.ts'
import type { LinkOutput } from './outbound.ts'
import type { PeerLink } from './peer.ts'
import type { Counters, EngineConfig, Sender } from './types.ts'
import { FrameType, type Frame } from '../frames.ts'
import { filesAskedAtLinkUpMax, gapChecksPendingMax, gapRunsMax, idListItemsMax } from '../limits.ts'
import { idFromKey } from './catalog.ts'
import { streamAuthorKey, streamChannelKey } from './stream-key.ts'

export interface GapRepairDeps {
  config: Pick<EngineConfig, 'gapGraceMs'>
  counters: Pick<Counters, 'gapRequests'>
  links: Pick<Links, 'get' | 'isCurrent' | 'values'>
  catalog: Pick<Catalog, 'missingSeqs'>
  /** Whether a peer is still catching us up (reconciler.ts): the gap is most likely on its way. */
  bringing (link: PeerLink): boolean
  output: Pick<LinkOutput, 'pump'>
  schedule (ms: number, fn: () => void): void
}

/** A gap check waiting for its grace delay: the missing numbers revealed so far, and the way the first envelope came. */
interface GapCheck { channel: Uint8Array, author: Uint8Array, from: number, to: number, via: Sender }

export class GapRepair {
  readonly #d: GapRepairDeps
  /** Streams with a gap check pending → the numbers revealed missing so far (at most `gapChecksPendingMax`). */
  readonly #gaps = new Map<string, GapCheck>()

  constructor (deps: GapRepairDeps) { this.#d = deps }

  /** Numbers `from`..`to` of a stream are missing (revealed by an envelope `via` a peer or local): check after the grace delay. */
  check (stream: string, channel: Uint8Array, author: Uint8Array, from: number, to: number, via: Sender): void {
    const pending = this.#gaps.get(stream)
    if (pending !== undefined) {
      pending.from = Math.min(pending.from, from)
      pending.to = Math.max(pending.to, to)
      return
    }
    if (this.#gaps.size >= gapChecksPendingMax) return // reconciliation repairs it
    this.#gaps.set(stream, { channel, author, from, to, via })
    this.#d.schedule(this.#d.config.gapGraceMs, () => { this.#due(stream) })
  }

  #due (stream: string): void {
    const d = this.#d
    const g = this.#gaps.get(stream)
    if (g === undefined) return
    const via = g.via === 'local' ? undefined : d.links.get(g.via)
    if (via !== undefined && d.bringing(via)) {
      d.schedule(d.config.gapGraceMs, () => { this.#due(stream) })
      return
    }
    this.#gaps.delete(stream)
    const first = this.#ask(stream, g, [this.#firstAsked(g.via)])
    if (first === undefined) return
    d.schedule(d.config.gapGraceMs, () => {
      this.#ask(stream, g, [...d.links.values()].filter(p => p !== first))
    })
  }

  /** The ready peer a gap is first asked of. */
  #firstAsked (via: Sender): PeerLink | undefined {
    const direct = via === 'local' ? undefined : this.#d.links.get(via)
    if (direct?.ready === true) return direct
    let best: PeerLink | undefined
    for (const p of this.#d.links.values()) if (p.ready && (best === undefined || p.costMs < best.costMs)) best = p
    return best
  }

  /** Sends `wantSeq` for what is still missing to the ready ones of `peers`; the first asked, if any was. */
  #ask (stream: string, g: GapCheck, peers: Array<PeerLink | undefined>): PeerLink | undefined {
    const d = this.#d
    const missing = d.catalog.missingSeqs(stream, Math.max(g.from, g.to - idListItemsMax + 1), g.to, idListItemsMax)
    const ready = peers.filter((p): p is PeerLink => p?.ready === true && d.links.isCurrent(p))
    if (missing.length === 0 || ready.length === 0) return undefined
    d.counters.gapRequests++
    const frames: Frame[] = seqRuns(missing, gapRunsMax).map(([seqFrom, seqTo]) => ({ type: FrameType.wantSeq, channel: g.channel, author: g.author, seqFrom, seqTo }))
    for (const p of ready) {
      for (const f of frames) p.control(f)
      d.output.pump(p)
    }
    return ready[0]
  }
}

/**
 * At link-up, asks the peer for the missing pieces of files held here in part (#23): a file's
 * head says which sequence numbers its pieces take, so a few `wantSeq` runs ask for what a
 * drop cut off, where a reconciliation would list every missing piece's id (about 50 B each,
 * in hundreds of round trips for a large file). Returns whether it asked.
 */
export function askForFilePieces (link: PeerLink, catalog: Pick<Catalog, 'missingSeqs' | 'incompleteFiles'>): boolean {
  let asked = false
  for (const f of catalog.incompleteFiles(filesAskedAtLinkUpMax)) {
    const missing = catalog.missingSeqs(f.stream, f.firstSeq, f.firstSeq + f.count - 1, f.count)
    const channel = idFromKey(streamChannelKey(f.stream))
    const author = idFromKey(streamAuthorKey(f.stream))
    for (const [seqFrom, seqTo] of seqRuns(missing, gapRunsMax)) {
      link.control({ type: FrameType.wantSeq, channel, author, seqFrom, seqTo })
      asked = true
    }
  }
  return asked
}

/**
 * The first `runsMax` runs of consecutive numbers among `ascending`, [first, last] each; the
 * rest is asked for by a later check. A last run spanning the rest asked for numbers held
 * here: a gap's second ask goes to every peer, and a downstream neighbour served the file
 * pieces it had from us back to us (file-radio mirrored: 7% of payload bytes duplicated, #26).
 */
export function seqRuns (ascending: number[], runsMax: number): Array<[number, number]> {
  const runs: Array<[number, number]> = []
  for (const q of ascending) {
    const last = runs[runs.length - 1]
    if (last !== undefined && q === last[1] + 1) last[1] = q
    else if (runs.length === runsMax) break
    else runs.push([q, q])
  }
  return runs
}
