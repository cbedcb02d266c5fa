/** `ddil status` and `ddil peers`: ask the running node's admin endpoint. */
import type { Command } from 'commander'
import { adminGet, clientOptions } from '../client-context.ts'
import type { NodeStatus } from '../../admin.ts'
import { precedenceNames } from '../../../protocol/envelope.ts'

export function register (program: Command): void {
  clientOptions(program.command('status'))
    .description('show the running node: peers, queues per precedence, store size, delivered, expired')
    .option('--json', 'print JSON')
    .action(async (opts: { data?: string, config?: string, json?: boolean }) => {
      const s = await adminGet(opts, '/status') as NodeStatus
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
        '',
      ].join('\n'))
    })
  clientOptions(program.command('peers'))
    .description('list the running node\'s peers')
    .option('--json', 'print JSON')
    .action(async (opts: { data?: string, config?: string, json?: boolean }) => {
      const s = await adminGet(opts, '/status') as NodeStatus
      if (opts.json === true) { process.stdout.write(JSON.stringify(s.peers) + '\n'); return }
      if (s.peers.length === 0) { process.stdout.write('no peers\n'); return }
      for (const p of s.peers) process.stdout.write(`${p.id}  ${p.ready ? 'ready' : 'handshaking'}  score ${p.score}  latency ${p.latencyMs === null ? 'not measured yet' : `${p.latencyMs.toFixed(1)} ms`}  queued ${p.queued.join('/')}\n`)
    })
}
