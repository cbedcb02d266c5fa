/**
 * The channels' envelopes kept on the device, exactly as the relay served them
 * (ciphertext and signatures: nothing here is secret). Replaying them into the channel
 * client at start-up lets a responder read, and post to, a channel while the relay is
 * unreachable, even after a reload. Bounded per channel: governance, keys and board
 * state are kept (a channel cannot be read without them), the oldest messages and
 * receipts go first; expired envelopes are dropped when read.
 *
 * @example
 * await putCached(db, [cacheRecord(env)])
 * const envs = await loadChannel(db, channelHex, Date.now())
 */
import { toHex } from '../../protocol/bytes.ts'
import { expiresAtMs, Kind, type Envelope } from '../../protocol/envelope.ts'
import type { Db } from './idb.ts'
import { cachedEnvelopesPerChannelMax } from './limits.ts'

export interface CachedEnvelope { channel: string, id: string, kind: number, hlcMs: number, expiresAtMs: number, bytes: Uint8Array }

export function cacheKey (channelHex: string, idHex: string): string { return `${channelHex}/${idHex}` }
const channelRange = (channelHex: string): IDBKeyRange => IDBKeyRange.bound(`${channelHex}/`, `${channelHex}/\uffff`)

export function cacheRecord (env: Envelope): CachedEnvelope {
  return { channel: toHex(env.channel), id: toHex(env.id), kind: env.kind, hlcMs: env.hlc.ms, expiresAtMs: expiresAtMs(env), bytes: env.bytes }
}

export async function putCached (db: Db, records: CachedEnvelope[]): Promise<void> {
  await db.putMany('envelopes', records.map(r => ({ key: cacheKey(r.channel, r.id), value: r })))
}

/** Channels with envelopes on the device. */
export async function cachedChannels (db: Db): Promise<string[]> {
  const keys = await db.keys('envelopes')
  return [...new Set(keys.map(k => String(k).split('/')[0]))]
}

/** A channel's unexpired envelopes: governance and keys first (they open the rest), then by time. */
export async function loadChannel (db: Db, channelHex: string, nowMs: number): Promise<CachedEnvelope[]> {
  const all = await db.getAll<CachedEnvelope>('envelopes', channelRange(channelHex))
  const rank = (k: number): number => k === Kind.governance ? 0 : k === Kind.keys ? 1 : 2
  return all.filter(r => r.expiresAtMs > nowMs).sort((a, b) => rank(a.kind) - rank(b.kind) || a.hlcMs - b.hlcMs)
}

/** Drops expired envelopes, then the oldest messages and receipts beyond the bound. */
export async function pruneChannel (db: Db, channelHex: string, nowMs: number): Promise<void> {
  const all = await db.getAll<CachedEnvelope>('envelopes', channelRange(channelHex))
  const expired = all.filter(r => r.expiresAtMs <= nowMs)
  const droppable = all.filter(r => r.expiresAtMs > nowMs && (r.kind === Kind.message || r.kind === Kind.receipt)).sort((a, b) => a.hlcMs - b.hlcMs)
  const over = Math.max(0, all.length - expired.length - cachedEnvelopesPerChannelMax)
  const gone = [...expired, ...droppable.slice(0, over)]
  if (gone.length === 0) return
  await db.write(['envelopes'], store => { for (const r of gone) store('envelopes').delete(cacheKey(r.channel, r.id)) })
}
