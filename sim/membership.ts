/**
 * Channel membership as the run goes: who each post is expected to reach. A channel
 * post must reach every node hosting a member at the moment it is posted (except its
 * sender); a direct message, its recipient. A `remove` event takes the member out for
 * later posts and calls the hook the channels issue fills in (issuing the signed
 * governance change through the engines in governed mode). In an ungoverned run relays
 * enforce nothing: a post from a non-member is flagged (`nonMember`) but still expected
 * at every member, as the brief's rule reads (members other than the sender). In governed mode
 * (sim/governed.ts) relays do enforce: a non-member's post is expected nowhere.
 *
 * @example
 * const m = new Membership(scenario, { remove: ({ channel, member, nodes }) => issueRemoval(…) })
 * m.expected(post)  // { expected: ['relay-a', 'truck', …], nonMember: false }
 */
import type { SimNode } from './node.ts'
import type { Scenario } from './scenario-types.ts'
import type { Post } from './workload.ts'

export interface MembershipChange {
  channel: string
  member: string
  atMs: number
  /** The fleet, to act through a node's engine. */
  nodes: readonly SimNode[]
}

export interface MembershipHooks {
  remove? (change: MembershipChange): void
}

export class Membership {
  readonly #members = new Map<string, string[]>()
  readonly #hooks: MembershipHooks
  readonly removals: Array<{ channel: string, member: string, atMs: number }> = []

  readonly #governed: boolean

  /** `governed`: relays enforce governance, so a non-member's channel post is expected nowhere. */
  constructor (scenario: Scenario, hooks: MembershipHooks = {}, governed = false) {
    for (const c of scenario.channels) this.#members.set(c.name, [...c.members])
    this.#hooks = hooks
    this.#governed = governed
  }

  members (channel: string): readonly string[] { return this.#members.get(channel) ?? [] }

  remove (channel: string, member: string, atMs: number, nodes: readonly SimNode[]): void {
    this.#members.set(channel, this.members(channel).filter(m => m !== member))
    this.removals.push({ channel, member, atMs })
    this.#hooks.remove?.({ channel, member, atMs, nodes })
  }

  expected (post: Post): { expected: string[], nonMember: boolean } {
    if (post.target.kind === 'direct') return { expected: [post.target.to], nonMember: false }
    const members = this.members(post.target.channel)
    const nonMember = !members.includes(post.sender)
    return { expected: nonMember && this.#governed ? [] : members.filter(m => m !== post.sender), nonMember }
  }
}
