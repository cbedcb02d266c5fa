// A partner policy (#29): the facts a gateway reads off an envelope, each rule's refusal in the
// sender's words, the rate as pacing, what `ddil org policy` makes of its options, and a
// hand-edited orgs.json policy refused with a sentence.
import t from 'tap'
import { aliceKeys, bobKeys, channel, crypto, nowMs } from './helpers/fixtures.ts'
import { toHex } from '../protocol/bytes.ts'
import { authorRef, Kind, Precedence, signEnvelope, type Envelope, type EnvelopeFields } from '../protocol/envelope.ts'
import { encodePieceHead, FileForm } from '../protocol/files/piece.ts'
import { crossingFacts, describePolicy, judgeCrossing, type PartnerPolicy } from '../protocol/org/policy.ts'
import { createBoundaryPolicy } from '../node/org/boundary-policy.ts'
import { changedPolicy } from '../node/org/commands.ts'
import { checkPolicy, type Partner } from '../node/org/trust-store.ts'
import { formatUserPublicKey } from '../node/user-identity.ts'

const names = { ours: 'Water utility', partner: 'County EM' }
const alice = toHex(authorRef(aliceKeys.publicKey))
const bob = toHex(authorRef(bobKeys.publicKey))

function env (o: Partial<EnvelopeFields> = {}): Envelope {
  return signEnvelope(crypto, {
    kind: Kind.message, precedence: Precedence.routine, channel, author: authorRef(aliceKeys.publicKey), seq: 1,
    hlc: { ms: nowMs, c: 0 }, ttlSeconds: 86_400, epoch: 1, deps: [], body: new Uint8Array(300), ...o,
  }, aliceKeys.privateKey)
}

const creatorIsBob = (): string => bob

t.test('facts: a message, a file piece, a genesis, governance', async t => {
  const m = crossingFacts(env(), creatorIsBob)
  t.same(m, { kind: Kind.message, precedence: Precedence.routine, messageBytes: 300, creator: bob, lifetimeMs: 86_400_000, startsMessage: true })
  const piece = (index: number): Envelope => env({ kind: Kind.file, body: new Uint8Array([...encodePieceHead({ form: FileForm.file, index, count: 101 }), ...new Uint8Array(40)]), deps: index === 0 ? [] : [new Uint8Array(32)] })
  t.equal(crossingFacts(piece(0), creatorIsBob).messageBytes, 100 * 1120, 'a file counts by its pieces, whichever piece is judged')
  t.equal(crossingFacts(piece(7), creatorIsBob).messageBytes, 100 * 1120)
  t.equal(crossingFacts(piece(0), creatorIsBob).startsMessage, true, 'its manifest starts a message (the rate counts it)')
  t.equal(crossingFacts(piece(7), creatorIsBob).startsMessage, false, 'its chunks do not')
  const genesis = crossingFacts(env({ kind: Kind.governance }), () => undefined)
  t.equal(genesis.creator, alice, 'a genesis names its own creator')
  t.equal(genesis.lifetimeMs, undefined, 'governance never expires at relays: no lifetime to judge')
  t.equal(crossingFacts(env({ kind: Kind.governance, deps: [new Uint8Array(32)] }), () => undefined).creator, undefined, 'a later change of an unknown channel: creator unknown')
})

t.test('each rule refuses with a sentence naming whose policy and which way', async t => {
  const facts = crossingFacts(env({ precedence: Precedence.flash }), creatorIsBob)
  t.equal(judgeCrossing({}, facts, 'out', names), undefined, 'no rules: everything crosses')
  t.equal(judgeCrossing({ precedences: [1, 2, 3] }, facts, 'out', names), 'Water utility lets only immediate, priority and routine messages cross out to County EM; this one is flash')
  t.equal(judgeCrossing({ precedences: [] }, facts, 'in', names), 'Water utility lets no messages cross in from County EM; this one is flash')
  t.equal(judgeCrossing({ messageBytesMax: 200 }, facts, 'in', names), 'Water utility lets messages of at most 200B cross in from County EM; this one is 300B')
  t.equal(judgeCrossing({ messageBytesMax: 300 }, facts, 'in', names), undefined, 'exactly the limit crosses')
  t.equal(judgeCrossing({ creators: [alice] }, facts, 'out', names), `Water utility does not let channels created by ${bob} cross out to County EM`)
  t.equal(judgeCrossing({ creators: [bob] }, facts, 'out', names), undefined)
  t.match(judgeCrossing({ creators: [bob] }, crossingFacts(env(), () => undefined), 'out', names) ?? '', /does not know who created this channel yet/, 'an unknown creator is not let through a creators rule')
  t.equal(judgeCrossing({ retentionMsMax: 3_600_000 }, facts, 'in', names), 'Water utility lets only what expires within 1h cross in from County EM; this lives 1d (the channel\'s retention)')
  const keys = crossingFacts(env({ kind: Kind.keys, precedence: Precedence.flash }), creatorIsBob)
  t.equal(judgeCrossing({ precedences: [3], messageBytesMax: 1, retentionMsMax: 1 }, keys, 'in', names), undefined, 'message rules leave keys alone: a channel must stay readable')
  t.match(judgeCrossing({ creators: [alice] }, keys, 'in', names) ?? '', /does not let channels created by/, 'a channel kept out is kept out whole')
  const revocation = crossingFacts(env({ kind: Kind.revocation, precedence: Precedence.flash }), () => undefined)
  t.equal(judgeCrossing({ creators: [alice], precedences: [3], retentionMsMax: 1 }, revocation, 'in', names), undefined, 'an organisation\'s revocation always crosses: it is in no channel, and every relay that trusts the organisation needs it')
})

t.test('the rate paces: over it, a message waits (not refused); chunks are not counted', async t => {
  let now = 0
  const partner: Partner = { key: new Uint8Array(32).fill(7), name: 'County EM', gateway: true, trustedMs: 0, policy: { messagesPerMinuteMax: 2 } }
  const policy = createBoundaryPolicy({ partnerEntryOf: peer => peer === 'county-gw' ? partner : undefined, ownName: () => 'Water utility', creatorOf: () => bob, monotonicMs: () => now })
  t.equal(policy.partner('own-relay'), undefined, 'a link within the organisation has no boundary')
  t.equal(policy.judge('own-relay', env(), 'out'), undefined)
  t.equal(policy.judge('county-gw', env(), 'out'), undefined)
  t.equal(policy.judge('county-gw', env(), 'out'), undefined)
  const third = policy.judge('county-gw', env(), 'out')
  t.equal(third?.wait, true, 'the third in a minute waits')
  t.match(third?.reason ?? '', /at most 2 messages a minute cross out to County EM/)
  t.equal(policy.judge('county-gw', env(), 'in'), undefined, 'each direction has its own allowance')
  t.equal(policy.judge('county-gw', env({ kind: Kind.receipt }), 'out'), undefined, 'receipts are not messages: not counted')
  now += 30_000
  t.equal(policy.judge('county-gw', env(), 'out'), undefined, 'half a minute later one more may cross')
  partner.policy = { precedences: [1] }
  t.same(policy.judge('county-gw', env(), 'out'), { reason: 'Water utility lets only immediate messages cross out to County EM; this one is routine', wait: false }, 'the policy as the trust store now says')
})

t.test('ddil org policy: options to rules, "any"/"none" drop a rule, --clear starts over', async t => {
  const before: PartnerPolicy = { precedences: [0], retentionMsMax: 1 }
  const user = formatUserPublicKey(bobKeys.publicKey, new Uint8Array(32).fill(3))
  t.same(changedPolicy(before, { precedences: 'routine,immediate,routine', messageMax: '64KB', creators: `${user},${alice}`, rate: '60/min' }), {
    precedences: [1, 3], retentionMsMax: 1, messageBytesMax: 64_000, creators: [bob, alice], messagesPerMinuteMax: 60,
  })
  t.same(changedPolicy(before, { precedences: 'any', retentionMax: '30d' }), { retentionMsMax: 30 * 86_400_000 })
  t.same(changedPolicy(before, { clear: true, rate: '5' }), { messagesPerMinuteMax: 5 })
  t.throws(() => changedPolicy({}, { precedences: 'urgent' }), { code: 'ERR_USAGE', message: /--precedences: "urgent" is not a precedence \(flash, immediate, priority, routine, or any\)/ })
  t.throws(() => changedPolicy({}, { messageMax: 'big' }), { code: 'ERR_USAGE', message: /--message-max: invalid size/ })
  t.throws(() => changedPolicy({}, { rate: '0' }), { code: 'ERR_USAGE', message: /at least 1/ })
  t.throws(() => changedPolicy({}, { creators: 'ddil1:nope' }), { code: 'ERR_USAGE', message: /--creators/ })
  t.same(describePolicy({ precedences: [1, 3], messageBytesMax: 64_000, creators: [bob], messagesPerMinuteMax: 60, retentionMsMax: 30 * 86_400_000 }),
    ['precedences immediate,routine', 'messages up to 64KB', `channels created by ${bob}`, '60 messages a minute each way', 'kept at most 30d'])
})

t.test('a hand-edited policy in orgs.json is checked rule by rule', async t => {
  t.same(checkPolicy({ precedences: [3, 1] }), { precedences: [1, 3] })
  for (const [bad, why] of [
    [[], /not an object/], [{ precedence: [1] }, /unknown rule "precedence"/], [{ precedences: [4] }, /precedences 0..3/],
    [{ precedences: [1, 1] }, /distinct/], [{ messageBytesMax: 0 }, /at least 1/], [{ messageBytesMax: 1.5 }, /integer/],
    [{ creators: ['ddil1:abc'] }, /author references/], [{ messagesPerMinuteMax: 0 }, /at least 1/], [{ retentionMsMax: -1 }, /at least 1/],
  ] as Array<[unknown, RegExp]>) t.throws(() => checkPolicy(bad), { code: 'ERR_CONFIG', message: why }, JSON.stringify(bad))
})
