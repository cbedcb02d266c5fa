/**
 * `ddil init [--data DIR] [--force] [--json]`: first boot. Creates the data directory
 * (mode 0700), the node key (node.key, the libp2p identity), the operator user key
 * (user.key), the HTTPS certificate for the field app (web-cert.pem, web-key.pem) and a
 * commented config.yaml, then prints the node id, the operator's public key and the
 * certificate's SHA-256 fingerprint.
 *
 * On a directory that already holds any of those files it refuses (exit 1) and
 * changes nothing. `--force` keeps every existing key, creates whatever is missing,
 * and writes a fresh config.yaml after renaming the old one to config.yaml.bak
 * (config.yaml.bak.1, … if taken). Keys are never overwritten.
 *
 * `--protect` encrypts the new keys under a passphrase (node/protected-key.ts) from
 * `--passphrase-file`, `$DDIL_PASSPHRASE_FILE`, `$DDIL_PASSPHRASE`, or the terminal (asked twice).
 *
 * @example
 * ddil init --data /var/lib/ddil
 * // node id:       12D3KooW…
 * // operator user: ddil1:…
 */
import type { Command } from 'commander'
import { resolveDataDir } from '../../config/paths.ts'
import type { InitResult } from '../../data-dir.ts'
import { cliPassphrases, passphraseOption } from '../passphrase-prompt.ts'

/** The human-readable report `ddil init` prints. */
export function formatInitResult (r: InitResult): string {
  const secret = r.keysProtected ? 'secret, encrypted under the passphrase, mode 0600' : 'secret, mode 0600'
  const what: Record<string, string> = {
    [r.files.nodeKey]: `node identity (libp2p Ed25519 key, ${secret})`,
    [r.files.userKey]: `operator user identity (Ed25519 + X25519 keys, ${secret})`,
    [r.files.config]: 'configuration, commented',
    [r.files.webCert]: 'HTTPS certificate for the field app (self-signed; web.listen)',
    [r.files.webKey]: 'its private key (secret, mode 0600)',
  }
  const width = Math.max(...Object.keys(what).map(p => p.length))
  const line = (p: string): string => `  ${p.padEnd(width)}  ${what[p]}`
  return [
    `Initialised ddil relay in ${r.dataDir}`,
    `node id:       ${r.nodeId}`,
    `operator user: ${r.userPublicKey}`,
    `HTTPS certificate SHA-256: ${r.webFingerprint}`,
    'created:',
    ...r.created.map(line),
    ...(r.kept.length > 0 ? ['kept (already there):', ...r.kept.map(line)] : []),
    ...(r.configBackup !== undefined ? [`previous config moved to ${r.configBackup}`] : []),
    ...r.notes.map(n => `note: ${n}`),
    '',
    'Give the node id to relays that should dial or allow this one (peers.static, peers.allow);',
    'paste the operator user key into "ddil channel add" on a channel owner\'s machine.',
    `Next: review ${r.files.config}, then run "ddil configtest --data ${r.dataDir}" and "ddil start --data ${r.dataDir}".`,
    '',
  ].join('\n')
}

export function register (program: Command): void {
  passphraseOption(program.command('init'))
    .description('create the node identity, the operator user identity and a commented config; print the node id')
    .option('--data <dir>', 'data directory (default: $DDIL_DATA, else ./data)')
    .option('--force', 'on an initialised directory: keep existing keys, create what is missing, write a fresh config.yaml (old one kept as config.yaml.bak)')
    .option('--protect', 'encrypt the new node.key and user.key under a passphrase (see --passphrase-file)')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { data?: string, force?: boolean, protect?: boolean, json?: boolean, passphraseFile?: string }) => {
      const dataDir = resolveDataDir({ dataDir: opts.data, env: process.env })
      const { initDataDir } = await import('../../data-dir.ts')
      const passphrases = cliPassphrases(opts.passphraseFile)
      const protectWith = opts.protect === true ? await passphrases.choose(`the keys in ${dataDir}`) : undefined
      const result = await initDataDir({ dataDir, force: opts.force, keys: { passphrases, protectWith } })
      process.stdout.write(opts.json === true ? JSON.stringify(result) + '\n' : formatInitResult(result))
    })
}
