/**
 * The command line's passphrase sources (node/passphrase.ts): `--passphrase-file`, the
 * `DDIL_PASSPHRASE_FILE` and `DDIL_PASSPHRASE` variables, and, when stdin is a terminal,
 * a prompt on stderr that does not echo what is typed.
 *
 * @example
 * const keys = { passphrases: cliPassphrases(opts.passphraseFile) }
 * await loadUserIdentity(dataDir, crypto, keys)
 */
import type { Command } from 'commander'
import { UsageError } from '../../protocol/errors.ts'
import { passphraseBytesMax } from '../../protocol/limits.ts'
import { createPassphrases, type Passphrases } from '../passphrase.ts'

/** Adds `--passphrase-file` to a command that may open a protected key. */
export function passphraseOption (command: Command): Command {
  return command.option('--passphrase-file <file>', 'passphrase for protected keys (default: $DDIL_PASSPHRASE_FILE, $DDIL_PASSPHRASE, else asked on a terminal)')
}

/** Reads one line from the terminal without echo. Ctrl-C ends the command (UsageError, nothing changed). */
export function promptHidden (question: string): Promise<string> {
  const { stdin, stderr } = process
  return new Promise((resolve, reject) => {
    let text = ''
    const finish = (error?: Error): void => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      stderr.write('\n')
      if (error !== undefined) reject(error)
      else resolve(text)
    }
    const onData = (chunk: string): void => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') { finish(); return }
        if (ch === '\u0003') { finish(new UsageError('interrupted; nothing was changed')); return }
        if (ch === '\u007f' || ch === '\b') text = [...text].slice(0, -1).join('')
        else if (Buffer.byteLength(text) < passphraseBytesMax) text += ch
      }
    }
    // Echo off before the question shows: what is typed after it must never appear.
    stdin.setRawMode(true)
    stdin.setEncoding('utf8')
    stdin.on('data', onData)
    stdin.resume()
    stderr.write(question)
  })
}

/** Passphrases from `--passphrase-file`, the environment, or the terminal when stdin is one. */
export function cliPassphrases (file: string | undefined): Passphrases {
  return createPassphrases({ file, env: process.env, ...(process.stdin.isTTY ? { prompt: promptHidden } : {}) })
}
