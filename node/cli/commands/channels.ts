/**
 * `ddil channel create|add|remove|role|list` (channel governance, signed by the
 * operator user) and `ddil board CH` (the channel's encrypted situation board).
 */
import type { Command } from 'commander'
import { clientOptions, openChannelSession } from '../client-command.ts'
import type { ChannelSession } from '../channel-session.ts'
import { channelNames, resolveChannel } from '../local-channel.ts'
import { parseUserPublicKey } from '../../user-identity.ts'
import { isRole, roleNames, type Role } from '../../../protocol/channel/roles.ts'
import { authorRef, precedenceNames } from '../../../protocol/envelope.ts'
import { bytesEqual, concatBytes, toHex } from '../../../protocol/bytes.ts'
import { memberOrganisation, trustOfRelay, type MemberOrganisation, type RelayOrg } from '../../../protocol/org/member.ts'
import { createNodeCrypto } from '../../crypto.ts'
import { UsageError } from '../../../protocol/errors.ts'
import { resolveDataDir } from '../../config/paths.ts'
import type { Policy } from '../../../protocol/channel/governance.ts'
import type { GovernanceState } from '../../../protocol/channel/state.ts'
import { retentionSecondsMax, ttlSecondsMin } from '../../../protocol/limits.ts'
import { formatDuration, parseDuration } from '../../../protocol/units.ts'

function roleOf (text: string): Role {
  if (!isRole(text)) throw new UsageError(`--role must be one of ${roleNames.join(', ')}, not "${text}"`)
  return text
}

async function withChannel (opts: { data?: string, config?: string }, arg: string, fn: (s: ChannelSession, channel: Uint8Array, ref: string) => Promise<void>): Promise<void> {
  // Resolved before connecting: a name this machine does not know fails at once.
  const ref = resolveChannel(resolveDataDir({ dataDir: opts.data, env: process.env }), arg)
  const s = await openChannelSession(opts)
  try {
    // Recent messages too: a removal's cut is the member's highest sequence seen.
    const channel = await s.open(ref)
    if (s.cc.state(channel) === undefined) throw new UsageError(`channel ${ref} is unknown to this relay (not created, or its governance has not arrived yet)`)
    await fn(s, channel, ref)
  } finally {
    await s.close()
  }
}

interface PolicyOpts { data?: string, config?: string, retention?: string, fileRetention?: string, hold?: boolean, releaseHold?: boolean, close?: boolean, reopen?: boolean, json?: boolean }

function retentionSecondsOf (text: string, option: string): number {
  let ms: number
  try { ms = parseDuration(text) } catch { throw new UsageError(`${option} "${text}" is not a duration; write e.g. 90d or 3650d`) }
  const seconds = Math.floor(ms / 1000)
  if (seconds < ttlSecondsMin || seconds > retentionSecondsMax) throw new UsageError(`${option} must be between ${formatDuration(ttlSecondsMin * 1000)} and ${formatDuration(retentionSecondsMax * 1000)}, not ${text}`)
  return seconds
}

/** The edit the options ask for; undefined when they ask for none (show the policy). */
export function policyEdit (o: Omit<PolicyOpts, 'data' | 'config' | 'json'>): ((p: Policy, nowMs: number) => Policy) | undefined {
  if (o.hold === true && o.releaseHold === true) throw new UsageError('--hold and --release-hold exclude each other')
  if (o.close === true && o.reopen === true) throw new UsageError('--close and --reopen exclude each other')
  const retention = o.retention === undefined ? undefined : retentionSecondsOf(o.retention, '--retention')
  const fileRetention = o.fileRetention === undefined ? undefined : retentionSecondsOf(o.fileRetention, '--file-retention')
  if ([retention, fileRetention, o.hold, o.releaseHold, o.close, o.reopen].every(x => x === undefined)) return undefined
  return (current, nowMs) => {
    const next: Policy = { ...current }
    if (retention !== undefined) next.retentionSeconds = retention
    if (fileRetention !== undefined) next.fileRetentionSeconds = fileRetention
    if (o.hold === true) next.legalHold = true
    if (o.releaseHold === true) delete next.legalHold
    if (o.close === true) next.closedAtMs = current.closedAtMs ?? nowMs
    if (o.reopen === true) delete next.closedAtMs
    return next
  }
}

export function describePolicy (p: Policy): string {
  const days = (seconds: number): string => formatDuration(seconds * 1000)
  return [
    `retention: messages ${days(p.retentionSeconds)}, files ${days(p.fileRetentionSeconds ?? p.retentionSeconds)}`,
    `legal hold: ${p.legalHold === true ? 'ON (relays purge nothing of this channel)' : 'off'}`,
    `state: ${p.closedAtMs === undefined ? 'open' : `closed (archived) at ${new Date(p.closedAtMs).toISOString()}: no later posts`}`,
    `who may post: ${p.whoMayPost}s; precedences: ${p.allowedPrecedence.map(x => precedenceNames[x]).join(', ')}`,
  ].join('\n')
}

/** The member a `channel add` names: by key, by the key its certificate names, or both (then they must agree). */
async function memberToAdd (key: string | undefined, certificatePath: string | undefined): Promise<{ member: { ed25519: Uint8Array, x25519: Uint8Array }, certificate?: Uint8Array }> {
  if (certificatePath === undefined) {
    if (key === undefined) throw new UsageError('name the member: their ddil1:… key, or --certificate FILE')
    return { member: parseUserPublicKey(key) }
  }
  const { readUserCertificate } = await import('../../org/commands.ts')
  const { certificate, ed25519, x25519 } = await readUserCertificate(certificatePath)
  if (key !== undefined) {
    const named = parseUserPublicKey(key)
    if (!bytesEqual(named.ed25519, ed25519) || !bytesEqual(named.x25519, x25519)) throw new UsageError(`${certificatePath} certifies another user than ${key.trim()}`)
  }
  return { member: { ed25519, x25519 }, certificate }
}

/** A channel's members as this user's client resolved them, with the organisation each one's certificate names, judged against the relay's (its status `orgs`). */
async function memberList (s: ChannelSession, channel: Uint8Array): Promise<Array<{ ref: string, role: Role, name: string, org?: MemberOrganisation }>> {
  const state = s.cc.state(channel) as GovernanceState
  const trust = trustOfRelay(((await s.client.status()).orgs ?? []) as RelayOrg[])
  const names = s.cc.profiles(channel)
  const crypto = createNodeCrypto()
  return [...state.members.entries()].map(([ref, m]) => {
    const org = memberOrganisation(s.cc.memberCertificate(channel, ref), concatBytes([m.ed, m.x]), trust, Date.now(), crypto)
    return { ref, role: m.role, name: names.get(ref) ?? '', ...(org !== undefined ? { org } : {}) }
  })
}

export function register (program: Command): void {
  const channel = program.command('channel').description('create and govern end-to-end encrypted channels')

  clientOptions(channel.command('create'))
    .argument('<name>', 'channel name (encrypted: relays never see it)')
    .option('--topic <text>', 'channel topic')
    .option('--force', 'create it even if a channel of this name exists here (the two are then told apart by reference)')
    .option('--certificate <file>', 'your user certificate from your organisation ("ddil org certify-user"): members and relays see whose user the owner is (#29)')
    .description('create a channel with you as owner; prints its reference')
    .action(async (name: string, opts: { data?: string, config?: string, topic?: string, force?: boolean, certificate?: string }) => {
      if (name.trim().length === 0 || name.length > 64) throw new UsageError('a channel name is 1 to 64 characters, not all blank')
      const existing = Object.entries(channelNames(resolveDataDir({ dataDir: opts.data, env: process.env }))).filter(([, n]) => n === name).map(([ref]) => ref)
      if (existing.length > 0 && opts.force !== true) throw new UsageError(`a channel named "${name}" exists here already (${existing.join(', ')}); use it, pick another name, or add --force to create a second one`)
      const certificate = opts.certificate === undefined ? undefined : (await (await import('../../org/commands.ts')).readUserCertificate(opts.certificate))
      const s = await openChannelSession(opts)
      try {
        if (certificate !== undefined && !bytesEqual(certificate.ed25519, s.cc.me)) throw new UsageError(`${opts.certificate as string} certifies another user than you (see "ddil whoami")`)
        const { channel: ref } = await s.cc.createChannel({ name, topic: opts.topic }, undefined, certificate === undefined ? {} : { certificate: certificate.certificate })
        await s.remember(toHex(ref), name)
        process.stdout.write(`created channel "${name}": reference ${toHex(ref)}\nAdd members with: ddil channel add ${name} <their ddil1:… key from "ddil whoami">\n`)
      } finally {
        await s.close()
      }
    })

  clientOptions(channel.command('add'))
    .argument('<channel>', 'channel name or reference').argument('[key]', 'the member\'s ddil1:… key (or give --certificate)')
    .option('--role <role>', 'owner, admin, member or reader', 'member')
    .option('--share-history', 'let them read the messages still kept under the keys you hold (by default they read from now on)')
    .option('--certificate <file>', 'the member\'s user certificate from their organisation ("ddil org certify-user"): it names their key, and members and relays see whose organisation vouches for them (#29)')
    .description('add a member (a new key epoch includes them; earlier messages stay unreadable to them unless --share-history)')
    .action(async (arg: string, key: string | undefined, opts: { data?: string, config?: string, role: string, shareHistory?: boolean, certificate?: string }) => {
      const { member, certificate } = await memberToAdd(key, opts.certificate)
      const role = roleOf(opts.role)
      await withChannel(opts, arg, async (s, ch, ref) => {
        const shareHistory = opts.shareHistory === true
        await s.cc.addMember(ch, { ed: member.ed25519, x: member.x25519 }, role, { shareHistory, ...(certificate !== undefined ? { certificate } : {}) })
        process.stdout.write(`added ${toHex(authorRef(member.ed25519))} as ${role}. ${shareHistory ? 'They can read the messages still kept under the keys you hold, and everything from now on.' : 'They read messages sent from now on; earlier ones stay unreadable to them (add them with --share-history to change that).'} They read the channel with: ddil tail ${ref}\n`)
      })
    })

  clientOptions(channel.command('remove'))
    .argument('<channel>', 'channel name or reference').argument('<key>', 'the member\'s ddil1:… key')
    .description('remove a member: their later posts are refused everywhere and a new key epoch excludes them')
    .action(async (arg: string, key: string, opts: { data?: string, config?: string }) => {
      const member = parseUserPublicKey(key)
      await withChannel(opts, arg, async (s, ch) => {
        await s.cc.removeMember(ch, member.ed25519)
        process.stdout.write(`removed ${toHex(authorRef(member.ed25519))}; new messages use a key they do not have\n`)
      })
    })

  clientOptions(channel.command('role'))
    .argument('<channel>', 'channel name or reference').argument('<key>', 'the member\'s ddil1:… key').argument('<role>', roleNames.join(', '))
    .description('change a member\'s role')
    .action(async (arg: string, key: string, roleText: string, opts: { data?: string, config?: string }) => {
      const member = parseUserPublicKey(key)
      const role = roleOf(roleText)
      await withChannel(opts, arg, async (s, ch) => {
        await s.cc.setRole(ch, member.ed25519, role)
        process.stdout.write(`${toHex(authorRef(member.ed25519))} is now ${role}\n`)
      })
    })

  clientOptions(channel.command('policy'))
    .argument('<channel>', 'channel name or reference')
    .option('--retention <duration>', 'keep messages this long, e.g. 90d or 3650d (relays refuse longer TTLs and purge at expiry)')
    .option('--file-retention <duration>', 'keep files and long messages this long (default: as messages)')
    .option('--hold', 'set a legal hold: relays purge nothing of the channel until it is released')
    .option('--release-hold', 'lift the legal hold: purges resume')
    .option('--close', 'close (archive) the channel: relays refuse later posts and keep what retention says')
    .option('--reopen', 'reopen a closed channel')
    .option('--json', 'print JSON')
    .description('show the channel\'s policy, or change it (owners only): retention, legal hold, closing')
    .action(async (arg: string, opts: PolicyOpts) => {
      const edit = policyEdit(opts)
      await withChannel(opts, arg, async (s, ch) => {
        const policy = edit === undefined ? (s.cc.state(ch) as GovernanceState).policy : await s.cc.setPolicy(ch, edit)
        if (opts.json === true) { process.stdout.write(JSON.stringify(policy) + '\n'); return }
        process.stdout.write(describePolicy(policy) + '\n')
      })
    })

  channel.command('list')
    .option('--data <dir>', 'data directory (default: $DDIL_DATA, else ./data)')
    .option('--json', 'print JSON')
    .description('channels known on this machine')
    .action((opts: { data?: string, json?: boolean }) => {
      const names = channelNames(resolveDataDir({ dataDir: opts.data, env: process.env }))
      if (opts.json === true) { process.stdout.write(JSON.stringify(names) + '\n'); return }
      const entries = Object.entries(names)
      if (entries.length === 0) process.stdout.write('no channels yet: ddil channel create NAME\n')
      for (const [ref, name] of entries) process.stdout.write(`${ref}  ${name}\n`)
    })

  clientOptions(channel.command('members'))
    .argument('<channel>', 'channel name or reference')
    .option('--json', 'print JSON')
    .description('who is in a channel: name, role, key reference, and whose organisation vouches for them (#29)')
    .action(async (arg: string, opts: { data?: string, config?: string, json?: boolean }) => {
      await withChannel(opts, arg, async (s, ch) => {
        const rows = await memberList(s, ch)
        if (opts.json === true) { process.stdout.write(JSON.stringify(rows) + '\n'); return }
        for (const r of rows) process.stdout.write(`${r.ref}  ${r.role.padEnd(6)}  ${(r.name === '' ? '(no name)' : r.name).padEnd(24)}  ${r.org === undefined ? '' : `${r.org.name}${r.org.problem === undefined ? '' : ` (${r.org.problem})`}`}\n`.trimEnd() + '\n')
      })
    })

  clientOptions(program.command('board'))
    .argument('<channel>', 'channel name or reference')
    .option('--name <text>', 'set the channel name').option('--topic <text>', 'set the topic')
    .option('--status <key=value>', 'set a status line').option('--fact <text>', 'add a key fact')
    .option('--task <text>', 'add a task').option('--done <n>', 'mark task n (1-based) done')
    .option('--json', 'print JSON')
    .description('show the channel\'s encrypted situation board, or edit it')
    .action(async (arg: string, opts: { data?: string, config?: string, name?: string, topic?: string, status?: string, fact?: string, task?: string, done?: string, json?: boolean }) => {
      await withChannel(opts, arg, async (s, ch, ref) => {
        const edits = [opts.name, opts.topic, opts.status, opts.fact, opts.task, opts.done].some(v => v !== undefined)
        if (edits) {
          await s.cc.maintainEpochs(ch)
          await s.cc.editBoard(ch, b => {
            if (opts.name !== undefined) b.setName(opts.name)
            if (opts.topic !== undefined) b.setTopic(opts.topic)
            if (opts.status !== undefined) {
              const i = opts.status.indexOf('=')
              if (i <= 0) throw new UsageError('--status takes key=value')
              b.setStatus(opts.status.slice(0, i), opts.status.slice(i + 1))
            }
            if (opts.fact !== undefined) b.addFact(opts.fact)
            if (opts.task !== undefined) b.addTask(opts.task)
            if (opts.done !== undefined) b.setDone(Number(opts.done) - 1, true)
          })
          if (opts.name !== undefined) await s.remember(ref, opts.name)
        }
        const v = s.cc.board(ch)
        if (opts.json === true) { process.stdout.write(JSON.stringify(v) + '\n'); return }
        process.stdout.write([
          `# ${v.name || ref}${v.topic !== '' ? ` — ${v.topic}` : ''}`,
          ...Object.entries(v.status).map(([k, val]) => `status  ${k}: ${val}`),
          ...v.facts.map(f => `fact    ${f}`),
          ...v.tasks.map((task, i) => `task ${i + 1}  [${task.done ? 'x' : ' '}] ${task.text}`),
          '',
        ].join('\n'))
      })
    })
}
