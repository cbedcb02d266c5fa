/**
 * `ddil send CH TEXT` and `ddil tail CH`: post to and read a governed, end-to-end
 * encrypted channel through the running relay, as the operator user. `tail` sends
 * encrypted receipts for what it shows, so senders see "delivered to k of N".
 */
import type { Command } from 'commander'
import { clientOptions, openChannelSession } from '../client-command.ts'
import { precedenceNames, type Precedence, type PrecedenceName } from '../../../protocol/envelope.ts'
import { formatDuration, parseDuration } from '../../../protocol/units.ts'
import { toHex } from '../../../protocol/bytes.ts'
import { UsageError } from '../../../protocol/errors.ts'
import { ttlSecondsMax, ttlSecondsMin } from '../../../protocol/limits.ts'
import type { TailOptions } from '../tail.ts'
import { formatBytes, progressPrinter, readFileToSend, type SendFileOptions } from '../file-io.ts'

/** A `--precedence` value; a usage error names the four. */
export function precedenceOf (name: string): Precedence {
  const i = precedenceNames.indexOf(name as PrecedenceName)
  if (i < 0) throw new UsageError(`--precedence must be one of ${precedenceNames.join(', ')}, not "${name}"`)
  return i as Precedence
}

function ttlOf (text: string): number {
  let ms: number
  try { ms = parseDuration(text) } catch (e) { throw new UsageError(`--ttl: ${(e as Error).message}`) }
  const seconds = Math.floor(ms / 1000)
  if (seconds < ttlSecondsMin || seconds > ttlSecondsMax) throw new UsageError(`--ttl must be between ${formatDuration(ttlSecondsMin * 1000)} and ${formatDuration(ttlSecondsMax * 1000)}, not ${text}`)
  return seconds
}

/** The message text: one argument, not blank. Options are checked first, so a split option value (`--ttl 5 minutes`) is reported as the option's. */
function textOf (words: string[], file: string | undefined): string {
  if (file !== undefined) {
    if (words.length > 0) throw new UsageError(`with --file, write the text as --caption "${words.join(' ')}"`)
    return ''
  }
  if (words.length > 1) throw new UsageError(`the message must be one argument: quote it ("${words.join(' ')}"); option values are one word too (--ttl 5m, not --ttl 5 minutes)`)
  const text = words[0] ?? ''
  if (text.trim() === '') throw new UsageError('the message is empty: write something to send')
  return text
}

export function register (program: Command): void {
  clientOptions(program.command('send'))
    .argument('<channel>', 'channel name (as created here) or its 16-hex-digit reference')
    .argument('[text...]', 'message text (quote it); any length up to the channel\'s limit (64 KB by default)')
    .description('post an end-to-end encrypted message or file; exits once the relay has durably taken custody of all of it')
    .option('--precedence <p>', 'flash, immediate, priority or routine', 'routine')
    .option('--ttl <duration>', 'time to live, e.g. 30m, 6h, 7d (at most the channel\'s retention)', '24h')
    .option('--file <path>', 'send this file (up to the channel\'s limit, 25 MB by default) instead of text')
    .option('--caption <text>', 'with --file: a line shown with the file')
    .option('--type <media-type>', 'with --file: its media type (default: from the file name\'s extension)')
    .option('--json', 'print JSON')
    .action(async (name: string, words: string[], opts: SendFileOptions & { data?: string, config?: string, precedence: string, ttl: string, json?: boolean }) => {
      const precedence = precedenceOf(opts.precedence)
      const ttlSeconds = ttlOf(opts.ttl)
      const text = textOf(words, opts.file)
      const file = opts.file === undefined ? undefined : readFileToSend(opts)
      if (file === undefined && (opts.caption !== undefined || opts.type !== undefined)) throw new UsageError('--caption and --type go with --file')
      const s = await openChannelSession(opts)
      try {
        const ref = s.resolve(name)
        // With recent messages: our own among them keep the sequence above any this data directory forgot.
        const channel = await s.open(ref)
        if (s.cc.state(channel) === undefined) throw new UsageError(`channel ${ref} is unknown to this relay (not created, or its governance has not arrived yet)`)
        await s.cc.maintainEpochs(channel)
        const progress = opts.json === true ? undefined : progressPrinter(file?.content.length ?? 0)
        const env = file === undefined
          ? await s.cc.sendText(channel, text, { precedence, ttlSeconds })
          : (await s.cc.sendFile(channel, file, { precedence, ttlSeconds, ...(progress === undefined ? {} : { onProgress: progress }) })).manifest
        // The channel's retention caps a message's TTL: say so rather than quietly shorten it.
        const capped = env.ttlSeconds < ttlSeconds ? `the channel's retention caps --ttl ${opts.ttl} at ${formatDuration(env.ttlSeconds * 1000)}` : undefined
        const what = file === undefined ? '' : `file ${file.name} (${file.mediaType}, ${formatBytes(file.content.length)}) `
        process.stdout.write(opts.json === true
          ? JSON.stringify({ id: toHex(env.id), channel: ref, seq: env.seq, precedence: opts.precedence, expiresAtMs: env.expiresAtMs, status: 'queued', ...(file === undefined ? {} : { file: { name: file.name, mediaType: file.mediaType, size: file.content.length } }), ...(capped === undefined ? {} : { note: capped }) }) + '\n'
          : `queued ${what}${toHex(env.id).slice(0, 16)} on ${s.nameOf(ref)} (seq ${env.seq}, ${opts.precedence}, encrypted, expires in ${formatDuration(env.ttlSeconds * 1000)}${capped === undefined ? '' : `: ${capped}`})\n`)
      } finally {
        await s.close()
      }
    })

  clientOptions(program.command('get'))
    .argument('<channel>', 'channel name or 16-hex-digit reference')
    .argument('<id>', 'the file\'s or long message\'s id as tail shows it (16 or 64 hex digits)')
    .description('save a file (or print a long message) from a channel once all of it has reached your relay and its hash checks')
    .option('-o, --out <path>', 'where to save it (default: its name, in the current directory; - for standard output)')
    .option('--force', 'overwrite --out if it exists')
    .action(async (name: string, id: string, opts: { data?: string, config?: string, out?: string, force?: boolean }) => {
      const { getFile } = await import('../get.ts')
      await getFile(name, id, opts)
    })

  clientOptions(program.command('tail'))
    .argument('<channel>', 'channel name or 16-hex-digit reference')
    .description('print a channel\'s newest messages, oldest first, with delivery status for your own; --follow keeps printing, and reconnects if the relay goes away')
    .option('-n, --lines <n>', 'how many of the newest messages to show first (0 to 1000)', '50')
    .option('-f, --follow', 'keep printing new messages and status changes until interrupted')
    .option('--json', 'print one JSON object per message (a status change prints the message again, with "update": true)')
    .action(async (name: string, opts: TailOptions) => {
      const { tail } = await import('../tail.ts')
      await tail(name, opts)
    })
}
