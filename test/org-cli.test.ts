// `ddil org …` through the real binary (#29): what an organisation's operator and a relay's
// operator type, what they read back, and the exit status and sentence for each mistake
// (0 done, 2 bad usage). The trust decisions themselves are tested in
// org-certificate.test.ts, and between running relays in org-federation.test.ts.
import t from 'tap'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ddil } from './helpers/cli.ts'
import { initDataDir } from '../node/data-dir.ts'

const root = mkdtempSync(join(tmpdir(), 'ddil-org-cli-'))
t.teardown(() => { rmSync(root, { recursive: true, force: true }) })
const env = { DDIL_PASSPHRASE: undefined, DDIL_PASSPHRASE_FILE: undefined, DDIL_DATA: undefined, DDIL_CONFIG: undefined }
const run = (...args: string[]): ReturnType<typeof ddil> => ddil(args, env)
const water = join(root, 'water'); const county = join(root, 'county'); const data = join(root, 'relay'); const otherData = join(root, 'other-relay')
const at = (p: string): string => join(root, p)

t.test('an organisation certifies a relay, which joins it and trusts a partner', async t => {
  const init = await run('org', 'init', '--dir', water, '--name', 'Water utility')
  t.equal(init.code, 0, init.stderr)
  const waterKey = /organisation key: (ddilorg1:\S+)/.exec(init.stdout)?.[1] as string
  t.ok(waterKey, 'the key is printed')
  t.equal(statSync(join(water, 'org.key')).mode & 0o777, 0o600, 'org.key is private')
  t.match((await run('org', 'init', '--dir', water, '--name', 'Again')).stderr, /already holds an organisation/)
  const countyKey = /organisation key: (ddilorg1:\S+)/.exec((await run('org', 'init', '--dir', county, '--name', 'County EM')).stdout)?.[1] as string

  const { nodeId } = await initDataDir({ dataDir: data })
  await initDataDir({ dataDir: otherData })
  const cert = await run('org', 'certify-relay', nodeId, '--dir', water, '--name', 'pump-station-3', '--out', at('pump.cert'))
  t.equal(cert.code, 0, cert.stderr)
  t.match(cert.stdout, /Water utility certifies relay "pump-station-3" \(12D3KooW\S+\), serial 1, valid until/)
  const inspected = await run('org', 'inspect', at('pump.cert'))
  t.match(inspected.stdout, new RegExp(`relay certificate, serial 1: "pump-station-3"[\\s\\S]*node id: +${nodeId}`))

  // Mistakes, each refused with a sentence and exit 2, changing nothing.
  const mistakes: Array<[string, string[], RegExp]> = [
    ['a node id that is not one', ['org', 'certify-relay', '12D3KooWnope', '--dir', water, '--name', 'x', '--out', at('x.cert')], /is not a relay's node id/],
    ['a validity over five years', ['org', 'certify-relay', nodeId, '--dir', water, '--name', 'x', '--valid', '1900d', '--out', at('x.cert')], /at most 5y|at most \d+d/],
    ['an output file that exists', ['org', 'certify-relay', nodeId, '--dir', water, '--name', 'x', '--out', at('pump.cert')], /exists; choose another file/],
    ['a user key that is a node id', ['org', 'certify-user', nodeId, '--dir', water, '--name', 'x', '--out', at('x.cert')], /looks like a node id/],
    ['joining with the wrong organisation key', ['org', 'join', countyKey, '--name', 'Water utility', '--certificate', at('pump.cert'), '--data', data], /signed by another organisation than the key given/],
    ['joining with another relay\'s certificate', ['org', 'join', waterKey, '--name', 'Water utility', '--certificate', at('pump.cert'), '--data', otherData], /certifies another relay's key/],
    ['a mistyped organisation key', ['org', 'trust', waterKey.slice(0, -1) + (waterKey.endsWith('A') ? 'B' : 'A'), '--name', 'x', '--data', data], /checksum does not match|not an organisation key/],
    ['revoking a serial never issued', ['org', 'revoke', '42', '--dir', water, '--out', at('r42')], /issued no certificate with serial 42/],
    ['a serial that is not a number', ['org', 'revoke', 'seven', '--dir', water, '--out', at('r7')], /is not a serial number/],
  ]
  for (const [what, args, said] of mistakes) {
    const r = await run(...args)
    t.equal(r.code, 2, `${what}: exit 2 (${r.stderr.trim()})`)
    t.match(r.stderr, said, what)
  }

  const joined = await run('org', 'join', waterKey, '--name', 'Water utility', '--certificate', at('pump.cert'), '--data', data)
  t.equal(joined.code, 0, joined.stderr)
  t.match(joined.stdout, /this relay belongs to Water utility .* certified as "pump-station-3", serial 1/)
  t.match((await run('org', 'trust', waterKey, '--name', 'x', '--data', data)).stderr, /this relay's own organisation/)
  t.match((await run('org', 'trust', countyKey, '--name', 'County EM', '--gateway', '--data', data)).stdout, /now trusts County EM .*is a gateway to it/)
  const shown = await run('org', 'show', '--json', '--data', data)
  t.equal(shown.code, 0, shown.stderr)
  t.match(JSON.parse(shown.stdout), { nodeId, own: { key: waterKey, name: 'Water utility', certificate: { serial: 1 } }, partners: [{ key: countyKey, name: 'County EM', gateway: true, distrustedMs: null }], revocations: [] })
  t.equal(statSync(join(data, 'orgs.json')).mode & 0o777, 0o600, 'orgs.json is private')

  // The organisation revokes the relay; the relay imports it and says its own certificate is no longer valid.
  const revoked = await run('org', 'revoke', '1', '--dir', water, '--out', at('serial-1.revocation'))
  t.equal(revoked.code, 0, revoked.stderr)
  t.match((await run('org', 'import', at('serial-1.revocation'), '--data', data)).stdout, /Water utility revoked serial 1/)
  t.match((await run('org', 'import', at('serial-1.revocation'), '--data', data)).stdout, /already held/)
  t.match((await run('org', 'import', at('pump.cert'), '--data', data)).stderr, /is not a revocation/)
  t.match((await run('org', 'show', '--data', data)).stdout, /NOT VALID: certificate 1 \("pump-station-3"\) was revoked by Water utility/)
  t.match((await run('org', 'list', '--dir', water)).stdout, /1 +relay +pump-station-3 .* REVOKED/)

  // Cutting the partner off, twice.
  t.match((await run('org', 'distrust', countyKey, '--data', data)).stdout, /no longer trusts County EM/)
  t.match((await run('org', 'distrust', countyKey, '--data', data)).stdout, /was cut off already/)
  t.match((await run('org', 'show', '--data', data)).stdout, /partner: +County EM .* CUT OFF at/)
  t.match(readFileSync(join(data, 'orgs.json'), 'utf8'), /"distrustedMs"/)
})
