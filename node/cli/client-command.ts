/**
 * What client commands (`status`, `send`, `channel …`) share when they are registered:
 * their options, and a channel session that loads the API client and the channel
 * code (client-context.ts, channel-session.ts) only when a command runs.
 * Registering the commands, which `ddil --help` does, loads none of them.
 *
 * @example
 * clientOptions(program.command('send')).action(async (opts) => { const s = await openChannelSession(opts); … })
 */
import type { Command } from 'commander'
import type { ChannelSession } from './channel-session.ts'
import type { ClientOptions } from './relay-address.ts'
import { passphraseOption } from './passphrase-prompt.ts'

/** Where the relay is: for commands that ask it without the operator's keys (`status`, `peers`). */
export function relayOptions (command: Command): Command {
  return command
    .option('--data <dir>', 'data directory (default: $DDIL_DATA, else ./data)')
    .option('--config <file>', 'config file (default: $DDIL_CONFIG, else <data>/config.yaml)')
}

/** Where the relay is, and the passphrase for a protected user.key: for commands that act as the operator user. */
export function clientOptions (command: Command): Command {
  return passphraseOption(relayOptions(command))
}

/** Connects to the relay as the operator user (channel-session.ts), loading it now. */
export async function openChannelSession (opts: ClientOptions): Promise<ChannelSession> {
  const { channelSession } = await import('./channel-session.ts')
  return await channelSession(opts)
}
