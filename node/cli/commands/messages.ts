/**
 * `ddil send CH TEXT` and `ddil tail CH`: post to and read a locally named channel
 * through the running node's client API, signed by the operator user.
 * (Governed, end-to-end encrypted channels arrive with the channels issue.)
 */
import type { Command } from 'commander'
import { clientOptions, connect } from '../client-context.ts'
import { decodeText, encodeText, localChannelRef, nextSequence } from '../local-channel.ts'
import { authorRef, decodeEnvelope, Kind, precedenceNames, signEnvelope, type Precedence, type PrecedenceName } from '../../../protocol/envelope.ts'
import { formatDuration, parseDuration } from '../../../protocol/units.ts'
import { toHex } from '../../../protocol/bytes.ts'
import { UsageError } from '../../../protocol/errors.ts'
import { ttlSecondsMax, ttlSecondsMin } from '../../../protocol/limits.ts'

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
    .argument('<channel>', 'channel name')
    .argument('<text>', 'message text')
    .description('post a message; exits once the node has durably taken custody of it')
    .option('--precedence <p>', 'flash, immediate, priority or routine', 'routine')
    .option('--ttl <duration>', 'time to live, e.g. 30m, 6h, 7d', '24h')
    .option('--json', 'print JSON')
    .action(async (name: string, text: string, opts: { data?: string, config?: string, precedence: string, ttl: string, json?: boolean }) => {
      const precedence = precedenceOf(opts.precedence)
      const ttlSeconds = ttlOf(opts.ttl)
      const { client, ctx } = await connect(opts)
      try {
        const user = await ctx.user()
        const channel = localChannelRef(ctx.crypto, name)
        const seq = await nextSequence(ctx.dataDir, channel)
        const env = signEnvelope(ctx.crypto, {
          kind: Kind.message, precedence, channel, author: authorRef(user.ed25519.publicKey), seq,
          hlc: await client.stamp(), ttlSeconds, epoch: 0, deps: [], body: encodeText(text),
        }, user.ed25519.privateKey)
        const { id } = await client.submit(env.bytes)
        process.stdout.write(opts.json === true
          ? JSON.stringify({ id: toHex(id), channel: name, seq, precedence: opts.precedence, expiresAtMs: env.expiresAtMs, status: 'queued' }) + '\n'
          : `queued ${toHex(id).slice(0, 16)} on ${name} (seq ${seq}, ${opts.precedence}, expires in ${formatDuration(ttlSeconds * 1000)})\n`)
      } finally {
        await client.close()
      }
    })

  clientOptions(program.command('tail'))
    .argument('<channel>', 'channel name')
    .description('print a channel\'s messages, oldest first')
    .option('-n, --lines <n>', 'how many stored messages to print first', '20')
    .option('-f, --follow', 'keep printing new messages until interrupted')
    .option('--json', 'print one JSON object per message')
    .action(async (name: string, opts: { data?: string, config?: string, lines: string, follow?: boolean, json?: boolean }) => {
      const backlog = Number(opts.lines)
      if (!Number.isInteger(backlog) || backlog < 0 || backlog > 1000) throw new UsageError(`--lines must be a whole number from 0 to 1000, not ${opts.lines}`)
      const { client, ctx } = await connect(opts)
      const me = toHex(authorRef((await ctx.user()).ed25519.publicKey))
      const channel = localChannelRef(ctx.crypto, name)
      const print = (bytes: Uint8Array): void => {
        const env = decodeEnvelope(bytes, b => ctx.crypto.sha256(b))
        let text: string
        try { text = decodeText(env.body) } catch { text = `<${env.body.length} bytes, not text>` }
        const author = toHex(env.author)
        const line = { id: toHex(env.id), time: new Date(env.hlc.ms).toISOString(), author, seq: env.seq, precedence: precedenceNames[env.precedence], text, status: author === me ? 'sent by you, held by this node' : 'delivered here' }
        process.stdout.write(opts.json === true ? JSON.stringify(line) + '\n' : `${line.time}  ${author.slice(0, 8)}${author === me ? ' (you)' : ''}  [${line.precedence}]  ${text}\n`)
      }
      await client.subscribe(channel, { backlog }, env => print(env.bytes))
      if (opts.follow !== true) { await client.close(); return }
      await new Promise<void>(resolve => {
        process.once('SIGINT', resolve)
        process.once('SIGTERM', resolve)
        void client.closed.then(() => resolve())
      })
      await client.close()
    })
}
