/**
 * The `ddil` command line (brief §4). Exit status 0 on success, 1 on a failed check,
 * 2 on bad usage; errors go to stderr in one sentence.
 *
 * Every command module is loaded on every run, to register its name, arguments,
 * options and help. So a command module imports at the top only what that needs;
 * its action imports the rest (libp2p, LevelDB, the config schema, the API client,
 * the simulator) when it runs. test/cli-startup.test.ts checks which packages
 * `ddil --help` and the client commands load; `npm run bench -- cli` times them.
 *
 * @example
 * npx ddil --help
 */
import { Command, CommanderError } from 'commander'
import { readFileSync } from 'node:fs'
import { isDdilError } from '../../protocol/errors.ts'
import { register as registerInit } from './commands/init.ts'
import { register as registerConfigtest } from './commands/configtest.ts'
import { register as registerWhoami } from './commands/whoami.ts'
import { register as registerKey } from './commands/key.ts'
import { register as registerStart } from './commands/start.ts'
import { register as registerStatus } from './commands/status.ts'
import { register as registerMessages } from './commands/messages.ts'
import { register as registerAudit } from './commands/audit.ts'
import { register as registerChannels } from './commands/channels.ts'
import { register as registerClients } from './commands/clients.ts'
import { register as registerSim } from './commands/sim.ts'
import { register as registerContacts } from './commands/contacts.ts'
import { register as registerEmulate } from './commands/emulate.ts'
import { register as registerBundle } from './commands/bundle.ts'
import { register as registerVerifyBundle } from './commands/verify-bundle.ts'
import { register as registerOrg } from './commands/org.ts'

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }

export function buildProgram (): Command {
  const program = new Command('ddil')
    .description('ddil-relay: out-of-band, store-and-forward, end-to-end encrypted messaging for teams whose network is down')
    .version(pkg.version)
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
  registerInit(program)
  registerStart(program)
  registerConfigtest(program)
  registerWhoami(program)
  registerKey(program)
  registerStatus(program)
  registerChannels(program)
  registerClients(program)
  registerMessages(program)
  registerAudit(program)
  registerBundle(program)
  registerVerifyBundle(program)
  registerOrg(program)
  registerSim(program)
  registerContacts(program)
  registerEmulate(program)
  return program
}

async function main (argv: string[]): Promise<number> {
  const program = buildProgram()
  try {
    await program.parseAsync(argv, { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2
    if (isDdilError(e)) {
      process.stderr.write(`ddil: ${e.message}\n`)
      return e.code === 'ERR_USAGE' || e.code === 'ERR_CONFIG' ? 2 : 1
    }
    throw e
  }
}

/**
 * A reader that went away (`ddil tail --follow | head`) is the end of the output, not
 * an error: stop quietly, as `cat` and `grep` do. Any other stdout error still throws.
 */
function exitWhenReaderGone (e: NodeJS.ErrnoException): void {
  if (e.code !== 'EPIPE') throw e
  process.exit() // with the status already decided, 0 if none
}

process.stdout.on('error', exitWhenReaderGone)
process.exitCode = await main(process.argv.slice(2))
