/**
 * Ending a command with a status once everything it wrote has reached its reader: the
 * checks (`configtest`, `sim`) print long reports, and `process.exit` right after a write
 * to a pipe would cut it short.
 *
 * @example
 * if (failed) await exitAfterFlush(1)
 */

async function flushed (stream: NodeJS.WriteStream): Promise<void> {
  await new Promise<void>(resolve => { if (stream.writableLength === 0) resolve(); else stream.write('', () => { resolve() }) })
}

/** Exits with `code` once stdout and stderr have been written out. */
export async function exitAfterFlush (code: number): Promise<never> {
  await flushed(process.stdout)
  await flushed(process.stderr)
  process.exit(code)
}
