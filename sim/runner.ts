/**
 * Runs a scenario: builds the fleet (one real engine per node over a simulated disk,
 * clock and transport), replays the compiled link timeline, crashes and restarts,
 * carries couriers' bundles (sim/courier.ts), posts the workload, and records what every node stored. Deterministic: one event
 * queue ordered by (time, sequence), seeded streams per link and traffic entry, and
 * the engines' promise continuations drained whenever a store operation may have woken
 * them, before virtual time advances and before any scenario event (a crash, a link
 * change, a post: scheduled as barriers). An engine thus reacts at the very instant its
 * batch became durable, after the network and store events of that same instant: a hub
 * fanning a frame out to 21 identical links gets one drain for the 21 batches, not 21.
 * `wallMs` is the only value that varies between runs.
 *
 * @example
 * const result = await runScenario(parseScenario(text, path), { seed: 7 })
 * buildReport(result).delivered_vs_oracle
 */
import { performance } from 'node:perf_hooks'
import { FrameType } from '../protocol/frames.ts'
import type { Crypto } from '../protocol/ports.ts'
import { envelopeBodyBytesMax, fileBytesMaxDefault, ttlSecondsMin } from '../protocol/limits.ts'
import type { EngineConfig } from '../protocol/engine/types.ts'
import { ConfigError } from '../protocol/errors.ts'
import type { Logger } from '../protocol/ports.ts'
import { simEpochMs } from './clock.ts'
import { courierLegs, exportAll, importAll, type CarryOutcome } from './courier.ts'
import { isFilePost, pieceBodies } from './files.ts'
import { GovernedFleet, governedSetupAtMs } from './governed.ts'
import { SimIdentities } from './identities.ts'
import { Ledger } from './ledger.ts'
import { Membership, type MembershipHooks } from './membership.ts'
import { SimNetwork } from './network.ts'
import { SimNode } from './node.ts'
import { Rng } from './rng.ts'
import type { Scenario } from './scenario-types.ts'
import { Scheduler } from './scheduler.ts'
import { StringPool } from './sim-disk.ts'
import type { Wake } from './sim-store.ts'
import { compileTimeline, timelineChanges, type Timeline } from './timeline.ts'
import { TraceHash } from './trace.ts'
import { memoisedCrypto, sharedDecoder } from './verify-cache.ts'
import { buildWorkload, type Post } from './workload.ts'
import { RunStats, type RunResult } from './run-stats.ts'
import { simAdmission, simBoundary, simCrossingFacts } from './organisations.ts'

export type { RunResult } from './run-stats.ts'

export interface Progress { simMs: number, durationMs: number, events: number, wallMs: number }

export interface RunOptions {
  /**
   * The crypto port the simulated relays and users use (`createNodeCrypto()` from
   * node/crypto.ts in the CLI): injected, so that sim/ imports nothing of node/.
   */
  crypto: Crypto
  /** Overrides the scenario's seed. */
  seed?: number
  /** Called about once a second of wall time (for a progress line on stderr). */
  progress?: (p: Progress) => void
  /** Virtual time a store batch takes to become durable, ms (the crash window). */
  storeWriteMs?: number
  engineConfig?: Partial<EngineConfig>
  membership?: MembershipHooks
}

/**
 * Virtual time for a store batch to become durable, ms: LevelDB with sync writes manages
 * about 4,500 batches/s on these machines (shared/NOTES.md), so about 0.22 ms each.
 */
const storeWriteMsDefault = 0.25
/** How often queue depths and store use are sampled, virtual ms. */
const sampleEveryMs = 60_000
const silent: Logger = { debug () {}, info () {}, warn () {}, error () {} }

/**
 * Traffic sizes no post can have are a scenario error, reported at the traffic entry (the
 * parser refuses them first, sim/scenario-traffic.ts; this guards scenarios built in code):
 * beyond the largest file a channel accepts, or, for a governed channel post, beyond one
 * envelope body (the channel client sends texts, not files).
 */
function checkSizes (scenario: Scenario): void {
  scenario.traffic.forEach((t, i) => {
    const limit = scenario.governance === true && t.to.kind === 'channel' ? envelopeBodyBytesMax : fileBytesMaxDefault
    if (t.size.maxBytes > limit) {
      const p = t.pos
      throw new ConfigError(`${p.file}:${p.line}:${p.col}: traffic[${i}].size: ${t.size.maxBytes} B is more than the ${limit} B ${limit === envelopeBodyBytesMax ? 'a governed channel post carries' : 'a file may have'}`)
    }
  })
}

export async function runScenario (scenario: Scenario, options: RunOptions): Promise<RunResult> {
  checkSizes(scenario)
  const wallStart = performance.now()
  const seed = options.seed ?? scenario.seed
  const rng = Rng.from(seed)
  const s = new Scheduler()
  const wake: Wake = { pending: false }
  const trace = new TraceHash()
  const timeline: Timeline = compileTimeline(scenario)
  const ids = scenario.nodes.map(n => n.id)
  const index = new Map(ids.map((id, i) => [id, i]))
  const crypto = memoisedCrypto(options.crypto)
  const decoder = sharedDecoder(crypto)
  const identities = new SimIdentities(crypto, seed, ids)
  const ledger = new Ledger(ids.length, scenario.nodes.some(n => n.policy !== undefined) ? simCrossingFacts : undefined)
  const stats = new RunStats(scenario, seed, timeline, ledger, crypto)
  const nodes: SimNode[] = []
  const stringPool = new StringPool()
  const governed = scenario.governance === true
    ? new GovernedFleet({ scenario, crypto, seed, identities, nodes, ledger, scheduler: s, wake, fail: e => { fail(e) } })
    : undefined
  const net = new SimNetwork(s, rng.fork('link'), { handler: (id) => nodes[index.get(id) as number]?.running === true ? nodes[index.get(id) as number].engine : undefined }, {
    sent: (from, to, frame) => { stats.frameSent(frame); trace.add(s.now); trace.add(index.get(from) as number); trace.add(index.get(to) as number); trace.add(frame.length) },
    delivered: (_from, to, frame, sentAtMs) => { if (frame[0] === FrameType.envelope) ledger.frameDelivered(index.get(to) as number, frame, sentAtMs) },
    lost: (_from, _to, frame, why) => stats.frameLost(frame, why),
    disconnected: (by, peer, reason) => stats.disconnects.push({ atMs: s.now, by, peer, reason }),
  })
  for (const link of scenario.links) net.addLink(link.a, link.b)
  for (const [i, n] of scenario.nodes.entries()) {
    const admission = simAdmission(n, () => { stats.refused('not-admitted') })
    const boundary = simBoundary(n, peer => scenario.nodes[index.get(peer) as number]?.org)
    nodes.push(new SimNode({
      ...(admission !== undefined ? { admission } : {}),
      ...(boundary !== undefined ? { boundary } : {}),
      id: n.id, index: i, scheduler: s, epochMs: simEpochMs, clockFault: { skewMs: n.skewMs ?? 0, driftPpm: n.driftPpm ?? 0 },
      crypto, decode: decoder.decode, user: identities.user(n.id), authoriser: governed?.authoriser(i) ?? identities.authoriser, transport: net.transport(n.id), logger: silent, wake,
      storeWriteMs: options.storeWriteMs ?? storeWriteMsDefault, stringPool, engineConfig: { storageBytesMax: n.storageBytes, ...options.engineConfig },
      onUp: () => net.nodeChanged(n.id),
      events: {
        stored: (env, from) => {
          trace.add(s.now); trace.add(i); trace.add(env.bytes.length)
          ledger.stored(i, env, from === 'local' ? 'local' : index.get(from) as number, s.now)
          governed?.stored(i, env)
        },
        restored: env => governed?.restored(i, env),
        removed: (evicted, why) => { if (why === 'evicted') for (const id of evicted) ledger.quota(id) },
        crossingRefused: () => { stats.refused('policy') },
        refused: (reason, _detail, _peer, env) => { stats.refused(reason); if (reason === 'quota' && env !== undefined) ledger.quota(env.id); governed?.refused(env) },
      },
    }))
  }
  let failure: unknown
  const fail = (e: unknown): void => { failure ??= e }
  // Engines open inside the run: opening writes the store layout, a batch that lands at storeWriteMs.
  for (const node of nodes) node.start().catch(fail)
  for (const change of timelineChanges(timeline)) {
    s.at(change.atMs, () => {
      if (change.kind === 'link') { net.setState(change.from, change.to, change.state); return }
      const node = nodes[index.get(change.node) as number]
      trace.add(s.now); trace.add(change.up ? 1 : 0)
      if (change.up) node.start().catch(fail)
      else { node.crash(); net.nodeChanged(node.id) }
    }, true)
  }
  const membership = new Membership(scenario, governed?.hooks ?? options.membership, governed !== undefined)
  if (governed !== undefined) s.at(governedSetupAtMs, () => governed.setup(), true)
  for (const e of scenario.events) if (e.kind === 'remove') s.at(e.atMs, () => membership.remove(e.channel, e.member, s.now, nodes), true)
  const carries = scheduleCarries(scenario, timeline, s, nodes, index, crypto, trace, fail)
  const bodies = rng.fork('bodies')
  const register = (p: Post, envOrPieces: Parameters<Ledger['register']>[1]): ReturnType<Ledger['register']> => {
    const { expected, nonMember } = membership.expected(p)
    return ledger.register(p, envOrPieces, index.get(p.sender) as number, expected.map(id => index.get(id) as number), nonMember, s.now)
  }
  const post = (p: Post): void => {
    if (governed !== undefined && p.target.kind === 'channel') {
      if (!governed.post(p, membership, q => postText(q, bodies.bytes(q.sizeBytes)))) stats.postsSkipped++
      return
    }
    const sender = nodes[index.get(p.sender) as number]
    const channel = p.target.kind === 'channel' ? identities.channelRef(p.target.channel) : identities.directRef(p.sender, p.target.to)
    const spec = { channel, precedence: p.precedence, ttlSeconds: Math.max(ttlSecondsMin, Math.round(p.ttlMs / 1000)) }
    if (isFilePost(p.sizeBytes)) {
      // The content is drawn whether the sender's relay is up or not, as a message's body is (below).
      const content = bodies.bytes(p.sizeBytes)
      const pieces = sender.engine === undefined ? undefined : sender.signPieces({ ...spec, bodies: pieceBodies(content) })
      if (pieces === undefined) { stats.postsSkipped++; return }
      const rec = register(p, pieces)
      sender.submitAll(pieces).then(ok => { rec.acked = ok }, fail)
      return
    }
    const env = sender.sign({ ...spec, body: bodies.bytes(p.sizeBytes) })
    if (env === undefined) { stats.postsSkipped++; return }
    const rec = register(p, env)
    sender.submit(env).then(ok => { rec.acked = ok }, fail)
  }
  for (const p of buildWorkload(scenario, rng.fork('traffic'))) s.at(p.atMs, () => post(p), true)
  for (let t = sampleEveryMs; t < scenario.durationMs; t += sampleEveryMs) s.at(t, () => stats.sample(nodes), true)

  let lastProgress = performance.now()
  while (s.step(scenario.durationMs)) {
    if (wake.pending && s.nextIsLaterOrBarrier()) {
      await new Promise<void>(resolve => setImmediate(resolve))
      wake.pending = false
    }
    if (failure !== undefined) throw failure
    if ((s.executed & 4095) === 0 && options.progress !== undefined && performance.now() - lastProgress > 1000) {
      lastProgress = performance.now()
      options.progress({ simMs: s.now, durationMs: scenario.durationMs, events: s.executed, wallMs: lastProgress - wallStart })
    }
  }
  s.now = scenario.durationMs
  stats.sample(nodes)
  const governance = governed?.finish()
  const result = stats.finish({ nodes, net, events: s.executed, traceHash: trace.hex(), wallMs: performance.now() - wallStart })
  if (governance !== undefined) result.governance = governance
  if (carries.length > 0) result.carries = carries
  return result
}

/**
 * Schedules the scenario's couriers (sim/courier.ts): the export at `at`, the import on
 * arrival (retried each virtual second while `to`'s engine is still opening after a restart).
 * Each leg's trace entry: time, the two nodes, and the number of envelopes carried.
 */
function scheduleCarries (scenario: Scenario, timeline: Timeline, s: Scheduler, nodes: SimNode[], index: ReadonlyMap<string, number>, crypto: Crypto, trace: TraceHash, fail: (e: unknown) => void): CarryOutcome[] {
  const out: CarryOutcome[] = []
  for (const leg of courierLegs(scenario, timeline)) {
    const outcome: CarryOutcome = { from: leg.from, to: leg.to, at_ms: leg.atMs, imported_ms: null, status: leg.skipped ? 'skipped' : 'undelivered', envelopes: 0, added: 0, held: 0, refused: {} }
    out.push(outcome)
    if (leg.skipped) continue
    const from = nodes[index.get(leg.from) as number]
    const to = nodes[index.get(leg.to) as number]
    s.at(leg.atMs, () => {
      const bundle = exportAll(from, crypto.sha256)
      outcome.envelopes = bundle.length
      trace.add(s.now); trace.add(index.get(leg.from) as number); trace.add(index.get(leg.to) as number); trace.add(bundle.length)
      if (leg.arriveMs === Infinity) return
      const arrive = (): void => {
        if (to.engine === undefined) { s.at(s.now + 1000, arrive, true); return }
        outcome.imported_ms = s.now
        outcome.status = 'carried'
        importAll(to, bundle, outcome).catch(fail)
      }
      s.at(leg.arriveMs, arrive, true)
    }, true)
  }
  return out
}

/** A governed post's text: a label padded to the post's size with printable characters drawn from the seeded body stream. */
function postText (p: Post, noise: Uint8Array): string {
  const label = `${p.sender} ${Math.round(p.atMs)} `
  let text = label
  for (let k = label.length; k < p.sizeBytes; k++) text += String.fromCharCode(97 + (noise[k] % 26))
  return text
}
