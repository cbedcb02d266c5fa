/**
 * `ddil send CH TEXT` and `ddil tail CH`: post to and read a governed, end-to-end
 * encrypted channel through the running relay, as the operator user. `tail` sends
 * encrypted receipts for what it shows, so senders see "delivered to k of N".
 */
import type { Command } from 'commander'
import { clientOptions } from '../client-context.ts'
import { channelSession } from '../channel-session.ts'
import { precedenceNames, type Precedence, type PrecedenceName } from '../../../protocol/envelope.ts'
import { formatDuration, parseDuration } from '../../../protocol/units.ts'
import { toHex } from '../../../protocol/bytes.ts'
import { UsageError } from '../../../protocol/errors.ts'
import { ttlSecondsMax, ttlSecondsMin } from '../../../protocol/limits.ts'
import type { Received } from '../../../protocol/channel/client.ts'
import { receiptIdsMax } from '../../../protocol/limits.ts'

function precedenceOf (name: string): Precedence {
  const i = precedenceNames.indexOf(name as PrecedenceName)
  if (i < 0) throw new UsageError(`--precedence must be one of ${precedenceNames.join(', ')}, not "${name}"`)
  return i as Precedence
}

function ttlOf (text: string): number {
  const seconds = Math.floor(parseDuration(text) / 1000)
  if (seconds < ttlSecondsMin || seconds > ttlSecondsMax) throw new UsageError(`--ttl must be between ${formatDuration(ttlSecondsMin * 1000)} and ${formatDuration(ttlSecondsMax * 1000)}, not ${text}`)
  return seconds
}

export function register (program: Command): void {
  clientOptions(program.command('send'))
    .argument('<channel>', 'channel name (as created here) or its 16-hex-digit reference')
    .argument('<text>', 'message text')
    .description('post an end-to-end encrypted message; exits once the relay has durably taken custody of it')
    .option('--precedence <p>', 'flash, immediate, priority or routine', 'routine')
    .option('--ttl <duration>', 'time to live, e.g. 30m, 6h, 7d', '24h')
    .option('--json', 'print JSON')
    .action(async (name: string, text: string, opts: { data?: string, config?: string, precedence: string, ttl: string, json?: boolean }) => {
      const precedence = precedenceOf(opts.precedence)
      const ttlSeconds = ttlOf(opts.ttl)
      const s = await channelSession(opts)
      try {
        const ref = s.resolve(name)
        const channel = await s.open(ref)
        await s.cc.maintainEpochs(channel)
        const env = await s.cc.sendText(channel, text, { precedence, ttlSeconds })
        process.stdout.write(opts.json === true
          ? JSON.stringify({ id: toHex(env.id), channel: ref, seq: env.seq, precedence: opts.precedence, expiresAtMs: env.expiresAtMs, status: 'queued' }) + '\n'
          : `queued ${toHex(env.id).slice(0, 16)} on ${s.nameOf(ref)} (seq ${env.seq}, ${opts.precedence}, encrypted, expires in ${formatDuration(env.ttlSeconds * 1000)})\n`)
      } finally {
        await s.close()
      }
    })

  clientOptions(program.command('tail'))
    .argument('<channel>', 'channel name or 16-hex-digit reference')
    .description('print a channel\'s messages, oldest first, with delivery status for your own')
    .option('-n, --lines <n>', 'how many stored messages to replay first', '50')
    .option('-f, --follow', 'keep printing new messages until interrupted')
    .option('--json', 'print one JSON object per message')
    .action(async (name: string, opts: { data?: string, config?: string, lines: string, follow?: boolean, json?: boolean }) => {
      const backlog = Number(opts.lines)
      if (!Number.isInteger(backlog) || backlog < 0 || backlog > 1000) throw new UsageError(`--lines must be a whole number from 0 to 1000, not ${opts.lines}`)
      const s = await channelSession(opts)
      const ref = s.resolve(name)
      const texts: Array<Extract<Received, { type: 'text' }>> = []
      const me = toHex(s.cc.me)
      const print = (r: Extract<Received, { type: 'text' }>, channel: Uint8Array): void => {
        const mine = toHex(r.author) === me
        const d = s.cc.delivery(channel, r.id, r.author)
        const status = mine ? `delivered to ${d.k} of ${d.n}` : 'received'
        const line = { id: toHex(r.id), time: new Date(r.hlc.ms).toISOString(), author: toHex(r.author).slice(0, 16), seq: r.seq, precedence: precedenceNames[r.precedence], text: r.text, status }
        process.stdout.write(opts.json === true ? JSON.stringify(line) + '\n' : `${line.time}  ${line.author.slice(0, 8)}${mine ? ' (you)' : ''}  [${line.precedence}]  ${r.text}  (${status})\n`)
      }
      let channel: Uint8Array | undefined
      const onReceived = (r: Received, live: boolean): void => {
        if (r.type !== 'text') return
        if (live && channel !== undefined) { print(r, channel); void s.cc.sendReceipt(channel, [r.id]).catch(() => {}) } else texts.push(r)
      }
      channel = await s.open(ref, onReceived, backlog)
      const name2 = s.cc.board(channel).name
      if (name2 !== '' && !/^[0-9a-f]{16}$/.test(name2)) await s.remember(ref, name2)
      for (const r of texts) print(r, channel)
      // Tell the senders (encrypted) what reached us, in bounded receipts.
      const others = texts.filter(r => toHex(r.author) !== me).map(r => r.id)
      for (let i = 0; i < others.length; i += receiptIdsMax) await s.cc.sendReceipt(channel, others.slice(i, i + receiptIdsMax)).catch(() => {})
      if (opts.follow !== true) { await s.close(); return }
      await new Promise<void>(resolve => {
        process.once('SIGINT', resolve)
        process.once('SIGTERM', resolve)
        void s.client.closed.then(() => resolve())
      })
      await s.close()
    })
}
