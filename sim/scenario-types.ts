/**
 * The fully resolved scenario that `parseScenario` returns and the simulator runner,
 * timeline and oracle consume. Every unit is converted (ms, bytes, bit/s, 0..1
 * fractions), every group expanded, every default applied: consumers never look at
 * the YAML again.
 *
 * @example
 * const s: Scenario = parseScenario(text, 'scenarios/example.yaml')
 * for (const link of s.links) console.log(link.a, link.b, link.params.bandwidthBitsPerSecond)
 */
import type { PrecedenceName } from '../protocol/envelope.ts'
import type { PartnerPolicy } from '../protocol/org/policy.ts'
import type { LinkParams } from './knobs.ts'
import type { ContactEvent } from './contacts.ts'

export type { LinkParams } from './knobs.ts'
export type { ContactEvent } from './contacts.ts'
export type { PrecedenceName } from '../protocol/envelope.ts'

/** Where something was written: file, 1-based line and column. Kept for error messages at run time. */
export interface SourcePos { file: string, line: number, col: number }

/** One simulated relay (with one local user). */
export interface ResolvedNode {
  id: string
  /** Storage quota, bytes. */
  storageBytes: number
  /** The group it was expanded from (`{ group: field, count: 6 }` → `field`), if any. */
  group?: string
  /** Wall-clock offset from true time, ms (`skew: -24h`); absent means 0. */
  skewMs?: number
  /** Clock rate error, parts per million (`drift: 50ppm`); absent means 0. */
  driftPpm?: number
  /**
   * The organisation whose relay this is (#29, `org: water`): relays of different
   * organisations link only when both are gateways (`gateway: true`), as `peers.mode: org`
   * admits them; every other link between them is refused at hello and is no path for the
   * oracle. Absent on every node of a scenario without organisations.
   */
  org?: string
  gateway?: boolean
  /**
   * A gateway's policy for what crosses to and from the other organisations, both ways
   * (#29, `policy: { precedences: [immediate, routine], message_max: 2KB, retention_max: 1d }`):
   * the engine refuses or withholds what it forbids, and the oracle counts no path through a
   * boundary that either gateway's policy closes to the message.
   */
  policy?: PartnerPolicy
}

/** An undirected link as configured (its state over time lives in the timeline). */
export interface ResolvedLink {
  /** Endpoints in declaration order (`between: [a, b]`); contact-only links use trace order. */
  a: string
  b: string
  /** Configured knob values (link's own, else `defaults.link`, else built-in). */
  params: LinkParams
  /** `declared`: listed under `links:` and up from 0. `contact`: created by the contact trace, down until its first `up`. */
  origin: 'declared' | 'contact'
  pos: SourcePos
}

export interface ResolvedChannel {
  name: string
  /** Node ids hosting a member, in node declaration order. */
  members: string[]
  pos: SourcePos
}

/**
 * Who sends a traffic stream's messages. `each`: every listed node runs the schedule
 * independently (a node id gives one sender, a group one per member). `random`
 * (`from: any`): one schedule, and each message picks its sender uniformly among `nodes`.
 */
export type SenderSpec =
  | { mode: 'each', nodes: string[] }
  | { mode: 'random', nodes: string[] }

/** Where a stream's messages go: a channel (all its members), or one node (direct). */
export type TargetSpec =
  | { kind: 'channel', channel: string }
  /** `to: <node>`. */
  | { kind: 'node', node: string }
  /** `to: any` or `to: <group>`: one recipient per message, uniform among `nodes` minus the sender. */
  | { kind: 'random', nodes: string[] }

/** When a stream's messages are created. All times are scenario ms. */
export type ScheduleSpec =
  /** `every: 2m` or `every: 25s..35s`: first message at `startMs + interval`, then one per interval drawn uniformly from the range, while < `stopMs`, at most `count`. */
  | { kind: 'every', intervalMs: { minMs: number, maxMs: number }, startMs: number, stopMs: number, count?: number }
  /** `at: 50m, count: 3` (optionally `every: 10s` spacing): `count` messages from `atMs`, `spacingMs` apart (0: same instant). */
  | { kind: 'at', atMs: number, count: number, spacingMs: number }
  /** `poisson: 20/h`: exponential gaps with mean 1/ratePerMs from `startMs`, while < `stopMs`. */
  | { kind: 'poisson', ratePerMs: number, startMs: number, stopMs: number }

export interface TrafficSpec {
  from: SenderSpec
  to: TargetSpec
  schedule: ScheduleSpec
  /** Plaintext size, bytes, drawn uniformly from the inclusive range per message. */
  size: { minBytes: number, maxBytes: number }
  precedence: PrecedenceName
  /** Time to live from creation, ms. */
  ttlMs: number
  pos: SourcePos
}

/** A node pair as written; `a` → `b` matters only for `clog`/`unclog`. */
export interface Pair { a: string, b: string }

/**
 * Faults and changes, in the order they happen (sorted by time, ties in file order).
 * Link events name a pair that is a declared link or appears in the contact trace.
 */
export type SimEvent =
  | { kind: 'down', atMs: number, link: Pair, pos: SourcePos }
  | { kind: 'up', atMs: number, link: Pair, pos: SourcePos }
  /** `from`..`to` (here `atMs`..`toMs`): alternates up for `upMs`, down for `downMs`, starting UP; at `toMs` the flap lets go and the link returns to its other layers' state. */
  | { kind: 'flap', atMs: number, toMs: number, link: Pair, upMs: number, downMs: number, pos: SourcePos }
  | { kind: 'crash', atMs: number, node: string, pos: SourcePos }
  | { kind: 'restart', atMs: number, node: string, pos: SourcePos }
  /** Links between nodes on different sides go down; nodes on no side are untouched. */
  | { kind: 'partition', atMs: number, sides: string[][], pos: SourcePos }
  /** Ends every partition, clog and degradation; does not undo explicit `down`, flaps, contacts or crashes. */
  | { kind: 'heal', atMs: number, pos: SourcePos }
  /** Overrides the given knobs (merged over earlier degradations of this link) until `heal`. */
  | { kind: 'degrade', atMs: number, link: Pair, params: Partial<LinkParams>, pos: SourcePos }
  /** One-way: frames from `a` to `b` are dropped until `unclog` or `heal`. */
  | { kind: 'clog', atMs: number, link: Pair, pos: SourcePos }
  | { kind: 'unclog', atMs: number, link: Pair, pos: SourcePos }
  /** Membership change, applied by the protocol (the timeline ignores it). */
  | { kind: 'remove', atMs: number, channel: string, member: string, pos: SourcePos }
  /**
   * A courier (#27): at `atMs` node `from` exports every envelope it holds to a bundle, and
   * `afterMs` later node `to` imports it as the relay's `ddil bundle import` does (sim/courier.ts).
   * The two need no link; the timeline ignores it, the oracle counts it as a path.
   */
  | { kind: 'carry', atMs: number, from: string, to: string, afterMs: number, pos: SourcePos }

export type SimEventKind = SimEvent['kind']

/** One `expect` check. `min`: the measured value must be ≥ limit; `max`: ≤ limit. */
export interface ExpectCheck {
  /** The key as written in the scenario and in the report's `expect` object, e.g. `latency_p95_vs_oracle`. */
  key: string
  op: 'min' | 'max'
  /** Fractions for percentages (100% → 1), plain ratios, or ms for durations. */
  limit: number
  unit: 'fraction' | 'ratio' | 'ms'
  pos: SourcePos
}

export type ExpectSpec = ExpectCheck[]

export interface ScenarioDefaults {
  link: LinkParams
  node: { storageBytes: number }
  /** Time to live of traffic that sets none, ms. */
  ttlMs: number
}

export interface Scenario {
  name: string
  description: string
  /** The file name given to `parseScenario` (used in messages). */
  fileName: string
  seed: number
  durationMs: number
  defaults: ScenarioDefaults
  /** In declaration order, groups expanded in place (`field-1` … `field-6`). */
  nodes: ResolvedNode[]
  /** Group name → member ids in order. */
  groups: Record<string, string[]>
  links: ResolvedLink[]
  channels: ResolvedChannel[]
  traffic: TrafficSpec[]
  events: SimEvent[]
  /** Contact-trace transitions within [0, duration), sorted by time (ties in file order). */
  contacts: ContactEvent[]
  /** The trace path as written (relative to the scenario file), if any. */
  contactsFile?: string
  expect: ExpectSpec
  /** `governance: true`: channels are governed and end-to-end encrypted (sim/governed.ts); default false. */
  governance?: boolean
  /**
   * Accepted but probably unintended, one sentence each with its position: e.g. a channel
   * post from a node that hosts no member of that channel (and what the run will do with it).
   */
  warnings: string[]
}
