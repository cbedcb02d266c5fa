// Validation as a value and the held (pending-authorisation) pool, each without an engine:
// a verdict says why, what it costs the sender, and what a local client is told; the pool
// holds what cannot be decided yet, drops the heaviest sender's oldest when full, and on
// retry stores or refuses what became decidable.
import t from 'tap'
import { HeldPool } from '../protocol/engine/held.ts'
import { newCounters, type Authoriser, type Refusal, type RefusalReason, type Verdict } from '../protocol/engine/types.ts'
import { refusalError, refusalReason, senderCharge, validate } from '../protocol/engine/validate.ts'
import { authorRef, signEnvelope, type Envelope } from '../protocol/envelope.ts'
import { pendingEnvelopesMax } from '../protocol/limits.ts'
import { aliceKeys, bobKeys, crypto, messageFields, nowMs } from './helpers/fixtures.ts'

const env = (seq: number, keys = aliceKeys, overrides = {}): Envelope => signEnvelope(crypto, messageFields({ author: authorRef(keys.publicKey), seq, hlc: { ms: nowMs, c: 0 }, ...overrides }), keys.privateKey)
const knows = (keys: Array<{ publicKey: Uint8Array }>): Authoriser => ({
  authorise: (e) => {
    const key = keys.find(k => authorRef(k.publicKey).every((b, i) => b === e.author[i]))
    return key === undefined ? { ok: false, pending: true, reason: 'unknown author' } : { ok: true, publicKey: key.publicKey }
  },
})

t.test('validate returns a verdict, never throws for what a peer can send', async t => {
  const deps = { crypto, authoriser: knows([aliceKeys]), networkNowMs: () => nowMs }
  t.same(validate(env(1), deps), { ok: true })
  t.match(validate(env(1, bobKeys), deps), { ok: false, reason: 'pending', message: 'unknown author' })
  t.match(validate(env(1), { ...deps, networkNowMs: () => nowMs + 2 * 3_600_000 }), { ok: false, reason: 'expired' })
  const forged = { ...env(1), signature: new Uint8Array(64) }
  t.match(validate(forged, deps), { ok: false, reason: 'signature' })
  const notCarried: Authoriser = { authorise: () => ({ ok: false, reason: 'not our channel', carried: false }) }
  t.match(validate(env(1), { ...deps, authoriser: notCarried }), { ok: false, reason: 'not-carried' })
})

t.test('a refusal: its reported reason, what it costs the sender, what a local client is told', async t => {
  const r = (reason: Refusal['reason']): Refusal => ({ ok: false, reason, message: 'why' })
  const cases: Array<[Refusal['reason'], RefusalReason, ReturnType<typeof senderCharge>, string]> = [
    ['not-carried', 'unauthorised', 'none', 'ERR_UNAUTHORISED'],
    ['pending', 'unauthorised', 'none', 'ERR_UNAUTHORISED'],
    ['unauthorised', 'unauthorised', 'untimely', 'ERR_UNAUTHORISED'],
    ['expired', 'expired', 'untimely', 'ERR_EXPIRED'],
    ['clock-skew', 'clock-skew', 'untimely', 'ERR_CLOCK_SKEW'],
    ['signature', 'signature', 'bad', 'ERR_SIGNATURE'],
    ['decode', 'decode', 'bad', 'ERR_DECODE'],
  ]
  for (const [reason, reported, charge, code] of cases) {
    t.equal(refusalReason(r(reason)), reported, `${reason} is reported as ${reported}`)
    t.equal(senderCharge(r(reason)), charge, `${reason} costs the sender: ${charge}`)
    t.equal(refusalError(r(reason)).code, code, `${reason}: a client is told ${code}`)
  }
  t.equal(refusalError(r('pending')).message, 'not yet authorised: why')
})

function pool (decide: (e: Envelope) => Verdict): { held: HeldPool, log: string[], counters: ReturnType<typeof newCounters> } {
  const log: string[] = []
  const counters = newCounters()
  const held = new HeldPool({
    counters,
    validate: decide,
    accept: async (e, from) => { log.push(`accept ${e.seq} from ${from}`) },
    refuse: (reason, _detail, peer, e) => { log.push(`refuse ${e?.seq ?? '?'} ${reason} ${peer ?? 'local'}`) },
    crowdedBy: (peer) => { log.push(`charge ${peer}`) },
  })
  return { held, log, counters }
}

t.test('the held pool: retry stores what became decidable, refuses what was refused, keeps the rest', async t => {
  let allowed = new Set<number>()
  const { held, log, counters } = pool(e => allowed.has(e.seq) ? { ok: true } : e.seq === 3 ? { ok: false, reason: 'unauthorised', message: 'removed' } : { ok: false, reason: 'pending', message: 'unknown' })
  const envs = [1, 2, 3].map(seq => env(seq))
  for (const e of envs) held.hold(e, 'peer-a')
  t.equal(counters.heldPending, 3)
  allowed = new Set([1])
  held.retry()
  await Promise.resolve()
  t.same(log, ['accept 1 from peer-a', 'refuse 3 unauthorised peer-a'], 'one stored, one refused, in the order held')
  t.ok(held.has(envs[1].key), 'the undecidable one stays held')
  t.notOk(held.has(envs[0].key) || held.has(envs[2].key))
})

t.test('a full pool drops the oldest envelope of whoever holds most of it, and charges a dominant sender', async t => {
  const { held, log } = pool(() => ({ ok: false, reason: 'pending', message: 'unknown' }))
  const honest = env(1, bobKeys)
  held.hold(honest, 'honest')
  const flood = Array.from({ length: pendingEnvelopesMax }, (_, i) => env(i + 1))
  for (const e of flood) held.hold(e, 'flooder')
  t.same(log, ['refuse 1 unauthorised flooder', 'charge flooder'], 'the flooder\'s oldest went, and it was charged')
  t.ok(held.has(honest.key), 'the honest sender keeps its place')
  t.notOk(held.has(flood[0].key))
})
