// Changes to whom a relay trusts, audited as facts (#29): the first record lists all of
// them, an unchanged store writes nothing, a change writes what was added and removed, and
// a damaged record file makes every fact new again rather than hiding a change.
import t from 'tap'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNodeCrypto } from '../node/crypto.ts'
import type { AuditEvent } from '../node/audit/index.ts'
import { createOrgDir, issueCertificate } from '../node/org/org-dir.ts'
import { recordTrust, trustAuditedFileName } from '../node/org/trust-audit.ts'
import { distrustPartner, joinOrg, trustPartner } from '../node/org/trust-store.ts'

const crypto = createNodeCrypto()
const root = mkdtempSync(join(tmpdir(), 'ddil-trust-audit-'))
t.teardown(() => { rmSync(root, { recursive: true, force: true }) })

t.test('facts recorded once, then only what changed', async t => {
  const water = await createOrgDir(join(root, 'water'), 'Water utility')
  const county = await createOrgDir(join(root, 'county'), 'County EM')
  const data = join(root, 'relay')
  mkdirSync(data, { mode: 0o700 })
  const node = crypto.ed25519KeyPair(new Uint8Array(32).fill(3)).publicKey
  const { bytes } = await issueCertificate(join(root, 'water'), { kind: 'relay', subject: node, subjectText: 'n', name: 'pump-3', lifetimeMs: 86_400_000 }, 1_800_000_000_000)
  let store = await joinOrg(data, { orgKey: water.key.publicKey, name: 'Water utility', certificate: bytes, nodeKey: node }, 1_800_000_000_000)
  store = (await trustPartner(data, county.key.publicKey, 'County EM', true, 1_800_000_000_000)).store
  const events: AuditEvent[] = []
  const audit = async (e: AuditEvent): Promise<void> => { events.push(e) }

  t.equal(await recordTrust({ dataDir: data, store, audit }), true, 'the first record')
  t.match(events[0], { who: 'operator', what: 'config.changed', detail: { file: 'orgs.json', removed: [] } })
  t.match((events[0].detail as { added: string[] }).added, [/^own organisation Water utility \(ddilorg1:.*\), this relay certified as "pump-3", serial 1, until /, /^partner County EM \(ddilorg1:.*\), this relay a gateway to it$/])
  t.equal(await recordTrust({ dataDir: data, store, audit }), false, 'nothing changed: nothing written')

  store = (await distrustPartner(data, county.key.publicKey, 1_800_000_100_000)).store
  t.equal(await recordTrust({ dataDir: data, store, audit }), true)
  t.match(events[1].detail, { added: [/^partner County EM .*, cut off at 2027-/], removed: [/^partner County EM .*, this relay a gateway to it$/] })

  writeFileSync(join(data, trustAuditedFileName), '{ not json')
  t.equal(await recordTrust({ dataDir: data, store, audit }), true, 'a damaged record: every fact is recorded again')
  t.equal((events[2].detail as { added: string[] }).added.length, 2)
})
