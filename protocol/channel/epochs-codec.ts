/**
 * The keyring on disk, so a client keeps its epoch keys across restarts. Canonical CBOR:
 *
 *   keyring  = { 0: 1 (version), 1: floor, 2: [instance…], 3: [[epoch, messages]…] }
 *   instance = [epoch, ephemeralPublic(32), [key(32)…], [chunk…]]
 *   chunk    = [index, count, keysId(32), knownAtMs, [recipientPrefix(8)…]]
 *
 * Instances sorted by (epoch, ephemeral key), chunks by (index, keys id), keys and
 * prefixes by bytes, counts by epoch. Decoding rebuilds the keyring and re-encodes it:
 * anything but the one canonical form is a DecodeError. The file holds secret keys:
 * the caller stores it where only the user can read it.
 *
 * @example
 * await store.batch([{ type: 'put', key, value: encodeKeyring(ring) }])
 * const ring = decodeKeyring(await store.get(key))
 */
import { bytesEqual } from '../bytes.ts'
import { asArray, asBytes, asMap, asUint, decodeStrict, encodeCanonical, field, onlyKeys, type CborValue } from '../cbor.ts'
import { DecodeError } from '../errors.ts'
import { keyringInstancesMax, keysChunksMax } from '../limits.ts'
import { edPrefixBytes, epochKeyBytes, epochMax, xKeyBytes } from './derive.ts'
import { EpochKeyring, knownAtMsMax, type ChunkState, type InstanceState, type KeyringState } from './epochs.ts'
import { keysChunkEntriesMax } from './keys.ts'

export const keyringVersion = 1
const idBytes = 32

export function encodeKeyring (ring: EpochKeyring): Uint8Array {
  const s = ring.toState()
  const instances: CborValue[] = s.instances.map(i => [
    i.epoch, i.ephemeralPublic, i.keys,
    i.chunks.map(c => [c.index, c.count, c.keysId, c.knownAtMs, c.recipients]),
  ])
  return encodeCanonical(new Map<number, CborValue>([
    [0, keyringVersion], [1, s.floor], [2, instances], [3, s.counts.map(([e, n]) => [e, n])],
  ]))
}

function readChunk (v: CborValue, what: string): ChunkState {
  const [index, count, keysId, knownAtMs, recipients] = asArray(v, what, 5)
  const c: ChunkState = {
    index: asUint(index, `${what} index`, keysChunksMax - 1),
    count: asUint(count, `${what} count`, keysChunksMax, 1),
    keysId: asBytes(keysId, `${what} keys id`, idBytes).slice(),
    knownAtMs: asUint(knownAtMs, `${what} known at`, knownAtMsMax),
    recipients: asArray(recipients, `${what} recipients`, { min: 1, max: keysChunkEntriesMax() })
      .map((r, j) => asBytes(r, `${what} recipient ${j}`, edPrefixBytes).slice()),
  }
  if (c.index >= c.count) throw new DecodeError(`${what}: index ${c.index} not below count ${c.count}`)
  return c
}

function readInstance (v: CborValue, i: number, floor: number): InstanceState {
  const what = `keyring instance ${i}`
  const [epoch, eph, keys, chunks] = asArray(v, what, 4)
  const inst: InstanceState = {
    epoch: asUint(epoch, `${what} epoch`, epochMax, 1),
    ephemeralPublic: asBytes(eph, `${what} ephemeral key`, xKeyBytes).slice(),
    keys: asArray(keys, `${what} keys`, { max: keysChunksMax }).map((k, j) => asBytes(k, `${what} key ${j}`, epochKeyBytes).slice()),
    chunks: asArray(chunks, `${what} chunks`, { min: 1, max: keysChunksMax }).map((c, j) => readChunk(c, `${what} chunk ${j}`)),
  }
  if (inst.epoch <= floor) throw new DecodeError(`${what}: epoch ${inst.epoch} is at or below the pruned floor ${floor}`)
  return inst
}

export function decodeKeyring (bytes: Uint8Array): EpochKeyring {
  const m = onlyKeys(asMap(decodeStrict(bytes, { depthMax: 6, mapEntriesMax: 4, textBytesMax: 0, bytesMax: 32 }), 'keyring'), [0, 1, 2, 3], 'keyring')
  const version = asUint(field(m, 0, 'keyring'), 'keyring version')
  if (version !== keyringVersion) throw new DecodeError(`unsupported keyring version ${version}`)
  const floor = asUint(field(m, 1, 'keyring'), 'keyring floor', epochMax)
  const instances = asArray(field(m, 2, 'keyring'), 'keyring instances', { max: keyringInstancesMax }).map((v, i) => readInstance(v, i, floor))
  const counts = asArray(field(m, 3, 'keyring'), 'keyring counts', { max: keyringInstancesMax }).map((v, i): [number, number] => {
    const [e, n] = asArray(v, `keyring count ${i}`, 2)
    return [asUint(e, `keyring count ${i} epoch`, epochMax, 1), asUint(n, `keyring count ${i} messages`)]
  })
  const state: KeyringState = { floor, instances, counts }
  const ring = new EpochKeyring(state)
  // Strictness by construction: only the form encodeKeyring writes is accepted (order,
  // duplicates, counts for unknown epochs would all change the re-encoded bytes).
  if (!bytesEqual(encodeKeyring(ring), bytes)) throw new DecodeError('keyring is not in canonical form')
  return ring
}
