/**
 * For tests that run relays in network namespaces (p2p-liveness; they need root):
 * commands that must succeed, and a channel followed from inside a namespace by the CLI,
 * which prints each message as it arrives.
 *
 * @example
 * must('ip', 'netns', 'add', ns)
 * const ref = createChannelFor(a, b, 'radio'); const tail = followInNamespace(ns, b, ref)
 * await waitFor('hello at B', () => tail.printed().includes('"text":"hello"') ? true : undefined)
 */
import { spawn, spawnSync } from 'node:child_process'
import type { Relay } from './relays.ts'

const bin = new URL('../../node/cli/bin.js', import.meta.url).pathname

/** Runs a command that must succeed; its stderr is the failure message. */
export function must (command: string, ...args: string[]): string {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000 })
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}${r.error?.message ?? ''}`)
  return r.stdout
}

/** Addresses the two ends of a link, `hereDev` in this namespace and `thereDev` in `ns` (a /30 each side), and sets them and `ns`'s loopback up. */
export function addressEnds (hereDev: string, here: string, ns: string, thereDev: string, there: string): void {
  must('ip', 'addr', 'add', `${here}/30`, 'dev', hereDev)
  must('ip', '-n', ns, 'addr', 'add', `${there}/30`, 'dev', thereDev)
  must('ip', 'link', 'set', hereDev, 'up')
  for (const dev of [thereDev, 'lo']) must('ip', '-n', ns, 'link', 'set', dev, 'up')
}

/** A channel `name` created by `owner`'s operator user, with `member`'s user added; its reference. */
export function createChannelFor (owner: Relay, member: Relay, name: string): string {
  const ref = /reference ([0-9a-f]{16})/.exec(must(process.execPath, bin, 'channel', 'create', '--data', owner.dataDir, name))?.[1] as string
  must(process.execPath, bin, 'channel', 'add', '--data', owner.dataDir, name, member.user.publicKey)
  return ref
}

/** `relay`'s user follows channel `ref` with the CLI run inside namespace `ns` (where the relay's client API listens). */
export function followInNamespace (ns: string, relay: Relay, ref: string): { printed: () => string, kill: () => void } {
  const follow = spawn('ip', ['netns', 'exec', ns, process.execPath, bin, 'tail', '--data', relay.dataDir, ref, '--follow', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let printed = ''
  follow.stdout.on('data', (c: Buffer) => { printed += c.toString() })
  follow.stderr.on('data', (c: Buffer) => { printed += c.toString() })
  return { printed: () => printed, kill: () => { follow.kill('SIGKILL') } }
}
