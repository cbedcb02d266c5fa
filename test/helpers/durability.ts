/**
 * Kill -9 cycles on one LevelDB directory (brief §6 durability): a child ingests through the real
 * engine and prints an acknowledgement only once `submit` resolved; it is killed with SIGKILL at a
 * random point (seeded), the store is reopened, and every envelope it acknowledged must be there.
 * test/durability.test.ts runs a few dozen cycles in CI; `npm run bench -- durability` runs the
 * brief's 100 and reports them.
 *
 * @example
 * const r = await killCycles({ cycles: 100, seed: 7 })   // r.lost must be 0
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openLevelStore } from '../../node/store/level-store.ts'
import { MessageLog } from '../../protocol/engine/log.ts'
import { createNodeCrypto } from '../../node/crypto.ts'
import { fromHex } from '../../protocol/bytes.ts'
import { prng } from './seed.ts'

const child = new URL('../fixtures/durability-child.ts', import.meta.url).pathname
const crypto = createNodeCrypto()

export interface KillCycles { cycles: number, attempted: number, acknowledged: number, lost: number, recovered: number, wallMs: number }

function runCycle (dir: string, cycle: number, killAfterAcks: number): Promise<{ acked: string[], attempted: number }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [child, dir, String(cycle), '400'], { stdio: ['ignore', 'pipe', 'pipe'] })
    const acked: string[] = []
    let tried = 0
    let buf = ''
    let stderr = ''
    let killed = false
    const kill = (): void => { if (!killed) { killed = true; p.kill('SIGKILL') } }
    p.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString()
      let nl
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl)
        buf = buf.slice(nl + 1)
        if (line === 'TRY') tried++
        if (line.startsWith('ACK ')) acked.push(line.slice(4))
        if (line === 'READY' && killAfterAcks < 0) kill()
        if (acked.length >= killAfterAcks && killAfterAcks >= 0) kill()
      }
    })
    p.stderr.on('data', (c: Buffer) => { stderr += c.toString() })
    // No timer: the child exits by itself once it has ingested its envelopes (a hang is tap's file timeout to report).
    p.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`child failed (${code}): ${stderr}`))
      else resolve({ acked, attempted: tried })
    })
  })
}

export async function killCycles (o: { cycles: number, seed: number }): Promise<KillCycles> {
  const rand = prng(o.seed)
  const dir = mkdtempSync(join(tmpdir(), 'ddil-durability-'))
  const started = performance.now()
  let attempted = 0; let acknowledged = 0; let lost = 0; let recovered = 0
  try {
    for (let cycle = 0; cycle < o.cycles; cycle++) {
      // -1: kill as soon as the engine is open; otherwise after 0..120 acknowledgements (mid-batch, mostly).
      const killAfter = rand.int(10) === 0 ? -1 : rand.int(120)
      const { acked, attempted: a } = await runCycle(dir, cycle, killAfter)
      attempted += a
      acknowledged += acked.length
      const store = await openLevelStore(dir)
      const log = new MessageLog(store, b => crypto.sha256(b))
      for (const id of acked) {
        if (await log.get(fromHex(id)) === undefined) lost++
        else recovered++
      }
      await store.close()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return { cycles: o.cycles, attempted, acknowledged, lost, recovered, wallMs: performance.now() - started }
}
