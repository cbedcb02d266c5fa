/**
 * `ddil verify-bundle [DIR] [--key RELEASE.pub]` (#27): checks an unpacked release bundle
 * (by default the one this `ddil` runs from) before it is installed or switched to: the
 * manifest's signature, every file's hash, nothing added; says which release key signed it
 * and, with --key, refuses any other. node/release/manifest.ts does the checking.
 *
 * @example
 * /opt/ddil/ddil-relay-0.2.0-linux-arm64/bin/ddil verify-bundle --key /etc/ddil/release.pub
 */
import type { Command } from 'commander'
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ConfigError, UsageError } from '../../../protocol/errors.ts'

/** The bundle root when this code runs from one: app/node/cli/commands/ → four levels up. */
const ownRoot = fileURLToPath(new URL('../../../../', import.meta.url))

interface Opts { key?: string, json?: boolean }

function pinnedKeyOf (path: string, raw: (pem: string, what: string) => Uint8Array): Uint8Array {
  let pem: string
  try { pem = readFileSync(path, 'utf8') } catch (e) { throw new ConfigError(`cannot read the pinned release key ${path}: ${(e as Error).message}`) }
  return raw(pem, `the pinned release key ${path}`)
}

export function register (program: Command): void {
  program.command('verify-bundle')
    .argument('[dir]', 'an unpacked release bundle (default: the one this ddil runs from)')
    .description('check a release bundle\'s signature and every file\'s hash before installing it; says which release key signed it')
    .option('--key <file>', 'the release public key your organisation pinned (PEM); any other signer is refused')
    .option('--json', 'print JSON')
    .action(async (dir: string | undefined, opts: Opts) => {
      const { rawEd25519PublicKey, verifyBundleDir, manifestFileName } = await import('../../release/manifest.ts')
      const root = dir === undefined ? ownRoot : resolve(dir)
      if (dir === undefined && !existsSync(join(root, manifestFileName))) {
        throw new UsageError('this ddil does not run from a release bundle: name the unpacked bundle\'s directory')
      }
      const pinnedKey = opts.key === undefined ? undefined : pinnedKeyOf(opts.key, rawEd25519PublicKey)
      const r = await verifyBundleDir(root, { pinnedKey })
      const m = r.manifest
      if (opts.json === true) { process.stdout.write(JSON.stringify({ dir: root, ...m, fingerprint: r.fingerprint, pinned: r.pinned }) + '\n'); return }
      process.stdout.write(`${root}: ${m.name} ${m.version} for ${m.platform} (Node ${m.node}), ${m.files} files checked\n`)
      process.stdout.write(r.pinned
        ? `signed by the pinned release key ${r.fingerprint}\n`
        : `signed by release key ${r.fingerprint}: compare it with your organisation's release key, or pass --key to have it checked\n`)
    })
}
