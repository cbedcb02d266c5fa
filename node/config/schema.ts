/**
 * The config schema (zod 4): the raw YAML shape in, `ResolvedConfig` out, with units
 * converted, addresses normalised and defaults applied. Unknown keys are rejected
 * (strict objects); each failed check carries the tail of a sentence saying what is
 * wrong and how to write it, which `load.ts` turns into a message with the file
 * position and key path.
 *
 * @example
 * const parsed = configSchema.safeParse(yamlValue)
 * if (parsed.success) parsed.data.storage.quotaBytes  // 1_000_000_000
 */
import { isAbsolute, resolve } from 'node:path'
import { z } from 'zod'
import { ConfigError } from '../../protocol/errors.ts'
import {
  auditKeepFilesMax, auditRotateAgeMsMax, auditRotateAgeMsMin, auditRotateBytesMax, auditRotateBytesMin, configListItemsMax, engineIntervalMsMax, purgeIntervalMsMin, reconcileIntervalMsMin,
} from '../../protocol/limits.ts'
import {
  checkAuthorKey, checkClientKey, checkDuration, checkHostPort, checkLinkHint, checkListenAddr, checkPeerId, checkSize, checkStaticPeer, checkWebListen, enrolledKeyword, operatorKeyword, type HostPort, type LinkHint,
} from './fields.ts'
import { findKey } from './keys.ts'
import { requestRatePerSecondMax } from '../api/limits.ts'

export const logLevels = ['trace', 'debug', 'info', 'warn', 'error'] as const
export type LogLevel = (typeof logLevels)[number]
export const peerModes = ['open', 'allowlist', 'org'] as const
export type PeerMode = (typeof peerModes)[number]

/** What the daemon runs with. */
export interface ResolvedConfig {
  /** Absolute path of the data directory. */
  dataDir: string
  node: { listen: string[] }
  peers: {
    /** Multiaddrs ending in /p2p/<peer id>. */
    static: string[]
    mode: PeerMode
    /** Peer ids allowed in allowlist mode, as written (the peers in `static` are allowed too: see `allowedPeerIds`). */
    allow: string[]
    /** Slow links the operator declared, one per peer. */
    links: LinkHint[]
  }
  discovery: { mdns: boolean }
  api: { listen: HostPort, requestsPerSecond: number }
  web: {
    /** The HTTPS listener for the local network; undefined when off. */
    listen?: HostPort
    /** An organisation's certificate and key (absolute paths); both or neither. Neither: the node's own, in the data directory. */
    cert?: string
    key?: string
    /** The app's built files (absolute path); undefined: web/dist in the installation. */
    root?: string
  }
  admin: { listen: HostPort }
  storage: { quotaBytes: number, sync: boolean }
  log: { level: LogLevel }
  engine: { reconcileIntervalMs: number, purgeIntervalMs: number }
  clients: {
    /** `operator` was listed: the user in `<dataDir>/user.key` may connect. */
    allowOperator: boolean
    /** Other users' keys (`ddil1:…`, canonical text). */
    allow: string[]
  }
  authors: {
    /** `operator` was listed: the user in `<dataDir>/user.key` may author messages. */
    allowOperator: boolean
    /** `enrolled` was listed: devices enrolled on this relay (and not revoked) may create channels it carries. */
    allowEnrolled: boolean
    /** Other users' keys (`ddil1:…`, canonical text). */
    allow: string[]
  }
  /** Rotation and retention of the audit log (node/audit/rotate.ts). */
  audit: { rotateBytes: number, rotateAgeMs: number, keepFiles: number }
}

/** Peer ids accepted in allowlist mode: `peers.allow` plus the id at the end of each static peer. */
export function allowedPeerIds (config: ResolvedConfig): string[] {
  const fromStatic = config.peers.static.map(a => a.slice(a.lastIndexOf('/p2p/') + 5))
  return [...new Set([...config.peers.allow, ...fromStatic])]
}

/** A string checked (and normalised) by one of fields.ts; its ConfigError message becomes the issue. */
function checked<T> (check: (text: string) => T) {
  return z.string().transform((text, ctx) => {
    try {
      return check(text)
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e
      ctx.addIssue({ code: 'custom', message: e.message })
      return z.NEVER
    }
  })
}

/** The default from the key table (keys.ts), so the schema, template and docs cannot disagree. */
function defaultOf (path: string): unknown {
  const key = findKey(path)
  if (key === undefined) throw new ConfigError(`internal: the config key table has no ${path}`) // a programming error, caught by the tests
  return key.defaultValue
}

function list<T extends z.ZodType> (item: T, path: string) {
  return z.array(item).max(configListItemsMax).prefault(defaultOf(path) as Array<z.input<T>>)
}

/** A section whose keys all have defaults, so a missing section is the same as an empty one. */
const section = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape).prefault({} as never)

export const configSchema = z.strictObject({
  node: section({
    listen: list(checked(checkListenAddr), 'node.listen'),
  }),
  peers: section({
    static: list(checked(checkStaticPeer), 'peers.static'),
    mode: z.enum(peerModes).default(defaultOf('peers.mode') as PeerMode),
    allow: list(checked(checkPeerId), 'peers.allow'),
    links: list(checked(checkLinkHint), 'peers.links').superRefine((links, ctx) => {
      const seen = new Set<string>()
      links.forEach((l, i) => {
        if (seen.has(l.peer)) ctx.addIssue({ code: 'custom', path: [i], message: `declares ${l.peer} a second time; keep one line per relay` })
        seen.add(l.peer)
      })
    }),
  }),
  discovery: section({ mdns: z.boolean().default(defaultOf('discovery.mdns') as boolean) }),
  api: section({
    listen: checked(checkHostPort).prefault(defaultOf('api.listen') as string),
    requestsPerSecond: z.number()
      .refine(n => Number.isInteger(n) && n >= 1 && n <= requestRatePerSecondMax, { message: `is not a whole number of requests a second from 1 to ${requestRatePerSecondMax}; write e.g. 50` })
      .default(defaultOf('api.requestsPerSecond') as number),
  }),
  web: section({
    listen: checked(checkWebListen).prefault(defaultOf('web.listen') as string),
    cert: z.string().default(defaultOf('web.cert') as string),
    key: z.string().default(defaultOf('web.key') as string),
    root: z.string().default(defaultOf('web.root') as string),
  }).superRefine((web, ctx) => {
    if ((web.cert === '') !== (web.key === '')) {
      const [path, missing] = web.cert === '' ? ['key', 'cert'] : ['cert', 'key']
      ctx.addIssue({ code: 'custom', path: [path], message: `is set without web.${missing}; set both (an organisation's certificate and its key) or neither (the relay's own certificate)` })
    }
  }),
  admin: section({ listen: checked(checkHostPort).prefault(defaultOf('admin.listen') as string) }),
  storage: section({
    quota: checked(checkSize).prefault(defaultOf('storage.quota') as string),
    sync: z.boolean().default(defaultOf('storage.sync') as boolean),
  }),
  log: section({ level: z.enum(logLevels).default(defaultOf('log.level') as LogLevel) }),
  engine: section({
    reconcileInterval: checked(t => checkDuration(t, reconcileIntervalMsMin, engineIntervalMsMax, '30s or 2m')).prefault(defaultOf('engine.reconcileInterval') as string),
    purgeInterval: checked(t => checkDuration(t, purgeIntervalMsMin, engineIntervalMsMax, '1m or 10m')).prefault(defaultOf('engine.purgeInterval') as string),
  }),
  clients: section({ allow: list(checked(checkClientKey), 'clients.allow') }),
  authors: section({ allow: list(checked(checkAuthorKey), 'authors.allow') }),
  audit: section({
    rotateSize: checked(checkSize).refine(n => n >= auditRotateBytesMin && n <= auditRotateBytesMax, { message: 'is outside the allowed range (1MiB to 1GiB); write e.g. 16MB' })
      .prefault(defaultOf('audit.rotateSize') as string),
    rotateAge: checked(t => checkDuration(t, auditRotateAgeMsMin, auditRotateAgeMsMax, '7d')).prefault(defaultOf('audit.rotateAge') as string),
    keepFiles: z.number()
      .refine(n => Number.isInteger(n) && n >= 1 && n <= auditKeepFilesMax, { message: `is not a whole number of files from 1 to ${auditKeepFilesMax}; write e.g. 100` })
      .default(defaultOf('audit.keepFiles') as number),
  }),
}).prefault({})

export type ParsedConfig = z.output<typeof configSchema>

/** A path from the config: relative ones are taken from the data directory. */
function inDataDir (path: string, dataDir: string): string {
  return isAbsolute(path) ? path : resolve(dataDir, path)
}

/** The schema's output in the daemon's terms. */
export function toResolved (parsed: ParsedConfig, dataDir: string): ResolvedConfig {
  return {
    dataDir,
    node: { listen: parsed.node.listen },
    peers: { static: parsed.peers.static, mode: parsed.peers.mode, allow: parsed.peers.allow, links: parsed.peers.links },
    discovery: { mdns: parsed.discovery.mdns },
    api: { listen: parsed.api.listen, requestsPerSecond: parsed.api.requestsPerSecond },
    web: {
      ...(parsed.web.listen !== null ? { listen: parsed.web.listen } : {}),
      ...(parsed.web.cert !== '' ? { cert: inDataDir(parsed.web.cert, dataDir), key: inDataDir(parsed.web.key, dataDir) } : {}),
      ...(parsed.web.root !== '' ? { root: inDataDir(parsed.web.root, dataDir) } : {}),
    },
    admin: { listen: parsed.admin.listen },
    storage: { quotaBytes: parsed.storage.quota, sync: parsed.storage.sync },
    log: { level: parsed.log.level },
    engine: { reconcileIntervalMs: parsed.engine.reconcileInterval, purgeIntervalMs: parsed.engine.purgeInterval },
    clients: {
      allowOperator: parsed.clients.allow.includes(operatorKeyword),
      allow: [...new Set(parsed.clients.allow.filter(k => k !== operatorKeyword))],
    },
    authors: {
      allowOperator: parsed.authors.allow.includes(operatorKeyword),
      allowEnrolled: parsed.authors.allow.includes(enrolledKeyword),
      allow: [...new Set(parsed.authors.allow.filter(k => k !== operatorKeyword && k !== enrolledKeyword))],
    },
    audit: { rotateBytes: parsed.audit.rotateSize, rotateAgeMs: parsed.audit.rotateAge, keepFiles: parsed.audit.keepFiles },
  }
}
