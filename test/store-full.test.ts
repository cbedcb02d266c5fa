// A full disk under the real LevelStore (a small tmpfs, mounted as root): writes stop with
// StorageError and reads go on; once space returns the store reopens itself and takes
// writes again, with nothing acknowledged lost (brief §7, storage: disk full).
import t from 'tap'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { StorageError } from '../protocol/errors.ts'
import { encodeKey } from '../protocol/keys.ts'
import { openLevelStore } from '../node/store/level-store.ts'
import { storeReopenFreeBytesMin } from '../node/store/limits.ts'
import { waitUntil } from './helpers/wait.ts'

const root = process.getuid?.() === 0

t.test('a full disk stops writes, reads go on, and writes resume by themselves once space returns', { skip: root ? false : 'mounting a small tmpfs needs root' }, async t => {
  const mnt = mkdtempSync(join(tmpdir(), 'ddil-full-'))
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mnt])
  t.teardown(() => { execFileSync('umount', ['-l', mnt]); rmSync(mnt, { recursive: true, force: true }) })
  const dir = join(mnt, 'store')
  const store = await openLevelStore(dir)
  const acknowledged: Uint8Array[] = []
  let failure: unknown
  // 4 KB of random bytes per batch: LevelDB cannot compress them, so 8 MB fill in about 2,000.
  for (let i = 0; i < 10_000 && failure === undefined; i++) {
    const key = encodeKey(['k', i])
    try {
      await store.batch([{ type: 'put', key, value: new Uint8Array(randomBytes(4096)) }])
      acknowledged.push(key)
    } catch (e) {
      failure = e
    }
  }
  t.type(failure, StorageError, `the disk filled after ${acknowledged.length} batches: ${(failure as Error).message}`)
  t.ok(store.writeFailure, 'the store stopped taking writes')
  await t.rejects(store.batch([{ type: 'put', key: encodeKey(['late']), value: new Uint8Array(1) }]), StorageError, 'refused while the disk is full')
  t.equal((await store.get(acknowledged[0]))?.length, 4096, 'reads go on')

  execFileSync('mount', ['-o', `remount,size=${8 + 2 * storeReopenFreeBytesMin / 1024 / 1024}m`, mnt]) // space returns
  await waitUntil('the store to take writes again, with no restart', () => store.batch([{ type: 'put', key: encodeKey(['after']), value: new Uint8Array(1) }]).then(() => true, () => undefined), { patienceMs: 90_000, everyMs: 200 })
  t.equal(store.writeFailure, undefined)
  for (const key of [acknowledged[0], acknowledged.at(-1) as Uint8Array]) t.equal((await store.get(key))?.length, 4096, 'acknowledged writes are still there')
  await store.close()

  const again = await openLevelStore(dir)
  t.teardown(() => again.close())
  let found = 0
  for (const key of acknowledged) if ((await again.get(key)) !== undefined) found++
  t.equal(found, acknowledged.length, 'after a restart, every acknowledged write is there')
  t.ok(await again.get(encodeKey(['after'])), 'and the write after the recovery')
})
