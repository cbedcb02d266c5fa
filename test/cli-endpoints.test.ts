// The endpoints file (node/endpoints.ts): `ddil start` writes where it listens, client
// commands find the relay there (even on ports the OS chose), and it is gone once the
// relay stops, when client commands read the config again. `--config` names the config
// to read instead. Malformed files are refused in one sentence.
import t from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { endpointsFileName, readEndpoints, removeEndpoints, writeEndpoints } from '../node/endpoints.ts'
import { urlOf } from '../node/cli/relay-address.ts'
import { Relay, cleanupRelays, waitFor } from './helpers/relays.ts'

const bin = new URL('../node/cli/bin.js', import.meta.url).pathname
const scratch = mkdtempSync(join(tmpdir(), 'ddil-endpoints-'))
t.teardown(() => { rmSync(scratch, { recursive: true, force: true }); cleanupRelays() })

function ddil (...args: string[]): { code: number | null, stdout: string, stderr: string } {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, DDIL_DATA: '', DDIL_CONFIG: '' }, timeout: 20_000 })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

t.test('write, read back, remove; no file is undefined; a malformed one is refused', async t => {
  const dir = mkdtempSync(join(scratch, 'file-'))
  t.equal(readEndpoints(dir), undefined)
  const endpoints = { api: { host: '127.0.0.1', port: 4410 }, admin: { host: '::1', port: 4411 } }
  await writeEndpoints(dir, endpoints)
  t.same(readEndpoints(dir), endpoints)
  t.equal(statSync(join(dir, endpointsFileName)).mode & 0o777, 0o600)
  await removeEndpoints(dir)
  t.equal(readEndpoints(dir), undefined)
  for (const junk of ['{', '{"api":{"host":"127.0.0.1","port":4410}}', '{"api":{"host":"","port":1},"admin":{"host":"x","port":1}}', '{"api":{"host":"a","port":70000},"admin":{"host":"a","port":1}}']) {
    writeFileSync(join(dir, endpointsFileName), junk)
    t.throws(() => readEndpoints(dir), { code: 'ERR_STORAGE', message: /endpoints\.json .*restart the relay/ }, `refused: ${junk}`)
  }
})

t.test('URLs dial loopback for an any-address listener and bracket IPv6', async t => {
  t.equal(urlOf('ws', { host: '0.0.0.0', port: 4410 }), 'ws://127.0.0.1:4410')
  t.equal(urlOf('http', { host: '::', port: 4411 }, '/status'), 'http://[::1]:4411/status')
  t.equal(urlOf('http', { host: '10.0.0.5', port: 80 }), 'http://10.0.0.5:80')
})

t.test('a relay on OS-chosen ports is found through the file, which is gone after it stops', async t => {
  const relay = await Relay.init('endpoints')
  relay.writeConfig({ authors: [relay] })
  const child = spawn(process.execPath, [bin, 'start', '--data', relay.dataDir, '--api', '127.0.0.1:0', '--admin', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (c: Buffer) => { output += c.toString() })
  child.stderr.on('data', (c: Buffer) => { output += c.toString() })
  const exited = new Promise(resolve => child.once('exit', resolve))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  await waitFor('the relay to start', () => {
    if (child.exitCode !== null) throw new Error(`ddil start exited ${child.exitCode}: ${output}`)
    return output.includes('admin:') ? true : undefined
  })
  const written = readEndpoints(relay.dataDir)
  t.not(written?.api.port, 0, 'the file holds the port the OS chose, not 0')
  t.match(output, `ws://127.0.0.1:${written?.api.port}`, 'the same address start printed')
  const status = ddil('status', '--data', relay.dataDir, '--json')
  t.equal(status.code, 0, `status finds the relay: ${status.stderr}`)
  t.equal(JSON.parse(status.stdout).nodeId, relay.nodeId)
  const created = ddil('channel', 'create', 'ops', '--data', relay.dataDir)
  t.equal(created.code, 0, `channel create reaches the client API: ${created.stderr}`)
  const named = ddil('status', '--data', relay.dataDir, '--config', join(relay.dataDir, 'config.yaml'))
  t.equal(named.code, 1, '--config is read instead of the file: the config names other ports')
  t.match(named.stderr, `no relay answering at http://127.0.0.1:${relay.adminPort}/status`)

  child.kill('SIGTERM')
  await exited
  t.notOk(existsSync(join(relay.dataDir, endpointsFileName)), 'removed when the relay stops')
  const after = ddil('status', '--data', relay.dataDir)
  t.equal(after.code, 1)
  t.match(after.stderr, `no relay answering at http://127.0.0.1:${relay.adminPort}/status`, 'with no file, the config\'s address is tried')
})
