/**
 * `ddil start`: runs the relay until SIGINT or SIGTERM. On a fresh data directory it
 * creates the identities and config first. Prints the node id, listen addresses, the
 * client API, the field app's addresses (with the HTTPS certificate's SHA-256 fingerprint
 * when web.listen is on) and the admin endpoints, then logs (pino) on stdout. Protected
 * keys are unlocked with the passphrase from `--passphrase-file`, `$DDIL_PASSPHRASE_FILE`,
 * `$DDIL_PASSPHRASE`, or asked for on a terminal.
 */
import type { Command } from 'commander'
import { addConfigOptions, flagsFromOptions } from '../../config/overrides.ts'
import { appUrls, urlHost } from '../../web/addresses.ts'
import { cliPassphrases, passphraseOption } from '../passphrase-prompt.ts'

export function register (program: Command): void {
  passphraseOption(addConfigOptions(program.command('start')))
    .description('run the relay (creates identity and config on first run)')
    .action(async (opts: Record<string, unknown>) => {
      const { startNode } = await import('../../daemon.ts')
      const node = await startNode({ dataDir: opts.data as string | undefined, configPath: opts.config as string | undefined, env: process.env, flags: flagsFromOptions(opts), keys: { passphrases: cliPassphrases(opts.passphraseFile as string | undefined) } })
      process.stdout.write([
        node.firstRun ? `First run: created node identity, operator user and config in ${node.dataDir}` : `Data directory: ${node.dataDir}`,
        `node id:    ${node.nodeId}`,
        ...node.listen.map((a, i) => `${i === 0 ? 'listening: ' : '           '} ${a}`),
        `client API: ws://${node.api.host}:${node.api.port}`,
        `field app:  http://${node.api.host === '0.0.0.0' || node.api.host === '::' ? 'localhost' : urlHost(node.api.host)}:${node.api.port}/  (on this machine)`,
        ...(node.web === undefined
          ? ['HTTPS:      off (web.listen); turn it on for phones on the local network, e.g. --web 0.0.0.0:4443']
          : [
              ...appUrls(node.web, 'https').map((u, i) => `${i === 0 ? 'HTTPS:     ' : '           '} ${u}  (field app and client API for the local network)`),
              `certificate: SHA-256 ${node.web.fingerprint}`,
              node.web.certificate.source === 'generated'
                ? `             ${node.webCertificateCreated ? 'made now, ' : ''}self-signed (${node.web.certificate.certPath}): users compare this fingerprint with the one their browser shows`
                : `             from web.cert (${node.web.certificate.certPath})`,
            ]),
        `admin:      http://${node.admin.host}:${node.admin.port}  (/healthz /status /metrics)`,
        '',
      ].join('\n'))
      await new Promise<void>(resolve => {
        const shutdown = (signal: string): void => {
          process.stderr.write(`ddil: ${signal}: stopping\n`)
          node.stop().then(resolve, (e: Error) => { process.stderr.write(`ddil: stop failed: ${e.message}\n`); resolve() })
        }
        process.once('SIGINT', () => shutdown('SIGINT'))
        process.once('SIGTERM', () => shutdown('SIGTERM'))
      })
    })
}
