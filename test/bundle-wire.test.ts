// The client API's bundle messages (#27, docs/CLIENT-API.md): pinned forms both ways, `--for`'s
// node id and left-out count included, and the decoder's strictness (unknown fields, oversized
// paths, lists and node ids, a precedence mask over 15).
import t from 'tap'
import { decodeClientMessage, decodeServerMessage, encodeClientMessage, encodeServerMessage } from '../node/api/wire.ts'
import { bundlePathCharsMax } from '../node/api/limits.ts'
import { bundleChannelsMax, bundleNodeIdBytesMax } from '../protocol/limits.ts'

const channel = new Uint8Array(8).fill(0xab)

t.test('pinned forms round-trip', async t => {
  const exportText = '{"type":"bundleExport","rid":3,"path":"/media/usb/ops.ddil","channels":[{"channel":"q6urq6urq6s"}],"precedences":3,"sinceMs":1780000000000}'
  t.equal(encodeClientMessage({ type: 'bundleExport', rid: 3, path: '/media/usb/ops.ddil', channels: [{ channel }], precedences: 3, sinceMs: 1_780_000_000_000 }), exportText)
  t.same(decodeClientMessage(exportText), { type: 'bundleExport', rid: 3, path: '/media/usb/ops.ddil', channels: [{ channel }], precedences: 3, sinceMs: 1_780_000_000_000 })
  const forText = '{"type":"bundleExport","rid":4,"path":"/m/b.ddil","channels":[],"precedences":15,"sinceMs":0,"forNodeId":"12D3KooWx"}'
  const forFields = { type: 'bundleExport' as const, rid: 4, path: '/m/b.ddil', channels: [], precedences: 15, sinceMs: 0, forNodeId: '12D3KooWx' }
  t.equal(encodeClientMessage(forFields), forText)
  t.same(decodeClientMessage(forText), forFields)
  const importText = '{"type":"bundleImport","rid":"i","path":"/media/usb/ops.ddil"}'
  t.equal(encodeClientMessage({ type: 'bundleImport', rid: 'i', path: '/media/usb/ops.ddil' }), importText)
  t.same(decodeClientMessage(importText), { type: 'bundleImport', rid: 'i', path: '/media/usb/ops.ddil' })
  const exported = '{"type":"bundleExported","rid":3,"envelopes":9,"bytes":2048,"hash":"' + 'ab'.repeat(32) + '"}'
  t.equal(encodeServerMessage({ type: 'bundleExported', rid: 3, envelopes: 9, bytes: 2048, hash: 'ab'.repeat(32) }), exported)
  t.same(decodeServerMessage(exported), { type: 'bundleExported', rid: 3, envelopes: 9, bytes: 2048, hash: 'ab'.repeat(32) })
  const exportedFor = '{"type":"bundleExported","rid":4,"envelopes":2,"bytes":900,"hash":"' + 'cd'.repeat(32) + '","leftOut":31}'
  t.equal(encodeServerMessage({ type: 'bundleExported', rid: 4, envelopes: 2, bytes: 900, hash: 'cd'.repeat(32), leftOut: 31 }), exportedFor)
  t.same(decodeServerMessage(exportedFor), { type: 'bundleExported', rid: 4, envelopes: 2, bytes: 900, hash: 'cd'.repeat(32), leftOut: 31 })
  const imported = '{"type":"bundleImported","rid":"i","nodeId":"12D3KooWx","envelopes":9,"added":6,"held":2,"refused":1,"reasons":{"expired":1}}'
  const fields = { type: 'bundleImported', rid: 'i', nodeId: '12D3KooWx', envelopes: 9, added: 6, held: 2, refused: 1, reasons: { expired: 1 } } as const
  t.equal(encodeServerMessage(fields), imported)
  t.same(decodeServerMessage(imported), fields)
})

t.test('strict decoding', async t => {
  const base = { type: 'bundleExport', rid: 1, path: '/x', channels: [], precedences: 15, sinceMs: 0 }
  t.throws(() => decodeClientMessage(JSON.stringify({ ...base, extra: 1 })), { code: 'ERR_DECODE' }, 'unknown field')
  t.throws(() => decodeClientMessage(JSON.stringify({ ...base, precedences: 16 })), { code: 'ERR_LIMIT' }, 'mask over 15')
  t.throws(() => decodeClientMessage(JSON.stringify({ ...base, path: '/'.repeat(bundlePathCharsMax + 1) })), { code: 'ERR_LIMIT' }, 'path over the limit')
  t.throws(() => decodeClientMessage(JSON.stringify({ ...base, channels: Array.from({ length: bundleChannelsMax + 1 }, () => ({ channel: 'q6urq6urq6s' })) })), { code: 'ERR_LIMIT' }, 'too many channels')
  t.throws(() => decodeClientMessage(JSON.stringify({ ...base, channels: [{ channel: 'q6ur' }] })), { code: 'ERR_DECODE' }, 'a channel reference of the wrong length')
  t.throws(() => decodeClientMessage('{"type":"bundleImport","rid":1}'), { code: 'ERR_DECODE' }, 'path missing')
  t.throws(() => decodeClientMessage(JSON.stringify({ ...base, forNodeId: 'x'.repeat(bundleNodeIdBytesMax + 1) })), { code: 'ERR_LIMIT' }, 'a node id over the limit')
  t.throws(() => decodeClientMessage(JSON.stringify({ ...base, forNodeId: 7 })), { code: 'ERR_DECODE' }, 'a node id that is not text')
})
