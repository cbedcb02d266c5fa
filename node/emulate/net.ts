/**
 * The virtual network `ddil emulate` runs real relays on (#26): one Linux network namespace per
 * node, joined only by the scenario's links, each shaped by a token bucket per direction and
 * cut, when the scenario says so, without a word (no RST, no ICMP, interfaces stay up), as a
 * radio out of range. Each node also has an unshaped management address that the root
 * namespace reaches (the relay's client API and admin endpoint), and nothing else: no default
 * route and no forwarding, so a relay reaches only its direct link peers. The layout and the
 * commands are in net-commands.ts; this file runs them. Needs root.
 *
 * @example
 * const net = buildEmulatedNet(['a', 'b'], [{ a: 'a', b: 'b' }], { tag: process.pid % 10000, bitsPerSecond: () => 9600 })
 * spawn('ip', ['netns', 'exec', net.ns('b'), 'ddil', 'start', ...]) // listening on net.linkAddress('b', 'a')
 * net.setDirection('a', 'b', { up: false, bandwidthBitsPerSecond: 9600 }) // a's packets to b vanish
 * net.teardown()
 */
import { spawnSync } from 'node:child_process'
import { initialShapeLines, nodeLines, planNet, portFor, rootLines, tbfArgs, teardownLines, wireLines } from './net-commands.ts'
import type { DirectionState, EmulatedLink, NetPlan } from './net-commands.ts'

export type { DirectionState, EmulatedLink } from './net-commands.ts'

export interface EmulatedNet {
  /** The namespace node `node` runs in: run its processes as ['ip', 'netns', 'exec', ns(node), ...]. */
  ns (node: string): string
  /** The node's management address, reachable from the root namespace (the relay's client API and admin endpoint listen here). Unshaped, never cut. */
  mgmtAddress (node: string): string
  /** `node`'s IPv4 address on its link to `peer` (its relay listens there; `peer`'s relay dials it). Throws for nodes with no link. */
  linkAddress (node: string, peer: string): string
  /** Sets the direction from → to of link {from,to}: up at `bandwidthBitsPerSecond` (tbf), or down: silently carrying nothing (no RST, no ICMP, interfaces stay up). */
  setDirection (from: string, to: string, state: DirectionState): void
  /** Removes every namespace, link and qdisc it made. Idempotent; safe to call from a signal handler or after a partial build. */
  teardown (): void
}

/** Runs `command args`, feeding it `lines` (a batch) if given; throws naming the command, the batch line that failed, and stderr. */
function run (command: string, args: string[], lines?: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 60_000, input: lines === undefined ? undefined : lines.join('\n') + '\n' })
  if (r.status === 0) return r.stdout
  // iproute2 reports a failed batch line as "Command failed -:<line>".
  const failed = /Command failed -:(\d+)/.exec(r.stderr ?? '')
  const line = failed !== null && lines !== undefined ? ` (batch line ${failed[1]}: ${lines[Number(failed[1]) - 1]})` : ''
  throw new Error(`emulated net: \`${command} ${args.join(' ')}\`${line} failed (${r.status ?? r.signal}): ${(r.stderr ?? '').trim()}${r.error?.message ?? ''}`)
}

/**
 * Throws if anything named for this tag already exists: another run (a parallel test, or one
 * killed before its teardown) owns it, and building over it would tear down that run's network.
 */
function checkTagFree (plan: NetPlan): void {
  const ours = new RegExp(`^${plan.prefix}(n\\d+|w|m\\d+)\\b`)
  const namespaces = run('ip', ['netns', 'list']).split('\n').filter(l => ours.test(l))
  const links = run('ip', ['-o', 'link', 'show']).split('\n').map(l => l.split(': ')[1]?.split('@')[0] ?? '').filter(n => ours.test(n))
  const taken = [...namespaces.map(l => l.split(' ')[0]), ...links]
  if (taken.length > 0) throw new Error(`emulated net: tag ${plan.prefix.slice(3)} is in use (${taken.slice(0, 4).join(', ')}${taken.length > 4 ? ', …' : ''} exist): another run has it, or an earlier one was not torn down (remove with \`ip netns del\` / \`ip link del\`)`)
}

/** Builds the network. `tag` makes names unique per run (e.g. process.pid % 10000); all links start up at `bitsPerSecond(from, to)`. On failure it tears down what it made and throws an Error whose message names the failing command and its stderr. */
export function buildEmulatedNet (nodes: readonly string[], links: readonly EmulatedLink[], options: { tag: number, bitsPerSecond: (from: string, to: string) => number }): EmulatedNet {
  const plan = planNet(nodes, links, options.tag)
  const shaping = initialShapeLines(plan, options.bitsPerSecond) // a bad rate throws before anything is made
  checkTagFree(plan)
  // Once only: a second call could otherwise remove a later run's network that took the same tag.
  let done = false
  const teardown = (): void => {
    if (done) return
    done = true
    spawnSync('ip', ['-force', '-batch', '-'], { input: teardownLines(plan).join('\n') + '\n', stdio: ['pipe', 'ignore', 'ignore'], timeout: 60_000 })
  }
  try {
    run('ip', ['-batch', '-'], rootLines(plan))
    run('ip', ['-n', plan.wire, '-batch', '-'], wireLines(plan))
    // Shaped before the nodes' ends come up, so that not one packet crosses unshaped.
    if (shaping.length > 0) run('tc', ['-n', plan.wire, '-batch', '-'], shaping)
    for (const node of plan.nodes) run('ip', ['-n', node.ns, '-batch', '-'], nodeLines(plan, node, options.bitsPerSecond))
  } catch (e) {
    teardown()
    throw e
  }
  return netOf(plan, teardown)
}

/** The API over a built plan. */
function netOf (plan: NetPlan, teardown: () => void): EmulatedNet {
  const node = (name: string): NetPlan['nodes'][number] => {
    const n = plan.nodes.find(n => n.name === name)
    if (n === undefined) throw new Error(`emulated net: no node ${name}`)
    return n
  }
  return {
    ns: name => node(name).ns,
    mgmtAddress: name => node(name).mgmtAddr,
    linkAddress (name, peer) {
      const l = plan.links.find(l => (l.a === name && l.b === peer) || (l.a === peer && l.b === name))
      if (l === undefined) throw new Error(`emulated net: no link ${name}–${peer}`)
      return l.a === name ? l.addrA : l.addrB
    },
    setDirection (from, to, state) {
      const port = portFor(plan, from, to)
      if (port === undefined) throw new Error(`emulated net: no link ${from}–${to}`)
      run('tc', ['-n', plan.wire, 'qdisc', 'replace', 'dev', port, 'root', ...tbfArgs(state)])
    },
    teardown,
  }
}
