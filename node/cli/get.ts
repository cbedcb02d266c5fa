/**
 * `ddil get CH ID [--out PATH]` (#23): fetches every piece of a file (or long message) that the
 * relay holds, assembles and checks it in this process, and saves it (a long message is
 * printed). Nothing is written until the whole file is here and its Merkle root and SHA-256
 * match the manifest its author signed. A file fetched whole is acknowledged with a receipt,
 * so its sender sees it delivered.
 *
 * @example
 * await getFile('ops', '1a2b3c4d5e6f7a8b', { out: 'levee.jpg' })
 */
import { openChannelSession } from './client-command.ts'
import { formatBytes, saveFile } from './file-io.ts'
import { fromHex, fromUtf8, toHex } from '../../protocol/bytes.ts'
import { UsageError } from '../../protocol/errors.ts'
import { FileForm } from '../../protocol/files/piece.ts'

export async function getFile (name: string, idArg: string, opts: { data?: string, config?: string, out?: string, force?: boolean }): Promise<void> {
  if (!/^([0-9a-f]{16}|[0-9a-f]{64})$/.test(idArg)) throw new UsageError(`the id must be 16 or 64 hex digits as tail shows it, not "${idArg}"`)
  const s = await openChannelSession(opts)
  try {
    const ref = s.resolve(name)
    // The channel's history (for keys), and its newest messages: a 16-digit id is looked for among them.
    const files = new Map<string, Uint8Array>()
    const channel = await s.open(ref, r => { if (r.type === 'file') files.set(toHex(r.file), r.file) }, 1000)
    if (s.cc.state(channel) === undefined) throw new UsageError(`channel ${ref} is unknown to this relay (not created, or its governance has not arrived yet)`)
    const id = idArg.length === 64 ? fromHex(idArg) : [...files.entries()].find(([hex]) => hex.startsWith(idArg))?.[1]
    if (id === undefined) throw new UsageError(`no file or long message ${idArg} among the newest 1000 of ${s.nameOf(ref)}; give its 64-digit id`)
    await s.client.fetchFile(channel, id, bytes => { s.cc.receive(bytes) })
    const p = s.cc.fileProgress(id)
    if (p === undefined || p.manifest === undefined) throw new UsageError(`its manifest has not reached this relay, or it is not readable here (keys missing)`)
    if (p.state === 'failed') throw new UsageError(`${p.manifest.name} does not match its manifest (${p.problem ?? 'hash check failed'}); it was not saved`)
    if (p.state !== 'complete') throw new UsageError(`${formatBytes(p.heldBytes)} of ${formatBytes(p.totalBytes ?? 0)} of ${p.manifest.name} have reached this relay so far; try again when the rest has arrived`)
    const content = s.cc.fileContent(id)
    if (p.form === FileForm.text && opts.out === undefined) process.stdout.write(fromUtf8(content) + '\n')
    else {
      const where = saveFile(content, p.manifest.name, opts.out, opts.force === true)
      if (opts.out !== '-') process.stderr.write(`saved ${p.manifest.name} (${p.manifest.mediaType}, ${formatBytes(content.length)}, hash checked) to ${where}\n`)
    }
    await s.cc.sendReceipt(channel, [id])
  } finally {
    await s.close()
  }
}
