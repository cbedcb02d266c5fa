/**
 * Every config key in one table: its default, what it means (the comment `ddil init`
 * writes above it), how to write it, and the `DDIL_*` variable and command-line flag
 * that override it. The schema, the commented template, the error messages and
 * docs/CONFIG.md all follow this table.
 *
 * @example
 * configKeys.find(k => k.path === 'storage.quota')?.defaultValue  // '1GB'
 */

export interface ConfigKey {
  /** Dotted path: `section.key`. */
  path: string
  /** Default, as written in YAML. */
  defaultValue: unknown
  /** What a valid value is, for "… is not <what>" messages. */
  what: string
  /** How to write it, for "write e.g. …". */
  example: string
  /** Comment lines written above the key. */
  help: string[]
  /** Environment variable overriding it (list values comma-separated). */
  env?: string
  /** Command-line flag overriding it (`ddil start`). */
  flag?: string
  /** For lists: what one entry is, for "… is not <item>" messages (env and flag values are split on commas). */
  item?: string
}

export const configKeys: readonly ConfigKey[] = [
  {
    path: 'node.listen',
    defaultValue: ['/ip4/0.0.0.0/tcp/4401', '/ip4/0.0.0.0/tcp/4402/ws'],
    what: 'a list of listen multiaddrs',
    item: 'a listen multiaddr',
    example: '[/ip4/0.0.0.0/tcp/4401, /ip4/0.0.0.0/tcp/4402/ws]',
    help: [
      'Addresses other relays reach this node on: TCP, and WebSocket for paths that',
      'only carry HTTP. 0.0.0.0 listens on every interface; 127.0.0.1 on this machine',
      'only. Port 0 lets the system choose a free port. IP addresses only.',
    ],
    env: 'DDIL_LISTEN',
    flag: '--listen',
  },
  {
    path: 'peers.static',
    defaultValue: [],
    what: 'a list of peer multiaddrs',
    item: 'a peer multiaddr',
    example: '[/ip4/192.0.2.7/tcp/4401/p2p/12D3KooW…]',
    help: [
      'Relays to dial at start, and to redial whenever the link drops. Each ends in',
      '/p2p/<node id> (printed by "ddil init" on that relay), so the encrypted',
      'handshake proves the right node answered. Example:',
      '  static: [/ip4/192.0.2.7/tcp/4401/p2p/12D3KooW…]',
    ],
    env: 'DDIL_PEERS',
    flag: '--peer',
  },
  {
    path: 'peers.mode',
    defaultValue: 'open',
    what: 'open, allowlist or org',
    example: 'open, allowlist or org',
    help: [
      'open: accept any relay that completes the encrypted handshake.',
      'allowlist: accept only relays whose node id is in peers.allow or in',
      'peers.static; others are refused right after the handshake and audited.',
      'org: accept only relays certified by this relay\'s organisation and, where',
      'this relay is a gateway for a partner, relays certified by that partner',
      '("ddil org join", "ddil org trust --gateway"); others are told why, cut',
      'and audited (docs/FEDERATION.md).',
    ],
  },
  {
    path: 'peers.allow',
    defaultValue: [],
    what: 'a list of node ids',
    item: 'a node id',
    example: '[12D3KooW…]',
    help: ['Node ids accepted in allowlist mode (besides those in peers.static).'],
  },
  {
    path: 'peers.links',
    defaultValue: [],
    what: 'a list of link descriptions',
    item: 'a link description (<node id> <bandwidth> [<latency>])',
    example: '[12D3KooW… 9.6kbps, 12D3KooW… 64kbps 300ms]',
    help: [
      'Slow links to other relays, which the network cannot tell this relay about:',
      '"<node id> <bandwidth> [<one-way latency>]". Frames to that relay are then',
      'sized to about a second of its link (at least 2 KiB), so a flash message',
      'never waits long behind a large frame, and forwarding prefers faster paths.',
      'Latency is measured once the link is up; a declared one is used until then.',
      'Example:',
      '  links: [12D3KooW… 9.6kbps, 12D3KooW… 64kbps 300ms]',
    ],
  },
  {
    path: 'discovery.mdns',
    defaultValue: true,
    what: 'true or false',
    example: 'true or false',
    help: [
      'Find relays on the same local network with multicast DNS. Set false where',
      'multicast is unwelcome, or to keep the node silent until it is dialled.',
    ],
  },
  {
    path: 'api.listen',
    defaultValue: '127.0.0.1:4410',
    what: 'a host:port address',
    example: '127.0.0.1:4410',
    help: [
      'host:port of the client WebSocket API used by "ddil send", "ddil tail" and',
      'the field app, which it also serves: http://127.0.0.1:4410/ on this machine.',
      'Keep 127.0.0.1: phones on the local network use web.listen (HTTPS). Only',
      'users in clients.allow and devices enrolled with "ddil enrol" may use it.',
    ],
    env: 'DDIL_API_LISTEN',
    flag: '--api',
  },
  {
    path: 'api.requestsPerSecond',
    defaultValue: 50,
    what: 'a whole number of requests a second, from 1 to 10000',
    example: '50',
    help: [
      'Requests a second each client connection may make, in bursts of up to four',
      'seconds\' worth; a client that keeps going past it is disconnected. The CLI',
      'and the web client keep below it by themselves. Raise it only for a gateway',
      'or a bulk import that feeds this relay through one connection.',
    ],
  },
  {
    path: 'web.listen',
    defaultValue: 'off',
    what: 'a host:port address or off',
    example: '0.0.0.0:4443 or off',
    help: [
      'host:port where phones and laptops on the local network open the field app',
      '(https://<this relay\'s address>:<port>/) and reach the client API over',
      'HTTPS (browsers give an app its cryptography only over HTTPS or on',
      'localhost). off: only http://localhost on this machine serves the app.',
      'Turn it on with e.g. 0.0.0.0:4443; devices get in with "ddil enrol".',
    ],
    env: 'DDIL_WEB_LISTEN',
    flag: '--web',
  },
  {
    path: 'web.cert',
    defaultValue: '',
    what: 'a file path',
    example: '/etc/ddil/relay.pem',
    help: [
      'PEM certificate (chain) for web.listen, from your organisation\'s CA; set',
      'web.key with it. Empty: the certificate "ddil init" made (web-cert.pem in',
      'the data directory), whose SHA-256 fingerprint "ddil start" prints for',
      'users to compare. Relative paths are taken from the data directory.',
    ],
  },
  {
    path: 'web.key',
    defaultValue: '',
    what: 'a file path',
    example: '/etc/ddil/relay-key.pem',
    help: ['PEM private key of web.cert (mode 0600). Empty with web.cert empty.'],
  },
  {
    path: 'web.root',
    defaultValue: '',
    what: 'a directory path',
    example: '/opt/ddil/web/dist',
    help: [
      'Directory of the field app\'s built files. Empty: web/dist in the ddil',
      'installation (built by "npm run build:web", which npm install runs).',
    ],
  },
  {
    path: 'admin.listen',
    defaultValue: '127.0.0.1:4411',
    what: 'a host:port address',
    example: '127.0.0.1:4411',
    help: [
      'host:port of the HTTP server for /healthz, /status and /metrics (Prometheus).',
      'It has no authentication: keep it on 127.0.0.1 or a management network.',
    ],
    env: 'DDIL_ADMIN_LISTEN',
    flag: '--admin',
  },
  {
    path: 'storage.quota',
    defaultValue: '1GB',
    what: 'a size',
    example: '500MB or 1GB',
    help: [
      'Most bytes of messages (with their indexes) this node keeps for others. When',
      'full it evicts expired messages, then the lowest precedence, oldest first,',
      'and then refuses new custody rather than drop a message it acknowledged.',
      'Sizes: 500MB, 1GB, 64GiB (KB = 1000 bytes, KiB = 1024 bytes).',
    ],
  },
  {
    path: 'storage.sync',
    defaultValue: false,
    what: 'true or false',
    example: 'true or false',
    help: [
      'true: flush every write batch to disk (fsync) before acknowledging it, so an',
      'acknowledged message survives a power cut; writes are roughly 40 times slower.',
      'false: an acknowledged message survives ddil crashing or being killed, but a',
      'power cut may lose the last few seconds of writes (the sending peer still',
      'holds those messages and re-syncs them). Use true on hardware without a UPS.',
    ],
  },
  {
    path: 'log.level',
    defaultValue: 'info',
    what: 'a log level',
    example: 'trace, debug, info, warn or error',
    help: ['Least severe log records written (JSON lines): trace, debug, info, warn or error.'],
    env: 'DDIL_LOG_LEVEL',
    flag: '--log-level',
  },
  {
    path: 'engine.reconcileInterval',
    defaultValue: '30s',
    what: 'a duration',
    example: '30s or 2m',
    help: [
      'How often each connected link compares message sets with the peer (also on',
      'every reconnect). Shorter finds missed messages sooner at the cost of a few',
      'hundred bytes per run. From 1s to 1d.',
    ],
  },
  {
    path: 'engine.purgeInterval',
    defaultValue: '1m',
    what: 'a duration',
    example: '1m or 10m',
    help: ['How often expired messages are removed from storage. From 1s to 1d.'],
  },
  {
    path: 'clients.allow',
    defaultValue: ['operator'],
    what: 'a list of user keys',
    item: 'a user key',
    example: '[operator, ddil1:…]',
    help: [
      'Users allowed to use the client API: "operator" (the user in this data',
      'directory\'s user.key) and ddil1:… keys printed by "ddil whoami" elsewhere.',
      'Devices enrolled with a one-time code ("ddil enrol") are allowed too, until',
      'revoked ("ddil clients revoke"); they are kept in clients.json, not here.',
    ],
  },
  {
    path: 'authors.allow',
    defaultValue: ['operator', 'enrolled'],
    what: 'a list of user keys',
    item: 'a user key',
    example: '[operator, enrolled, ddil1:…]',
    help: [
      'Users whose channels this relay carries: "operator", "enrolled" (the devices',
      'enrolled here with "ddil enrol", until revoked) and ddil1:… keys from "ddil whoami"',
      'or the field app elsewhere. A channel created by anyone else is refused and',
      'audited; within a channel, its signed membership decides who may post. Every',
      'relay that should carry a channel must allow its creator.',
    ],
  },
  {
    path: 'audit.rotateSize',
    defaultValue: '16MB',
    what: 'a size from 1MiB to 1GiB',
    example: '16MB',
    help: [
      'The audit log (audit/ in the data directory) starts a new file when the',
      'current one reaches this size. The hash chain runs on across files and',
      '"ddil audit verify" and "ddil audit export" read them all. From 1MiB to 1GiB.',
    ],
  },
  {
    path: 'audit.rotateAge',
    defaultValue: '7d',
    what: 'a duration from 1h to 366d',
    example: '7d',
    help: ['It also starts a new file when the current one\'s first entry is this old. From 1h to 366d.'],
  },
  {
    path: 'audit.keepFiles',
    defaultValue: 100,
    what: 'a whole number of files from 1 to 10000',
    example: '100',
    help: [
      'Rotated audit files kept; the oldest beyond this are deleted. Verification',
      'then starts from the oldest file kept. Export or anchor the log elsewhere',
      '("ddil audit export --head") before retention reaches what you must keep.',
    ],
  },
]

/** Section comments, written above each section. */
export const sectionHelp: Readonly<Record<string, string>> = {
  node: 'This relay\'s own network endpoints.',
  peers: 'Other relays: which to dial and which to accept.',
  discovery: 'Finding relays without configuring them.',
  api: 'The client API (local users and tools), and the field app on this machine.',
  web: 'The field app and client API over HTTPS for the local network.',
  admin: 'Health, status and metrics for operators.',
  storage: 'Message custody on disk.',
  log: 'Structured logs.',
  engine: 'Store-and-forward timing.',
  clients: 'Who may use the client API.',
  authors: 'Whose channels are relayed.',
  audit: 'The tamper-evident audit log: rotation and retention.',
}

/** Section names in file order. */
export const sectionNames: readonly string[] = [...new Set(configKeys.map(k => k.path.split('.')[0]))]

/** Key names within `section`, in file order. */
export function keysOf (section: string): string[] {
  return configKeys.filter(k => k.path.startsWith(`${section}.`)).map(k => k.path.slice(section.length + 1))
}

/** The entry for a dotted path (array indexes ignored), if any. */
export function findKey (path: string): ConfigKey | undefined {
  const bare = path.replace(/\[\d+\]/g, '')
  return configKeys.find(k => k.path === bare)
}

/** Environment variables that choose where the data and config are, besides the per-key ones. */
export const envDataDir = 'DDIL_DATA'
export const envConfigFile = 'DDIL_CONFIG'
/** The passphrase of protected keys (node/passphrase.ts): a file holding it, or the passphrase itself. */
export const envPassphraseFile = 'DDIL_PASSPHRASE_FILE'
export const envPassphrase = 'DDIL_PASSPHRASE'
