/**
 * `ddil bundle export --to FILE [--channel CH…] [--since DURATION|--for NODE_ID] [--precedence P…]`
 * and `ddil bundle import FILE` (#27): messages carried across an air gap on removable media.
 * `--for` leaves out what that node's newest bundle imported here said it holds, so the stick
 * carries only the difference.
 * Both ask the running relay, as the operator user through the client API: the relay holds
 * the store, signs the bundle with its node key, validates an import envelope by envelope as
 * the network path does, and audits both. The relay reads and writes the file, so FILE is
 * a path on the relay's machine (made absolute here).
 *
 * @example
 * ddil bundle export --to /media/usb/ops.ddil --channel ops --since 2d --precedence flash --precedence immediate
 * ddil bundle import /media/usb/ops.ddil
 * ddil bundle export --to /media/usb/for-b.ddil --for 12D3KooW…   # what node 12D3KooW… lacks
 */
import type { Command } from 'commander'
import { resolve } from 'node:path'
import { clientOptions } from '../client-command.ts'
import { allPrecedences } from '../../../protocol/bundle/format.ts'
import { precedenceOf } from './messages.ts'
import { UsageError } from '../../../protocol/errors.ts'
import { parseDuration } from '../../../protocol/units.ts'
import { fromHex } from '../../../protocol/bytes.ts'

interface Opts { data?: string, config?: string, json?: boolean }
interface ExportOpts extends Opts { to: string, channel: string[], since?: string, for?: string, precedence: string[] }

const collect = (value: string, previous: string[]): string[] => [...previous, value]

/** The precedence bit mask (bit p: precedence p) for the names given; all four when none is. */
export function precedenceMask (names: string[]): number {
  if (names.length === 0) return allPrecedences
  let mask = 0
  for (const name of names) mask |= 1 << precedenceOf(name)
  return mask
}

function sinceOf (text: string | undefined, nowMs: number): number {
  if (text === undefined) return 0
  let ms: number
  try { ms = parseDuration(text) } catch { throw new UsageError(`--since "${text}" is not a duration; write e.g. 6h, 2d or 30m`) }
  return Math.max(0, nowMs - ms)
}

export function register (program: Command): void {
  const bundle = program.command('bundle').description('carry messages across an air gap on removable media (signed bundle files)')
  clientOptions(bundle.command('export'))
    .description('write a channel\'s messages, with the governance and keys needed to verify and read them, to a signed bundle file')
    .requiredOption('--to <file>', 'the bundle file to write (replaced atomically)')
    .option('--channel <ch>', 'a channel (name or reference) to export; repeat for more (default: every channel this relay carries)', collect, [])
    .option('--since <duration>', 'only messages stamped within this long, e.g. 2d (governance and keys always go)')
    .option('--for <node-id>', 'only what that relay lacks, as its newest bundle imported here said (not with --since)')
    .option('--precedence <p>', 'only messages of this precedence; repeat for more (default: all)', collect, [])
    .option('--json', 'print JSON')
    .action(async (opts: ExportOpts) => {
      if (opts.for !== undefined && opts.since !== undefined) throw new UsageError('--for and --since exclude each other: --for already leaves out what the peer holds')
      const precedences = precedenceMask(opts.precedence)
      const sinceMs = sinceOf(opts.since, Date.now())
      const path = resolve(opts.to)
      const { connect } = await import('../client-context.ts')
      const { resolveChannel } = await import('../local-channel.ts')
      const { client, ctx } = await connect(opts)
      try {
        const channels = opts.channel.map(c => fromHex(resolveChannel(ctx.dataDir, c)))
        const r = await client.bundleExport({ path, channels, precedences, sinceMs, forNodeId: opts.for })
        if (opts.json === true) { process.stdout.write(JSON.stringify({ file: path, ...r }) + '\n'); return }
        const leftOut = r.leftOut === undefined ? '' : `; left out ${r.leftOut} that node ${opts.for ?? ''} holds`
        process.stdout.write(`exported ${r.envelopes} envelopes (${r.bytes} bytes) to ${path}${leftOut}\nsha256 ${r.hash}\n`)
      } finally {
        await client.close()
      }
    })
  clientOptions(bundle.command('import'))
    .argument('<file>', 'a bundle file written by "ddil bundle export"')
    .description('verify a bundle file and store what is new in it, each envelope checked as if it came from a peer')
    .option('--json', 'print JSON')
    .action(async (file: string, opts: Opts) => {
      const path = resolve(file)
      const { connect } = await import('../client-context.ts')
      const { client } = await connect(opts)
      try {
        const r = await client.bundleImport(path)
        if (opts.json === true) { process.stdout.write(JSON.stringify({ file: path, ...r }) + '\n'); return }
        const reasons = Object.entries(r.reasons).map(([why, n]) => `${n} ${why}`).join(', ')
        process.stdout.write(`imported ${path} from node ${r.nodeId}: ${r.envelopes} envelopes, ${r.added} new, ${r.held} already held, ${r.refused} refused${reasons === '' ? '' : ` (${reasons})`}\n`)
      } finally {
        await client.close()
      }
    })
}
