/**
 * The workload: every post the scenario's `traffic:` streams ask for, drawn up front
 * from seeded streams (one per traffic entry and sender), so a run's posts do not
 * depend on what the network does. Schedules:
 *
 * - `every`: first post at start + interval, then one per interval (each drawn from
 *   the range), while before `stop`, at most `count`;
 * - `at` + `count`: `count` posts from `at`, `every` apart (0: the same instant);
 * - `poisson`: exponential gaps with the given rate, from `start` while before `stop`.
 *
 * `from: any` is one schedule whose posts pick a sender at random; `to: any` (or a
 * group) picks one recipient per post among the others: The ONE's random unicast.
 *
 * @example
 * const posts = buildWorkload(scenario, Rng.from(7).fork('traffic'))
 * posts[0] // { atMs: 120000, sender: 'hq', target: { kind: 'channel', channel: 'ops' }, sizeBytes: 200, … }
 */
import { Precedence, type PrecedenceName } from '../protocol/envelope.ts'
import type { Rng } from './rng.ts'
import type { Scenario, ScheduleSpec, TrafficSpec } from './scenario-types.ts'

export type PostTarget = { kind: 'channel', channel: string } | { kind: 'direct', to: string }

export interface Post {
  atMs: number
  sender: string
  target: PostTarget
  sizeBytes: number
  precedence: Precedence
  precedenceName: PrecedenceName
  ttlMs: number
  /** Index of the traffic entry it came from. */
  stream: number
}

/** Post times of one schedule, in order, before `endMs`. */
export function scheduleTimes (schedule: ScheduleSpec, endMs: number, rng: Rng): number[] {
  const out: number[] = []
  switch (schedule.kind) {
    case 'every': {
      const stop = Math.min(schedule.stopMs, endMs)
      const max = schedule.count ?? Infinity
      const { minMs, maxMs } = schedule.intervalMs
      for (let t = schedule.startMs; out.length < max;) {
        t += minMs === maxMs ? minMs : minMs + rng.float() * (maxMs - minMs)
        if (t >= stop) break
        out.push(t)
      }
      return out
    }
    case 'at':
      for (let k = 0; k < schedule.count; k++) {
        const t = schedule.atMs + k * schedule.spacingMs
        if (t < endMs) out.push(t)
      }
      return out
    case 'poisson': {
      const stop = Math.min(schedule.stopMs, endMs)
      for (let t = schedule.startMs + rng.exponential(schedule.ratePerMs); t < stop; t += rng.exponential(schedule.ratePerMs)) out.push(t)
      return out
    }
  }
}

function postsOfStream (spec: TrafficSpec, stream: number, endMs: number, rng: Rng): Post[] {
  const base = { precedence: Precedence[spec.precedence], precedenceName: spec.precedence, ttlMs: spec.ttlMs, stream }
  const size = (r: Rng): number => r.between(spec.size.minBytes, spec.size.maxBytes)
  const target = (sender: string, r: Rng): PostTarget | undefined => {
    if (spec.to.kind === 'channel') return { kind: 'channel', channel: spec.to.channel }
    if (spec.to.kind === 'node') return { kind: 'direct', to: spec.to.node }
    const others = spec.to.nodes.filter(n => n !== sender)
    return others.length === 0 ? undefined : { kind: 'direct', to: r.pick(others) }
  }
  const out: Post[] = []
  if (spec.from.mode === 'random') {
    const r = rng.fork('any')
    for (const atMs of scheduleTimes(spec.schedule, endMs, r.fork('times'))) {
      const sender = r.pick(spec.from.nodes)
      const to = target(sender, r)
      if (to !== undefined) out.push({ ...base, atMs, sender, target: to, sizeBytes: size(r) })
    }
    return out
  }
  for (const sender of spec.from.nodes) {
    const r = rng.fork(sender)
    for (const atMs of scheduleTimes(spec.schedule, endMs, r.fork('times'))) {
      const to = target(sender, r)
      if (to !== undefined) out.push({ ...base, atMs, sender, target: to, sizeBytes: size(r) })
    }
  }
  return out
}

/** Every post of the scenario, sorted by time (ties: traffic order, then sender order). */
export function buildWorkload (scenario: Scenario, rng: Rng): Post[] {
  const all = scenario.traffic.flatMap((spec, i) => postsOfStream(spec, i, scenario.durationMs, rng.fork(String(i))))
  return all.map((p, i) => ({ p, i })).sort((x, y) => x.p.atMs - y.p.atMs || x.i - y.i).map(x => x.p)
}
