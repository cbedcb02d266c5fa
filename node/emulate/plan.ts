/**
 * What `ddil emulate` will run, decided before anything is started: the scenario's timeline
 * and posts (the simulator's own, from the same seed), sped up by the time scale, the
 * channels the driver creates (a two-member channel per pair that exchanges direct
 * messages: real relays carry only governed channels), and what this host cannot emulate.
 *
 * Speeding up divides every time of the scenario (events, post times, TTLs, duration,
 * duration limits under `expect`) by the scale; link bandwidths are kept. So a run at
 * scale 60 is the scenario with its traffic 60 times denser, and the oracle scores the
 * run that happened (the sped-up timeline), not the original one.
 *
 * @example
 * const plan = planEmulation(scenario, { seed: 42, timeScale: 100 })
 * plan.posts[0].atMs   // real ms after the start
 * plan.unemulated      // ['latency: 3ms on north-1–north-2 …']
 */
import { UsageError } from '../../protocol/errors.ts'
import { emulateNodesMax, emulateTimeScaleMax } from './limits.ts'
import { Rng } from '../../sim/rng.ts'
import { compileTimeline, directedKey, type Timeline } from '../../sim/timeline.ts'
import type { Scenario } from '../../sim/scenario-types.ts'
import { buildWorkload, type Post } from '../../sim/workload.ts'

export interface EmulatedChannel {
  name: string
  /** Node ids hosting a member; the first creates the channel. */
  members: string[]
}

export interface EmulationPlan {
  scenario: Scenario
  seed: number
  timeScale: number
  /** The sped-up timeline: what the network does, in real ms after the start. */
  timeline: Timeline
  /** The sped-up posts, in time order. */
  posts: Post[]
  /** Scenario channels, then one per pair exchanging direct messages (`directChannelName`). */
  channels: EmulatedChannel[]
  /** One sentence per knob this host leaves out (the run goes on without it). */
  unemulated: string[]
}

/** The channel standing in for the direct messages between `a` and `b`. */
export function directChannelName (a: string, b: string): string {
  return a < b ? `direct:${a}:${b}` : `direct:${b}:${a}`
}

export function planEmulation (scenario: Scenario, options: { seed: number, timeScale: number }): EmulationPlan {
  refuseUnsupported(scenario, options.timeScale)
  const scale = options.timeScale
  const posts = buildWorkload(scenario, Rng.from(options.seed).fork('traffic'))
    .map(p => ({ ...p, atMs: p.atMs / scale, ttlMs: p.ttlMs / scale }))
  return {
    scenario: scaledScenario(scenario, scale),
    seed: options.seed,
    timeScale: scale,
    timeline: scaleTimeline(compileTimeline(scenario), scale),
    posts,
    channels: [...scenario.channels.map(c => ({ name: c.name, members: [...c.members] })), ...directChannels(posts)],
    unemulated: unemulatedKnobs(scenario),
  }
}

/** Refuses, in one sentence naming the scenario's feature, what this emulation cannot run. */
function refuseUnsupported (scenario: Scenario, timeScale: number): void {
  const where = `scenario ${scenario.name}`
  if (!(timeScale >= 1 && timeScale <= emulateTimeScaleMax)) throw new UsageError(`--time-scale must be from 1 to ${emulateTimeScaleMax}, not ${timeScale}`)
  if (scenario.nodes.length > emulateNodesMax) throw new UsageError(`${where} has ${scenario.nodes.length} nodes; one machine emulates at most ${emulateNodesMax} relays (each is a Node process of about 100 MB); use ddil sim for it`)
  const clog = scenario.events.find(e => e.kind === 'clog')
  if (clog !== undefined) throw new UsageError(`${where} has a one-way clog (line ${clog.pos.line}); ddil emulate cuts links both ways only`)
  const skewed = scenario.nodes.find(n => (n.skewMs ?? 0) !== 0 || (n.driftPpm ?? 0) !== 0)
  if (skewed !== undefined) throw new UsageError(`${where} gives node ${skewed.id} a clock skew or drift; relays in ddil emulate share this machine's clock`)
  const affiliated = scenario.nodes.find(n => n.org !== undefined)
  if (affiliated !== undefined) throw new UsageError(`${where} puts node ${affiliated.id} in an organisation; ddil emulate does not yet issue certificates to its relays (test/org-federation.test.ts runs organisations between real relays)`)
  const lossy = [...scenario.links.map(l => ({ p: l.params, line: l.pos.line })), ...scenario.events.flatMap(e => e.kind === 'degrade' ? [{ p: e.params, line: e.pos.line }] : [])]
    .find(x => (x.p.loss ?? 0) > 0 || (x.p.duplicate ?? 0) > 0 || (x.p.reorder ?? 0) > 0)
  if (lossy !== undefined) throw new UsageError(`${where} sets loss, duplicate or reorder (line ${lossy.line}); this kernel has no sch_netem, so ddil emulate cannot drop or reorder packets`)
}

/** Latency and jitter: the wire is a veth, whose delay is microseconds, and netem is missing. */
function unemulatedKnobs (scenario: Scenario): string[] {
  const out: string[] = []
  const latencies = new Set(scenario.links.map(l => l.params.latencyMs))
  if ([...latencies].some(ms => ms > 0)) out.push(`latency (${[...latencies].sort((a, b) => a - b).map(ms => `${ms}ms`).join(', ')}) is not emulated: this kernel has no sch_netem, so links run at the veth's own delay; the oracle still counts it`)
  if (scenario.links.some(l => l.params.jitterMs > 0)) out.push('jitter is not emulated (no sch_netem)')
  return out
}

function directChannels (posts: readonly Post[]): EmulatedChannel[] {
  const pairs = new Map<string, EmulatedChannel>()
  for (const p of posts) {
    if (p.target.kind !== 'direct') continue
    const name = directChannelName(p.sender, p.target.to)
    if (!pairs.has(name)) pairs.set(name, { name, members: [p.sender, p.target.to].sort() })
  }
  return [...pairs.values()]
}

function scaleTimeline (tl: Timeline, scale: number): Timeline {
  const links = new Map([...tl.links].map(([key, link]) => [key, { ...link, intervals: link.intervals.map(iv => ({ ...iv, startMs: iv.startMs / scale, endMs: iv.endMs / scale })) }]))
  const outgoing = new Map([...tl.outgoing].map(([node, list]) => [node, list.map(d => links.get(directedKey(d.from, d.to)) ?? d)]))
  const crashes = new Map([...tl.crashes].map(([node, list]) => [node, list.map(c => ({ startMs: c.startMs / scale, endMs: c.endMs / scale }))]))
  return { durationMs: tl.durationMs / scale, nodes: tl.nodes, links, outgoing, crashes }
}

/** The scenario as the report reads it: its duration and duration limits sped up. */
function scaledScenario (scenario: Scenario, scale: number): Scenario {
  return {
    ...scenario,
    durationMs: scenario.durationMs / scale,
    events: scenario.events.map(e => e.kind === 'carry' ? { ...e, atMs: e.atMs / scale, afterMs: e.afterMs / scale } : { ...e, atMs: e.atMs / scale }),
    expect: scenario.expect.map(x => x.unit === 'ms' ? { ...x, limit: x.limit / scale } : x),
  }
}
