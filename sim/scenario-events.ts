/**
 * The `events:` section: faults and changes. Each entry has `at` (or `from`/`to` for a
 * flap) and exactly one action:
 *
 *   down/up: [a, b]      a link goes down / comes back (explicit: `heal` does not undo `down`)
 *   flap: [a, b], up, down   from `from` to `to`, alternating, starting with the up period
 *   crash/restart: node   the node's store survives a crash
 *   partition: [[…], […]] links between sides go down (sides are nodes or groups)
 *   heal: all             ends every partition, clog and degradation
 *   degrade: [a, b] + knobs   (bandwidth, latency, loss, jitter, duplicate, reorder)
 *   clog/unclog: [a, b]   one way, a → b
 *   remove: { channel, member }   a membership change for the protocol
 *   carry: { from, to, after }    a courier: `from` exports all it holds at `at`, `to` imports
 *                         the bundle `after` later (no link needed; sim/courier.ts)
 *
 * Events are returned sorted by time (ties in file order); crash/restart sequences are
 * checked in that order (no crash of a crashed node, no restart of a running one).
 *
 * @example
 * readEvents(val, ctx) // [{ kind: 'down', atMs: 1800000, link: { a: 'hq', b: 'relay-a' }, … }, …]
 */
import { ConfigError } from '../protocol/errors.ts'
import { flapPeriodsMax } from '../protocol/limits.ts'
import { formatDuration, parseDuration } from '../protocol/units.ts'
import { knobKeys, pairKey, readKnobs, type ResolveContext } from './scenario-names.ts'
import type { Fields, Val } from './scenario-source.ts'
import { readTime } from './scenario-traffic.ts'
import type { Pair, SimEvent } from './scenario-types.ts'

const actions = ['down', 'up', 'flap', 'crash', 'restart', 'partition', 'heal', 'degrade', 'clog', 'unclog', 'remove', 'carry'] as const
type Action = (typeof actions)[number]

/** Keys each action accepts besides itself. */
const extraKeys: Record<Action, readonly string[]> = {
  down: ['at'], up: ['at'], crash: ['at'], restart: ['at'], partition: ['at'], heal: ['at'],
  clog: ['at'], unclog: ['at'], remove: ['at'], carry: ['at'],
  flap: ['from', 'to', 'up', 'down'],
  degrade: ['at', ...knobKeys],
}

export function readEvents (v: Val | undefined, ctx: ResolveContext): SimEvent[] {
  const events = (v?.list('events') ?? []).map(item => readEvent(item, ctx))
  const sorted = events.map((e, i) => ({ e, i })).sort((x, y) => x.e.atMs - y.e.atMs || x.i - y.i).map(x => x.e)
  checkCrashes(sorted)
  return sorted
}

function actionOf (f: Fields, v: Val): Action {
  if (f.has('flap')) return 'flap'
  const present = actions.filter(a => f.has(a))
  if (present.length !== 1) {
    v.fail(present.length === 0
      ? `expected one action (${actions.join(', ')})`
      : `expected one action but found ${present.join(' and ')}`)
  }
  return present[0]
}

function readEvent (v: Val, ctx: ResolveContext): SimEvent {
  const f = v.map(['at', 'from', 'to', ...actions, ...knobKeys], 'an event such as { at: 30m, down: [hq, relay-a] }')
  const action = actionOf(f, v)
  for (const key of f.keys()) {
    if (key !== action && !extraKeys[action].includes(key)) f.get(key)?.fail(`"${key}" does not go with "${action}"`)
  }
  const pos = v.pos
  if (action === 'flap') return readFlap(f, ctx)
  const atMs = readTime(f.req('at', 'at: 30m'), ctx)
  const arg = f.req(action, '') // present: actionOf found it
  switch (action) {
    case 'down': case 'up': case 'clog': case 'unclog':
      return { kind: action, atMs, link: linkPair(arg, ctx), pos }
    case 'crash': case 'restart':
      return { kind: action, atMs, node: ctx.names.node(arg), pos }
    case 'partition':
      return { kind: 'partition', atMs, sides: readSides(arg, ctx), pos }
    case 'heal':
      if (arg.str('all') !== 'all') arg.fail('only "heal: all" is supported')
      return { kind: 'heal', atMs, pos }
    case 'degrade': {
      const params = readKnobs(f)
      if (Object.keys(params).length === 0) v.fail(`degrade needs at least one of: ${knobKeys.join(', ')}`)
      return { kind: 'degrade', atMs, link: linkPair(arg, ctx), params, pos }
    }
    case 'remove':
      return { kind: 'remove', atMs, ...readRemove(arg, ctx), pos }
    case 'carry':
      return { kind: 'carry', atMs, ...readCarry(arg, ctx), pos }
  }
}

/** A node pair that is a link (declared, or created by the contact trace). */
function linkPair (v: Val, ctx: ResolveContext): Pair {
  const pair = ctx.names.pair(v)
  if (!ctx.linkKeys.has(pairKey(pair.a, pair.b))) v.fail(`there is no link between "${pair.a}" and "${pair.b}" (declare it under links:)`)
  return pair
}

function readFlap (f: Fields, ctx: ResolveContext): SimEvent {
  const fromVal = f.req('from', 'from: 1h')
  const fromMs = readTime(fromVal, ctx)
  const toMs = readTime(f.req('to', 'to: 3h'), ctx)
  if (toMs <= fromMs) f.req('to', '').fail('"to" must come after "from"')
  const upVal = f.req('up', 'up: 2m')
  const downVal = f.req('down', 'down: 10m')
  const upMs = upVal.unit(parseDuration)
  const downMs = downVal.unit(parseDuration)
  if (upMs <= 0) upVal.fail('the up period must be longer than 0')
  if (downMs <= 0) downVal.fail('the down period must be longer than 0')
  if ((toMs - fromMs) / (upMs + downMs) > flapPeriodsMax) {
    fromVal.fail(`this flap makes more than ${flapPeriodsMax} up/down periods (lengthen "up"/"down" or shorten ${formatDuration(toMs - fromMs)})`)
  }
  return { kind: 'flap', atMs: fromMs, toMs, link: linkPair(f.req('flap', ''), ctx), upMs, downMs, pos: f.owner.pos }
}

function readSides (v: Val, ctx: ResolveContext): string[][] {
  const sides = v.list('sides such as [[hq, relay-a], [truck, field]]').map(side => {
    if (!side.isList()) side.fail('each side is a list of nodes or groups, like [truck, field]')
    return ctx.names.nodesOf(side)
  })
  if (sides.length < 2) v.fail('a partition needs at least two sides, like [[hq], [truck, field]]')
  const seen = new Set<string>()
  for (const node of sides.flat()) {
    if (seen.has(node)) v.fail(`"${node}" is on more than one side of the partition`)
    seen.add(node)
  }
  return sides
}

function readRemove (v: Val, ctx: ResolveContext): { channel: string, member: string } {
  const f = v.map(['channel', 'member'], '{ channel: ops, member: field-6 }')
  const channelVal: Val = f.req('channel', 'channel: ops')
  const name = channelVal.str('a channel name')
  const channel = ctx.channels.find(c => c.name === name)
  if (channel === undefined) channelVal.fail(`unknown channel "${name}" (declare it under channels:)`)
  const memberVal = f.req('member', 'member: field-6')
  const member = ctx.names.node(memberVal)
  if (!channel.members.includes(member)) memberVal.fail(`"${member}" is not a member of channel "${name}"`)
  return { channel: name, member }
}

function readCarry (v: Val, ctx: ResolveContext): { from: string, to: string, afterMs: number } {
  const f = v.map(['from', 'to', 'after'], '{ from: site-a, to: site-b, after: 40m }')
  const from = ctx.names.node(f.req('from', 'from: site-a'))
  const toVal = f.req('to', 'to: site-b')
  const to = ctx.names.node(toVal)
  if (to === from) toVal.fail(`a courier carries between two nodes, not from "${from}" to itself`)
  const afterVal = f.req('after', 'after: 40m')
  const afterMs = afterVal.unit(parseDuration)
  if (afterMs <= 0) afterVal.fail('the courier\'s journey must take longer than 0')
  return { from, to, afterMs }
}

/** Crash and restart must alternate per node, in time order. */
function checkCrashes (events: SimEvent[]): void {
  const down = new Set<string>()
  for (const e of events) {
    if (e.kind !== 'crash' && e.kind !== 'restart') continue
    const p = e.pos
    const at = `${p.file}:${p.line}:${p.col}`
    if (e.kind === 'crash' && down.has(e.node)) throw new ConfigError(`${at}: "${e.node}" crashes at ${formatDuration(e.atMs)} but is already down`)
    if (e.kind === 'restart' && !down.has(e.node)) throw new ConfigError(`${at}: "${e.node}" restarts at ${formatDuration(e.atMs)} but is not down`)
    if (e.kind === 'crash') down.add(e.node)
    else down.delete(e.node)
  }
}
