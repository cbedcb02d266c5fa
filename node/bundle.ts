/**
 * Air-gap bundles on the running relay (#27): `export` writes the envelopes in scope, with
 * every governance and keys envelope of their channels, to a signed bundle file (temp file and
 * rename); `import` reads one, refuses a bundle that is too large, truncated, corrupted or forged
 * before anything is stored, then feeds its envelopes through the engine's intake
 * (`importEnvelope`: signature, authorisation, expiry, clock skew, limits, quota; stored as
 * a peer's envelopes are, outside this node's custody, so evictable under quota), governance
 * first, so later envelopes are judged by the membership the bundle carries. Both are audited. Importing
 * opens no connection: it reads one file and writes the local store.
 *
 * Each bundle also lists what its exporter holds in the scope's channels; an import records that
 * list, with every envelope the bundle carried, as what that node holds (node/peer-holds.ts), and
 * `export` with `forNodeId` leaves out what that node last said it holds, governance and keys
 * included: relays that never connect learn what the other lacks from its bundles alone.
 *
 * The relay reads and writes the file itself (the operator's CLI sends the path): the store is
 * the relay's, and a bundle never crosses the client API's frame limit.
 *
 * @example
 * const bundles = createBundles({ engine, channels: () => policy.store.channels(), crypto, nodeId, nodeKey, audit, nowMs, peerHolds })
 * await bundles.export({ path: '/media/usb/ops.ddil', channels: [ref], precedences: 0b1111, sinceMs: 0 })
 * await bundles.export({ path: '/media/usb/ops.ddil', channels: [], precedences: 0b1111, sinceMs: 0, forNodeId })   // only what it lacks
 * const counts = await bundles.import({ path: '/media/usb/ops.ddil' })   // { added, held, refused, reasons, … }
 */
import { readFile, stat } from 'node:fs/promises'
import { isAbsolute } from 'node:path'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { decodeBundle, encodeBundle, type BundleScope, type DecodedBundle } from '../protocol/bundle/format.ts'
import { holdsCount, holdsHas, packShortIds, shortIdsOf } from '../protocol/bundle/holds.ts'
import { toHex } from '../protocol/bytes.ts'
import { decodeEnvelope, Kind, type Envelope } from '../protocol/envelope.ts'
import { DecodeError, isDdilError, LimitError, SignatureError, StorageError, UsageError } from '../protocol/errors.ts'
import { compareHlc } from '../protocol/hlc.ts'
import { bundleBytesMax, bundleEnvelopesMax, bundleHoldsMax } from '../protocol/limits.ts'
import type { Crypto, KeyPair } from '../protocol/ports.ts'
import { reasonOf } from '../protocol/engine/validate.ts'
import type { Engine } from '../protocol/engine/engine.ts'
import type { AuditEvent } from './audit/index.ts'
import type { BundleAdmin, BundleExportRequest, BundleImportResult } from './api/facade.ts'
import { writeFileAtomic } from './fs-durable.ts'
import type { PeerHoldsStore } from './peer-holds.ts'

/** Envelopes submitted at once after the governance (the engine commits them in group writes). */
const importBatchEnvelopes = 256

/**
 * Passes over envelopes refused as unauthorised, while each pass stores some: a parent further
 * on in a bundle that was not exported oldest first. Bounded, so a bundle built to store one
 * envelope per pass costs at most this many passes, not one per envelope.
 */
const importRetryPassesMax = 8


/** Counts `n` envelopes refused for `reason`. */
function refused (result: BundleImportResult, reason: string, n = 1): void {
  result.refused += n
  result.reasons[reason] = (result.reasons[reason] ?? 0) + n
}
export interface BundleDeps {
  engine: Pick<Engine, 'importEnvelope' | 'get' | 'history' | 'holds'>
  /** Every channel this relay carries (an export with no channels exports them all). */
  channels: () => Iterable<Uint8Array>
  crypto: Crypto
  nodeId: string
  nodeKey: KeyPair
  audit: (event: AuditEvent) => Promise<void>
  /** Throws AuditError while the audit log cannot record a bundle (node/audit-gate.ts): asked before anything is read or written. */
  auditReady: (action: string) => void
  nowMs: () => number
  /** What other nodes told this one they hold, kept across restarts. */
  peerHolds: PeerHoldsStore
}

/** Kinds every export carries whatever its scope: what a reader needs to verify and read the rest. */
const alwaysKinds = new Set<number>([Kind.governance, Kind.keys])
const allKinds = Object.values(Kind)

function absolute (path: string): string {
  if (!isAbsolute(path)) throw new UsageError(`bundle path must be absolute (the relay resolves it), not ${path}`)
  return path
}

/** The node id a raw Ed25519 key stands for (a libp2p peer id embeds its key). */
function nodeIdOfKey (publicKey: Uint8Array): string {
  return peerIdFromPublicKey(publicKeyFromRaw(publicKey)).toString()
}

/** The scope's channels, each once (a channel named twice is exported once); none named: every channel carried. */
function channelsOf (scope: BundleScope, carried: () => Iterable<Uint8Array>): Uint8Array[] {
  const named = scope.channels.length > 0 ? scope.channels : [...carried()]
  return [...new Map(named.map(c => [toHex(c), c])).values()]
}

export function createBundles (d: BundleDeps): BundleAdmin {
  /**
   * The envelopes in scope, and how many of the scope's channels' envelopes were left out because
   * `peerHolds` (the peer's list) has them: checked before the envelope is read, whatever its
   * precedence, so an export --for a peer that holds most of the store reads only the rest.
   */
  async function collect (scope: BundleScope, peerHolds?: Uint8Array): Promise<{ envelopes: Envelope[], leftOut: number }> {
    const nowMs = d.nowMs()
    const out: Envelope[] = []
    let leftOut = 0
    // Each id the peer holds may hide one more in history: past this many, more than the limit are in scope anyway.
    const historyLimit = bundleEnvelopesMax + 1 + (peerHolds === undefined ? 0 : holdsCount(peerHolds))
    for (const channel of channelsOf(scope, d.channels)) {
      for (const kind of allKinds) {
        for (const { id, hlc } of await d.engine.history(channel, kind, historyLimit)) {
          const always = alwaysKinds.has(kind)
          if (!always && hlc.ms < scope.sinceMs) continue
          if (peerHolds !== undefined && holdsHas(peerHolds, id)) { leftOut++; continue }
          const env = await d.engine.get(id)
          if (env === undefined) continue
          if (!always && ((scope.precedences >> env.precedence) & 1) === 0) continue
          if (!always && env.expiresAtMs <= nowMs) continue // the other side would refuse it
          out.push(env)
          if (out.length > bundleEnvelopesMax) throw new LimitError(`more than ${bundleEnvelopesMax} envelopes are in scope: narrow the export with --channel, --since or --precedence`)
        }
      }
    }
    // Oldest first, governance before anything of its stamp: the importer authorises in this order.
    out.sort((a, b) => compareHlc(a.hlc, b.hlc) || Number(b.kind === Kind.governance) - Number(a.kind === Kind.governance))
    return { envelopes: out, leftOut }
  }

  /**
   * What this relay holds in the scope's channels, every kind, precedence and stamp: the bundle's
   * holds section. Past bundleHoldsMax, the newest of each channel and kind until the budget is spent.
   */
  async function held (scope: BundleScope): Promise<Uint8Array> {
    const ids: Uint8Array[] = []
    for (const channel of channelsOf(scope, d.channels)) {
      for (const kind of allKinds) {
        if (ids.length >= bundleHoldsMax) break
        for (const { id } of await d.engine.history(channel, kind, bundleHoldsMax - ids.length)) ids.push(id)
      }
    }
    return packShortIds(ids)
  }

  /** The peer's list an export `--for` it leaves out; refuses when the peer has told nothing, or with --since. */
  async function peerList (request: BundleExportRequest): Promise<Uint8Array | undefined> {
    const nodeId = request.forNodeId
    if (nodeId === undefined) return undefined
    if (request.sinceMs > 0) throw new UsageError('--for and --since exclude each other: --for already leaves out what the peer holds')
    const known = await d.peerHolds.read(nodeId)
    if (known === undefined) throw new UsageError(`node ${nodeId} has told this relay nothing of what it holds: import a bundle from it first, or export without --for`)
    return known.holds
  }

  async function read (path: string): Promise<DecodedBundle> {
    const unreadable = (e: unknown): UsageError => new UsageError(`cannot read bundle ${path}: ${(e as Error).message}`)
    let size: number
    try { size = (await stat(path)).size } catch (e) { throw unreadable(e) }
    if (size > bundleBytesMax) throw new LimitError(`bundle ${path} is ${size} bytes; a bundle is at most ${bundleBytesMax}`)
    let bytes: Uint8Array
    try { bytes = new Uint8Array(await readFile(path)) } catch (e) { throw unreadable(e) }
    const bundle = decodeBundle(bytes, d.crypto) // checks the size again: the file may have grown since
    let keyId: string
    try { keyId = nodeIdOfKey(bundle.publicKey) } catch (e) { throw new DecodeError(`bundle public key is not an Ed25519 key: ${(e as Error).message}`) }
    if (keyId !== bundle.nodeId) throw new SignatureError(`bundle claims to come from node ${bundle.nodeId} but is signed by the key of node ${keyId}`)
    return bundle
  }

  async function submitAll (envs: Envelope[], result: BundleImportResult, waiting: Envelope[], sequential: boolean): Promise<void> {
    const one = async (env: Envelope): Promise<void> => {
      if (d.engine.holds(env.id)) { result.held++; return }
      try {
        await d.engine.importEnvelope(env.bytes)
        result.added++
      } catch (e) {
        if (!isDdilError(e)) throw e
        const reason = reasonOf(e)
        // Perhaps not decidable yet (a parent further on in the bundle): judged again once the rest are in.
        if (reason === 'unauthorised') { waiting.push(env); return }
        refused(result, reason)
      }
    }
    if (sequential) { for (const env of envs) await one(env); return }
    for (let i = 0; i < envs.length; i += importBatchEnvelopes) await Promise.all(envs.slice(i, i + importBatchEnvelopes).map(one))
  }

  return {
    async export (request) {
      const path = absolute(request.path)
      d.auditReady('a bundle export')
      const peerHolds = await peerList(request)
      const { envelopes, leftOut } = await collect(request, peerHolds)
      const holds = await held(request)
      const bytes = encodeBundle({
        nodeId: d.nodeId, publicKey: d.nodeKey.publicKey, createdMs: d.nowMs(),
        scope: { channels: request.channels, precedences: request.precedences, sinceMs: request.sinceMs },
        envelopes: envelopes.map(e => e.bytes), holds,
      }, d.crypto, d.nodeKey.privateKey)
      try { await writeFileAtomic(path, bytes, 0o600) } catch (e) { throw new StorageError(`cannot write bundle ${path}: ${(e as Error).message}`) }
      const hash = toHex(d.crypto.sha256(bytes))
      await d.audit({
        who: 'operator', what: 'bundle.exported', outcome: 'ok',
        detail: {
          file: path, hash, envelopes: envelopes.length, bytes: bytes.length, channels: request.channels.map(toHex), precedences: request.precedences, sinceMs: request.sinceMs,
          holds: holdsCount(holds), ...(request.forNodeId === undefined ? {} : { for: request.forNodeId, leftOut }),
        },
      })
      return { envelopes: envelopes.length, bytes: bytes.length, hash, ...(request.forNodeId === undefined ? {} : { leftOut }) }
    },

    async import (request) {
      const path = absolute(request.path)
      d.auditReady('a bundle import')
      let bundle: DecodedBundle
      try {
        bundle = await read(path)
      } catch (e) {
        await d.audit({ who: 'operator', what: 'bundle.imported', outcome: 'refused', detail: { file: path, reason: (e as Error).message } })
        throw e
      }
      const result: BundleImportResult = { nodeId: bundle.nodeId, envelopes: bundle.envelopes.length, added: 0, held: 0, refused: 0, reasons: {} }
      const governance: Envelope[] = []
      const rest: Envelope[] = []
      for (const bytes of bundle.envelopes) {
        let env: Envelope
        try { env = decodeEnvelope(bytes, d.crypto.sha256) } catch (e) {
          refused(result, reasonOf(e))
          continue
        }
        ;(env.kind === Kind.governance ? governance : rest).push(env)
      }
      // What the exporter holds: its list, and what it carried here (a version 1 bundle has no list).
      const told = packShortIds([...shortIdsOf(bundle.holds), ...governance.map(e => e.id), ...rest.map(e => e.id)])
      await d.peerHolds.record({ nodeId: bundle.nodeId, createdMs: bundle.createdMs, holds: told })
      // Governance one at a time, oldest first (a change's stamp follows its causal past's): each may authorise the next.
      const byStamp = (x: Envelope, y: Envelope): number => compareHlc(x.hlc, y.hlc)
      governance.sort(byStamp)
      rest.sort(byStamp)
      let waiting: Envelope[] = []
      await submitAll(governance, result, waiting, true)
      await submitAll(rest, result, waiting, false)
      // What waited on a parent further on in the bundle, until a pass stores nothing more.
      for (let before = Infinity, pass = 0; waiting.length > 0 && waiting.length < before && pass < importRetryPassesMax; pass++) {
        before = waiting.length
        const again = waiting
        waiting = []
        await submitAll(again, result, waiting, true)
      }
      if (waiting.length > 0) refused(result, 'unauthorised', waiting.length)
      await d.audit({
        who: 'operator', what: 'bundle.imported', outcome: 'ok',
        detail: { file: path, hash: toHex(bundle.fileHash), from: bundle.nodeId, createdMs: bundle.createdMs, envelopes: result.envelopes, added: result.added, held: result.held, refused: result.refused, reasons: result.reasons, holds: holdsCount(told) },
      })
      return result
    },
  }
}
