/**
 * `ddil key protect|unprotect|export|import`: the node's and the operator's private keys
 * at rest, and the operator identity's backup (node/key-management.ts). Passphrases come
 * from `--passphrase-file`, `$DDIL_PASSPHRASE_FILE`, `$DDIL_PASSPHRASE`, or the terminal
 * (asked twice for a new one).
 *
 * @example
 * ddil key protect --data /var/lib/ddil
 * ddil key export --to /media/usb/operator.ddilkey --data /var/lib/ddil
 * ddil key import /media/usb/operator.ddilkey --data /var/lib/ddil
 */
import type { Command } from 'commander'
import { resolveDataDir } from '../../config/paths.ts'
import { cliPassphrases, passphraseOption } from '../passphrase-prompt.ts'

interface Opts { data?: string, passphraseFile?: string }

function dataOption (command: Command): Command {
  return passphraseOption(command.option('--data <dir>', 'data directory (default: $DDIL_DATA, else ./data)'))
}

function dataDirOf (opts: Opts): string {
  return resolveDataDir({ dataDir: opts.data, env: process.env })
}

const said: Record<string, string> = {
  protected: 'now encrypted under the passphrase',
  unprotected: 'now stored unencrypted (mode 0600)',
  already: 'unchanged (already so)',
}

export function register (program: Command): void {
  const key = program.command('key').description('protect the private keys under a passphrase; back up and restore the operator identity')
  dataOption(key.command('protect'))
    .description('encrypt node.key and user.key under a passphrase (ddil start then needs it)')
    .action(async (opts: Opts) => {
      const { protectKeys } = await import('../../key-management.ts')
      for (const r of await protectKeys(dataDirOf(opts), cliPassphrases(opts.passphraseFile))) process.stdout.write(`${r.path}: ${said[r.outcome]}\n`)
    })
  dataOption(key.command('unprotect'))
    .description('store node.key and user.key unencrypted again (mode 0600)')
    .action(async (opts: Opts) => {
      const { unprotectKeys } = await import('../../key-management.ts')
      for (const r of await unprotectKeys(dataDirOf(opts), cliPassphrases(opts.passphraseFile))) process.stdout.write(`${r.path}: ${said[r.outcome]}\n`)
    })
  dataOption(key.command('export'))
    .description('write an encrypted backup of the operator identity (user.key) to a new file')
    .requiredOption('--to <file>', 'the backup file to create')
    .action(async (opts: Opts & { to: string }) => {
      const { exportIdentity } = await import('../../key-management.ts')
      const r = await exportIdentity({ dataDir: dataDirOf(opts), to: opts.to, passphrases: cliPassphrases(opts.passphraseFile) })
      process.stdout.write(`wrote ${r.to}: the operator identity ${r.publicKey}, encrypted under the passphrase. Keep it, and the passphrase, apart from this machine.\n`)
    })
  dataOption(key.command('import'))
    .description('restore the operator identity from a backup made by "ddil key export"')
    .argument('<file>', 'the backup')
    .option('--force', 'replace a different operator identity in the data directory (the old one is kept as user.key.bak)')
    .option('--protect', 'keep user.key encrypted under the backup\'s passphrase (default: unencrypted, mode 0600)')
    .action(async (file: string, opts: Opts & { force?: boolean, protect?: boolean }) => {
      const { importIdentity } = await import('../../key-management.ts')
      const r = await importIdentity({ from: file, dataDir: dataDirOf(opts), passphrases: cliPassphrases(opts.passphraseFile), force: opts.force, protect: opts.protect })
      process.stdout.write([
        r.outcome === 'same' ? `${r.path} already holds ${r.publicKey}; nothing was changed` : `restored ${r.publicKey} to ${r.path}${r.protected ? ' (encrypted under the backup\'s passphrase)' : ' (unencrypted, mode 0600; "ddil key protect" encrypts it)'}`,
        ...(r.replaced !== undefined ? [`the identity it replaced is in ${r.replaced}`] : []),
        `Next, if this directory has no node.key or config yet: ddil init --force --data ${dataDirOf(opts)}`,
        '',
      ].join('\n'))
    })
}
