// Durability (brief §6, §7 Storage): a child ingests through the engine on LevelDB and is killed with
// SIGKILL at random points, cycle after cycle on the same directory. Every envelope it acknowledged must
// be there when the store is reopened. Reports attempted, acknowledged, lost (must be 0), recovered.
import t from 'tap'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openLevelStore } from '../node/store/level-store.ts'
import { MessageLog } from '../protocol/engine/log.ts'
import { createNodeCrypto } from '../node/crypto.ts'
import { fromHex } from '../protocol/bytes.ts'
import { prng, testSeed } from './helpers/seed.ts'

const child = new URL('./fixtures/durability-child.ts', import.meta.url).pathname
const crypto = createNodeCrypto()

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
    const guard = setTimeout(kill, 20_000)
    p.on('exit', (code, signal) => {
      clearTimeout(guard)
      if (signal !== 'SIGKILL' && code !== 0) reject(new Error(`child failed (${code}): ${stderr}`))
      else resolve({ acked, attempted: tried })
    })
  })
}

t.test('no acknowledged envelope is lost across SIGKILLs at random points', async t => {
  const seed = testSeed(t)
  const rand = prng(seed)
  const cycles = Number(process.env.DDIL_CYCLES ?? 100)
  const dir = mkdtempSync(join(tmpdir(), 'ddil-durability-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  let attempted = 0; let acknowledged = 0; let lost = 0; let recovered = 0
  for (let cycle = 0; cycle < cycles; cycle++) {
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
  t.comment(`cycles ${cycles}: attempted ${attempted}, acknowledged ${acknowledged}, lost ${lost}, recovered ${recovered}`)
  t.equal(lost, 0, 'acknowledged envelopes lost')
  t.equal(recovered, acknowledged)
  t.ok(acknowledged > cycles, 'the children acknowledged work before being killed')
})
