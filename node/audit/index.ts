/**
 * The node's tamper-evident audit log: open it, append security events, verify and export it.
 * docs/AUDIT.md describes the file format and what verification can and cannot detect.
 *
 * @example
 * const log = await openAuditLog({ dataDir, crypto, key: auditKeyFromNodeKey(nodeKey), node: peerId, now: () => clock.nowMs() })
 * await log.append({ who: 'operator', what: 'config.changed', outcome: 'ok', detail: { key: 'log.level' } })
 * const report = await verifyAuditLog(dataDir, crypto)
 */
export { openAuditLog, AuditLog, type AuditLogOptions } from './log.ts'
export { verifyAuditLog, type AuditVerifyResult, type VerifyOptions, type AuditProblem, type AuditProblemKind } from './verify.ts'
export { exportAuditLog, exportAuditHead, exportAuditRecords, type ExportWindow, type ExportedRecord } from './export.ts'
export { auditKeyFromNodeKey, readNodePublicKey } from './key.ts'
export { auditPaths } from './files.ts'
export { RefusalSummaries, type RefusalSummariesOptions } from './repeats.ts'
export type { AuditEvent } from './sanitise.ts'
export {
  auditEventTypes, auditOutcomes, auditFormatVersion,
  type AuditEntry, type AuditEventType, type AuditOutcome,
} from './format.ts'
