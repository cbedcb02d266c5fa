/**
 * `ddil enrol [--name N] [--ttl 15m] [--json]`: lets one more device in. Asks the running
 * relay (as the operator user, through the client API) for a one-time enrolment code and
 * prints it, the field app's URL with the code in it (`https://<LAN address>:<port>/#enrol=CODE`
 * when the HTTPS listener is on, else `http://localhost:<api port>/#enrol=CODE`), the
 * certificate's SHA-256 fingerprint for the user to compare, and a QR code of the URL.
 *
 * `ddil clients list [--json]` lists the enrolled devices with their `ddil1:` keys;
 * `ddil clients revoke KEY` revokes one (its sessions end at once; audited).
 *
 * @example
 * ddil enrol --name "Ana (medic)" --ttl 30m
 * ddil clients revoke ddil1:SAdaWX5y…
 */
import type { Command } from 'commander'
import { clientOptions } from '../client-command.ts'
import type { Client } from '../../api/client.ts'
import type { ClientRecord } from '../../api/wire.ts'
import { enrolmentTtlMsDefault, enrolmentTtlMsMax, enrolmentTtlMsMin } from '../../api/limits.ts'
import { formatUserPublicKey, parseUserPublicKey } from '../../user-identity.ts'
import { displayNameProblem } from '../../../protocol/channel/profile.ts'
import { UsageError } from '../../../protocol/errors.ts'
import { formatDuration, parseDuration } from '../../../protocol/units.ts'
import { appUrls, parseHostPort } from '../../web/addresses.ts'

interface Opts { data?: string, config?: string, json?: boolean }

async function withOperator<T> (opts: Opts, fn: (client: Client) => Promise<T>): Promise<T> {
  const { connect } = await import('../client-context.ts')
  const { client } = await connect(opts)
  try {
    return await fn(client)
  } finally {
    await client.close()
  }
}

function ttlOf (text: string): number {
  let ms: number
  try { ms = parseDuration(text) } catch { throw new UsageError(`--ttl "${text}" is not a duration; write e.g. 15m, 1h or 90s`) }
  if (ms < enrolmentTtlMsMin || ms > enrolmentTtlMsMax) throw new UsageError(`--ttl must be from ${formatDuration(enrolmentTtlMsMin)} to ${formatDuration(enrolmentTtlMsMax)}, not ${text}`)
  return ms
}

export interface EnrolmentPrintout {
  code: string
  expiresAtMs: number
  /** Where a device opens the app with the code; the first is the one in the QR code. */
  urls: string[]
  /** SHA-256 of the HTTPS certificate; null when the HTTPS listener is off. */
  fingerprint: string | null
}

/** The URLs and fingerprint for a code, from the relay's status (`web` is there when the HTTPS listener is on). */
export function enrolmentPrintout (code: string, expiresAtMs: number, status: Record<string, unknown>, apiPort: number): EnrolmentPrintout {
  const web = status.web as { listen?: unknown, fingerprint?: unknown } | undefined
  const listen = typeof web?.listen === 'string' ? parseHostPort(web.listen) : undefined
  const fragment = `#enrol=${encodeURIComponent(code)}`
  if (listen === undefined || typeof web?.fingerprint !== 'string') return { code, expiresAtMs, urls: [`http://localhost:${apiPort}/${fragment}`], fingerprint: null }
  return { code, expiresAtMs, urls: appUrls(listen, 'https').map(u => u + fragment), fingerprint: web.fingerprint }
}

function clientLine (c: ClientRecord): string {
  const when = (ms: number): string => new Date(ms).toISOString().replace(/:\d\d\.\d+Z$/, 'Z').replace('T', ' ')
  const state = c.revokedAtMs === undefined ? `enrolled ${when(c.enrolledAtMs)}` : `enrolled ${when(c.enrolledAtMs)}, REVOKED ${when(c.revokedAtMs)}`
  return `${formatUserPublicKey(c.publicKey, c.xPublicKey)}  ${c.name}  (${state})`
}

export function register (program: Command): void {
  clientOptions(program.command('enrol'))
    .description('let a responder\'s device in: print a one-time code, the app\'s URL with it, and a QR code')
    .option('--name <name>', 'who the code is for; the device is listed by it (default: the name the device gives)')
    .option('--ttl <duration>', 'how long the code works, e.g. 15m, 1h (at most 24h)', formatDuration(enrolmentTtlMsDefault))
    .option('--json', 'print JSON (no QR code)')
    .action(async (opts: Opts & { name?: string, ttl: string }) => {
      const name = opts.name ?? ''
      const problem = name === '' ? undefined : displayNameProblem(name)
      if (problem !== undefined) throw new UsageError(`--name ${problem}`)
      const ttlMs = ttlOf(opts.ttl)
      const { relayAddresses } = await import('../relay-address.ts')
      const { api } = await relayAddresses(opts)
      const out = await withOperator(opts, async (client) => {
        const { code, expiresAtMs } = await client.issueEnrolment({ name, ttlMs })
        return enrolmentPrintout(code, expiresAtMs, await client.status(), api.port)
      })
      if (opts.json === true) { process.stdout.write(JSON.stringify(out) + '\n'); return }
      const { toString: qr } = await import('qrcode')
      process.stdout.write([
        `enrolment code: ${out.code}   (one device${name === '' ? '' : `, for ${name}`}; until ${new Date(out.expiresAtMs).toISOString()}, ${formatDuration(ttlMs)})`,
        `open:           ${out.urls[0]}`,
        ...out.urls.slice(1).map(u => `                ${u}`),
        out.fingerprint === null
          ? 'note: the HTTPS listener is off (web.listen), so only this machine can open the app; phones need e.g. "ddil start --web 0.0.0.0:4443"'
          : `certificate:    SHA-256 ${out.fingerprint}\n                (the browser shows it when it warns about the certificate: compare before accepting)`,
        '',
        await qr(out.urls[0], { type: 'terminal', small: true }),
      ].join('\n'))
    })

  const clients = program.command('clients').description('devices enrolled with "ddil enrol"')
  clientOptions(clients.command('list'))
    .description('list enrolled devices, revoked ones included, with their ddil1: keys')
    .option('--json', 'print JSON')
    .action(async (opts: Opts) => {
      const list = await withOperator(opts, async (client) => await client.clientList())
      if (opts.json === true) {
        process.stdout.write(JSON.stringify(list.map(c => ({ publicKey: formatUserPublicKey(c.publicKey, c.xPublicKey), name: c.name, enrolledAtMs: c.enrolledAtMs, revokedAtMs: c.revokedAtMs ?? null }))) + '\n')
        return
      }
      process.stdout.write(list.length === 0 ? 'no enrolled devices (let one in with "ddil enrol")\n' : list.map(c => clientLine(c) + '\n').join(''))
    })
  clientOptions(clients.command('revoke'))
    .argument('<key>', 'the device\'s ddil1:… key ("ddil clients list" shows it, and so does the app)')
    .description('revoke a lost or stolen device: its connections end at once and it cannot connect again')
    .action(async (key: string, opts: Opts) => {
      let publicKey: Uint8Array
      try { publicKey = parseUserPublicKey(key).ed25519 } catch (e) { throw new UsageError((e as Error).message) }
      await withOperator(opts, async (client) => { await client.revokeClient(publicKey) })
      process.stdout.write(`revoked ${key.trim()}: its sessions have ended and it cannot connect or enrol again.\nRemove it from its channels too ("ddil channel remove CH KEY"), so it gets no new channel keys.\n`)
    })
}
