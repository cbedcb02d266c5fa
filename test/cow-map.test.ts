// CowMap (protocol/channel/cow-map.ts): forks are independent, iteration sees base and overlay,
// and changedSince names exactly the keys whose values differ between two forks of one base.
import t from 'tap'
import { CowMap } from '../protocol/channel/cow-map.ts'

t.test('forks are independent; deletes and overlay merges keep every entry', async t => {
  const a = new CowMap<number>([['x', 1], ['y', 2]])
  const b = a.fork()
  b.set('x', 10); b.delete('y'); b.set('z', 3)
  t.same([...a].sort(), [['x', 1], ['y', 2]], 'the original is untouched')
  t.same([...b].sort(), [['x', 10], ['z', 3]], 'the fork sees its writes')
  t.equal(b.size, 2)
  t.equal(b.get('y'), undefined)
  t.notOk(b.has('y'))
  const c = new CowMap<number>()
  for (let i = 0; i < 1000; i++) c.set(`k${i}`, i) // several overlay merges
  c.delete('k5')
  t.equal(c.size, 999)
  t.equal(c.get('k999'), 999)
  t.equal([...c.values()].reduce((s, v) => s + v, 0), 999 * 1000 / 2 - 5)
})

t.test('changedSince: exactly the keys that differ between forks of one base, undefined across bases', async t => {
  const base = new CowMap<{ v: number }>([['kept', { v: 0 }]])
  const earlier = base.fork()
  earlier.set('a', { v: 1 }); earlier.set('gone', { v: 2 })
  const later = earlier.fork()
  later.set('b', { v: 3 }); later.delete('gone'); later.set('a', { v: 4 })
  t.same(later.changedSince(earlier)?.sort(), ['a', 'b', 'gone'])
  t.same(earlier.fork().changedSince(earlier), [], 'an unchanged fork differs in nothing')
  const merged = later.fork()
  for (let i = 0; i < 300; i++) merged.set(`m${i}`, { v: i }) // its overlay is merged into a new base
  t.equal(merged.changedSince(later), undefined, 'after a merge only a full comparison tells')
})
