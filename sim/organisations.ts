/**
 * Organisations in a scenario (#29): each node's engine gets the admission port a relay in
 * `peers.mode: org` has, reduced to what the scenario says (its organisation and whether it
 * is a gateway), so the engine's own hello handshake refuses the links policy forbids. A
 * relay admits a peer of its own organisation, and a partner's only if it is itself a
 * gateway; both ends decide, so a link between organisations carries envelopes only between
 * two gateways. The oracle uses the same rule (`linkAdmitted`): a forbidden link is no path.
 *
 * A gateway's `policy` (what crosses to and from the other organisations, both ways) is the
 * engine's boundary port, judged as a relay judges it (protocol/org/policy.ts; the rate and
 * channel creators are not modelled); the oracle closes a boundary to a message that either
 * gateway's policy refuses (`policyRefuses`).
 *
 * In the simulation the credentials are the organisation's name and the gateway flag, not
 * certificates: every organisation in a scenario trusts the others, and what certificates
 * decide (signatures, expiry, revocation) is tested against real relays
 * (test/org-federation.test.ts).
 *
 * @example
 * const admission = simAdmission(scenario.nodes[i], () => { stats.refused('not-admitted') })
 * linkAdmitted(nodeA, nodeB)   // true: same organisation, or two gateways
 */
import { fromUtf8, utf8 } from '../protocol/bytes.ts'
import type { BoundaryPolicy, PeerAdmission } from '../protocol/engine/types.ts'
import type { Envelope } from '../protocol/envelope.ts'
import { crossingFacts, judgeCrossing, type CrossingFacts } from '../protocol/org/policy.ts'
import type { ResolvedNode } from './scenario-types.ts'

type Affiliation = Pick<ResolvedNode, 'org' | 'gateway' | 'policy'>

/** The creator rule is not modelled: channels have no creator here. */
const noCreator = (): undefined => undefined

/** Whether a link between two nodes may carry envelopes: no organisations, one organisation, or two gateways. */
export function linkAdmitted (a: Affiliation, b: Affiliation): boolean {
  return a.org === undefined || b.org === undefined || a.org === b.org || (a.gateway === true && b.gateway === true)
}

/** The admission port of a node with an organisation (`refused` counts its refusals, for the report); undefined for one without. */
export function simAdmission (node: ResolvedNode, refused: () => void): PeerAdmission | undefined {
  if (node.org === undefined) return undefined
  const mine = utf8(`${node.org}\n${node.gateway === true ? 'gateway' : 'relay'}`)
  return {
    credentials: () => mine,
    admit (peer, credentials) {
      if (credentials === undefined) { refused(); return { ok: false, reason: `${peer} presented no organisation` } }
      const [org, role] = fromUtf8(credentials).split('\n')
      if (org === node.org) return { ok: true }
      if (node.gateway === true) return { ok: true }
      refused()
      return { ok: false, reason: `${peer} is ${org}'s ${role}, and ${node.id} is not a gateway to ${org}` }
    },
  }
}

/**
 * The boundary port of a gateway with a policy; undefined for every other node. `orgOf`: a
 * peer's organisation (peer ids are scenario node ids).
 */
export function simBoundary (node: ResolvedNode, orgOf: (peer: string) => string | undefined): BoundaryPolicy | undefined {
  const policy = node.policy
  if (node.org === undefined || policy === undefined) return undefined
  const partnerOf = (peer: string): string | undefined => { const org = orgOf(peer); return org !== undefined && org !== node.org ? org : undefined }
  return {
    partner: partnerOf,
    judge (peer, env, direction) {
      const partner = partnerOf(peer)
      if (partner === undefined) return undefined
      const reason = judgeCrossing(policy, crossingFacts(env, noCreator), direction, { ours: node.org as string, partner })
      return reason === undefined ? undefined : { reason, wait: false }
    },
  }
}

/** Whether a gateway's policy refuses a message with these facts (either way: a scenario's policy binds both directions alike). */
export function policyRefuses (node: Affiliation, facts: CrossingFacts): boolean {
  return node.policy !== undefined && judgeCrossing(node.policy, facts, 'out', { ours: '', partner: '' }) !== undefined
}

/**
 * The links a message's boundary is closed on: between two organisations, at a gateway whose
 * policy refuses it: `closed(a, b)` for node ids, and a `key` naming those gateways (messages
 * with one key share one closed graph). Undefined when no gateway refuses it.
 */
export function closedLinks (nodes: ReadonlyMap<string, Affiliation>, facts: CrossingFacts | undefined): { key: string, closed: (a: string, b: string) => boolean } | undefined {
  if (facts === undefined) return undefined
  const refusing = new Set<string>()
  for (const [id, n] of nodes) if (policyRefuses(n, facts)) refusing.add(id)
  if (refusing.size === 0) return undefined
  return { key: [...refusing].join('\n'), closed: (a, b) => nodes.get(a)?.org !== nodes.get(b)?.org && (refusing.has(a) || refusing.has(b)) }
}

/** What a gateway's policy looks at in an envelope, as the simulated gateways judge it (for the oracle's record of each post). */
export function simCrossingFacts (env: Envelope): CrossingFacts { return crossingFacts(env, noCreator) }
