/**
 * Organisations in a scenario (#29): each node's engine gets the admission port a relay in
 * `peers.mode: org` has, reduced to what the scenario says (its organisation and whether it
 * is a gateway), so the engine's own hello handshake refuses the links policy forbids. A
 * relay admits a peer of its own organisation, and a partner's only if it is itself a
 * gateway; both ends decide, so a link between organisations carries envelopes only between
 * two gateways. The oracle uses the same rule (`linkAdmitted`): a forbidden link is no path.
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
import type { PeerAdmission } from '../protocol/engine/types.ts'
import type { ResolvedNode } from './scenario-types.ts'

type Affiliation = Pick<ResolvedNode, 'org' | 'gateway'>

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
