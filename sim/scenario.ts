/**
 * Scenario files (brief §5): YAML or JSON describing nodes, links, channels, traffic,
 * faults, an optional contact trace and `expect` checks, resolved into a typed
 * `Scenario` (see scenario-types.ts) with every unit converted and every default
 * applied. Any mistake (unknown key, bad unit, unknown node or group, malformed
 * event) is a ConfigError whose message is one sentence starting `file:line:col:`.
 *
 * Defaults: `seed` 1, `description` empty, links 1Mbps / 5ms / 0% (see knobs.ts)
 * unless `defaults.link` says otherwise, node storage 1GB, message ttl 24h
 * (`defaults.ttl`). `contacts:` is read relative to the scenario file's directory. A node or group
 * entry may set its clock's `skew` (`-24h`, `+90s`) and `drift` (`50ppm`).
 *
 * @example
 * const scenario = parseScenario(readFileSync(path, 'utf8'), path)
 * scenario.nodes.map(n => n.id)  // ['hq', 'relay-a', 'truck', 'field-1', …]
 */
import { readFileSync } from 'node:fs'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { isDdilError } from '../protocol/errors.ts'
import { precedenceNames, type PrecedenceName } from '../protocol/envelope.ts'
import type { PartnerPolicy } from '../protocol/org/policy.ts'
import { scenarioNodesMax } from '../protocol/limits.ts'
import { parseDuration, parseSize } from '../protocol/units.ts'
import { parseContacts } from './contacts.ts'
import { builtinLinkParams, type LinkParams } from './knobs.ts'
import { readEvents } from './scenario-events.ts'
import { readExpect } from './scenario-expect.ts'
import { Names, knobKeys, pairKey, readKnobs, type ResolveContext } from './scenario-names.ts'
import { openSource, type Fields, type Val } from './scenario-source.ts'
import { parseDrift, parseSkew } from './clock.ts'
import { readTraffic } from './scenario-traffic.ts'
import type { ContactEvent, ResolvedChannel, ResolvedLink, ResolvedNode, Scenario, ScenarioDefaults } from './scenario-types.ts'

export * from './scenario-types.ts'
export { linkKnobs, builtinLinkParams, type LinkKnob, type LinkKnobName } from './knobs.ts'
export { expectKeys } from './scenario-expect.ts'

/** Default time to live of generated messages when neither the traffic nor `defaults.ttl` sets one. */
const defaultTtlMs = 24 * 3_600_000

const topKeys = ['name', 'description', 'seed', 'duration', 'defaults', 'nodes', 'links', 'channels', 'traffic', 'events', 'contacts', 'expect', 'governance']

export interface ParseScenarioOptions {
  /** Reads the contact trace (default: `readFileSync(path, 'utf8')`); the path is already resolved against the scenario file. */
  readFile?: (path: string) => string
}

/** Parse and resolve a scenario; `fileName` is used for positions and to find `contacts:`. */
export function parseScenario (text: string, fileName: string, options: ParseScenarioOptions = {}): Scenario {
  const root = openSource(text, fileName)
  const top = root.map(topKeys, 'a map of scenario keys (name, duration, nodes, …)')
  const name = top.req('name', 'name: example').str('a scenario name')
  const durationMs = top.req('duration', 'duration: 4h').unit(parseDuration)
  if (durationMs <= 0) top.req('duration', '4h').fail('the duration must be longer than 0 (for example 4h)')
  const defaults = readDefaults(top.get('defaults'))
  const names = new Names()
  const nodes = readNodes(top.req('nodes', 'nodes: [hq, relay-a]'), names, defaults)
  const links = readLinks(top.get('links'), names, defaults.link)
  const channels = readChannels(top.get('channels'), names)
  const contactsVal = top.get('contacts')
  const contacts = contactsVal === undefined ? [] : readContactsFile(contactsVal, fileName, names.order, durationMs, options)
  addContactLinks(links, contacts, defaults.link)
  const governance = readGovernance(top.get('governance'))
  const ctx: ResolveContext = { names, durationMs, defaults, channels, links, linkKeys: new Set(links.map(l => pairKey(l.a, l.b))), governed: governance, warnings: [] }
  const traffic = top.get('traffic')?.list('traffic streams').map(v => readTraffic(v, ctx)) ?? []
  const events = readEvents(top.get('events'), ctx)
  return {
    name,
    description: top.get('description')?.str('a description') ?? '',
    fileName,
    seed: top.get('seed')?.int(0, 2 ** 32 - 1) ?? 1,
    durationMs,
    defaults,
    nodes,
    groups: Object.fromEntries(names.groups),
    links,
    channels,
    traffic,
    events,
    contacts,
    ...(contactsVal !== undefined ? { contactsFile: contactsVal.str('a file path') } : {}),
    expect: readExpect(top.get('expect')),
    governance,
    warnings: ctx.warnings,
  }
}

/** `governance: true | false` (default false): governed, end-to-end encrypted channels. */
function readGovernance (v: Val | undefined): boolean {
  if (v === undefined) return false
  const b = v.scalar('true or false')
  if (typeof b !== 'boolean') v.fail(`expected true or false but found ${JSON.stringify(b)}`)
  return b as boolean
}

function readDefaults (v: Val | undefined): ScenarioDefaults {
  const f = v?.map(['link', 'node', 'ttl'])
  const link = f?.get('link')
  const node = f?.get('node')?.map(['storage'])
  return {
    link: { ...builtinLinkParams, ...(link === undefined ? {} : readKnobs(link.map(knobKeys))) },
    node: { storageBytes: node?.get('storage')?.unit(parseSize) ?? 1e9 },
    ttlMs: f?.get('ttl')?.unit(parseDuration) ?? defaultTtlMs,
  }
}

function readNodes (v: Val, names: Names, defaults: ScenarioDefaults): ResolvedNode[] {
  const out: ResolvedNode[] = []
  for (const item of v.list('nodes')) {
    if (!item.isMap()) {
      const id = item.str('a node id')
      names.addNode(id, item)
      out.push({ id, storageBytes: defaults.node.storageBytes })
      continue
    }
    const f = item.map(['id', 'group', 'count', 'storage', 'skew', 'drift', 'org', 'gateway', 'policy'], 'a node id, { id, storage } or { group, count }')
    const storageBytes = f.get('storage')?.unit(parseSize) ?? defaults.node.storageBytes
    const traits = { ...readClockFault(f), ...readOrg(f) }
    const id = f.get('id')
    const group = f.get('group')
    if ((id === undefined) === (group === undefined)) item.fail('write either { id: truck } or { group: field, count: 6 }')
    if (id !== undefined) {
      if (f.has('count')) f.req('count', '').fail('"count" only goes with "group"')
      names.addNode(id.str('a node id'), id)
      out.push({ id: id.str(), storageBytes, ...traits })
      continue
    }
    const groupName = (group as Val).str('a group name')
    names.checkNew(groupName, group as Val, 'group name')
    const count = f.req('count', '{ group: field, count: 6 }').int(1, scenarioNodesMax)
    const members: string[] = []
    for (let i = 1; i <= count; i++) {
      const memberId = `${groupName}-${i}`
      names.addNode(memberId, item)
      members.push(memberId)
      out.push({ id: memberId, storageBytes, group: groupName, ...traits })
    }
    names.groups.set(groupName, members)
  }
  const unaffiliated = out.filter(n => n.org === undefined)
  if (unaffiliated.length > 0 && unaffiliated.length < out.length) v.fail(`once one node names its organisation every node must (org: NAME); these do not: ${unaffiliated.slice(0, 5).map(n => n.id).join(', ')}${unaffiliated.length > 5 ? ', …' : ''}`)
  if (out.length < 2) v.fail('a scenario needs at least two nodes')
  if (out.length > scenarioNodesMax) v.fail(`${out.length} nodes is more than the ${scenarioNodesMax} a scenario may have`)
  return out
}

/** `org`, `gateway` and a gateway's `policy` of a node or group entry (#29), only when written. */
function readOrg (f: Fields): { org?: string, gateway?: boolean, policy?: PartnerPolicy } {
  const org = f.get('org')
  const gateway = f.get('gateway')
  if (gateway !== undefined && org === undefined) gateway.fail('"gateway" needs "org": a gateway is one organisation\'s relay to the others')
  const isGateway = gateway === undefined ? undefined : gateway.scalar('true or false')
  if (isGateway !== undefined && typeof isGateway !== 'boolean') (gateway as Val).fail(`expected true or false but found ${JSON.stringify(isGateway)}`)
  const policy = f.get('policy')
  if (policy !== undefined && isGateway !== true) policy.fail('"policy" goes on a gateway (gateway: true): only gateways link across the boundary')
  return {
    ...(org !== undefined ? { org: org.str('an organisation name') } : {}),
    ...(isGateway === true ? { gateway: true } : {}),
    ...(policy !== undefined ? { policy: readPolicy(policy) } : {}),
  }
}

/** A gateway's policy (`ddil org policy`'s rules that a scenario can state: precedences, largest message, retention ceiling). */
function readPolicy (v: Val): PartnerPolicy {
  const f = v.map(['precedences', 'message_max', 'retention_max'], 'a policy such as { precedences: [immediate, priority, routine], message_max: 2KB }')
  const policy: PartnerPolicy = {}
  const precedences = f.get('precedences')
  if (precedences !== undefined) {
    policy.precedences = precedences.list('precedences').map(p => {
      const name = p.str('a precedence')
      const i = precedenceNames.indexOf(name as PrecedenceName)
      if (i < 0) p.fail(`unknown precedence "${name}" (expected one of: ${precedenceNames.join(', ')})`)
      return i
    }).filter((p, i, all) => all.indexOf(p) === i).sort()
  }
  const size = f.get('message_max')
  if (size !== undefined) policy.messageBytesMax = size.unit(parseSize)
  const retention = f.get('retention_max')
  if (retention !== undefined) policy.retentionMsMax = retention.unit(parseDuration)
  return policy
}

/** `skew` and `drift` of a node or group entry, only when written (so plain nodes stay plain). */
function readClockFault (f: Fields): { skewMs?: number, driftPpm?: number } {
  const skew = f.get('skew')
  const drift = f.get('drift')
  return {
    ...(skew !== undefined ? { skewMs: skew.unit(parseSkew) } : {}),
    ...(drift !== undefined ? { driftPpm: drift.unit(parseDrift) } : {}),
  }
}

function readLinks (v: Val | undefined, names: Names, base: LinkParams): ResolvedLink[] {
  const out: ResolvedLink[] = []
  const seen = new Map<string, ResolvedLink>()
  for (const item of v?.list('links') ?? []) {
    const f = item.map(['between', 'mesh', ...knobKeys], 'a link such as { between: [hq, relay-a], bandwidth: 64kbps }')
    const params = { ...base, ...readKnobs(f) }
    const between = f.get('between')
    const mesh = f.get('mesh')
    if ((between === undefined) === (mesh === undefined)) item.fail('write either { between: [a, b] } or { mesh: group }')
    const pairs = between !== undefined ? [names.pair(between)] : meshPairs(names.nodesOf(mesh as Val, { all: true }), mesh as Val)
    for (const { a, b } of pairs) {
      const earlier = seen.get(pairKey(a, b))
      if (earlier !== undefined) item.fail(`the link between "${a}" and "${b}" is already declared at line ${earlier.pos.line}`)
      const link: ResolvedLink = { a, b, params: { ...params }, origin: 'declared', pos: item.pos }
      seen.set(pairKey(a, b), link)
      out.push(link)
    }
  }
  return out
}

function meshPairs (ids: string[], at: Val): Array<{ a: string, b: string }> {
  if (ids.length < 2) at.fail('a mesh needs at least two nodes')
  const pairs: Array<{ a: string, b: string }> = []
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) pairs.push({ a: ids[i], b: ids[j] })
  }
  return pairs
}

function readChannels (v: Val | undefined, names: Names): ResolvedChannel[] {
  const out: ResolvedChannel[] = []
  for (const item of v?.list('channels') ?? []) {
    const f = item.map(['name', 'members'], 'a channel such as { name: ops, members: all }')
    const nameVal = f.req('name', '{ name: ops }')
    const name = nameVal.str('a channel name')
    if (out.some(c => c.name === name)) nameVal.fail(`channel "${name}" is already defined`)
    out.push({ name, members: names.nodesOf(f.req('members', 'members: all'), { all: true }), pos: item.pos })
  }
  return out
}

function readContactsFile (v: Val, fileName: string, nodeIds: string[], durationMs: number, options: ParseScenarioOptions): ContactEvent[] {
  const rel = v.str('a file path such as traces/example.one')
  const path = resolve(dirname(fileName), rel)
  let text: string
  try {
    text = (options.readFile ?? ((p: string) => readFileSync(p, 'utf8')))(path)
  } catch (e) {
    if (isDdilError(e)) throw e
    v.fail(`cannot read contact trace ${path} (${(e as NodeJS.ErrnoException).code ?? String(e)})${relativeTo(rel, fileName)}`)
  }
  // Positions inside the trace are reported under the path a reader can open: scenario directory + relative path.
  return parseContacts(text, join(dirname(fileName), rel), nodeIds).filter(c => c.atMs < durationMs)
}

/**
 * A relative `contacts:` path is read from the scenario file's directory, not the working
 * directory: a scenario copied elsewhere without its trace fails, and the message must say
 * where it looked and why there.
 */
function relativeTo (rel: string, fileName: string): string {
  return isAbsolute(rel) ? '' : `: ${JSON.stringify(rel)} is resolved relative to the scenario file's directory, ${resolve(dirname(fileName))}`
}

/** Pairs that only the trace mentions become links with the default knobs, down until their first `up`. */
function addContactLinks (links: ResolvedLink[], contacts: ContactEvent[], base: LinkParams): void {
  const known = new Set(links.map(l => pairKey(l.a, l.b)))
  for (const c of contacts) {
    const key = pairKey(c.a, c.b)
    if (known.has(key)) continue
    known.add(key)
    links.push({ a: c.a, b: c.b, params: { ...base }, origin: 'contact', pos: c.pos })
  }
}
