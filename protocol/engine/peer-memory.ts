/**
 * What a relay remembers of a peer across its links (links.ts keeps it, bounded; each
 * PeerLink of that peer shares it): its score, which recovers with time, and its
 * push-tree state.
 *
 * @example
 * const memory = newPeerMemory()
 * scoreAt(memory, monotonicMs)   // the initial score until a penalty
 */
import { peerScoreInitial, peerScorePerHourRecovered } from '../limits.ts'

/**
 * What a relay remembers of a peer across its links: its score (so a peer cannot reset a
 * bad score by reconnecting) and push-tree state (a flapping link should not relearn it).
 */
export interface PeerMemory {
  /** As of `scoredAtMs` (monotonic ms; -Infinity: never penalised, it is the initial score). */
  score: number
  scoredAtMs: number
  /** Authors (ref keys) whose envelopes this peer asked us to announce rather than push. */
  lazyAuthors: Set<string>
  /** Authors (ref keys) we asked this peer to stop pushing → when we last asked, ms. */
  prunedByUs: Map<string, number>
  /**
   * Where the envelopes of authors this peer pruned came to us from (a peer id, or 'local'):
   * a new author's first envelope from there is announced to it, not pushed. In memory only.
   */
  prunedUpstreams: Set<string>
  /**
   * Authors (ref keys) this peer asked us for (`want`): an announcement from us was its only
   * way to them, so we push it their envelopes even where a sibling seems to go first
   * (forwarding.ts). In memory only.
   */
  askedAuthors: Set<string>
}

/** A peer met for the first time: the initial score, nothing pruned. */
export function newPeerMemory (): PeerMemory {
  return { score: peerScoreInitial, scoredAtMs: -Infinity, lazyAuthors: new Set(), prunedByUs: new Map(), prunedUpstreams: new Set(), askedAuthors: new Set() }
}

/** A remembered score as of `monotonicMs`: what was won back since the last penalty added, up to the initial score. */
export function scoreAt (memory: Pick<PeerMemory, 'score' | 'scoredAtMs'>, monotonicMs: number): number {
  const elapsedMs = Math.max(0, monotonicMs - memory.scoredAtMs)
  return Math.min(peerScoreInitial, memory.score + elapsedMs * peerScorePerHourRecovered / 3_600_000)
}
