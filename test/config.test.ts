// Config parsing, validation, overrides and description (node/config), and the operator
// user identity (node/user-identity.ts): pinned vectors, typo detection, file checks.
import t, { type Test } from 'tap'
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkConfig, configKeys, describeConfig, loadConfig, renderConfigTemplate, resolveDataDir, type ConfigCheck, type LoadConfigOptions } from '../node/config/index.ts'
import { checkHostPort, checkLinkHint, checkListenAddr } from '../node/config/fields.ts'
import { ensurePrivateDir } from '../node/config/files.ts'
import { configListItemsMax } from '../protocol/limits.ts'
import {
  createUserIdentity, createUserIdentityFile, decodeUserKeyFile, encodeUserKeyFile, loadUserIdentity, parseUserPublicKey, userKeyFileName,
} from '../node/user-identity.ts'

const peerA = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'

function tmp (t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'ddil-config-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Writes `yaml` as <dir>/config.yaml and checks it. */
function check (t: Test, yaml: string, options: LoadConfigOptions = {}): ConfigCheck {
  const dir = tmp(t)
  writeFileSync(join(dir, 'config.yaml'), yaml)
  return checkConfig({ dataDir: dir, env: {}, ...options })
}

function problems (c: ConfigCheck): string[] {
  return c.ok ? [] : c.problems
}

// ---- user identity -----------------------------------------------------------

// RFC 8032 §7.1 test 1 (Ed25519) and RFC 7748 §6.1 Alice (X25519): the public keys are external truth.
const edSeed = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex')
const xSeed = Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex')
const vectorPublic = 'ddil1:11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURqFIPAJiTCnVHSLfdy0PvdaDb86DSY4GvTrpKmOqptOakIujdQ'
const vectorFile = '{\n  "type": "ddil-user-key",\n  "version": 1,\n' +
  '  "ed25519Seed": "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A",\n  "x25519Seed": "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo",\n' +
  `  "publicKey": "${vectorPublic}"\n}\n`

t.test('user identity: pinned vector (public form and user.key v1)', async t => {
  const id = createUserIdentity(undefined, { ed25519: new Uint8Array(edSeed), x25519: new Uint8Array(xSeed) })
  t.equal(Buffer.from(id.ed25519.publicKey).toString('hex'), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a', 'RFC 8032 public key')
  t.equal(Buffer.from(id.x25519.publicKey).toString('hex'), '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a', 'RFC 7748 public key')
  t.equal(id.publicKey, vectorPublic)
  t.equal(encodeUserKeyFile(id), vectorFile)
  const back = decodeUserKeyFile(vectorFile)
  t.same([back.ed25519.privateKey, back.x25519.privateKey, back.publicKey], [id.ed25519.privateKey, id.x25519.privateKey, id.publicKey])
  const parsed = parseUserPublicKey(`  ${vectorPublic}\n`)
  t.same([parsed.ed25519, parsed.x25519, parsed.text], [id.ed25519.publicKey, id.x25519.publicKey, vectorPublic], 'pasted with whitespace')
})

t.test('user identity: every one-character typo and every truncation is refused', async t => {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  let accepted = 0
  for (let i = 'ddil1:'.length; i < vectorPublic.length; i++) {
    const other = alphabet[(alphabet.indexOf(vectorPublic[i]) + 1 + (i % 63)) % 64]
    const typo = vectorPublic.slice(0, i) + other + vectorPublic.slice(i + 1)
    try { parseUserPublicKey(typo); accepted++ } catch (e) {
      t.equal((e as { code: string }).code, 'ERR_CONFIG')
      // Every character of the typo is valid: the message must say the checksum failed, not blame the alphabet (issue 20).
      t.match((e as Error).message, /checksum does not match/, `typo at ${i} is reported as a checksum failure`)
    }
  }
  t.equal(accepted, 0, 'no substituted character passes the checksum')
  t.throws(() => parseUserPublicKey(vectorPublic.slice(0, -1)), /instead of 91/)
  t.throws(() => parseUserPublicKey(vectorPublic.slice(6)), /must start with "ddil1:"/)
  t.throws(() => parseUserPublicKey(peerA), /looks like a node id/)
  t.throws(() => parseUserPublicKey(vectorPublic.slice(0, 20) + '+' + vectorPublic.slice(21)), /characters other than/)
})

t.test('user identity: corrupt user.key files are refused with ConfigError', async t => {
  const bad: Array<[string, string, RegExp]> = [
    ['not JSON', 'nope', /not JSON/],
    ['extra key', vectorFile.replace('"version": 1,', '"version": 1, "extra": 1,'), /unexpected key "extra"/],
    ['newer version', vectorFile.replace('"version": 1', '"version": 2'), /format version 2/],
    ['seed bit flipped', vectorFile.replace('nWGxne_9', 'nWGxne_8'), /does not match the seeds/],
    ['short seed', vectorFile.replace('nWGxne_9', 'nWGx'), /not 32 bytes/],
    ['junk in base64', vectorFile.replace('nWGxne_9', 'nWGxne/9'), /not 32 bytes/],
  ]
  for (const [name, text, re] of bad) t.throws(() => decodeUserKeyFile(text), { code: 'ERR_CONFIG', message: re }, name)
})

t.test('user identity: user.key is created 0600, never overwritten, and refused when others can read it', async t => {
  const dir = tmp(t)
  const path = join(dir, userKeyFileName)
  const me = await createUserIdentityFile(dir)
  t.equal(statSync(path).mode & 0o777, 0o600)
  t.equal((await loadUserIdentity(dir)).publicKey, me.publicKey)
  const before = readFileSync(path, 'utf8')
  await t.rejects(createUserIdentityFile(dir), { code: 'ERR_CONFIG', message: /already exists/ })
  t.equal(readFileSync(path, 'utf8'), before, 'existing key untouched')
  for (const mode of [0o640, 0o604]) {
    chmodSync(path, mode)
    await t.rejects(loadUserIdentity(dir), { code: 'ERR_CONFIG', message: /chmod 600/ }, `mode ${mode.toString(8)} refused`)
  }
  chmodSync(path, 0o600)
  writeFileSync(path, before.replace('"version"', '"versio"'))
  await t.rejects(loadUserIdentity(dir), { code: 'ERR_CONFIG', message: /corrupt/ })
  await t.rejects(loadUserIdentity(join(dir, 'missing')), { code: 'ERR_CONFIG', message: /ddil init/ })
})

t.test('data directory: created or emptied-out directories become 0700; a shared one keeps its mode', async t => {
  const dir = tmp(t)
  t.same(await ensurePrivateDir(join(dir, 'a', 'b')), { created: true, mode: 0o700 })
  mkdirSync(join(dir, 'empty'), { mode: 0o755 })
  t.same(await ensurePrivateDir(join(dir, 'empty')), { created: false, mode: 0o700 })
  chmodSync(dir, 0o755)
  t.same(await ensurePrivateDir(dir), { created: false, mode: 0o755 }, 'not chmod-ed: it holds other things')
  writeFileSync(join(dir, 'file'), '')
  await t.rejects(ensurePrivateDir(join(dir, 'file')), { code: 'ERR_CONFIG', message: /not a directory/ })
})

// ---- config file ---------------------------------------------------------------

t.test('the commented template is valid, equals the defaults, and comments every key', async t => {
  const fromTemplate = check(t, renderConfigTemplate({ nodeId: peerA }))
  const fromEmpty = check(t, '')
  t.ok(fromTemplate.ok && fromEmpty.ok, problems(fromTemplate).join('\n'))
  if (!fromTemplate.ok || !fromEmpty.ok) return
  t.same({ ...fromTemplate.config, dataDir: '' }, { ...fromEmpty.config, dataDir: '' }, 'template = built-in defaults')
  t.same(fromTemplate.config.api.listen, { host: '127.0.0.1', port: 4410 })
  t.equal(fromTemplate.config.storage.quotaBytes, 1e9)
  t.same(fromTemplate.config.engine, { reconcileIntervalMs: 30_000, purgeIntervalMs: 60_000 })
  t.same(fromTemplate.config.clients, { allowOperator: true, allow: [] })
  const lines = renderConfigTemplate().split('\n')
  for (const key of configKeys) {
    const name = key.path.split('.')[1]
    const at = lines.findIndex(l => l.startsWith(`  ${name}:`))
    t.ok(at > 0 && lines[at - 1].trimStart().startsWith('#'), `${key.path} has a comment above it`)
  }
})

t.test('problems name the file line, key path, bad value and a fix', async t => {
  const yaml = [
    'node:', '  listen: [/ip4/1.2.3/tcp/1]', // 2
    'storage:', '  quota: 1 gigabyte', '  quta: 5', // 4, 5
    'engine:', '  purgeInterval: 10 minutes', // 7
    'peers:', '  mode: allow-list', '  static: [/ip4/192.0.2.7/tcp/4401]', '  allow: [not-a-peer]', // 9, 10, 11
    'colour: blue', // 12
  ].join('\n')
  const p = problems(check(t, yaml))
  const want: Array<[number, RegExp]> = [
    [2, /node\.listen\[0\]: "\/ip4\/1\.2\.3\/tcp\/1" is not a multiaddr .*write e\.g\. \/ip4\/0\.0\.0\.0\/tcp\/4401/],
    [4, /storage\.quota: "1 gigabyte" is not a size; write e\.g\. 500MB or 1GB/],
    [5, /unknown key storage\.quta \(did you mean "storage\.quota"\?\)/],
    [7, /engine\.purgeInterval: "10 minutes" is not a duration; write e\.g\. 1m or 10m/],
    [9, /peers\.mode: "allow-list" is not open, allowlist or org; did you mean "allowlist"\?/],
    [10, /peers\.static\[0\]: .* does not end in \/p2p\/<node id>/],
    [11, /peers\.allow\[0\]: "not-a-peer" is not a node id/],
    [12, /unknown key colour \(expected one of: node, peers/],
  ]
  t.equal(p.length, want.length, p.join('\n'))
  want.forEach(([line, re], i) => {
    t.match(p[i], new RegExp(`config\\.yaml:${line}: `), `problem ${i} at line ${line}`)
    t.match(p[i], re)
  })
  t.throws(() => loadConfig({ dataDir: resolveDataDir({ dataDir: '/nonexistent-ddil' }), env: {} }), { code: 'ERR_CONFIG', message: /no config file .*ddil init/ })
})

t.test('misplaced and flattened keys get a pointer to the right place', async t => {
  t.match(problems(check(t, 'node:\n  mdns: false\n'))[0], /config\.yaml:2: unknown key node\.mdns \(did you mean "discovery\.mdns"\?\)/)
  t.match(problems(check(t, 'storage.quota: 1GB\n'))[0], /write it nested: "storage:"/)
  t.match(problems(check(t, 'log:\n  level:\n'))[0], /config\.yaml:2: log\.level: has no value/)
  t.match(problems(check(t, 'storage:\n  sync: yes\n'))[0], /storage\.sync: "yes" is not true or false/)
  t.match(problems(check(t, 'storage: 5\n'))[0], /storage: 5 is not a map of storage settings/)
  t.match(problems(check(t, '- a\n'))[0], /the file: a list is not a map of sections/)
})

t.test('YAML syntax errors, duplicate keys, oversized files and lists', async t => {
  t.match(problems(check(t, 'node:\n  listen: [a\n'))[0], /config\.yaml:\d+: YAML syntax error/)
  t.match(problems(check(t, 'log:\n  level: info\n  level: warn\n'))[0], /config\.yaml:3: YAML syntax error: the same key appears twice/)
  t.match(problems(check(t, '#'.repeat(1024 * 1024 + 1)))[0], /more than the 1048576/)
  const many = Array.from({ length: configListItemsMax + 1 }, () => `  - ${peerA}`).join('\n')
  t.match(problems(check(t, `peers:\n  allow:\n${many}\n`))[0], /peers\.allow: has 10001 entries, more than the 10000 allowed/)
})

t.test('values: durations bounded, client keys checked, addresses may not clash', async t => {
  t.match(problems(check(t, 'engine:\n  reconcileInterval: 100ms\n'))[0], /outside the allowed range \(1s to 1d\)/)
  t.match(problems(check(t, 'clients:\n  allow: [ddil1:abc]\n'))[0], /clients\.allow\[0\]: "ddil1:abc" is not a user key/)
  t.match(problems(check(t, 'admin:\n  listen: 127.0.0.1:4410\n'))[0], /config\.yaml:2: admin\.listen: "127\.0\.0\.1:4410" is also api\.listen/)
  const ok = check(t, `clients:\n  allow: [operator, "${vectorPublic}", "${vectorPublic}"]\napi:\n  listen: 127.0.0.1:0\nadmin:\n  listen: 127.0.0.1:0\n`)
  t.ok(ok.ok, problems(ok).join('\n'))
  if (ok.ok) t.same(ok.config.clients, { allowOperator: true, allow: [vectorPublic] }, 'operator keyword and deduplicated keys')
})

t.test('field checks: listen addresses and host:port', async t => {
  t.equal(checkListenAddr('/ip6/::/tcp/4402/ws'), '/ip6/::/tcp/4402/ws')
  for (const bad of ['/dns4/relay.example/tcp/1', '/ip4/0.0.0.0/udp/1', `/ip4/0.0.0.0/tcp/1/p2p/${peerA}`, '/ip4/0.0.0.0/tcp/1/tls/ws', 'tcp:4401']) {
    t.throws(() => checkListenAddr(bad), { code: 'ERR_CONFIG' }, bad)
  }
  t.same(checkHostPort('[::1]:4410'), { host: '::1', port: 4410 })
  t.same(checkHostPort('localhost:1'), { host: 'localhost', port: 1 })
  for (const bad of ['relay.example:4410', '127.0.0.1', '127.0.0.1:70000', '::1:4410', '[127.0.0.1]:1']) {
    t.throws(() => checkHostPort(bad), { code: 'ERR_CONFIG' }, bad)
  }
})

t.test('peers.links: declared slow links parse; bad ones and a relay declared twice are refused at their line', async t => {
  const ok = check(t, ['peers:', '  links:', `    - ${peerA} 9.6kbps`].join('\n'))
  t.same(ok.ok ? ok.config.peers.links : ok.problems, [{ peer: peerA, bandwidthBitsPerSecond: 9600 }], 'bandwidth alone')
  t.same(checkLinkHint(`  ${peerA}   64kbps  300ms `), { peer: peerA, bandwidthBitsPerSecond: 64_000, latencyMs: 300 }, 'with a latency, spacing forgiven')
  const yaml = ['peers:', '  links:',
    `    - ${peerA} fast`, // 3
    '    - not-a-peer 9.6kbps', // 4
    `    - ${peerA} 9.6kbps 2 hours`, // 5
    `    - ${peerA} 9.6kbps 2h`, // 6
    `    - ${peerA}`, // 7
  ].join('\n')
  const want: Array<[number, RegExp]> = [
    [3, /peers\.links\[0\]: .* has "fast" where a bandwidth belongs; write e\.g\. 12D3KooW… 9\.6kbps/],
    [4, /peers\.links\[1\]: "not-a-peer 9\.6kbps" is not a node id/],
    [5, /peers\.links\[2\]: .* is not "<node id> <bandwidth> \[<latency>\]"/],
    [6, /peers\.links\[3\]: .* is outside the allowed range \(0 ms to 60s\)/],
    [7, /peers\.links\[4\]: .* is not "<node id> <bandwidth> \[<latency>\]"/],
  ]
  const p = problems(check(t, yaml))
  t.equal(p.length, want.length, p.join('\n'))
  want.forEach(([line, re], i) => { t.match(p[i], new RegExp(`config\\.yaml:${line}: `)); t.match(p[i], re) })
  const twice = problems(check(t, ['peers:', '  links:', `    - ${peerA} 9.6kbps`, `    - ${peerA} 64kbps`].join('\n')))
  t.match(twice.join('\n'), /config\.yaml:4: peers\.links\[1\]: .* declares 12D3KooW\S+ a second time; keep one line per relay/)
})

// ---- precedence ------------------------------------------------------------------

t.test('precedence: flag over environment over file over default', async t => {
  const yaml = 'log:\n  level: warn\nnode:\n  listen: [/ip4/127.0.0.1/tcp/1]\n'
  const fileOnly = check(t, yaml)
  const env = { DDIL_LOG_LEVEL: 'debug', DDIL_LISTEN: '/ip4/127.0.0.1/tcp/2, /ip4/127.0.0.1/tcp/3/ws', DDIL_PEERS: '', DDIL_SEED: '7' }
  const withEnv = check(t, yaml, { env })
  const withFlags = check(t, yaml, { env, flags: { logLevel: 'error', api: '127.0.0.1:5000' } })
  t.ok(fileOnly.ok && withEnv.ok && withFlags.ok)
  if (!fileOnly.ok || !withEnv.ok || !withFlags.ok) return
  t.equal(fileOnly.config.log.level, 'warn')
  t.same(fileOnly.config.admin.listen, { host: '127.0.0.1', port: 4411 }, 'default where nothing sets it')
  t.equal(withEnv.config.log.level, 'debug')
  t.same(withEnv.config.node.listen, ['/ip4/127.0.0.1/tcp/2', '/ip4/127.0.0.1/tcp/3/ws'], 'comma-separated list')
  t.same(withEnv.config.peers.static, [], 'an empty variable counts as unset')
  t.same(withEnv.overrides, ['DDIL_LISTEN sets node.listen', 'DDIL_LOG_LEVEL sets log.level'])
  t.same(withEnv.warnings, [], 'unrelated DDIL_ variables (test knobs) are not warned about')
  t.equal(withFlags.config.log.level, 'error')
  t.equal(withFlags.config.api.listen.port, 5000)
  t.same(withFlags.overrides, ['DDIL_LISTEN sets node.listen', '--api sets api.listen', '--log-level sets log.level'])
})

t.test('bad override values name the variable or flag', async t => {
  t.match(problems(check(t, '', { env: { DDIL_LISTEN: '/ip4/0.0.0.0/tcp/1,garbage' } }))[0], /^DDIL_LISTEN: node\.listen\[1\]: "garbage" is not a multiaddr/)
  t.match(problems(check(t, '', { flags: { api: 'example.org:1' } }))[0], /^--api: api\.listen: "example\.org:1"/)
  t.match(problems(check(t, '', { env: { DDIL_LOG_LEVEL: 'verbose' } }))[0], /^DDIL_LOG_LEVEL: log\.level: "verbose" is not a log level/)
  const typo = check(t, '', { env: { DDIL_LISTN: '/ip4/0.0.0.0/tcp/1' } })
  t.same(typo.ok ? typo.warnings : [], ['environment variable DDIL_LISTN is not used; did you mean DDIL_LISTEN?'])
})

t.test('data directory and config file search order', async t => {
  const cwd = '/srv'
  t.equal(resolveDataDir({ env: {}, cwd }), '/srv/data')
  t.equal(resolveDataDir({ env: { DDIL_DATA: 'd' }, cwd }), '/srv/d')
  t.equal(resolveDataDir({ dataDir: '/x', env: { DDIL_DATA: 'd' }, cwd }), '/x')
  const dir = tmp(t)
  writeFileSync(join(dir, 'config.yaml'), 'log:\n  level: warn\n')
  writeFileSync(join(dir, 'env.yaml'), 'log:\n  level: debug\n')
  writeFileSync(join(dir, 'flag.yaml'), 'log:\n  level: error\n')
  const level = (o: LoadConfigOptions): string => loadConfig({ cwd: dir, ...o }).config.log.level
  t.equal(level({ env: { DDIL_DATA: '.' } }), 'warn', '<data>/config.yaml')
  t.equal(level({ env: { DDIL_DATA: '.', DDIL_CONFIG: 'env.yaml' } }), 'debug', 'DDIL_CONFIG over <data>/config.yaml')
  t.equal(level({ configPath: 'flag.yaml', env: { DDIL_DATA: '.', DDIL_CONFIG: 'env.yaml' } }), 'error', '--config over DDIL_CONFIG')
  t.equal(loadConfig({ cwd: dir, env: { DDIL_DATA: '.' } }).source, join(dir, 'config.yaml'))
})

t.test('describeConfig says what the node would do; warnings flag likely mistakes', async t => {
  const c = check(t, [
    'peers:', '  mode: allowlist', `  static: [/ip4/192.0.2.7/tcp/4401/p2p/${peerA}]`, `  links: ["${peerA} 9.6kbps 300ms"]`,
    'storage:', '  quota: 500MB', '  sync: true', 'api:', '  listen: 0.0.0.0:4410', 'discovery:', '  mdns: false',
  ].join('\n'))
  t.ok(c.ok, problems(c).join('\n'))
  if (!c.ok) return
  const text = describeConfig(c.config).join('\n')
  t.match(text, /Listen for relays on \/ip4\/0\.0\.0\.0\/tcp\/4401 and \/ip4\/0\.0\.0\.0\/tcp\/4402\/ws/)
  t.match(text, `Dial 1 relay and redial when a link drops: /ip4/192.0.2.7/tcp/4401/p2p/${peerA}`)
  t.match(text, `Accept only 1 relay by node id, refusing and auditing any other: ${peerA}`)
  t.match(text, `Treat the link to ${peerA} as 9.6kbps with 300 ms one way until measured`)
  t.match(text, /Store up to 500MB of messages/)
  t.match(text, /Flush each write batch to disk/)
  t.match(text, /Not use mDNS/)
  t.match(text, /ws:\/\/0\.0\.0\.0:4410 \(every interface/)
  t.match(c.warnings.join('\n'), /api\.listen 0\.0\.0\.0:4410 is reachable from other machines/)
  const empty = check(t, 'peers:\n  mode: allowlist\n')
  t.match(empty.ok ? empty.warnings.join('\n') : '', /no relay will be accepted/)
})

t.test('docs/CONFIG.md documents every key and variable', async t => {
  const doc = readFileSync(new URL('../docs/CONFIG.md', import.meta.url), 'utf8')
  for (const key of configKeys) {
    t.ok(doc.includes(`\`${key.path}\``), `${key.path} documented`)
    if (key.env !== undefined) t.ok(doc.includes(key.env) && doc.includes(key.flag as string), `${key.env} and ${key.flag} documented`)
  }
  for (const name of ['DDIL_DATA', 'DDIL_CONFIG']) t.ok(doc.includes(name), `${name} documented`)
})

t.test('web: the HTTPS listener is off by default; on, it is described; its certificate keys come in pairs', async t => {
  const off = check(t, '')
  t.ok(off.ok)
  if (!off.ok) return
  t.same(off.config.web, {}, 'off, the relay\'s own certificate, the installation\'s app')
  t.match(describeConfig(off.config).join('\n'), /the HTTPS listener for phones on the local network is off \(web\.listen: off\)/)
  t.match(describeConfig(off.config).join('\n'), /the field app at http:\/\/127\.0\.0\.1:4410\//)
  const on = check(t, 'web:\n  listen: 0.0.0.0:4443\n  cert: org/relay.pem\n  key: /etc/ddil/relay-key.pem\n  root: /opt/app\n')
  t.ok(on.ok, problems(on).join('\n'))
  if (!on.ok) return
  t.same(on.config.web.listen, { host: '0.0.0.0', port: 4443 })
  t.equal(on.config.web.cert, join(on.config.dataDir, 'org/relay.pem'), 'a relative path is taken from the data directory')
  t.equal(on.config.web.key, '/etc/ddil/relay-key.pem')
  t.equal(on.config.web.root, '/opt/app')
  t.match(describeConfig(on.config).join('\n'), /Serve the field app \(from \/opt\/app\) and the client API \(at \/api\) over HTTPS on https:\/\/0\.0\.0\.0:4443\/ \(every interface.*with the certificate .*relay\.pem and key \/etc\/ddil\/relay-key\.pem/)
  const own = check(t, 'web:\n  listen: 192.0.2.10:4443\n')
  t.match(own.ok ? describeConfig(own.config).join('\n') : '', /relay's own self-signed certificate .*web-cert\.pem.*fingerprint/)
  t.match(problems(check(t, 'web:\n  cert: relay.pem\n'))[0], /config\.yaml:2: web\.cert: .*is set without web\.key; set both/)
  t.match(problems(check(t, 'web:\n  listen: everywhere\n'))[0], /web\.listen: "everywhere" is neither "off" nor a host:port address; write e\.g\. 0\.0\.0\.0:4443/)
  t.match(problems(check(t, 'web:\n  listen: 127.0.0.1:4410\n'))[0], /web\.listen: "127\.0\.0\.1:4410" is also api\.listen/)
  t.match(problems(check(t, 'web:\n  listen: 127.0.0.1:4411\n'))[0], /admin\.listen: "127\.0\.0\.1:4411" is also web\.listen/)
  const loop = check(t, 'web:\n  listen: 127.0.0.1:4443\n')
  t.match(loop.ok ? loop.warnings.join('\n') : '', /web\.listen 127\.0\.0\.1:4443 is on loopback, so phones on the local network cannot reach it/)
  const env = check(t, 'web:\n  listen: 0.0.0.0:4443\n', { env: { DDIL_WEB_LISTEN: 'off' } })
  t.same(env.ok ? [env.config.web.listen, env.overrides] : [], [undefined, ['DDIL_WEB_LISTEN sets web.listen']], 'the variable turns it off')
  const flag = check(t, '', { env: { DDIL_WEB_LISTEN: 'off' }, flags: { web: '0.0.0.0:4443' } })
  t.same(flag.ok ? flag.config.web.listen : undefined, { host: '0.0.0.0', port: 4443 }, 'the flag wins')
})

t.test('audit: rotation and retention default on, within bounds; out-of-bounds values are refused', async t => {
  const d = check(t, '')
  t.same(d.ok ? d.config.audit : undefined, { rotateBytes: 16_000_000, rotateAgeMs: 7 * 86_400_000, keepFiles: 100 })
  const set = check(t, 'audit:\n  rotateSize: 1MiB\n  rotateAge: 1h\n  keepFiles: 1\n')
  t.same(set.ok ? set.config.audit : undefined, { rotateBytes: 1024 * 1024, rotateAgeMs: 3_600_000, keepFiles: 1 })
  t.match(problems(check(t, 'audit:\n  rotateSize: 100KB\n')).join('\n'), /audit\.rotateSize: .*outside the allowed range \(1MiB to 1GiB\)/)
  t.match(problems(check(t, 'audit:\n  rotateAge: 1m\n')).join('\n'), /audit\.rotateAge: .*outside the allowed range/)
  t.match(problems(check(t, 'audit:\n  keepFiles: 0\n')).join('\n'), /audit\.keepFiles: .*from 1 to 10000/)
})
