/**
 * The real `ddil` binary as a child process, for tests of what a user types: run to
 * completion (`ddil`), or keep running and read its output as it comes (`follow`).
 *
 * @example
 * const r = await ddil(['send', 'ops', 'hello', '--data', dir]); t.equal(r.code, 0, r.stderr)
 * const tail = follow(['tail', 'ops', '--follow', '--data', dir]); await tail.line(/delivered to 1 of 1/)
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { waitUntil } from './wait.ts'

export const bin = new URL('../../node/cli/bin.js', import.meta.url).pathname

export interface Ran { code: number | null, stdout: string, stderr: string }

/** Runs `ddil args…` to completion (the test file's timeout bounds it). */
export function ddil (args: string[], env: Record<string, string | undefined> = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } })
    let stdout = ''; let stderr = ''
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString() })
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    child.on('error', reject)
    child.on('close', code => { resolve({ code, stdout, stderr }) })
  })
}

export interface Following {
  child: ChildProcess
  /** Everything printed so far, stdout and stderr interleaved as they arrived. */
  readonly output: string
  /** Waits until a line printed after the last `line` call's match matches; returns it. */
  line (pattern: RegExp): Promise<string>
  exited: Promise<number | null>
}

/** Starts `ddil args…` and keeps reading its output (for `tail --follow`). */
export function follow (args: string[]): Following {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  let from = 0
  child.stdout?.on('data', (c: Buffer) => { output += c.toString() })
  child.stderr?.on('data', (c: Buffer) => { output += c.toString() })
  const exited = new Promise<number | null>(resolve => child.on('exit', code => { resolve(code) }))
  return {
    child,
    get output () { return output },
    exited,
    async line (pattern: RegExp) {
      return await waitUntil(`a line matching ${pattern} from ddil ${args[0]} (output so far: ${JSON.stringify(output.slice(-400))})`, () => {
        const lines = output.slice(from).split('\n')
        let offset = from
        for (const l of lines) {
          if (pattern.test(l) && offset + l.length < output.length) { from = offset + l.length + 1; return l }
          offset += l.length + 1
        }
        if (child.exitCode !== null) throw new Error(`ddil ${args[0]} exited ${child.exitCode} before printing ${pattern}: ${output}`)
        return undefined
      })
    },
  }
}
