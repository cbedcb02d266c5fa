// The `ddil` binary writing into a pipe whose reader has gone (`ddil tail --follow | head`):
// it stops quietly with status 0, with nothing on stderr, rather than crashing on EPIPE.
import t from 'tap'
import { spawn } from 'node:child_process'

const bin = new URL('../node/cli/bin.js', import.meta.url).pathname

function runWithClosedStdout (args: string[]): Promise<{ code: number | null, signal: string | null, stderr: string }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  // Close our end before the child has even loaded: its first write meets EPIPE.
  child.stdout.destroy()
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s })
  return new Promise(resolve => child.on('close', (code, signal) => { resolve({ code, signal, stderr }) }))
}

t.test('help into a closed pipe: status 0, no stack trace', async t => {
  const r = await runWithClosedStdout(['--help'])
  t.equal(r.stderr, '', 'nothing on stderr')
  t.equal(r.code, 0)
})

t.test('a bad command into a closed pipe still says what is wrong, status 2', async t => {
  const r = await runWithClosedStdout(['no-such-command'])
  t.match(r.stderr, /unknown command/)
  t.equal(r.code, 2)
})
