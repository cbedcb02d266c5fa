// The operator identity survives the loss of its hardware (#25): Alice's user.key, exported
// with `exportIdentity` and imported into an empty data directory (importIdentity), lets a
// new client read the channel Alice was in, messages from before the loss included, and
// post to it again. Relays never decrypt, so the channel's log is played to the clients
// directly (helpers/channel-clients.ts); a stranger given the same log reads nothing.
import t from 'tap'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { channelClient, relayLog, users } from './helpers/channel-clients.ts'
import type { ChannelClient } from '../protocol/channel/client.ts'
import { authorRef } from '../protocol/envelope.ts'
import { toHex } from '../protocol/bytes.ts'
import { createPassphrases } from '../node/passphrase.ts'
import { createUserIdentityFile, loadUserIdentity } from '../node/user-identity.ts'
import { exportIdentity, importIdentity } from '../node/key-management.ts'
import { isProtectedKey } from '../node/protected-key.ts'
import { scryptLog2NMin } from '../protocol/limits.ts'

const root = mkdtempSync(join(tmpdir(), 'ddil-restore-'))
t.teardown(() => rmSync(root, { recursive: true, force: true }))
const passphrases = createPassphrases({ env: { DDIL_PASSPHRASE: 'backup passphrase 7741' } })

/** Plays `log[from…]` to `c`; returns the texts it could read. */
function play (c: ChannelClient, log: Uint8Array[], from = 0): string[] {
  return log.slice(from).flatMap(b => c.receiveAll(b)).flatMap(r => r.type === 'text' ? [r.text] : [])
}

t.test('a restored identity reads the channel it was in and posts to it', async t => {
  const oldDir = join(root, 'old')
  mkdirSync(oldDir, { mode: 0o700 })
  const alice = await createUserIdentityFile(oldDir)
  const relay = relayLog()
  const A = channelClient(alice, 1, relay.link); const bob = channelClient(users[1], 2, relay.link)
  const { channel } = await A.createChannel({ name: 'Flood east', topic: 'levees' })
  await A.addMember(channel, { ed: users[1].ed25519.publicKey, x: users[1].x25519.publicKey }, 'member')
  await A.sendText(channel, 'Levee 3 holding')
  t.same(play(bob, relay.log), ['Levee 3 holding'], 'before the loss: Bob reads Alice')
  await bob.sendText(channel, 'Sandbags at the school')

  // Alice's machine is lost; her backup is restored into an empty directory on new hardware.
  const backup = join(root, 'alice.ddilkey')
  await exportIdentity({ dataDir: oldDir, to: backup, passphrases, access: { scryptLog2N: scryptLog2NMin } })
  t.ok(isProtectedKey(readFileSync(backup)), 'the backup is encrypted, though the key at rest was not')
  const newDir = join(root, 'new')
  t.equal((await importIdentity({ from: backup, dataDir: newDir, passphrases })).publicKey, alice.publicKey)
  const restored = channelClient(await loadUserIdentity(newDir), 3, relay.link)
  const stranger = channelClient(users[2], 4, relay.link)
  const seen = relay.log.length
  t.same(play(restored, relay.log), ['Levee 3 holding', 'Sandbags at the school'], 'the restored identity reads what was said before the loss')
  t.ok(restored.state(channel)?.members.has(toHex(authorRef(alice.ed25519.publicKey))), 'and is still a member')
  t.same(play(stranger, relay.log), [], 'control: another identity, given the same log, reads nothing')
  await restored.sendText(channel, 'Back online on new hardware')
  t.same(play(bob, relay.log, seen), ['Back online on new hardware'], 'and Bob reads what it posts')
})

t.test('import refuses what it should, and changes nothing then', async t => {
  const backup = join(root, 'alice.ddilkey')
  const other = join(root, 'other')
  mkdirSync(other, { mode: 0o700 })
  const bob = await createUserIdentityFile(other)
  await t.rejects(importIdentity({ from: backup, dataDir: other, passphrases }), { code: 'ERR_STORAGE', message: /holds another operator identity.*--force/ }, 'a different identity is not replaced…')
  t.equal((await loadUserIdentity(other)).publicKey, bob.publicKey, '…and is still there')
  await t.rejects(importIdentity({ from: backup, dataDir: join(root, 'x'), passphrases: createPassphrases({ env: { DDIL_PASSPHRASE: 'not the backup passphrase' } }) }), { code: 'ERR_CRYPTO' }, 'wrong backup passphrase')
  const junk = join(root, 'junk')
  writeFileSync(junk, '{"type":"ddil-user-key"}')
  await t.rejects(importIdentity({ from: junk, dataDir: join(root, 'x'), passphrases }), { code: 'ERR_CONFIG', message: /not a ddil key backup/ }, 'a file that is not a backup')
  const replaced = await importIdentity({ from: backup, dataDir: other, passphrases, force: true, protect: true })
  t.match(replaced, { outcome: 'restored', replaced: join(other, 'user.key.bak'), protected: true }, '--force keeps the old one as user.key.bak')
  t.equal((await loadUserIdentity(other, undefined, { passphrases })).publicKey, replaced.publicKey, 'restored, still encrypted under the backup passphrase')
  await t.rejects(exportIdentity({ dataDir: other, to: backup, passphrases }), { code: 'ERR_STORAGE', message: /already exists/ }, 'export never overwrites a file')
})
