/**
 * Where the passphrase for protected keys comes from, in this order: a file
 * (`--passphrase-file`, else `$DDIL_PASSPHRASE_FILE`), `$DDIL_PASSPHRASE`, else a prompt
 * without echo when stdin is a terminal. A service reads a file (systemd credentials,
 * a mounted secret); a person types it. One passphrase serves a whole command: it is
 * obtained once, when the first protected key needs it, and never when no key does.
 *
 * @example
 * const p = createPassphrases({ file: opts.passphraseFile, env: process.env, prompt: terminalPrompt() })
 * await p.unlock('/var/lib/ddil/user.key')   // reads the file, or asks, once
 */
import { readFile } from 'node:fs/promises'
import { ConfigError } from '../protocol/errors.ts'
import { passphraseBytesMax, passphraseCharsMin } from '../protocol/limits.ts'
import { checkPrivateFile } from './config/files.ts'
import { envPassphrase, envPassphraseFile } from './config/keys.ts'

export interface PassphraseSources {
  /** `--passphrase-file`; wins over the environment. */
  file?: string
  env: Readonly<Record<string, string | undefined>>
  /** Asks on the terminal without echo; absent when stdin is not a terminal. */
  prompt?: (question: string) => Promise<string>
}

export interface Passphrases {
  /** The passphrase that opens `path` (a protected key or backup). */
  unlock (path: string): Promise<string>
  /** A passphrase to protect `what` with: asked twice on a terminal, at least `passphraseCharsMin` characters. */
  choose (what: string): Promise<string>
}

/** Refuses keys that need a passphrase: what a caller gets when it gave no sources. */
export const noPassphrases: Passphrases = {
  unlock: async (path) => { throw missing(path) },
  choose: async (what) => { throw missing(what) },
}

function missing (what: string): ConfigError {
  return new ConfigError(`${what} needs a passphrase, and none was given: use --passphrase-file FILE, set DDIL_PASSPHRASE_FILE or DDIL_PASSPHRASE, or run the command on a terminal to be asked`)
}

/** A passphrase file's first line (one trailing newline dropped); the file must be private, like a key. */
async function fromFile (path: string): Promise<string> {
  const stats = await checkPrivateFile(path, 'a passphrase file')
  if (stats.size > passphraseBytesMax) throw new ConfigError(`${path} is ${stats.size} bytes; a passphrase file holds one passphrase of at most ${passphraseBytesMax} bytes`)
  const text = (await readFile(path, 'utf8')).replace(/\r?\n$/, '')
  if (text === '') throw new ConfigError(`${path} is empty; write the passphrase into it`)
  return text
}

/** From the file or the environment, or undefined when neither gives one. */
async function given (sources: PassphraseSources): Promise<string | undefined> {
  const file = sources.file ?? (sources.env[envPassphraseFile] !== '' ? sources.env[envPassphraseFile] : undefined)
  if (file !== undefined) return await fromFile(file)
  const text = sources.env[envPassphrase]
  if (text !== undefined && text !== '') {
    if (Buffer.byteLength(text) > passphraseBytesMax) throw new ConfigError(`${envPassphrase} is longer than ${passphraseBytesMax} bytes`)
    return text
  }
  return undefined
}

function checkNew (passphrase: string, where: string): string {
  if ([...passphrase].length < passphraseCharsMin) throw new ConfigError(`the passphrase from ${where} is shorter than ${passphraseCharsMin} characters; choose a longer one`)
  return passphrase
}

export function createPassphrases (sources: PassphraseSources): Passphrases {
  let known: string | undefined
  const source = sources.file ?? ((sources.env[envPassphraseFile] ?? '') !== '' ? envPassphraseFile : envPassphrase)
  return {
    async unlock (path) {
      known ??= await given(sources) ?? await sources.prompt?.(`Passphrase for ${path}: `)
      if (known === undefined) throw missing(path)
      return known
    },
    async choose (what) {
      if (known !== undefined) return known // it already opened a key in this command
      const fixed = await given(sources)
      if (fixed !== undefined) return (known = checkNew(fixed, source))
      if (sources.prompt === undefined) throw missing(what)
      const first = checkNew(await sources.prompt(`New passphrase for ${what}: `), 'the terminal')
      if (await sources.prompt('Same passphrase again: ') !== first) throw new ConfigError('the two passphrases differ; nothing was changed')
      return (known = first)
    },
  }
}
