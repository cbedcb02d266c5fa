/**
 * Runs an emulation plan for real: builds the network (node/emulate/net.ts), starts a relay
 * per node in its namespace, lets the users set up their channels, then plays the
 * timeline's link and node changes, the posts and the removals at their times in real time,
 * and gathers what arrived where and the relays' wire counters. Everything it made is
 * removed at the end, on failure, and on SIGINT/SIGTERM (the signal then ends the process).
 *
 * @example
 * const result = await runEmulation(plan, { dir, progress: line => process.stderr.write(line) })
 * result.sent.length; result.arrivals
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { newCounters, type Counters } from '../../protocol/engine/types.ts'
import { Membership } from '../../sim/membership.ts'
import { directedKey, timelineChanges, type TimelineChange } from '../../sim/timeline.ts'
import { ProtocolError } from '../../protocol/errors.ts'
import { emulateDrainCheckEveryMs, emulateDrainMsMax, emulateStartMsMax } from './limits.ts'
import { pairsOutstanding } from './report.ts'
import { createNodeCrypto } from '../crypto.ts'
import { buildEmulatedNet, type EmulatedNet } from './net.ts'
import type { EmulationPlan } from './plan.ts'
import { initRelays, type EmulatedRelay } from './relays.ts'
import { Users, type Sent } from './driver.ts'

export interface EmulationResult {
  plan: EmulationPlan
  nodeIds: string[]
  sent: Sent[]
  arrivals: ReadonlyMap<string, ReadonlyMap<string, number>>
  postsSkipped: number
  refusedAtSource: Record<string, number>
  removals: Users['removals']
  /** Links the relays saw go down during the timed run (each end counts), scheduled cuts and crashes included. */
  linkDrops: number
  /** Engine counters summed over every relay and incarnation, and per relay. */
  counters: Counters
  countersByNode: Map<string, Counters>
  /** Wall time of the timed run (set-up excluded, drain included), of the drain after its end, and of the set-up. */
  wallMs: number
  drainMs: number
  setupMs: number
}

export interface EmulationOptions {
  /** Where data directories and relay logs go (a fresh temporary directory, removed afterwards, if absent). */
  dir?: string
  progress?: (line: string) => void
}

type Action = { atMs: number, run: () => Promise<void> | void }

export async function runEmulation (plan: EmulationPlan, options: EmulationOptions = {}): Promise<EmulationResult> {
  const { scenario } = plan
  const say = options.progress ?? (() => {})
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'ddil-emulate-'))
  const ids = scenario.nodes.map(n => n.id)
  const initial = new Map(timelineChanges(plan.timeline).filter(c => c.kind === 'link' && c.atMs === 0).map(c => [`${(c as { from: string }).from}\u0000${(c as { to: string }).to}`, c]))
  let net: EmulatedNet | undefined
  let relays: Map<string, EmulatedRelay> | undefined
  let users: Users | undefined
  const cleanup = (): void => {
    for (const r of relays?.values() ?? []) { void r.crash(); r.closeLog() }
    net?.teardown()
    if (options.dir === undefined) rmSync(dir, { recursive: true, force: true })
  }
  const onSignal = (signal: NodeJS.Signals): void => { cleanup(); process.kill(process.pid, signal) }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    const setupStart = performance.now()
    net = buildEmulatedNet(ids, scenario.links.map(l => ({ a: l.a, b: l.b })), {
      tag: process.pid % 10_000,
      bitsPerSecond: (from, to) => { const c = initial.get(`${from}\u0000${to}`); return c?.kind === 'link' ? c.state.bandwidthBitsPerSecond : 1e6 },
    })
    for (const c of initial.values()) if (c.kind === 'link' && !c.state.up) net.setDirection(c.from, c.to, c.state)
    relays = await initRelays(dir, scenario.nodes, scenario.links, net, createNodeCrypto())
    say(`emulate: ${ids.length} relays in network namespaces, ${scenario.links.length} links; starting\n`)
    await Promise.all([...relays.values()].filter(r => upAtStart(plan, r.id)).map(r => r.start()))
    users = new Users(relays, plan)
    await waitForLinks(plan, relays)
    say(`emulate: relays up and linked after ${((performance.now() - setupStart) / 1000).toFixed(1)} s; creating ${plan.channels.length} channels\n`)
    await users.setup(dir, piecesAtStart(plan))
    const setupMs = performance.now() - setupStart
    say(`emulate: set-up took ${(setupMs / 1000).toFixed(1)} s; running ${(plan.timeline.durationMs / 1000).toFixed(0)} s\n`)
    const countersByNode = new Map(ids.map(id => [id, newCounters()]))
    const membership = new Membership(scenario, {}, true)
    const actions = schedule(plan, dir, net, relays, users, membership, countersByNode)
    const dropsBefore = sumDrops(relays)
    users.start()
    const clock = users
    await play(actions, () => clock.now(), plan.timeline.durationMs)
    const drainMs = await drain(() => pairsOutstanding({ plan, nodeIds: ids, sent: clock.sent, arrivals: clock.arrivals, removals: clock.removals }))
    if (drainMs > 0) say(`emulate: waited ${(drainMs / 1000).toFixed(1)} s after the end for pairs still crossing\n`)
    await users.close()
    for (const r of relays.values()) if (r.running) addCounters(countersByNode.get(r.id) as Counters, (await r.status()).counters)
    const counters = newCounters()
    for (const c of countersByNode.values()) addCounters(counters, c as unknown as Record<string, unknown>)
    return {
      plan, nodeIds: ids, sent: users.sent, arrivals: users.arrivals, postsSkipped: users.postsSkipped, refusedAtSource: users.refusedAtSource, removals: users.removals, linkDrops: sumDrops(relays) - dropsBefore,
      counters, countersByNode, wallMs: users.now(), drainMs, setupMs,
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    // Open sessions would keep this process alive after a failure.
    await users?.close()
    cleanup()
  }
}

/** Waits until nothing the oracle delivers within the run is still outstanding, or `emulateDrainMsMax`; returns how long it waited, ms. */
async function drain (outstanding: () => number): Promise<number> {
  if (outstanding() === 0) return 0
  const start = performance.now()
  while (performance.now() - start < emulateDrainMsMax && outstanding() > 0) {
    await new Promise(resolve => setTimeout(resolve, emulateDrainCheckEveryMs))
  }
  return performance.now() - start
}

/** Resolves once every link up at the start is ready at both its ends (each relay's /status lists the other as a ready peer). */
async function waitForLinks (plan: EmulationPlan, relays: ReadonlyMap<string, EmulatedRelay>): Promise<void> {
  const wanted = plan.scenario.links.filter(l => upAtStart(plan, l.a) && upAtStart(plan, l.b) && linkUpAtStart(plan, l.a, l.b))
  const deadline = performance.now() + emulateStartMsMax
  for (;;) {
    const ready = new Map<string, Set<string>>()
    for (const r of relays.values()) if (r.running) ready.set(r.id, new Set((await r.status()).peers.filter(p => p.ready).map(p => p.id)))
    const missing = wanted.filter(l => !(ready.get(l.a)?.has((relays.get(l.b) as EmulatedRelay).nodeId) ?? false) || !(ready.get(l.b)?.has((relays.get(l.a) as EmulatedRelay).nodeId) ?? false))
    if (missing.length === 0) return
    if (performance.now() > deadline) throw new ProtocolError(`links not up ${emulateStartMsMax / 1000} s after the relays started: ${missing.slice(0, 5).map(l => `${l.a}–${l.b}`).join(', ')}`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

/** The running relays grouped by the links up at the start (connected components). */
function piecesAtStart (plan: EmulationPlan): string[][] {
  const up = plan.scenario.nodes.map(n => n.id).filter(id => upAtStart(plan, id))
  const seen = new Set<string>()
  const pieces: string[][] = []
  for (const start of up) {
    if (seen.has(start)) continue
    const piece = [start]
    seen.add(start)
    for (let i = 0; i < piece.length; i++) {
      for (const l of plan.scenario.links) {
        const other = l.a === piece[i] ? l.b : l.b === piece[i] ? l.a : undefined
        if (other !== undefined && !seen.has(other) && up.includes(other) && linkUpAtStart(plan, l.a, l.b)) { seen.add(other); piece.push(other) }
      }
    }
    pieces.push(piece)
  }
  return pieces
}

function sumDrops (relays: ReadonlyMap<string, EmulatedRelay>): number {
  let n = 0
  for (const r of relays.values()) n += r.linkDrops
  return n
}

function linkUpAtStart (plan: EmulationPlan, a: string, b: string): boolean {
  return plan.timeline.links.get(directedKey(a, b))?.intervals[0]?.state.up === true && plan.timeline.links.get(directedKey(b, a))?.intervals[0]?.state.up === true
}

function upAtStart (plan: EmulationPlan, node: string): boolean {
  return !(plan.timeline.crashes.get(node) ?? []).some(c => c.startMs === 0)
}

/** The run's timed actions: link and node changes from the timeline, removals, posts. */
function schedule (plan: EmulationPlan, dir: string, net: EmulatedNet, relays: Map<string, EmulatedRelay>, users: Users, membership: Membership, counters: Map<string, Counters>): Action[] {
  const actions: Action[] = []
  for (const c of timelineChanges(plan.timeline)) if (c.atMs > 0) actions.push({ atMs: c.atMs, run: () => change(c, net, relays, users, counters) })
  for (const e of plan.scenario.events) {
    if (e.kind === 'remove') actions.push({ atMs: e.atMs, run: async () => { membership.remove(e.channel, e.member, e.atMs, []); await users.remove(e.channel, e.member) } })
    if (e.kind === 'carry') {
      // The bundle travels as a file; the relays share this machine's disk. A courier whose relay is down at either end carries nothing.
      const path = join(dir, `carry-${e.pos.line}-${e.from}-${e.to}.ddilbundle`)
      const exported = { done: Promise.resolve<string | undefined>(undefined) }
      actions.push({ atMs: e.atMs, run: () => { exported.done = users.exportBundle(e.from, path); return exported.done.then(() => {}) } })
      actions.push({ atMs: e.atMs + e.afterMs, run: async () => { const file = await exported.done; if (file !== undefined) await users.importBundle(e.to, file, plan.timeline.durationMs) } })
    }
  }
  for (const p of plan.posts) actions.push({ atMs: p.atMs, run: () => users.post(p, membership) })
  return actions.sort((a, b) => a.atMs - b.atMs)
}

async function change (c: TimelineChange, net: EmulatedNet, relays: Map<string, EmulatedRelay>, users: Users, counters: Map<string, Counters>): Promise<void> {
  if (c.kind === 'link') { net.setDirection(c.from, c.to, c.state); return }
  const relay = relays.get(c.node) as EmulatedRelay
  if (!c.up) {
    // Counters live in the process: read them before it dies (what a crash loses after this read is not counted).
    users.lost(c.node)
    if (relay.running) addCounters(counters.get(c.node) as Counters, (await relay.status()).counters)
    await relay.crash()
    return
  }
  await relay.start()
  await users.connect(c.node)
}

/** Runs each action at its time; an action still running does not hold back later ones. */
async function play (actions: readonly Action[], now: () => number, endMs: number): Promise<void> {
  const running: Array<Promise<void>> = []
  let failure: unknown
  for (const a of actions) {
    if (failure !== undefined) break
    const wait = a.atMs - now()
    if (wait > 0) await new Promise(resolve => setTimeout(resolve, wait))
    running.push(Promise.resolve().then(a.run).catch((e: unknown) => { failure ??= e }))
  }
  const rest = endMs - now()
  if (rest > 0 && failure === undefined) await new Promise(resolve => setTimeout(resolve, rest))
  await Promise.all(running)
  if (failure !== undefined) throw failure
}

function addCounters (into: Counters, from: Record<string, unknown>): void {
  for (const key of Object.keys(into) as Array<keyof Counters>) {
    const v = from[key]
    const cur = into[key]
    if (Array.isArray(cur) && Array.isArray(v)) v.forEach((x: number, i: number) => { cur[i] += x })
    else if (typeof v === 'number') (into as unknown as Record<string, number>)[key] = (cur as number) + v
  }
}
