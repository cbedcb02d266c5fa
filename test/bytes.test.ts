/** Byte helpers: the transient slab allocator behind store records and outgoing frames. */
import t from 'tap'
import { ByteWriter, transientBytes } from '../protocol/bytes.ts'
import { encodeFrame, decodeFrame, FrameType } from '../protocol/frames.ts'

t.test('transient buffers are zeroed, disjoint and aligned, however their neighbours are used', async t => {
  const sizes = [1, 7, 8, 300, 4096, 13, 2000]
  const bufs: Uint8Array[] = []
  for (let round = 0; round < 40; round++) {
    for (const size of sizes) {
      const b = transientBytes(size)
      t.equal(b.length, size)
      if (b.some(x => x !== 0)) t.fail(`a fresh ${size}-byte buffer is not zeroed`)
      if (b.byteOffset % 8 !== 0) t.fail(`a view starts at ${b.byteOffset}, not 8-byte aligned`)
      b.fill(0xff) // a caller writing all of its buffer must not touch anyone else's
      bufs.push(b)
    }
  }
  const regions = bufs.map(b => ({ buffer: b.buffer, from: b.byteOffset, to: b.byteOffset + b.length }))
  let overlaps = 0
  for (let i = 0; i < regions.length; i++) {
    for (let j = i + 1; j < regions.length; j++) {
      const a = regions[i]; const b = regions[j]
      if (a.buffer === b.buffer && a.from < b.to && b.from < a.to) overlaps++
    }
  }
  t.equal(overlaps, 0, 'no two buffers share a byte')
  t.ok(bufs.every(b => b.every(x => x === 0xff)), 'every buffer still holds what its owner wrote')
  t.ok(new Set(bufs.map(b => b.buffer)).size < bufs.length, 'small buffers do share slabs')
})

t.test('a request beyond the carving limit gets a buffer of its own', async t => {
  const big = transientBytes(5000)
  t.equal(big.byteOffset, 0)
  t.equal(big.buffer.byteLength, 5000)
})

t.test('a transient writer and frame read back like any other (views honour their offset)', async t => {
  const w = new ByteWriter(5, { transient: true })
  w.u8(1); w.uintBE(0x01020304, 4)
  t.same([...w.finish()], [1, 1, 2, 3, 4])
  transientBytes(3) // move the slab on, so the next frame starts mid-slab
  const envelope = new Uint8Array(200).fill(7)
  const frame = encodeFrame({ type: FrameType.envelope, envelope })
  t.ok(frame.byteOffset > 0, 'the frame is a view into a slab')
  const back = decodeFrame(frame)
  t.same(back.type === FrameType.envelope ? [...back.envelope] : [], [...envelope])
})
