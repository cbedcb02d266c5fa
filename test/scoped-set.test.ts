// A peer's reconciliation scope (#29): the set less what must not go to that peer, kept up to
// date as the set changes, is the very set one would build from scratch (same symbols, sketch
// and size), so a session over it finds only the real difference.
import t, { type Test } from 'tap'
import { prng, testSeed } from './helpers/seed.ts'
import { binaryString } from '../protocol/bytes.ts'
import { ScopedSet } from '../protocol/engine/scoped-set.ts'
import { ReconcileSet } from '../protocol/reconcile/index.ts'

function sameSet (t: Test, got: ReconcileSet, ids: Iterable<string>, what: string): void {
  const want = new ReconcileSet()
  for (const id of ids) want.add(id)
  t.equal(got.size, want.size, `${what}: size`)
  t.same([...got.symbols], [...want.symbols], `${what}: symbols`)
  t.same([...got.sketch], [...want.sketch], `${what}: sketch`)
}

t.test('a view is the set less its exclusions, through random adds, deletes, exclusions and inclusions', async t => {
  const seed = testSeed(t, import.meta.filename)
  const r = prng(seed)
  const set = new ScopedSet()
  const pool = Array.from({ length: 300 }, () => binaryString(r.bytes(32)))
  const held = new Set<string>()
  // How many exclusions keep each id out of a peer's view (the boundary and a peer's decline may both).
  const out: Record<string, Map<string, number>> = { a: new Map(), b: new Map() }
  for (let step = 0; step < 3_000; step++) {
    const id = pool[r.int(pool.length)]
    const peer = r.next() < 0.5 ? 'a' : 'b'
    const op = r.int(4)
    if (op === 0) { set.add(id); held.add(id) }
    if (op === 1) { set.delete(id); held.delete(id) }
    if (op === 2 && held.has(id)) { set.exclude(peer, id); out[peer].set(id, (out[peer].get(id) ?? 0) + 1) }
    if (op === 3) { set.include(peer, id); const n = out[peer].get(id) ?? 0; if (n > 1) out[peer].set(id, n - 1); else out[peer].delete(id) }
  }
  sameSet(t, set, held, 'the whole set')
  for (const peer of ['a', 'b']) sameSet(t, set.forPeer(peer), [...held].filter(id => !out[peer].has(id)), `peer ${peer}'s view`)
  t.equal(set.forPeer('c'), set, 'a peer nothing was kept from reconciles over the whole set')
})

t.test('a view made late starts from the whole set; one left out nothing more is dropped', async t => {
  const set = new ScopedSet()
  const ids = [1, 2, 3].map(n => binaryString(new Uint8Array(32).fill(n)))
  for (const id of ids) set.add(id)
  set.exclude('p', ids[0])
  sameSet(t, set.forPeer('p'), ids.slice(1), 'the view')
  t.equal(set.scopedPeers, 1)
  set.exclude('p', ids[0]) // kept out twice (say by the boundary and by the peer's decline)
  set.include('p', ids[0])
  sameSet(t, set.forPeer('p'), ids.slice(1), 'one inclusion is not enough')
  set.delete(ids[0])
  set.include('p', ids[0])
  t.equal(set.scopedPeers, 0, 'nothing left out: no view')
  t.equal(set.forPeer('p'), set)
  t.notOk(set.has(ids[0]), 'including an id the set no longer holds does not bring it back')
})
