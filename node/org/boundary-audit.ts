/**
 * What crosses a boundary, audited (#29): at a gateway, every envelope stored from a
 * partner organisation's relay and every one sent to it is one `boundary.crossed` entry
 * (direction, partner, id, kind, channel, precedence, bytes), so an organisation can show an
 * auditor exactly what left and what entered. Entries are never folded: a crossing is a
 * record, not a repeat. What the partner policy kept from crossing (refused from the partner,
 * or withheld from it) is a `boundary.crossed` entry too, outcome `refused`, with the reason;
 * envelopes refused from a partner for any other cause are `envelope.rejected` as any
 * refusal, with the partner named by the daemon.
 *
 * @example
 * auditBoundary({ hub, partnerOf: admission.partnerOf, decode: b => decodeEnvelope(b, crypto.sha256), record })
 */
import { toHex } from '../../protocol/bytes.ts'
import { kindNames, precedenceNames, type Envelope } from '../../protocol/envelope.ts'
import type { AuditEvent } from '../audit/index.ts'
import type { EngineEventHub } from '../facade.ts'

export interface BoundaryAuditDeps {
  hub: Pick<EngineEventHub, 'stored' | 'sent' | 'crossingRefused'>
  /** The partner organisation of an admitted peer; undefined for our own relays and local clients. */
  partnerOf (peer: string): string | undefined
  /** Decodes an envelope that was sent (it verified when it arrived or was submitted). */
  decode (bytes: Uint8Array): Envelope
  record (event: AuditEvent): void
}

function described (env: Envelope): Record<string, string | number> {
  return { id: toHex(env.id), kind: kindNames[env.kind], channel: toHex(env.channel), precedence: precedenceNames[env.precedence], bytes: env.bytes.length }
}

export function auditBoundary (d: BoundaryAuditDeps): void {
  d.hub.stored.add((env, from) => {
    const partner = d.partnerOf(from)
    if (partner !== undefined) d.record({ who: from, what: 'boundary.crossed', outcome: 'ok', detail: { direction: 'in', partner, ...described(env) } })
  })
  d.hub.crossingRefused.add((env, peer, reason, direction) => {
    d.record({ who: peer, what: 'boundary.crossed', outcome: 'refused', detail: { direction, partner: d.partnerOf(peer) ?? 'unknown', reason, ...described(env) } })
  })
  d.hub.sent.add((id, peer, bytes) => {
    const partner = d.partnerOf(peer)
    if (partner === undefined) return
    // Decoded from the bytes sent: a relay forwards a peer's envelope while its own write of it is in flight.
    let what: Record<string, string | number>
    try { what = described(d.decode(bytes)) } catch (e) { what = { id: toHex(id), bytes: bytes.length, undecodable: (e as Error).message } } // engine events must not throw; the crossing is still recorded
    d.record({ who: peer, what: 'boundary.crossed', outcome: 'ok', detail: { direction: 'out', partner, ...what } })
  })
}
