// The per-peer outbound queue (protocol/engine/queue.ts): precedence first; within a precedence,
// files and other traffic take turns one item each (#23), so neither a file nor several starve a
// message of the same precedence; under its byte bound the largest flow of the lowest precedence
// sheds its newest item first.
import t from 'tap'
import fc from 'fast-check'
import { PrecedenceQueue } from '../protocol/engine/queue.ts'
import { testSeed } from './helpers/seed.ts'

function drain<T> (q: PrecedenceQueue<T>): T[] {
  const out: T[] = []
  for (let x = q.peek(); x !== undefined; x = q.peek()) { t.equal(q.shift(), x, 'shift takes what peek showed'); out.push(x) }
  return out
}

t.test('a message posted after a queued file waits behind one chunk, not the file', async t => {
  const q = new PrecedenceQueue<string>(1 << 20)
  for (let i = 0; i < 100; i++) q.push(3, `file-${i}`, 1300, 'F')
  q.push(3, 'text', 200)
  q.push(0, 'flash', 200)
  const order = drain(q)
  t.equal(order[0], 'flash', 'flash first, whatever waits')
  t.ok(order.indexOf('text') <= 2, `the routine text goes within one chunk (at ${order.indexOf('text')})`)
  t.same(order.filter(x => x.startsWith('file')), Array.from({ length: 100 }, (_, i) => `file-${i}`), 'a file keeps its own order')
})

t.test('two files and texts take turns; without files the queue is first in, first out', async t => {
  const q = new PrecedenceQueue<string>(1 << 20)
  for (let i = 0; i < 3; i++) { q.push(2, `a${i}`, 1300, 'A'); q.push(2, `b${i}`, 1300, 'B') }
  q.push(2, 't0', 100); q.push(2, 't1', 100)
  t.same(drain(q), ['a0', 'b0', 't0', 'a1', 'b1', 't1', 'a2', 'b2'])
  const plain = new PrecedenceQueue<number>(1 << 20)
  for (let i = 0; i < 50; i++) plain.push(i % 4, i, 10)
  t.same(drain(plain), [...Array.from({ length: 50 }, (_, i) => i)].sort((x, y) => (x % 4) - (y % 4) || x - y))
})

t.test('over the byte bound, the big file sheds its tail before a short message goes', async t => {
  const q = new PrecedenceQueue<string>(10_000)
  q.push(3, 'text', 300)
  const dropped: string[] = []
  for (let i = 0; i < 10; i++) dropped.push(...q.push(3, `chunk-${i}`, 1300, 'F'))
  t.same(dropped, ['chunk-7', 'chunk-8', 'chunk-9'], 'the file\'s newest chunks, never the text')
  t.ok(q.bytes <= 10_000)
  t.ok(drain(q).includes('text'))
})

t.test('property: any pushes keep counts and bytes right, and every item kept comes out once in precedence order', async t => {
  const seed = testSeed(t)
  fc.assert(fc.property(fc.array(fc.record({ p: fc.integer({ min: 0, max: 3 }), bytes: fc.integer({ min: 1, max: 2000 }), flow: fc.constantFrom('', 'A', 'B', 'C') }), { maxLength: 200 }), fc.integer({ min: 2000, max: 100_000 }), (ops, bound) => {
    const q = new PrecedenceQueue<number>(bound)
    const dropped = new Set<number>()
    ops.forEach((o, i) => { for (const d of q.push(o.p, i, o.bytes, o.flow)) dropped.add(d) })
    const kept = ops.map((_, i) => i).filter(i => !dropped.has(i))
    if (q.length !== kept.length) return false
    if (q.bytes !== kept.reduce((n, i) => n + ops[i].bytes, 0)) return false
    const out: number[] = []
    for (let x = q.shift(); x !== undefined; x = q.shift()) out.push(x)
    if (out.length !== kept.length || new Set(out).size !== out.length) return false
    // Precedence never goes back up; within a flow, age order.
    for (let i = 1; i < out.length; i++) if (ops[out[i]].p < ops[out[i - 1]].p) return false
    for (const flow of ['', 'A', 'B', 'C']) {
      const mine = out.filter(i => ops[i].flow === flow && ops[i].p === 3)
      for (let i = 1; i < mine.length; i++) if (mine[i] < mine[i - 1]) return false
    }
    return q.length === 0 && q.bytes === 0
  }), { seed, numRuns: 300 })
})
