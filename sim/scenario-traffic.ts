/**
 * The `traffic:` section: who sends what, to whom, when. One entry is one stream:
 *
 * - `from`: a node, a group (each member runs the schedule on its own), or `any`
 *   (one schedule; each message picks a random sender among the channel's members,
 *   or among all nodes for direct messages); a direct message's recipient is never
 *   among its senders (`from: field, to: field-1` means field-2 … field-6);
 * - `channel: ops` (every member receives) or `to: <node> | <group> | any` (one random
 *   recipient per message for a group or `any`, never the sender);
 * - schedule, exactly one of: `every: 2m` / `every: 25s..35s` (optional `start`, `stop`,
 *   `count`), `at: 50m` with optional `count` and `every` spacing, `poisson: 20/h`
 *   (optional `start`, `stop`);
 * - `size: 200B`, `100B..1KB`, `500KB` or `200B..2MB`: up to the largest file a channel accepts
 *   by default (`fileBytesMaxDefault`, 25MB); a post larger than one envelope body travels as
 *   file pieces (sim/files.ts). A governed channel post is a text of one envelope, so at most
 *   `envelopeBodyBytesMax`: the channel client sends longer ones as pieces, but governed runs
 *   do not yet track a message made of pieces;
 * - `precedence` (default routine), `ttl` (default `defaults.ttl`).
 *
 * @example
 * readTraffic(val, ctx) // { from: { mode: 'each', nodes: ['hq'] }, to: { kind: 'channel', channel: 'ops' }, … }
 */
import { precedenceNames, type PrecedenceName } from '../protocol/envelope.ts'
import { envelopeBodyBytesMax, fileBytesMaxDefault, trafficCountMax, ttlSecondsMax, ttlSecondsMin } from '../protocol/limits.ts'
import { formatBytes, formatDuration, parseDuration, parseDurationRange, parsePoissonRate, parseSizeRange } from '../protocol/units.ts'
import type { ResolveContext } from './scenario-names.ts'
import type { Fields, Val } from './scenario-source.ts'
import type { ScheduleSpec, SenderSpec, TargetSpec, TrafficSpec } from './scenario-types.ts'

const trafficKeys = ['from', 'to', 'channel', 'every', 'at', 'count', 'poisson', 'start', 'stop', 'size', 'precedence', 'ttl']

/** A time within the scenario: 0 ≤ t ≤ duration. */
export function readTime (v: Val, ctx: ResolveContext): number {
  const ms = v.unit(parseDuration)
  if (ms > ctx.durationMs) v.fail(`${formatDuration(ms)} is after the end of the scenario (duration ${formatDuration(ctx.durationMs)})`)
  return ms
}

export function readTraffic (v: Val, ctx: ResolveContext): TrafficSpec {
  const f = v.map(trafficKeys, 'a traffic stream such as { from: hq, channel: ops, every: 2m, size: 200B }')
  const to = readTarget(f, v, ctx)
  const from = readSenders(f.req('from', 'from: hq'), to, ctx)
  const precedenceVal = f.get('precedence')
  const precedence = (precedenceVal?.str('a precedence') ?? 'routine') as PrecedenceName
  if (!precedenceNames.includes(precedence)) precedenceVal?.fail(`unknown precedence "${precedence}" (expected one of: ${precedenceNames.join(', ')})`)
  const ttlVal = f.get('ttl')
  const ttlMs = ttlVal?.unit(parseDuration) ?? ctx.defaults.ttlMs
  if (ttlMs < ttlSecondsMin * 1000 || ttlMs > ttlSecondsMax * 1000) {
    (ttlVal ?? v).fail(`ttl ${formatDuration(ttlMs)} is outside ${formatDuration(ttlSecondsMin * 1000)}..${formatDuration(ttlSecondsMax * 1000)}`)
  }
  const sizeVal = f.req('size', 'size: 200B')
  const size = sizeVal.unit(parseSizeRange)
  if (size.minBytes < 1) sizeVal.fail('messages need at least 1B')
  if (size.maxBytes > fileBytesMaxDefault) {
    sizeVal.fail(`${formatBytes(size.maxBytes)} is more than the largest file a channel accepts (${formatBytes(fileBytesMaxDefault)}); split it into several posts`)
  }
  if (ctx.governed && to.kind === 'channel' && size.maxBytes > envelopeBodyBytesMax) {
    sizeVal.fail(`${formatBytes(size.maxBytes)} is more than one envelope (${envelopeBodyBytesMax}B): governed runs post channel texts of one envelope (they do not yet track messages made of pieces); use ${envelopeBodyBytesMax}B or less, or a direct message (to:)`)
  }
  warnIfNotMember(from, to, v, ctx)
  return { from, to, schedule: readSchedule(f, v, ctx), size, precedence, ttlMs, pos: v.pos }
}

function readTarget (f: Fields, v: Val, ctx: ResolveContext): TargetSpec {
  const channel = f.get('channel')
  const to = f.get('to')
  if ((channel === undefined) === (to === undefined)) v.fail('write either channel: <name> or to: <node> (not both)')
  if (channel !== undefined) {
    const name = channel.str('a channel name')
    if (!ctx.channels.some(c => c.name === name)) channel.fail(`unknown channel "${name}" (declare it under channels:)`)
    return { kind: 'channel', channel: name }
  }
  const name = (to as Val).str('a node id, a group or any')
  if (ctx.names.hasNode(name)) return { kind: 'node', node: name }
  return { kind: 'random', nodes: ctx.names.nodesOf(to as Val, { any: true }) }
}

function readSenders (v: Val, to: TargetSpec, ctx: ResolveContext): SenderSpec {
  const name = v.str('a node id, a group or any')
  if (name === 'any') {
    const members = to.kind === 'channel' ? ctx.channels.find(c => c.name === to.channel)?.members ?? [] : ctx.names.order
    return { mode: 'random', nodes: members.filter(n => to.kind !== 'node' || n !== to.node) }
  }
  // A node never sends a direct message to itself: `from: field, to: field-1` means the other members.
  const nodes = ctx.names.nodesOf(v).filter(n => to.kind !== 'node' || n !== to.node)
  if (nodes.length === 0) v.fail(`"${name}" would only send to itself`)
  return { mode: 'each', nodes }
}

/**
 * A channel post from a node hosting no member is probably a mistake. What becomes of
 * it depends on the run: ungoverned relays accept it and it is expected at every member
 * (sim/membership.ts); governed ones refuse it. The warning says which, so it never
 * contradicts the report.
 */
function warnIfNotMember (from: SenderSpec, to: TargetSpec, v: Val, ctx: ResolveContext): void {
  if (to.kind !== 'channel' || from.mode !== 'each') return
  const members = new Set(ctx.channels.find(c => c.name === to.channel)?.members)
  const outsiders = from.nodes.filter(n => !members.has(n))
  if (outsiders.length === 0) return
  const p = v.pos
  const one = outsiders.length === 1
  const fate = ctx.governed
    ? `so ${one ? 'its' : 'their'} posts will be refused (governance: true) and are expected nowhere`
    : `but this run is ungoverned (no governance: true), so relays accept ${one ? 'its' : 'their'} posts and they are expected at every member`
  ctx.warnings.push(`${p.file}:${p.line}:${p.col}: ${v.path}: ${outsiders.join(', ')} ${one ? 'hosts' : 'host'} no member of channel "${to.channel}", ${fate}`)
}

function readSchedule (f: Fields, v: Val, ctx: ResolveContext): ScheduleSpec {
  const at = f.get('at')
  const every = f.get('every')
  const poisson = f.get('poisson')
  const count = f.get('count')?.int(1, trafficCountMax)
  const schedules = [at, poisson, at === undefined ? every : undefined].filter(x => x !== undefined).length
  if (schedules !== 1 || (poisson !== undefined && every !== undefined)) {
    v.fail('give exactly one schedule: every: 2m, at: 50m (with optional count), or poisson: 20/h')
  }
  if (at !== undefined) {
    for (const key of ['start', 'stop']) f.get(key)?.fail(`"${key}" does not go with "at" (use at, count and every)`)
    const spacing = every?.unit(parseDuration) ?? 0
    return { kind: 'at', atMs: readTime(at, ctx), count: count ?? 1, spacingMs: spacing }
  }
  const startMs = f.get('start') === undefined ? 0 : readTime(f.get('start') as Val, ctx)
  const stopMs = f.get('stop') === undefined ? ctx.durationMs : readTime(f.get('stop') as Val, ctx)
  if (stopMs <= startMs) (f.get('stop') ?? v).fail('"stop" must come after "start"')
  if (poisson !== undefined) {
    if (count !== undefined) f.get('count')?.fail('"count" does not go with "poisson" (use start and stop)')
    return { kind: 'poisson', ratePerMs: poisson.unit(parsePoissonRate), startMs, stopMs }
  }
  const intervalMs = (every as Val).unit(parseDurationRange)
  if (intervalMs.minMs <= 0) every?.fail('the interval must be longer than 0 (for example 2m or 25s..35s)')
  return { kind: 'every', intervalMs, startMs, stopMs, ...(count !== undefined ? { count } : {}) }
}
