/**
 * `ddil whoami [--data DIR] [--json]`: prints the operator user's public key in the
 * form `ddil channel add CH KEY` accepts (`ddil1:…`, with a checksum that catches
 * typos). `--json` adds the raw public keys in hex and the data directory.
 *
 * @example
 * ddil whoami --data /var/lib/ddil
 * // ddil1:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURqFIPAJiTCnVHSLfdy0PvdaDb86DSY4GvTrpKmOqptOakIujdQ
 */
import type { Command } from 'commander'
import { resolveDataDir } from '../../config/paths.ts'
import { loadUserPublicKey } from '../../user-identity.ts'

export interface WhoamiReport {
  publicKey: string
  ed25519PublicKey: string
  x25519PublicKey: string
  dataDir: string
}

/** Needs no passphrase: a protected user.key keeps its public key in the clear. */
export async function whoami (dataDir: string): Promise<WhoamiReport> {
  const user = await loadUserPublicKey(dataDir)
  return {
    publicKey: user.text,
    ed25519PublicKey: Buffer.from(user.ed25519).toString('hex'),
    x25519PublicKey: Buffer.from(user.x25519).toString('hex'),
    dataDir,
  }
}

export function register (program: Command): void {
  program.command('whoami')
    .description('print the operator user\'s public key, to paste into "ddil channel add"')
    .option('--data <dir>', 'data directory (default: $DDIL_DATA, else ./data)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { data?: string, json?: boolean }) => {
      const report = await whoami(resolveDataDir({ dataDir: opts.data, env: process.env }))
      process.stdout.write(opts.json === true ? JSON.stringify(report) + '\n' : `${report.publicKey}\n`)
    })
}
