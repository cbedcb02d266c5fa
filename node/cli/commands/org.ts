/**
 * `ddil org …` (#29): organisations as trust roots.
 *
 * On the organisation's offline signing directory (`--dir`):
 *   ddil org init --dir D --name "Water utility" [--protect]
 *   ddil org certify-relay NODE_ID --dir D --name pump-3 [--valid 365d] --out pump-3.cert
 *   ddil org certify-user ddil1:… --dir D --name "Ann (duty officer)" [--valid 90d] --out ann.cert
 *   ddil org revoke SERIAL --dir D --out serial-7.revocation
 *   ddil org list --dir D [--json]
 * On a relay's data directory (`--data`):
 *   ddil org join ddilorg1:… --name "Water utility" --certificate pump-3.cert
 *   ddil org trust ddilorg1:… --name "County EM" [--gateway]
 *   ddil org policy ddilorg1:… [--precedences immediate,priority] [--message-max 64KB] [--creators ddil1:…] [--rate 60] [--retention-max 30d] [--clear]
 *   ddil org distrust ddilorg1:…
 *   ddil org import serial-7.revocation
 *   ddil org show [--json]
 * Anywhere: ddil org inspect FILE
 *
 * @example
 * ddil org trust ddilorg1:2b7… --name "County EM" --data /var/lib/ddil
 */
import type { Command } from 'commander'
import { resolveDataDir } from '../../config/paths.ts'
import { UsageError } from '../../../protocol/errors.ts'
import { orgCertificateLifetimeMsMax } from '../../../protocol/limits.ts'
import { formatDuration, parseDuration } from '../../../protocol/units.ts'
import { cliPassphrases, passphraseOption } from '../passphrase-prompt.ts'

interface DirOpts { dir: string, passphraseFile?: string }
interface DataOpts { data?: string, json?: boolean }
interface CertifyOpts extends DirOpts { name: string, valid: string, out: string }

const actions = async (): Promise<typeof import('../../org/commands.ts')> => await import('../../org/commands.ts')
const print = (lines: string[]): void => { process.stdout.write(lines.join('\n') + '\n') }
const dataDirOf = (opts: DataOpts): string => resolveDataDir({ dataDir: opts.data, env: process.env })

function validity (text: string): number {
  let ms: number
  try { ms = parseDuration(text) } catch { throw new UsageError(`--valid "${text}" is not a duration; write e.g. 90d or 365d`) }
  if (ms <= 0 || ms > orgCertificateLifetimeMsMax) throw new UsageError(`--valid must be more than 0 and at most ${formatDuration(orgCertificateLifetimeMsMax)} (five years), got ${text}`)
  return ms
}

function dirCommand (parent: Command, name: string): Command {
  return passphraseOption(parent.command(name).requiredOption('--dir <dir>', 'the organisation\'s signing directory (keep it offline)'))
}

function dataCommand (parent: Command, name: string): Command {
  return parent.command(name).option('--data <dir>', 'the relay\'s data directory (default: $DDIL_DATA, else ./data)')
}

function certifyCommand (org: Command, kind: 'relay' | 'user', defaultValid: string): void {
  dirCommand(org, `certify-${kind}`)
    .description(kind === 'relay' ? 'certify one of this organisation\'s relays, by its node id' : 'certify one of this organisation\'s users, by their ddil1: key')
    .argument(kind === 'relay' ? '<node-id>' : '<user-key>', kind === 'relay' ? 'the relay\'s node id (12D3KooW…)' : 'the user\'s key (ddil1:…, from "ddil whoami" or the field app)')
    .requiredOption('--name <name>', `what the organisation calls this ${kind}`)
    .requiredOption('--out <file>', 'the certificate file to write (must not exist)')
    .option('--valid <duration>', 'how long the certificate is valid, at most 5 years', defaultValid)
    .action(async (subject: string, opts: CertifyOpts) => {
      const a = await actions()
      const req = { dir: opts.dir, subject, name: opts.name, validMs: validity(opts.valid), out: opts.out }
      print(await (kind === 'relay' ? a.certifyRelay : a.certifyUser)(req, Date.now(), { passphrases: cliPassphrases(opts.passphraseFile) }))
    })
}

export function register (program: Command): void {
  const org = program.command('org').description('organisations as trust roots: certify relays and users, trust partner organisations (#29)')

  dirCommand(org, 'init')
    .description('create an organisation: its signing key and its ledger of issued certificates, in a new directory')
    .requiredOption('--name <name>', 'the organisation\'s name, e.g. "Water utility"')
    .option('--protect', 'encrypt org.key under a passphrase (see --passphrase-file)')
    .action(async (opts: DirOpts & { name: string, protect?: boolean }) => {
      const passphrases = cliPassphrases(opts.passphraseFile)
      const protectWith = opts.protect === true ? await passphrases.choose(`the organisation key in ${opts.dir}`) : undefined
      print(await (await actions()).initOrg(opts.dir, opts.name, { passphrases, protectWith }))
    })
  certifyCommand(org, 'relay', '365d')
  certifyCommand(org, 'user', '90d')
  dirCommand(org, 'revoke')
    .description('revoke a certificate this organisation issued, by serial; writes the revocation for relays to import')
    .argument('<serial>', 'the certificate\'s serial ("ddil org list")')
    .requiredOption('--out <file>', 'the revocation file to write (must not exist)')
    .action(async (serial: string, opts: DirOpts & { out: string }) => {
      if (!/^[1-9]\d{0,15}$/.test(serial)) throw new UsageError(`"${serial}" is not a serial number; "ddil org list" shows them`)
      print(await (await actions()).revoke(opts.dir, Number(serial), opts.out, Date.now(), { passphrases: cliPassphrases(opts.passphraseFile) }))
    })
  org.command('list')
    .description('list the certificates this organisation issued, with their serials')
    .requiredOption('--dir <dir>', 'the organisation\'s signing directory')
    .option('--json', 'print JSON')
    .action(async (opts: { dir: string, json?: boolean }) => {
      const a = await actions()
      const list = await a.listIssued(opts.dir)
      if (opts.json === true) print([JSON.stringify(list, null, 2)])
      else print(a.formatIssued(list, Date.now()))
    })

  dataCommand(org, 'join')
    .description('make this relay a member of its organisation: pin the organisation\'s key and install this relay\'s certificate')
    .argument('<org-key>', 'the organisation\'s key (ddilorg1:…)')
    .requiredOption('--name <name>', 'the organisation\'s name as shown here')
    .requiredOption('--certificate <file>', 'this relay\'s certificate ("ddil org certify-relay")')
    .action(async (key: string, opts: DataOpts & { name: string, certificate: string }) => {
      print(await (await actions()).join(dataDirOf(opts), key, opts.name, opts.certificate, Date.now()))
    })
  dataCommand(org, 'trust')
    .description('accept a partner organisation, by its key')
    .argument('<org-key>', 'the partner\'s organisation key (ddilorg1:…), received from its operators out of band')
    .requiredOption('--name <name>', 'what this relay calls the partner, e.g. "County EM"')
    .option('--gateway', 'this relay is a gateway to the partner: it links with the partner\'s relays (others refuse them)')
    .action(async (key: string, opts: DataOpts & { name: string, gateway?: boolean }) => {
      print(await (await actions()).trust(dataDirOf(opts), key, opts.name, opts.gateway === true, Date.now()))
    })
  dataCommand(org, 'distrust')
    .description('cut a partner organisation off: its certificates are refused from now on')
    .argument('<org-key>', 'the partner\'s organisation key (ddilorg1:…)')
    .action(async (key: string, opts: DataOpts) => {
      print(await (await actions()).distrust(dataDirOf(opts), key, Date.now()))
    })
  dataCommand(org, 'policy')
    .description('set what this relay lets cross to and from a partner, as its gateway (both ways; refused envelopes are audited and their senders told why)')
    .argument('<org-key>', 'the partner\'s organisation key (ddilorg1:…)')
    .option('--precedences <list>', 'precedences that may cross, e.g. immediate,priority,routine (or any)')
    .option('--message-max <size>', 'largest message or file that may cross, e.g. 64KB (or none)')
    .option('--creators <keys>', 'only channels created by these users may cross: ddil1:… keys, comma-separated (or any)')
    .option('--rate <n>', 'messages a minute that may cross each way, e.g. 60 (or none)')
    .option('--retention-max <duration>', 'only what expires within this may cross, e.g. 30d: how long the other side may keep it (or none)')
    .option('--clear', 'drop every rule first: everything this relay carries crosses')
    .action(async (key: string, opts: DataOpts & { precedences?: string, messageMax?: string, creators?: string, rate?: string, retentionMax?: string, clear?: boolean }) => {
      const { data: _data, json: _json, ...change } = opts
      print(await (await actions()).policy(dataDirOf(opts), key, change))
    })
  dataCommand(org, 'import')
    .description('take in a revocation signed by this relay\'s organisation or a partner')
    .argument('<file>', 'the revocation file ("ddil org revoke")')
    .action(async (file: string, opts: DataOpts) => {
      print(await (await actions()).importRevocation(dataDirOf(opts), file))
    })
  dataCommand(org, 'show')
    .description('show this relay\'s organisation, its certificate, its partners and revocations')
    .option('--json', 'print JSON')
    .action(async (opts: DataOpts) => {
      const shown = await (await actions()).showTrust(dataDirOf(opts), Date.now())
      print(opts.json === true ? [JSON.stringify(shown.json, null, 2)] : shown.lines)
    })
  org.command('inspect')
    .description('print what a certificate or revocation file says')
    .argument('<file>')
    .action(async (file: string) => { print(await (await actions()).inspect(file)) })
}
