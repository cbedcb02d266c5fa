/** `ddil status` and `ddil peers`: ask the running node's admin endpoint. */
import type { Command } from 'commander'
import { relayOptions } from '../client-command.ts'
import type { NodeStatus } from '../../admin.ts'
import { precedenceNames } from '../../../protocol/envelope.ts'
import type { AwayPeer } from '../../../protocol/engine/types.ts'
import { formatDuration } from '../../../protocol/units.ts'

/** One peer that went away: since when, and what waits for it by precedence. */
function awayLine (a: AwayPeer): string {
  const waiting = precedenceNames.map((p, i) => `${p} ${a.waiting[i]}`).join(', ')
  const oldest = a.oldestWaitingMs === null ? '' : `; oldest waiting ${formatDuration(Math.round(a.oldestWaitingMs / 1000) * 1000)}`
  return `away:      ${a.id}  since ${new Date(a.sinceMs).toISOString()}  waiting for it: ${waiting}${oldest}`
}

async function nodeStatus (opts: { data?: string, config?: string }): Promise<NodeStatus> {
  const { adminGet } = await import('../relay-address.ts')
  return await adminGet(opts, '/status') as NodeStatus
}

export function register (program: Command): void {
  relayOptions(program.command('status'))
    .description('show the running node: peers, queues per precedence, store size, delivered, expired')
    .option('--json', 'print JSON')
    .action(async (opts: { data?: string, config?: string, json?: boolean }) => {
      const s = await nodeStatus(opts)
      if (opts.json === true) { process.stdout.write(JSON.stringify(s) + '\n'); return }
      const c = s.counters
      process.stdout.write([
        `node id:   ${s.nodeId}`,
        `uptime:    ${Math.round(s.uptimeMs / 1000)} s`,
        `peers:     ${s.peers.filter(p => p.ready).length} connected`,
        `queued:    ${precedenceNames.map((p, i) => `${p} ${s.queuedByPrecedence[i]}`).join(', ')}`,
        `store:     ${s.envelopes} envelopes, ${s.storeBytes} of ${s.storageBytesMax} bytes`,
        `stored:    ${c.stored} (${c.submitted} submitted here)`,
        `expired:   ${c.purged} purged, ${c.expiredOnArrival} refused on arrival`,
        `evicted:   ${c.evicted}; refused: ${c.refused}`,
        s.web === undefined ? 'https:     off (web.listen)' : `https:     ${s.web.listen}, certificate SHA-256 ${s.web.fingerprint}`,
        ...s.away.map(awayLine),
        '',
      ].join('\n'))
    })
  relayOptions(program.command('peers'))
    .description('list the running node\'s peers')
    .option('--json', 'print JSON')
    .action(async (opts: { data?: string, config?: string, json?: boolean }) => {
      const s = await nodeStatus(opts)
      if (opts.json === true) { process.stdout.write(JSON.stringify(s.peers) + '\n'); return }
      if (s.peers.length === 0 && s.away.length === 0) { process.stdout.write('no peers\n'); return }
      for (const p of s.peers) process.stdout.write(`${p.id}  ${p.ready ? 'ready' : 'handshaking'}  score ${p.score}  latency ${p.latencyMs === null ? 'not measured yet' : `${p.latencyMs.toFixed(1)} ms`}  queued ${p.queued.join('/')}${p.org === undefined ? '' : `  ${p.partner === true ? 'partner' : 'org'} ${p.org}`}\n`)
      for (const a of s.away) process.stdout.write(`${awayLine(a).slice('away:      '.length)}\n`)
    })
}
