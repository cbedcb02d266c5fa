/**
 * What other relays told this one they hold (#27), learnt from the holds sections of their
 * bundles and kept in the data directory, one file per node: `<dataDir>/bundle-peers/<nodeId>.holds`
 * (protocol/bundle/holds.ts's peer holds file, mode 0600, replaced atomically). Only the newest by
 * the bundle's creation time is kept: a bundle exported earlier and imported later is older news.
 * `ddil bundle export --for NODE` reads it to leave out what NODE holds.
 *
 * Bounded without a count limit: one file per node a verified bundle was imported from, each at
 * most peerHoldsBytesMax. Files appear only when the operator imports a bundle, so their number
 * grows with what the operator carries in, not with network traffic; deleting one only makes the
 * next `--for` export to that node refuse until a bundle from it is imported again.
 *
 * @example
 * const peers = createPeerHolds({ dir: join(dataDir, 'bundle-peers'), crypto })
 * await peers.record({ nodeId, createdMs, holds })   // false: a list as new or newer is kept
 * const known = await peers.read(nodeId)              // undefined: that node has told this one nothing
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodePeerHolds, encodePeerHolds, type PeerHolds } from '../protocol/bundle/holds.ts'
import { DecodeError, LimitError, StorageError, UsageError } from '../protocol/errors.ts'
import { bundleNodeIdBytesMax } from '../protocol/limits.ts'
import type { Crypto } from '../protocol/ports.ts'
import { writeFileAtomic } from './fs-durable.ts'

/** The data directory's folder of peer holds files. */
export const peerHoldsDirName = 'bundle-peers'

export interface PeerHoldsStore {
  /** The newest list `nodeId` gave, or undefined when none was imported. StorageError when its file is damaged. */
  read (nodeId: string): Promise<PeerHolds | undefined>
  /** Keeps `p` unless a list from a bundle created at the same time or later is kept; whether it was. */
  record (p: PeerHolds): Promise<boolean>
}

/** A node id is a libp2p peer id (base58 or base32 letters and digits): never a path. */
const nodeIdPattern = new RegExp(`^[A-Za-z0-9]{1,${bundleNodeIdBytesMax}}$`)

export function createPeerHolds (d: { dir: string, crypto: Pick<Crypto, 'sha256'> }): PeerHoldsStore {
  const fileOf = (nodeId: string): string => {
    if (!nodeIdPattern.test(nodeId)) throw new UsageError(`"${nodeId}" is not a node id (a relay's peer id, as "ddil status" shows it)`)
    return join(d.dir, `${nodeId}.holds`)
  }

  /** The file's list; DecodeError or LimitError when it is damaged. */
  async function load (nodeId: string): Promise<PeerHolds | undefined> {
    const path = fileOf(nodeId)
    let bytes: Uint8Array
    try { bytes = new Uint8Array(await readFile(path)) } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined
      throw new StorageError(`cannot read ${path}: ${(e as Error).message}`)
    }
    const p = decodePeerHolds(bytes, d.crypto)
    if (p.nodeId !== nodeId) throw new DecodeError(`it is the list of node ${p.nodeId}`)
    return p
  }
  const damaged = (e: unknown): boolean => e instanceof DecodeError || e instanceof LimitError

  // One record at a time, so two imports from one node cannot interleave their newest-wins check and write.
  let queue: Promise<unknown> = Promise.resolve()
  async function record (p: PeerHolds): Promise<boolean> {
    const path = fileOf(p.nodeId)
    const bytes = encodePeerHolds(p, d.crypto)
    let known: PeerHolds | undefined
    try { known = await load(p.nodeId) } catch (e) { if (!damaged(e)) throw e } // a damaged file is replaced
    if (known !== undefined && known.createdMs >= p.createdMs) return false
    try {
      await mkdir(d.dir, { recursive: true, mode: 0o700 })
      await writeFileAtomic(path, bytes, 0o600)
    } catch (e) { throw new StorageError(`cannot record what node ${p.nodeId} holds in ${path}: ${(e as Error).message}`) }
    return true
  }

  return {
    async read (nodeId) {
      try { return await load(nodeId) } catch (e) {
        if (!damaged(e)) throw e
        throw new StorageError(`${fileOf(nodeId)} is damaged (${(e as Error).message}): delete it and import a bundle from node ${nodeId} again`)
      }
    },
    async record (p) {
      const done = queue.then(async () => await record(p))
      queue = done.catch(() => undefined) // the next record waits for this one, not for its success
      return await done
    },
  }
}
