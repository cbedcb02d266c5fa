// The field client's pure pieces under Node: the `ddil1:` key form agrees with the CLI's
// (node/user-identity.ts) on random keys and refuses what it refuses, the message list only
// moves items towards readable text, routes parse, enrolment codes normalise, and the page
// for an insecure context names the address to use.
import t from 'tap'
import fc from 'fast-check'
import { createNodeCrypto } from '../node/crypto.ts'
import { formatUserPublicKey, tryParseUserPublicKey } from '../node/user-identity.ts'
import { formatUserKey, parseUserKey, userKeyChars } from '../web/src/user-key.ts'
import { MessageList, type MessageItem } from '../web/src/messages.ts'
import { parseRoute } from '../web/src/route.ts'
import { codeFromHash, normaliseCode } from '../web/src/enrolment.ts'
import { insecureMessage, missingCapabilities } from '../web/src/secure-context.ts'
import { testSeed } from './helpers/seed.ts'

const crypto = createNodeCrypto()

t.test('ddil1 keys: the app writes what ddil whoami writes, and reads what it reads', async t => {
  const seed = testSeed(t)
  const b32 = fc.uint8Array({ minLength: 32, maxLength: 32 })
  fc.assert(fc.property(b32, b32, (ed, x) => {
    const text = formatUserKey(crypto, ed, x)
    const parsed = parseUserKey(crypto, ` ${text.slice(0, 40)}\n${text.slice(40)} `)
    return text === formatUserPublicKey(ed, x) && !('problem' in parsed) && parsed.text === text && !('problem' in tryParseUserPublicKey(text))
  }), { seed, numRuns: 200 })
  t.pass('200 random keys: same text both ways')
  const good = formatUserKey(crypto, new Uint8Array(32).fill(1), new Uint8Array(32).fill(2))
  t.equal(good.length, 'ddil1:'.length + userKeyChars)
  const flipped = good.slice(0, 20) + (good[20] === 'A' ? 'B' : 'A') + good.slice(21)
  for (const [what, bad] of [['a node id', '12D3KooWabc'], ['a short key', good.slice(0, -3)], ['a typo', flipped], ['a stray character', `${good.slice(0, -1)}=`]]) {
    const app = parseUserKey(crypto, bad)
    t.ok('problem' in app, `${what}: the app refuses it`)
    t.ok('problem' in tryParseUserPublicKey(bad), `${what}: so does the CLI`)
  }
})

const item = (over: Partial<MessageItem>): MessageItem => ({
  id: 'aa', kind: 'text', authorRef: '01', mine: false, precedence: 3, hlc: { ms: 1, c: 0 }, expiresAtMs: 10, text: 'hi', reason: '', ...over,
})

t.test('message list: one item per id, only ever upgraded towards text, sorted by clock', async t => {
  const list = new MessageList()
  t.ok(list.put(item({ id: 'b', kind: 'waiting', hlc: { ms: 5, c: 0 }, text: '' })), 'waiting for keys')
  t.ok(list.put(item({ id: 'b', kind: 'text', hlc: { ms: 5, c: 0 }, text: 'now readable' })), 'keys came: readable')
  t.notOk(list.put(item({ id: 'b', kind: 'waiting', hlc: { ms: 5, c: 0 } })), 'never back to waiting')
  t.notOk(list.put(item({ id: 'b', kind: 'text', text: 'again' })), 'a duplicate changes nothing')
  list.put(item({ id: 'a', hlc: { ms: 2, c: 0 } }))
  list.put(item({ id: 'c', hlc: { ms: 2, c: 1 }, mine: true }))
  t.same(list.sorted().map(m => m.id), ['a', 'c', 'b'])
  t.same(list.unreadAfter({ ms: 2, c: 0 }).map(m => m.id), ['b'], 'unread: texts by others after the mark')
})

t.test('routes, enrolment codes and the insecure-context page', async t => {
  t.same(parseRoute('#/c/0123456789abcdef'), { view: 'messages', hex: '0123456789abcdef' })
  t.same(parseRoute('#/c/0123456789abcdef/members'), { view: 'members', hex: '0123456789abcdef' })
  t.same(parseRoute('#/c/0123/board'), { view: 'list' }, 'a malformed reference goes to the list')
  t.same(parseRoute('#/about'), { view: 'about' })
  t.equal(normaliseCode(' abcde fghij\n'), 'ABCDEFGHIJ')
  t.equal(codeFromHash('#enrol=7KQ2M-X9D4R'), '7KQ2M-X9D4R')
  t.equal(codeFromHash('#/about'), '')
  t.same(missingCapabilities({ isSecureContext: false, indexedDB: {} }), ['a secure context', 'WebCrypto'], 'plain HTTP on a LAN address: no secure context, no WebCrypto')
  t.same(missingCapabilities({ isSecureContext: true, crypto: { subtle: {} }, indexedDB: {} }), [])
  const m = insecureMessage({ hostname: '10.0.0.7' }, 'WebCrypto')
  t.match(m.body.join(' '), /plain HTTP at 10\.0\.0\.7/)
  t.match(m.body.join(' '), /https:\/\/10\.0\.0\.7:<port>\//)
})
