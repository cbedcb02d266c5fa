/**
 * The relay daemon: opens the data directory (failing fast if another process holds
 * it), loads config and keys (creating them on first run), and wires the engine to
 * LevelDB, libp2p, the client API (with the field app's files on the same port), the
 * HTTPS listener for the local network when `web.listen` is on, the admin endpoints and
 * the audit log. `stop()` shuts everything down in reverse order.
 *
 * @example
 * const node = await startNode({ env: process.env, flags: {} })
 * console.log(node.nodeId, node.listen); await node.stop()
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createNodeCrypto } from './crypto.ts'
import { openLevelStore, type LevelStore } from './store/level-store.ts'
import { loadOrCreateNodeKey } from './p2p/identity.ts'
import { createHost } from './p2p/host.ts'
import { attachFrameTransport, type FrameTransport } from './p2p/link.ts'
import { PeerBackoff } from './p2p/backoff.ts'
import { openAuditLog, auditKeyFromNodeKey, RefusalSummaries, type AuditLog } from './audit/index.ts'
import { AuditBudget } from './audit/budget.ts'
import { channelAuditEvent, channelBudget, evictionAuditEvent, evictionBudget } from './channel-audit.ts'
import { recordConfig } from './config-audit.ts'
import type { AuditEvent } from './audit/index.ts'
import { auditGate } from './audit-gate.ts'
import { startClientApi, type ClientApiOptions } from './api/server.ts'
import { createStaticSite } from './web/static.ts'
import { certificateHosts, ensureWebCertificate, loadWebCertificate, type WebCertificate } from './web/certificate.ts'
import { apiRateLimits, channelListMax } from './api/limits.ts'
import { ClientRegistry } from './client-registry.ts'
import { startAdmin, type NodeStatus } from './admin.ts'
import { createFacade, EngineEventHub } from './facade.ts'
import { createBundles } from './bundle.ts'
import { createPeerHolds, peerHoldsDirName } from './peer-holds.ts'
import { createLogger, loggerPort, realClock, systemClock } from './runtime.ts'
import { formatHostPort, loadConfig, resolveDataDir, allowedPeerIds, type ConfigFlags, type Env, type ResolvedConfig } from './config/index.ts'
import { loadUserIdentity, parseUserPublicKey, userKeyFileName } from './user-identity.ts'
import { initDataDir } from './data-dir.ts'
import type { KeyAccess } from './key-files.ts'
import { checkDataFormat } from './data-format.ts'
import { removeEndpoints, writeEndpoints } from './endpoints.ts'
import { createEngine, type Engine } from '../protocol/engine/engine.ts'
import { RelayChannelPolicy } from '../protocol/channel/relay.ts'
import { authorRef, decodeEnvelope, Kind, kindNames } from '../protocol/envelope.ts'
import { bytesEqual, toHex } from '../protocol/bytes.ts'
import { auditChannelEntriesPerWindowMax, frameBytesMax } from '../protocol/limits.ts'
import { ConfigError } from '../protocol/errors.ts'
import type { LinkHandler, Logger } from '../protocol/ports.ts'
import { firstBusyAddress, listening } from './listen-errors.ts'
import { auditBoundary } from './org/boundary-audit.ts'
import { recordTrust } from './org/trust-audit.ts'
import { createBoundaryPolicy } from './org/boundary-policy.ts'
import { createMemberCheck } from './org/member-check.ts'
import { revocationCheck, revocationImports } from './org/revocations.ts'
import { orgRef } from '../protocol/org/trust.ts'
import { createPeerAdmission } from './org/peer-admission.ts'
import { trustRecheckIntervalMs } from './p2p/limits.ts'
import { trustStoreFileName, type TrustStore } from './org/trust-store.ts'

/**
 * Per-peer write queue for the libp2p link: two frames. Small on purpose: the engine
 * orders by precedence only what the transport has not yet taken, so a large queue
 * would make a flash message wait behind routine bytes on a slow link.
 */
const linkWriteQueueBytes = 2 * frameBytesMax + 64

/** The field app's built files in this installation (`npm run build:web`), unless `web.root` names others. */
export const defaultWebRoot = fileURLToPath(new URL('../web/dist/', import.meta.url))

export interface StartOptions {
  dataDir?: string
  configPath?: string
  env: Env
  flags: ConfigFlags
  /** Pretty or JSON logs; default: pretty on a terminal. */
  prettyLogs?: boolean
  /** Where the passphrase of protected keys comes from (`ddil start --passphrase-file`, …). */
  keys?: KeyAccess
}

export interface RunningNode {
  nodeId: string
  dataDir: string
  firstRun: boolean
  listen: string[]
  api: { host: string, port: number }
  /** The HTTPS listener, when `web.listen` is on; the certificate's fingerprint for users to compare. */
  web?: { host: string, port: number, fingerprint: string, certificate: WebCertificate }
  /** The certificate was made at this start (a data directory from before, or an expiring one renewed). */
  webCertificateCreated: boolean
  admin: { host: string, port: number }
  engine: Engine
  status (): NodeStatus
  stop (): Promise<void>
}

function initialised (dataDir: string): boolean {
  return existsSync(join(dataDir, 'node.key')) && existsSync(join(dataDir, userKeyFileName)) && existsSync(join(dataDir, 'config.yaml'))
}

/** Users allowed to create channels on this relay: `authors.allow`, with `operator` as this node's user. */
function authorKeys (config: ResolvedConfig, operator: Uint8Array): Map<string, Uint8Array> {
  const keys = [...(config.authors.allowOperator ? [operator] : []), ...config.authors.allow.map(k => parseUserPublicKey(k).ed25519)]
  return new Map(keys.map(k => [toHex(authorRef(k)), k]))
}

function clientAllowed (config: ResolvedConfig, operator: Uint8Array): (key: Uint8Array) => boolean {
  const others = config.clients.allow.map(k => parseUserPublicKey(k).ed25519)
  return (key) => (config.clients.allowOperator && bytesEqual(key, operator)) || others.some(k => bytesEqual(k, key))
}

export async function startNode (options: StartOptions): Promise<RunningNode> {
  const dataDir = resolveDataDir({ dataDir: options.dataDir, env: options.env })
  const firstRun = !initialised(dataDir)
  if (firstRun) await initDataDir({ dataDir, force: existsSync(dataDir), keys: { passphrases: options.keys?.passphrases } })
  await checkDataFormat(dataDir) // before anything reads the directory: an older release must not run on newer data
  const { config } = loadConfig({ dataDir, configPath: options.configPath, env: options.env, flags: options.flags })
  const pino = createLogger(config.log.level, options.prettyLogs)
  const logger: Logger = loggerPort(pino)
  const crypto = createNodeCrypto()
  const clock = realClock()
  const started = clock.monotonicMs()
  // The store first: LevelDB's lock makes a second process on this data directory fail here, before it touches anything else.
  const store: LevelStore = await openLevelStore(join(dataDir, 'store'), { sync: config.storage.sync, logger })
  const cleanups: Array<() => Promise<void> | void> = [() => store.close()]
  const cleanup = async (): Promise<void> => { for (const c of cleanups.reverse()) await c() }
  try {
    const nodeKey = await loadOrCreateNodeKey(dataDir, options.keys)
    const nodeId = peerIdFromPrivateKey(nodeKey as Parameters<typeof peerIdFromPrivateKey>[0]).toString()
    const user = await loadUserIdentity(dataDir, crypto, options.keys)
    const audit: AuditLog = await openAuditLog({
      dataDir, crypto, key: auditKeyFromNodeKey(nodeKey), node: nodeId, now: () => clock.nowMs(),
      rotate: { bytes: config.audit.rotateBytes, ageMs: config.audit.rotateAgeMs, keepFiles: config.audit.keepFiles },
    })
    cleanups.push(() => audit.close())
    /** For changes that must not happen unrecorded: resolves once the entry is durable, rejects if it cannot be. */
    const appendDurable = async (event: AuditEvent): Promise<void> => { await audit.append(event) }
    // Summary windows are bounds, not work: they must not keep a stopping relay alive.
    const unrefTimer = (fn: () => void, ms: number): () => void => { const timer = setTimeout(fn, ms); timer.unref(); return () => { clearTimeout(timer) } }
    // While the log cannot be written, changes it could not record are refused (brief §7).
    const gate = auditGate(audit, crypto.sha256)
    // Repeated refusals (a connection flood) are written once, then counted in a summary per window (audit/repeats.ts).
    const refusals = new RefusalSummaries({
      append: (event) => { audit.append(event).catch((e: Error) => logger.error({ err: e.message, event: event.what }, 'audit log write failed')) },
      schedule: unrefTimer,
    })
    cleanups.push(() => { refusals.close() })
    const record = (event: AuditEvent): void => { refusals.record(event) }
    // Governance changes, key epochs and evictions: in full up to a budget a minute, then counted per channel (a catch-up, a full store).
    const budget = new AuditBudget({
      append: (event) => { refusals.record(event) },
      schedule: unrefTimer,
      budgets: { [channelBudget]: auditChannelEntriesPerWindowMax, [evictionBudget]: 1 },
    })
    cleanups.push(() => { budget.close() })
    // Channels are judged by their signed governance; only a genesis needs the operator's
    // say-so: this relay carries channels created by the users in authors.allow (with
    // `enrolled`, the devices enrolled here: the registry opens below, and is asked then).
    const creators = authorKeys(config, user.ed25519.publicKey)
    let enrolledAuthor: (ref: string) => boolean = () => false
    const policy = new RelayChannelPolicy(crypto, ref => creators.has(ref) || (config.authors.allowEnrolled && enrolledAuthor(ref)))
    const hub = new EngineEventHub()
    let transport: FrameTransport | undefined
    // peers.mode org (#29): relays are admitted by organisation certificate at hello (the host lets every
    // handshake through to it), each verdict audited; a changed orgs.json or an expired certificate cuts a link.
    let passOnRevocations: (store: TrustStore) => void = () => {} // set once the engine is open
    let boundaryChanged: () => void = () => {} // likewise
    const admission = config.peers.mode !== 'org' ? undefined : await createPeerAdmission({
      dataDir, crypto, nowMs: () => clock.nowMs(),
      admitted: (peer, org, partner) => record({ who: peer, what: 'peer.accepted', outcome: 'ok', detail: { org, ...(partner ? { boundary: 'partner organisation' } : {}) } }),
      refused: (peer, reason) => record({ who: peer, what: 'peer.refused', outcome: 'refused', detail: { reason } }),
      warn: (message) => { logger.warn({}, message) },
      reloaded: (store) => {
        recordTrust({ dataDir, store, audit: appendDurable }).catch((e: Error) => logger.error({ err: e.message }, `cannot audit the change to ${trustStoreFileName}`))
        passOnRevocations(store)
        boundaryChanged() // a partner's rules may have changed: what they refused is judged again
      },
    })
    // A member's user certificate on a create or add is judged against the trust store (#29).
    if (admission !== undefined) {
      policy.memberCheck = createMemberCheck({ trust: () => ({ store: admission.store(), state: admission.trust() }), crypto })
      // Once our operator cuts a partner off, what its certified users author is refused here (and audited as any refusal).
      policy.orgCutOff = (ref) => { const org = admission.trust().orgs.get(ref); return org?.distrustedAtMs !== undefined ? org.name : undefined }
      // Revocations travel as envelopes: judged against the trust store, carried, and taken into it when stored.
      policy.revocations = revocationCheck({ trust: () => admission.trust(), crypto })
    }
    // At a gateway, what crosses to and from each partner is judged by its policy (ddil org policy), both ways.
    const boundary = admission === undefined ? undefined : createBoundaryPolicy({
      partnerEntryOf: (peer) => admission.partnerEntryOf(peer),
      ownName: () => admission.store().own?.name ?? 'this organisation',
      creatorOf: (channel) => policy.creatorOf(channel),
      monotonicMs: () => clock.monotonicMs(),
    })
    const engine = createEngine({
      clock, crypto, store, logger, authoriser: policy, events: hub.events, ...(admission !== undefined ? { admission } : {}), ...(boundary !== undefined ? { boundary } : {}),
      transport: {
        send: (peer, frame) => transport?.send(peer, frame) ?? false,
        disconnect: (peer, reason) => transport?.disconnect(peer, reason),
      },
    }, { nodeId, storageBytesMax: config.storage.quotaBytes, reconcileIntervalMs: config.engine.reconcileIntervalMs, purgeIntervalMs: config.engine.purgeIntervalMs })
    hub.restored.add((env) => policy.restored(env))
    await engine.open()
    cleanups.push(() => engine.close())
    boundaryChanged = () => { engine.boundaryChanged() }
    // What orgs.json holds as revocation envelopes goes into the store, to be passed on (at start, and whenever the file changes).
    passOnRevocations = (store) => {
      for (const bytes of store.revocationEnvelopes ?? []) engine.submit(bytes).catch((e: Error) => logger.warn({ err: e.message }, `a revocation in ${trustStoreFileName} could not be stored to pass on`))
    }
    if (admission !== undefined) {
      passOnRevocations(admission.store())
      const imports = revocationImports({ dataDir, crypto, failed: (e) => logger.error({ err: e.message }, `a revocation received could not be added to ${trustStoreFileName}`) })
      hub.stored.add((env) => { if (env.kind === Kind.revocation) imports.take(env.bytes) })
    }
    hub.stored.add((env, from) => {
      const audited = channelAuditEvent(env, from)
      if (audited !== undefined) budget.record(audited.event, audited.fold)
      policy.stored(engine, env).catch((e: Error) => logger.error({ err: e.message }, 'enforcing a channel removal failed'))
    })
    hub.refused.add((reason, detail, peer, env) => record({
      who: peer ?? 'local client', what: 'envelope.rejected', outcome: 'refused',
      detail: { reason, detail, ...(peer !== undefined && admission?.partnerOf(peer) !== undefined ? { partner: admission.partnerOf(peer) as string } : {}), ...(env !== undefined ? { id: toHex(env.id), kind: kindNames[env.kind], channel: toHex(env.channel), author: toHex(env.author) } : {}) },
    }))
    if (admission !== undefined) auditBoundary({ hub, partnerOf: (peer) => admission.partnerOf(peer), decode: (bytes) => decodeEnvelope(bytes, (b) => crypto.sha256(b)), record })
    hub.penalised.add((peer, reason) => record({ who: peer, what: 'peer.refused', outcome: 'refused', detail: { reason } }))
    hub.removed.add((ids, why, bytes) => {
      if (why === 'evicted') { const e = evictionAuditEvent(ids.length, bytes ?? 0); budget.record(e.event, e.fold); return }
      record({ who: 'node', what: why === 'purged' ? 'store.purged' : 'envelope.rejected', outcome: 'ok', detail: { count: ids.length, why } })
    })
    hub.equivocation.add((_first, second) => record({ who: toHex(second.author), what: 'envelope.rejected', outcome: 'ok', detail: { reason: 'equivocation: two envelopes with one sequence (both kept as proof)', id: toHex(second.id), seq: second.seq } }))

    const backoff = new PeerBackoff() // peers the engine disconnects are kept away for a growing while
    const host = await createHost({
      privateKey: nodeKey, listen: config.node.listen, staticPeers: config.peers.static, mdns: config.discovery.mdns, backoff,
      peers: { mode: config.peers.mode === 'org' ? 'open' : config.peers.mode, allow: allowedPeerIds(config) }, logger, start: false,
      onRefused: (peer, direction, reason, remote) => record({ who: peer, what: 'peer.refused', outcome: 'refused', remote, detail: { direction, reason } }),
    })
    cleanups.push(() => host.stop())
    const handler: LinkHandler = {
      linkUp: (peer, info) => {
        logger.info({ peer, latencyMs: info.latencyMs }, 'peer connected')
        if (admission === undefined) record({ who: peer, what: 'peer.accepted', outcome: 'ok' }) // else audited once its certificate is judged
        engine.linkUp(peer, info)
      },
      linkDown: (peer) => { logger.info({ peer }, 'peer disconnected'); admission?.forget(peer); engine.linkDown(peer) },
      receive: (peer, frame) => engine.receive(peer, frame),
      drain: (peer) => engine.drain(peer),
      linkMeasured: (peer, info) => engine.linkMeasured(peer, info),
    }
    const declaredLinks = new Map(config.peers.links.map(l => [l.peer, l]))
    transport = attachFrameTransport(host, handler, {
      writeQueueBytesMax: linkWriteQueueBytes, logger, declaredLink: (peer) => declaredLinks.get(peer), backoff,
      onPeerMisbehaved: (peer, reason) => record({ who: peer, what: 'peer.refused', outcome: 'refused', detail: { reason } }),
    })
    const ft = transport
    cleanups.push(() => ft.close())
    if (admission !== undefined) {
      const recheck = setInterval(() => {
        admission.recheck().then(cut => {
          for (const { peer, reason } of cut) {
            record({ who: peer, what: 'peer.refused', outcome: 'refused', detail: { reason: `link cut: ${reason}` } })
            ft.disconnect(peer, `no longer admitted: ${reason}`)
          }
        }).catch((e: Error) => logger.error({ err: e.message }, `cannot read ${trustStoreFileName}; peers stay as they were`))
      }, trustRecheckIntervalMs)
      recheck.unref()
      cleanups.push(() => { clearInterval(recheck) })
    }
    await listening(Promise.resolve().then(() => host.start()), 'listen for relays', 'node.listen', '--listen', config.node.listen.join(', '), () => firstBusyAddress(config.node.listen))
    const listen = (): string[] => host.getMultiaddrs().map(String)
    let webStatus: NodeStatus['web']
    const status = (): NodeStatus => {
      const s = engine.status()
      return {
        nodeId, listen: listen(), peers: admission === undefined ? s.peers : s.peers.map(p => ({ ...p, ...admission.orgOf(p.id) })), queuedByPrecedence: s.queuedByPrecedence,
        // A getter: JSON (/status) reads it, the metrics do not, so a scrape costs no pass over the store's index.
        get away () { return engine.awayPeers() },
        envelopes: s.envelopes, storeBytes: s.storeBytes, storageBytesMax: s.storageBytesMax, counters: s.counters, uptimeMs: clock.monotonicMs() - started,
        ...(webStatus !== undefined ? { web: webStatus } : {}),
        ...(admission !== undefined ? { orgs: [...admission.trust().orgs.entries()].map(([ref, o]) => ({ ref, name: o.name, role: o.role, ...(o.distrustedAtMs !== undefined ? { cutOffMs: o.distrustedAtMs } : {}) })) } : {}),
      }
    }
    // Who may use the client API: clients.allow, and devices enrolled with a one-time code (clients.json).
    const registry = await ClientRegistry.open({
      dataDir, operator: user.ed25519.publicKey, configured: clientAllowed(config, user.ed25519.publicKey),
      // Code expiry timers are bounds, not work: they must not keep a stopping relay alive.
      clock: systemClock, crypto, randomBytes: (n) => new Uint8Array(randomBytes(n)), audit: appendDurable, record,
    })
    cleanups.push(() => { registry.close() })
    enrolledAuthor = (ref) => registry.enrolledAuthor(ref)
    // A partner's channel adds this relay's own users only with our organisation's certificate for them (#29).
    if (admission !== undefined) {
      policy.ownUsers = {
        org: () => { const own = admission.store().own; return own === null ? undefined : { ref: orgRef(own.key), name: own.name } },
        isLocal: (ed) => registry.isAllowed(ed),
      }
    }
    const bundles = createBundles({
      engine, channels: () => policy.store.channels(), crypto, nodeId, nodeKey: auditKeyFromNodeKey(nodeKey),
      audit: appendDurable, auditReady: gate.require, nowMs: () => clock.nowMs(),
      peerHolds: createPeerHolds({ dir: join(dataDir, peerHoldsDirName), crypto }),
    })
    const facade = createFacade(engine, hub, {
      nodeId, status: () => status() as unknown as Record<string, unknown>, registry, channels: (u) => policy.memberships(u, channelListMax), bundles, admit: gate.submission,
    })
    const onEvent: ClientApiOptions['onEvent'] = (e, remote) => {
      const who = e.user !== undefined ? toHex(e.user) : 'unauthenticated client'
      if (e.type === 'authenticated') record({ who, what: 'client.authenticated', outcome: 'ok', remote })
      else record({ who, what: 'client.refused', outcome: 'refused', remote, detail: { reason: e.type === 'auth-refused' ? e.reason : `disconnected: ${e.detail ?? e.reason}` } })
    }
    const limits = apiRateLimits(config.api.requestsPerSecond)
    const site = createStaticSite({ root: config.web.root ?? defaultWebRoot, logger })
    const api = await listening(startClientApi({
      host: config.api.listen.host, port: config.api.listen.port, facade, crypto, logger, site, onEvent, limits,
    }), 'serve the client API', 'api.listen', '--api', `${config.api.listen.host}:${config.api.listen.port}`)
    cleanups.push(() => api.close())
    // The relay's own certificate exists from init (made now for a data directory from before);
    // an organisation's is read only when the HTTPS listener is on.
    const own = await ensureWebCertificate(dataDir, { nowMs: clock.nowMs(), hosts: certificateHosts(config.web.listen === undefined ? [] : [config.web.listen.host]) })
    let web: RunningNode['web']
    if (config.web.listen !== undefined) {
      const certificate = config.web.cert !== undefined && config.web.key !== undefined
        ? await loadWebCertificate(config.web.cert, config.web.key, 'configured').catch((e: Error) => { throw new ConfigError(`web.cert and web.key: ${e.message}`, { cause: e }) })
        : own.certificate
      const lan = await listening(startClientApi({
        host: config.web.listen.host, port: config.web.listen.port, facade, crypto, logger, site, onEvent, limits,
        tls: { cert: certificate.cert, key: certificate.key }, wsPath: '/api',
      }), 'serve the field app over HTTPS', 'web.listen', '--web', formatHostPort(config.web.listen))
      cleanups.push(() => lan.close())
      web = { ...lan.address, fingerprint: certificate.fingerprint, certificate }
      webStatus = { listen: formatHostPort(lan.address), fingerprint: certificate.fingerprint }
      logger.info({ listen: webStatus.listen, fingerprint: certificate.fingerprint, certificate: certificate.certPath }, 'field app served over HTTPS')
    }
    const admin = await listening(startAdmin({
      host: config.admin.listen.host, port: config.admin.listen.port, status,
      onRefused: (source, reason) => record({ who: 'admin client', what: 'admin.refused', outcome: 'refused', remote: source, detail: { reason } }),
    }), 'serve the admin endpoints', 'admin.listen', '--admin', `${config.admin.listen.host}:${config.admin.listen.port}`)
    cleanups.push(() => admin.close())
    // Client commands on this data directory read where we listen from here (node/endpoints.ts).
    await writeEndpoints(dataDir, { api: api.address, admin: admin.address, requestsPerSecond: config.api.requestsPerSecond })
    cleanups.push(() => removeEndpoints(dataDir))
    const configHash = await recordConfig({ dataDir, config, audit: appendDurable })
    if (admission !== undefined) await recordTrust({ dataDir, store: admission.store(), audit: appendDurable }) // what ddil org changed while the relay was stopped
    await audit.append({ who: 'operator', what: 'node.started', outcome: 'ok', detail: { listen: listen(), api: `${api.address.host}:${api.address.port}`, web: webStatus ?? null, config: configHash } })
    let stopping: Promise<void> | undefined
    return {
      nodeId, dataDir, firstRun, listen: listen(), api: api.address, web, webCertificateCreated: own.created, admin: admin.address, engine, status,
      stop: () => {
        stopping ??= (async () => {
          budget.close() // the counts still being summarised, before the stop (into refusals, which then writes its own)
          refusals.close()
          // A log that failed gets one more attempt now rather than at its next retry, so the stop is recorded.
          await audit.recover()
            .then(() => audit.append({ who: 'operator', what: 'node.stopped', outcome: 'ok' }))
            .then(() => audit.checkpoint('stop'))
            .catch((e: Error) => { logger.error({ err: e.message }, 'the audit log could not record the stop') })
          await cleanup()
          pino.flush()
        })()
        return stopping
      },
    }
  } catch (e) {
    await cleanup().catch(() => {})
    throw e
  }
}
