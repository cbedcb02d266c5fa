/**
 * What the screens show, computed from the session: channel summaries with unread
 * counts, each own message's state in words, members with names and what this user may
 * do to each. Pure functions of the session's state, so a screen never holds its own copy.
 *
 *   own message:  kept on this device → held by the relay → relayed → delivered to k of N
 *                 → read by k of N;  or expired, or refused (with the relay's reason)
 *
 * @example
 * for (const c of channelSummaries(session)) row(c.name, c.unread)
 * ownStatus(session, hex, item)     // { text: 'Delivered to 1 of 1 · read by 1 of 1', tone: 'ok' }
 */
import { concatBytes, fromHex, toHex } from '../../protocol/bytes.ts'
import { contentPayloadBytesMax } from '../../protocol/channel/content.ts'
import { policySizeLimits } from '../../protocol/channel/governance.ts'
import { mayAdd, mayPost, mayRevoke, maySetRole, roleNames, type Role } from '../../protocol/channel/roles.ts'
import { authorRef, precedenceNames, type Precedence } from '../../protocol/envelope.ts'
import { memberOrganisation, trustOfRelay, type MemberOrganisation, type RelayOrg } from '../../protocol/org/member.ts'
import type { TrustState } from '../../protocol/org/trust.ts'
import type { MessageItem } from './messages.ts'
import type { FieldSession } from './session.ts'

export interface ChannelSummary {
  hex: string
  name: string
  topic: string
  role: Role | undefined
  members: number
  unread: number
  /** Unread flash messages among them. */
  flash: number
  /** This user was a member and has been removed. */
  removed: boolean
  /** Governance is known here (the channel can be shown). */
  ready: boolean
}

/** Doctrine's handling targets per precedence (ACP 127), as the composer and messages show them. */
export const handlingTargets: Record<Precedence, string> = { 0: '10 min', 1: '30 min', 2: '3 h', 3: '6 h' }
export const precedenceLabel = (p: Precedence): string => precedenceNames[p].toUpperCase()

export function myRef (s: FieldSession): string { return toHex(authorRef(s.me.ed25519.publicKey)) }

export function channelName (s: FieldSession, hex: string): string {
  const name = s.cc.state(fromHex(hex)) === undefined ? '' : s.cc.board(fromHex(hex)).name
  return name === '' ? `Channel ${hex.slice(0, 8)}` : name
}

export function channelTopic (s: FieldSession, hex: string): string {
  return s.cc.state(fromHex(hex)) === undefined ? '' : s.cc.board(fromHex(hex)).topic
}

export function myRole (s: FieldSession, hex: string): Role | undefined {
  return s.cc.state(fromHex(hex))?.members.get(myRef(s))?.role ?? s.channels.get(hex)?.listed?.role
}

export function wasRemoved (s: FieldSession, hex: string): boolean {
  return s.cc.state(fromHex(hex))?.removed.has(myRef(s)) === true
}

export function channelSummaries (s: FieldSession): ChannelSummary[] {
  const out: ChannelSummary[] = []
  for (const e of s.channels.values()) {
    const state = s.cc.state(e.ref)
    const removed = wasRemoved(s, e.hex)
    if (state === undefined && e.listed === undefined) continue
    if (state !== undefined && !removed && !state.members.has(myRef(s))) continue
    const unread = e.messages.unreadAfter(e.readMark)
    out.push({
      hex: e.hex, name: channelName(s, e.hex), topic: channelTopic(s, e.hex), role: myRole(s, e.hex),
      members: state?.members.size ?? e.listed?.members ?? 0, unread: unread.length, flash: unread.filter(m => m.precedence === 0).length,
      removed, ready: state !== undefined,
    })
  }
  return out.sort((a, b) => b.flash - a.flash || b.unread - a.unread || a.name.localeCompare(b.name))
}

export type Tone = 'device' | 'relay' | 'ok' | 'bad'

/**
 * An own message's state, in words, as it moves from the device to its readers; and, when a
 * gateway kept it from a partner organisation (#29), why: it may still reach this side.
 */
export function ownStatus (s: FieldSession, hex: string, item: MessageItem): { text: string, tone: Tone } {
  const status = deliveryStatus(s, hex, item)
  const boundary = s.relayStatus.get(item.id)?.boundary
  return boundary === undefined ? status : { text: `${status.text} · ${boundary.charAt(0).toUpperCase()}${boundary.slice(1)}`, tone: 'bad' }
}

function deliveryStatus (s: FieldSession, hex: string, item: MessageItem): { text: string, tone: Tone } {
  const chunks = s.outbox.chunksWaiting(item.id)
  if (s.outbox.has(item.id) || chunks > 0) {
    const sending = chunks === 0 ? 'Sending to the relay…' : `Sending to the relay: ${chunks} piece${chunks === 1 ? '' : 's'} to go…`
    return { text: s.state.state === 'online' ? sending : 'Kept on this device: the relay is unreachable; sent when it is back', tone: 'device' }
  }
  const relay = s.relayStatus.get(item.id)
  if (relay?.state === 'refused') return { text: `Refused by the relay: ${relay.reason ?? 'no reason given'}`, tone: 'bad' }
  const ref = fromHex(hex)
  const delivered = s.cc.delivery(ref, fromHex(item.id))
  const read = s.cc.readBy(ref, fromHex(item.id))
  const expired = relay?.state === 'expired' || item.expiresAtMs <= s.nowMs()
  if (delivered.k > 0) {
    const text = `Delivered to ${delivered.k} of ${delivered.n} · read by ${read.k} of ${read.n}`
    return { text: expired && delivered.k < delivered.n ? `${text} · expired` : text, tone: 'ok' }
  }
  if (expired) return { text: `Expired before anyone received it${relay?.reason === undefined ? '' : `: ${relay.reason}`}`, tone: 'bad' }
  if (relay?.state === 'relayed' || (relay?.relayedTo ?? 0) > 0) return { text: `Relayed to ${relay?.relayedTo ?? 1} relay${relay?.relayedTo === 1 ? '' : 's'} · delivered to 0 of ${delivered.n}`, tone: 'relay' }
  return { text: `Held by the relay · delivered to 0 of ${delivered.n}`, tone: 'relay' }
}

export interface MemberRow {
  ref: string
  ed: Uint8Array
  name: string
  /** Whose organisation vouches for them (#29): from the certificate their add carried, judged against the organisations the relay accepts. */
  org?: MemberOrganisation
  role: Role
  me: boolean
  mayRemove: boolean
  /** Roles this user may change the member to (empty: none). */
  roles: Role[]
}

export function memberRows (s: FieldSession, hex: string): MemberRow[] {
  const state = s.cc.state(fromHex(hex))
  if (state === undefined) return []
  const names = s.cc.profiles(fromHex(hex))
  const mine = state.members.get(myRef(s))?.role
  return [...state.members.entries()].map(([ref, m]) => {
    const me = ref === myRef(s)
    const org = organisationOf(s, hex, ref, m)
    return {
      ref, ed: m.ed, role: m.role, me, name: names.get(ref) ?? '', ...(org !== undefined ? { org } : {}),
      mayRemove: !me && mine !== undefined && mayRevoke(mine, m.role),
      roles: me || mine === undefined ? [] : roleNames.filter(r => r !== m.role && maySetRole(mine, m.role, r)),
    }
  }).sort((a, b) => Number(b.me) - Number(a.me) || roleNames.indexOf(b.role) - roleNames.indexOf(a.role) || a.name.localeCompare(b.name))
}

/** The organisations the relay said it accepts (its status, `orgs`), as a trust state; empty when it runs without organisations. */
function relayTrust (s: FieldSession): TrustState {
  return trustOfRelay((s.relayInfo?.orgs ?? []) as RelayOrg[])
}

/** What the relay calls an organisation (hex key), or that it does not know it. */
export function organisationName (s: FieldSession, ref: string): string {
  return relayTrust(s).orgs.get(ref)?.name ?? 'this relay does not know (relays in org mode will refuse it)'
}

function organisationOf (s: FieldSession, hex: string, ref: string, m: { ed: Uint8Array, x: Uint8Array }): MemberOrganisation | undefined {
  const certificate = s.cc.memberCertificate(fromHex(hex), ref)
  return certificate === undefined ? undefined : memberOrganisation(certificate, concatBytes([m.ed, m.x]), relayTrust(s), s.nowMs(), s.crypto)
}

/** Roles this user may give a new member. */
export function rolesToAdd (s: FieldSession, hex: string): Role[] {
  const mine = myRole(s, hex)
  return mine === undefined || wasRemoved(s, hex) ? [] : roleNames.filter(r => mayAdd(mine, r))
}

export function authorName (s: FieldSession, hex: string, ref: string): string {
  if (ref === myRef(s)) return 'You'
  return s.cc.profiles(fromHex(hex)).get(ref) ?? `Member ${ref.slice(0, 8)}`
}

/** Whether this user may post in the channel now, and if not, why (in words for the composer). */
export function postingProblem (s: FieldSession, hex: string): string | undefined {
  const state = s.cc.state(fromHex(hex))
  if (state === undefined) return 'This channel has not reached this device yet.'
  if (wasRemoved(s, hex)) return 'You were removed from this channel: you can no longer post here or read new messages.'
  const role = state.members.get(myRef(s))?.role
  if (role === undefined) return 'You are not a member of this channel.'
  if (!mayPost(role, state.policy.whoMayPost)) return `Your role here is ${role}: you can read but not post.`
  return undefined
}

/** Longest message the channel's policy allows, bytes of UTF-8 (#23: one over an envelope goes in pieces). */
export function textBytesMax (s: FieldSession, hex: string): number {
  const policy = s.cc.state(fromHex(hex))?.policy
  return policy === undefined ? contentPayloadBytesMax : policySizeLimits(policy).textBytesMax
}

/** Precedences the channel's policy allows. */
export function allowedPrecedence (s: FieldSession, hex: string): Precedence[] {
  return (s.cc.state(fromHex(hex))?.policy.allowedPrecedence ?? [0, 1, 2, 3]) as Precedence[]
}
