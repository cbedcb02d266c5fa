/**
 * The audit entries a relay writes about the channels it carries, from what it stores
 * (engine `stored` and `removed` events): each governance change it verified and applied
 * (`membership.changed`, `policy.changed`), each key epoch it sees distributed
 * (`key.rotated`), and each quota eviction (`store.evicted`). Pure: an envelope in, an
 * event and how to fold it (node/audit/budget.ts) out; the relay reads headers and public
 * governance only, never content.
 *
 * @example
 * const r = channelAuditEvent(env, 'local')
 * // { event: { who: '3f2a…', what: 'membership.changed', outcome: 'ok', detail: { channel, op: 'add', member, role: 'member', id, from: 'local' } }, fold: { budget: 'channel', … } }
 */
import { toHex } from '../protocol/bytes.ts'
import { authorRef, Kind, precedenceNames, type Envelope } from '../protocol/envelope.ts'
import { decodeChange, policySizeLimits, retentionFor, type Change, type Policy } from '../protocol/channel/governance.ts'
import { decodeKeysBody } from '../protocol/channel/keys.ts'
import type { Sender } from '../protocol/engine/types.ts'
import type { Fold } from './audit/budget.ts'
import type { AuditEvent } from './audit/index.ts'

/** Budget names (entries in full per window): governance and keys share one; evictions have their own. */
export const channelBudget = 'channel'
export const evictionBudget = 'eviction'

export interface Foldable { event: AuditEvent, fold: Fold }

function policyDetail (p: Policy): Record<string, unknown> {
  return {
    retentionSeconds: p.retentionSeconds, fileRetentionSeconds: retentionFor(p, true), legalHold: p.legalHold === true, closedAtMs: p.closedAtMs ?? null,
    precedences: p.allowedPrecedence.map(x => precedenceNames[x]), whoMayPost: p.whoMayPost, ...policySizeLimits(p),
  }
}

/** What a change did, for `detail` (keys as 8-byte references, as envelope headers carry them, and in full). */
function changeDetail (c: Change): Record<string, unknown> {
  const member = (ed: Uint8Array): Record<string, unknown> => ({ member: toHex(authorRef(ed)), memberKey: toHex(ed) })
  switch (c.op) {
    case 'create': return { op: c.op, ...member(c.ownerEd), role: 'owner', policy: policyDetail(c.policy) }
    case 'add': return { op: c.op, ...member(c.memberEd), role: c.role }
    case 'remove': return { op: c.op, ...member(c.memberEd), cutSeq: c.cutSeq }
    case 'role': return { op: c.op, ...member(c.memberEd), role: c.role }
    case 'policy': return { op: c.op, policy: policyDetail(c.policy) }
  }
}

/**
 * The entry for a stored envelope, if its kind is audited: a governance change (stored means
 * verified and applied here) or the first chunk of a key epoch. `from` is the peer it came
 * from (named in `where.remote` as `/p2p/<id>`) or `local` (a client of this relay, or a bundle import).
 */
export function channelAuditEvent (env: Envelope, from: Sender): Foldable | undefined {
  const channel = toHex(env.channel)
  const base = { who: toHex(env.author), outcome: 'ok' as const, ...(from !== 'local' ? { remote: `/p2p/${from}` } : {}) }
  const source = { id: toHex(env.id), from }
  if (env.kind === Kind.governance) {
    let change: Change
    try { change = decodeChange(env.body) } catch { return undefined } // never stored: the relay verified it
    const what = change.op === 'policy' ? 'policy.changed' : 'membership.changed'
    return {
      event: { ...base, what, detail: { channel, ...changeDetail(change), ...source } },
      fold: { budget: channelBudget, key: `${what} ${channel}`, keep: { channel }, sums: { [change.op]: 1 } },
    }
  }
  if (env.kind === Kind.keys) {
    let chunk: { index: number, count: number, recipients: number } | undefined
    try {
      const b = decodeKeysBody(env.body)
      chunk = { index: b.chunkIndex, count: b.chunkCount, recipients: b.entries.length }
    } catch { /* a key holder's malformed chunk is still a rotation attempt on record */ }
    if (chunk !== undefined && chunk.index !== 0) return undefined // one entry per epoch: its first chunk
    return {
      event: { ...base, what: 'key.rotated', detail: { channel, epoch: env.epoch, chunks: chunk?.count ?? null, recipientsFirstChunk: chunk?.recipients ?? null, ...source } },
      fold: { budget: channelBudget, key: `key.rotated ${channel}`, keep: { channel }, sums: { epochs: 1 } },
    }
  }
  return undefined
}

/** One entry per eviction batch (the envelopes removed to make room for one new envelope). */
export function evictionAuditEvent (envelopes: number, bytes: number): Foldable {
  return {
    event: { who: 'node', what: 'store.evicted', outcome: 'ok', detail: { envelopes, bytes, reason: 'storage quota full' } },
    fold: { budget: evictionBudget, key: 'store.evicted', keep: { reason: 'storage quota full' }, sums: { envelopes, bytes } },
  }
}
