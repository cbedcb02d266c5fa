/**
 * The emulated network's plan (#26): names and addresses for every node and link of a run, and
 * the iproute2 batch lines that build it. Pure: nothing here runs a command (net.ts does), so the
 * plan can be read and checked without root.
 *
 * Layout: one namespace per node and one "wire" namespace holding one bridge per link. A link
 * is two veth pairs, node A's end ↔ wire port `w<k>a` and node B's end ↔ wire port `w<k>b`,
 * joined by bridge `b<k>`. Shaping and cutting happen only on the wire ports (the direction
 * from → to on the port facing `to`): a drop there is silent, as over the air, where a drop on a
 * node's own interface would be reported to its TCP.
 *
 * @example
 * const plan = planNet(['a', 'b'], [{ a: 'a', b: 'b' }], 12)
 * plan.links[0].addrA // '10.200.0.1'
 * rootLines(plan) // ['netns add dde12n0', ...], for `ip -batch -`
 */
import { tcpRtoMinDefaultMs } from '../p2p/limits.ts'
import { rtoMinAdvisedMs } from '../p2p/route-check.ts'

export interface EmulatedLink { a: string, b: string }

export interface PlannedNode {
  name: string
  ns: string
  /** The management veth's end in the root namespace, and its address there. */
  rootDev: string
  rootAddr: string
  /** The management address inside the node's namespace (on device `m0`). */
  mgmtAddr: string
}

export interface PlannedLink {
  a: string
  b: string
  /** Bridge and the two ports in the wire namespace: `portA` faces node a, `portB` node b. */
  bridge: string
  portA: string
  portB: string
  /** The device in each node's namespace (same name on both sides, in different namespaces). */
  dev: string
  addrA: string
  addrB: string
}

export interface NetPlan {
  /** Every name of this run starts with it: `dde<tag>`. */
  prefix: string
  wire: string
  nodes: PlannedNode[]
  links: PlannedLink[]
}

/**
 * Management addresses live in the root namespace, which concurrent runs share, so they are
 * drawn from the tag: 10.128.0.0/10 holds 2^14 tags × 64 nodes × a /30 each. It overlaps
 * neither the link range (10.200.0.0/13, only ever inside a run's own namespaces) nor the
 * single-link tests' 10.213/10.214.
 */
export const maxTag = 16_383
export const maxNodes = 64
export const maxLinks = 55 * 64

/** Node `node`'s management /30 in tag's block of 10.128.0.0/10: host 1 is the root end, 2 the node's. */
function mgmtIp (tag: number, node: number, host: 1 | 2): string {
  const n = (10 << 24 | 128 << 16) + (tag << 8) + (node << 2) + host
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.')
}

/** Link k's /30: 10.<200 + k/64>.<(k mod 64)·4>.<1 for a, 2 for b>. */
function linkIp (k: number, host: 1 | 2): string {
  return `10.${200 + (k >> 6)}.${(k & 63) * 4}.${host}`
}

/** Names and addresses for a run; throws for input it cannot build (unknown node, self-link, duplicate link, too many). */
export function planNet (nodes: readonly string[], links: readonly EmulatedLink[], tag: number): NetPlan {
  if (!Number.isInteger(tag) || tag < 0 || tag > maxTag) throw new Error(`emulated net: tag ${tag} is not an integer in 0..${maxTag}`)
  if (nodes.length > maxNodes) throw new Error(`emulated net: ${nodes.length} nodes, at most ${maxNodes}`)
  if (links.length > maxLinks) throw new Error(`emulated net: ${links.length} links, at most ${maxLinks}`)
  if (new Set(nodes).size !== nodes.length) throw new Error('emulated net: a node is named twice')
  const prefix = `dde${tag}`
  const seen = new Set<string>()
  for (const { a, b } of links) {
    for (const n of [a, b]) if (!nodes.includes(n)) throw new Error(`emulated net: link ${a}–${b} names unknown node ${n}`)
    if (a === b) throw new Error(`emulated net: link ${a}–${b} joins a node to itself`)
    const key = [a, b].sort().join('\n')
    if (seen.has(key)) throw new Error(`emulated net: link ${a}–${b} is given twice`)
    seen.add(key)
  }
  return {
    prefix,
    wire: `${prefix}w`,
    nodes: nodes.map((name, i) => ({ name, ns: `${prefix}n${i}`, rootDev: `${prefix}m${i}`, rootAddr: mgmtIp(tag, i, 1), mgmtAddr: mgmtIp(tag, i, 2) })),
    links: links.map(({ a, b }, k) => ({ a, b, bridge: `b${k}`, portA: `w${k}a`, portB: `w${k}b`, dev: `l${k}`, addrA: linkIp(k, 1), addrB: linkIp(k, 2) })),
  }
}

/**
 * Lines for `ip -batch -` in the root namespace: the namespaces, their sysctls (no IPv6, whose
 * neighbour and router chatter would eat a slow link's bandwidth; no forwarding, so a node
 * reaches only its direct peers; -e: a kernel without IPv6 has no such keys), and the management veths.
 */
export function rootLines (plan: NetPlan): string[] {
  const namespaces = [...plan.nodes.map(n => n.ns), plan.wire]
  const sysctls = 'net.ipv6.conf.default.disable_ipv6=1 net.ipv6.conf.all.disable_ipv6=1 net.ipv4.ip_forward=0'
  return [
    ...namespaces.map(ns => `netns add ${ns}`),
    ...namespaces.map(ns => `netns exec ${ns} sysctl -eqw ${sysctls}`),
    ...plan.nodes.flatMap(n => [
      `link add ${n.rootDev} type veth peer name m0 netns ${n.ns}`,
      `addr add ${n.rootAddr}/30 dev ${n.rootDev}`,
      `link set ${n.rootDev} up`,
    ]),
  ]
}

/** Lines for `ip -n <wire> -batch -`: each link's bridge and its two veth pairs, the far ends placed in the nodes' namespaces. */
export function wireLines (plan: NetPlan): string[] {
  const nsOf = new Map(plan.nodes.map(n => [n.name, n.ns]))
  return plan.links.flatMap(l => [
    `link add ${l.bridge} type bridge`,
    `link add ${l.portA} type veth peer name ${l.dev} netns ${nsOf.get(l.a)}`,
    `link add ${l.portB} type veth peer name ${l.dev} netns ${nsOf.get(l.b)}`,
    `link set ${l.portA} master ${l.bridge} up`,
    `link set ${l.portB} master ${l.bridge} up`,
    `link set ${l.bridge} up`,
  ])
}

/**
 * Lines for `ip -n <node's ns> -batch -`: loopback, the management end and the node's link ends,
 * addressed and up; a slow link's route gets the `rto_min` an operator sets on a radio's route
 * (node/p2p/route-check.ts `rtoMinAdvisedMs`, for the slower direction at the start): on a
 * 9.6 kbps radio, with Linux's 200 ms, TCP resent packets still queued in the radio and a flash
 * message waited behind the copies (radio-burst: 3.2 s, 0.87 s with it).
 */
export function nodeLines (plan: NetPlan, node: PlannedNode, bitsPerSecond: (from: string, to: string) => number): string[] {
  const ends = plan.links.flatMap(l => l.a === node.name ? [{ l, addr: l.addrA }] : l.b === node.name ? [{ l, addr: l.addrB }] : [])
  return [
    'link set lo up',
    `addr add ${node.mgmtAddr}/30 dev m0`,
    'link set m0 up',
    ...ends.flatMap(({ l, addr }) => {
      const rto = rtoMinAdvisedMs(Math.min(bitsPerSecond(l.a, l.b), bitsPerSecond(l.b, l.a)))
      const lines = [`addr add ${addr}/30 dev ${l.dev}`, `link set ${l.dev} up`]
      if (rto > tcpRtoMinDefaultMs) lines.push(`route replace ${subnetOf(addr)}/30 dev ${l.dev} src ${addr} rto_min ${rto}ms`)
      return lines
    }),
  ]
}

/** The /30 network of a link address: 10.200.3.1 → 10.200.3.0. */
function subnetOf (addr: string): string {
  const octets = addr.split('.').map(Number)
  octets[3] &= 0xfc
  return octets.join('.')
}

export interface DirectionState { up: boolean, bandwidthBitsPerSecond: number }

/** The radio's own queue: 3 s at its rate, and at least 16 full frames (a modem buffers; a queue of two or three frames drops a TCP connection's first window, as a 3-second queue did). */
const queueSeconds = 3
const queueFramesMin = 16

/**
 * The root qdisc for one direction, after `qdisc replace dev <port> root`. Up: a token bucket at
 * the rate with a queue of `queueSeconds` but at least `queueFramesMin` frames; its bucket holds at least one full frame
 * (a packet larger than the bucket never passes) and at least 1 ms of traffic (a fast link with
 * a one-frame bucket would be held back by timer granularity). Down: a 1-byte bucket, which
 * passes nothing, ARP included, and tells no one.
 */
export function tbfArgs (state: DirectionState): string[] {
  if (!state.up) return ['tbf', 'rate', '8bit', 'burst', '1', 'limit', '1']
  const bits = state.bandwidthBitsPerSecond
  if (!Number.isFinite(bits) || bits < 8) throw new Error(`emulated net: a link's rate must be a finite number of bits per second, at least 8; got ${bits}`)
  const rate = Math.round(bits)
  return ['tbf', 'rate', `${rate}bit`, 'burst', String(Math.max(1600, Math.ceil(rate / 8000))), 'limit', String(Math.max(queueFramesMin * 1514, Math.ceil(rate * queueSeconds / 8)))]
}

/** The wire port that carries from → to (the one facing `to`), or undefined when they share no link. */
export function portFor (plan: NetPlan, from: string, to: string): string | undefined {
  const l = plan.links.find(l => (l.a === from && l.b === to) || (l.a === to && l.b === from))
  return l === undefined ? undefined : l.a === to ? l.portA : l.portB
}

/** Lines for `tc -n <wire> -batch -` that shape every direction of every link as `bitsPerSecond` says. */
export function initialShapeLines (plan: NetPlan, bitsPerSecond: (from: string, to: string) => number): string[] {
  return plan.links.flatMap(l => [
    `qdisc replace dev ${l.portB} root ${tbfArgs({ up: true, bandwidthBitsPerSecond: bitsPerSecond(l.a, l.b) }).join(' ')}`,
    `qdisc replace dev ${l.portA} root ${tbfArgs({ up: true, bandwidthBitsPerSecond: bitsPerSecond(l.b, l.a) }).join(' ')}`,
  ])
}

/** Lines for `ip -force -batch -` that remove the run: the root ends first (a namespace's devices go asynchronously after `netns del`), then the namespaces. */
export function teardownLines (plan: NetPlan): string[] {
  return [...plan.nodes.map(n => `link del ${n.rootDev}`), ...plan.nodes.map(n => `netns del ${n.ns}`), `netns del ${plan.wire}`]
}
