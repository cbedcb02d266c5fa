/**
 * Peer admission by organisation certificate (#29, `peers.mode: org`): the engine's
 * `PeerAdmission` port for a relay. It presents this relay's certificate in every hello and
 * admits a peer that presents a valid relay certificate for its own node key from:
 *
 * - this relay's organisation: always;
 * - a partner this relay is a gateway to (`ddil org trust --gateway`): so only gateways link
 *   across the boundary, and each organisation decides which of its relays are gateways.
 *
 * Anything else is refused with the reason (expired, revoked, forged, a partner cut off, not
 * a gateway…), which the peer hears and the audit log keeps. The trust store is read again
 * when `orgs.json` changes, so `ddil org distrust` and `ddil org import` act on a running
 * relay: `recheck` names the linked peers the new store no longer admits, for the daemon to cut.
 *
 * @example
 * const admission = await createPeerAdmission({ dataDir, nodeKey, crypto, nowMs: () => Date.now() })
 * createEngine({ ..., admission }, config)
 */
import { statSync } from 'node:fs'
import { join } from 'node:path'
import type { PeerAdmission } from '../../protocol/engine/types.ts'
import { ConfigError } from '../../protocol/errors.ts'
import { judgeCertificate, orgRef, type TrustState } from '../../protocol/org/trust.ts'
import type { Crypto, PeerId } from '../../protocol/ports.ts'
import { ownCertificateWarnBeforeMs } from '../p2p/limits.ts'
import { nodeKeyOfId } from './node-ids.ts'
import { readTrustStore, toTrustState, trustStoreFileName, type Partner, type TrustStore } from './trust-store.ts'

export interface AdmissionDeps {
  dataDir: string
  crypto: Crypto
  nowMs (): number
  /** A peer was admitted: which organisation, and whether across the boundary (audit). */
  admitted? (peer: PeerId, org: string, partner: boolean): void
  /** A peer was refused, and why (audit). */
  refused? (peer: PeerId, reason: string): void
  /** orgs.json changed and was read again (for the audit log). */
  reloaded? (store: TrustStore): void
  /** This relay's own certificate will not be admitted by its peers (expired, revoked, not yet valid), or expires soon: for the operator's log. */
  warn? (message: string): void
}

export interface RelayAdmission extends PeerAdmission {
  /** Reads orgs.json again if it changed and judges every admitted peer again; returns those no longer admitted, with why. */
  recheck (): Promise<Array<{ peer: PeerId, reason: string }>>
  /** A peer's link ended: forget what it presented. */
  forget (peer: PeerId): void
  /** The partner organisation an admitted peer belongs to; undefined for our own relays and anyone else. */
  partnerOf (peer: PeerId): string | undefined
  /** The partner entry (with its policy) of an admitted partner's relay, as the trust store now says; undefined for anyone else. */
  partnerEntryOf (peer: PeerId): Partner | undefined
  /** The organisation an admitted peer belongs to, and whether it is a partner (for `ddil peers`). */
  orgOf (peer: PeerId): { org: string, partner: boolean } | undefined
  /** The trust store as last read. */
  store (): TrustStore
  /** Its trust state (built once per read of the file). */
  trust (): TrustState
}

type Verdict = { ok: true, org: string, partner: boolean, ref: string } | { ok: false, reason: string }

/** The decision, on one trust store and its `toTrustState` (built once per read of the file, not per peer): pure apart from reading the peer id's key. */
export function judgePeer (store: TrustStore, state: TrustState, peer: PeerId, credentials: Uint8Array | undefined, nowMs: number, crypto: Crypto): Verdict {
  if (credentials === undefined) return { ok: false, reason: 'presented no organisation certificate (this relay accepts only certified relays: peers.mode org)' }
  let key: Uint8Array
  try { key = nodeKeyOfId(peer) } catch { return { ok: false, reason: 'its node id holds no Ed25519 key' } }
  const v = judgeCertificate(credentials, { kind: 'relay', subject: key }, state, nowMs, crypto)
  if (!v.ok) return { ok: false, reason: v.reason }
  if (v.org.role === 'own') return { ok: true, org: v.org.name, partner: false, ref: orgRef(v.org.key) }
  const partner = store.partners.find(p => orgRef(p.key) === orgRef(v.org.key))
  if (partner?.gateway !== true) return { ok: false, reason: `it is ${v.org.name}'s relay "${v.certificate.name}", and this relay is not a gateway to ${v.org.name}` }
  return { ok: true, org: v.org.name, partner: true, ref: orgRef(v.org.key) }
}

export async function createPeerAdmission (deps: AdmissionDeps): Promise<RelayAdmission> {
  const path = join(deps.dataDir, trustStoreFileName)
  let store = await readTrustStore(deps.dataDir, deps.crypto)
  let state = toTrustState(store)
  if (store.own === null) throw new ConfigError(`peers.mode is org, but this relay belongs to no organisation yet: run "ddil org join ORG_KEY --name NAME --certificate FILE --data ${deps.dataDir}" first`)
  const own = store.own
  const ownVerdict = judgeCertificate(own.certificate, { kind: 'relay', subject: own.certificate.subject }, state, deps.nowMs(), deps.crypto)
  if (!ownVerdict.ok) deps.warn?.(`this relay's own ${ownVerdict.reason}: its peers will refuse it; renew it ("ddil org certify-relay", then "ddil org join")`)
  else if (own.certificate.notAfterMs - deps.nowMs() < ownCertificateWarnBeforeMs) deps.warn?.(`this relay's certificate ${own.certificate.serial} expires at ${new Date(own.certificate.notAfterMs).toISOString()}: renew it before then ("ddil org certify-relay", then "ddil org join")`)
  let stamp = changeStamp(path)
  /** What each admitted peer presented, to judge it again when the store changes, and its organisation. */
  const presented = new Map<PeerId, { credentials: Uint8Array, org: string, partner: boolean, ref: string }>()
  return {
    credentials: () => store.own?.certificate.bytes,
    admit (peer, credentials) {
      const v = judgePeer(store, state, peer, credentials, deps.nowMs(), deps.crypto)
      if (!v.ok) { presented.delete(peer); deps.refused?.(peer, v.reason); return v }
      if (credentials !== undefined) presented.set(peer, { credentials, org: v.org, partner: v.partner, ref: v.ref })
      deps.admitted?.(peer, v.org, v.partner)
      return { ok: true }
    },
    async recheck () {
      const now = changeStamp(path)
      if (now !== stamp) {
        stamp = now // before reading: a damaged file is reported once, not at every recheck
        store = await readTrustStore(deps.dataDir, deps.crypto)
        state = toTrustState(store)
        deps.reloaded?.(store)
      }
      // Judged again even when nothing changed: a certificate may have expired on a long link.
      const cut: Array<{ peer: PeerId, reason: string }> = []
      for (const [peer, { credentials }] of presented) {
        const v = judgePeer(store, state, peer, credentials, deps.nowMs(), deps.crypto)
        if (!v.ok) { presented.delete(peer); cut.push({ peer, reason: v.reason }) }
      }
      return cut
    },
    forget (peer) { presented.delete(peer) },
    partnerOf: (peer) => { const p = presented.get(peer); return p?.partner === true ? p.org : undefined },
    partnerEntryOf: (peer) => {
      const p = presented.get(peer)
      return p?.partner === true ? store.partners.find(x => orgRef(x.key) === p.ref) : undefined
    },
    orgOf: (peer) => { const p = presented.get(peer); return p === undefined ? undefined : { org: p.org, partner: p.partner } },
    store: () => store,
    trust: () => state,
  }
}

/** The file's modification time and size, or '' while it does not exist. */
function changeStamp (path: string): string {
  try {
    const s = statSync(path)
    return `${s.mtimeMs}:${s.size}:${s.ino}`
  } catch {
    return ''
  }
}
