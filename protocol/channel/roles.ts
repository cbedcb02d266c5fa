/**
 * Roles and who may change what: the permission table of channel governance
 * (docs/CHANNELS.md "Governance"), as pure functions of roles so that the resolver
 * and the tests read the same rules.
 *
 *   owner  may add, remove and set the role of anyone, and change the policy;
 *   admin  may add, remove and set the role of members and readers only, and only
 *          to member or reader (never grant admin or owner);
 *   member and reader change nothing. Readers read but may not post.
 *
 * @example
 * mayAdd('admin', 'member')          // true
 * mayAdd('admin', 'admin')           // false: an admin cannot grant admin
 * mayRevoke('admin', 'owner')        // false
 */

/** Roles from least to most power: the index is the rank. */
export const roleNames = ['reader', 'member', 'admin', 'owner'] as const
export type Role = (typeof roleNames)[number]

/** Who may post messages and state updates, by policy. */
export const postRoleNames = ['member', 'admin'] as const
export type PostRole = (typeof postRoleNames)[number]

export function roleRank (role: Role): number {
  return roleNames.indexOf(role)
}

export function isRole (text: string): text is Role {
  return (roleNames as readonly string[]).includes(text)
}

/** Owner and admin manage membership; admins only below themselves. */
function manages (author: Role, subject: Role): boolean {
  if (author === 'owner') return true
  return author === 'admin' && roleRank(subject) <= roleRank('member')
}

/** May `author` add a member with `role`? */
export function mayAdd (author: Role, role: Role): boolean {
  return manages(author, role)
}

/** May `author` remove a member who holds `target`? */
export function mayRevoke (author: Role, target: Role): boolean {
  return manages(author, target)
}

/** May `author` change a member's role from `from` to `to`? */
export function maySetRole (author: Role, from: Role, to: Role): boolean {
  return manages(author, from) && manages(author, to)
}

/** Only owners change the policy, so a partner organisation's admin cannot change ours. */
export function mayChangePolicy (author: Role): boolean {
  return author === 'owner'
}

/** May a member with `role` post messages or state updates under `whoMayPost`? */
export function mayPost (role: Role, whoMayPost: PostRole): boolean {
  return roleRank(role) >= roleRank(whoMayPost)
}

/** Keys envelopes (epoch keys) come from owners and admins. */
export function mayDistributeKeys (role: Role): boolean {
  return roleRank(role) >= roleRank('admin')
}
