/** `ddil audit verify` and `ddil audit export`: check and export the node's audit log (docs/AUDIT.md). */
import type { Command } from 'commander'
import { resolveDataDir } from '../../config/paths.ts'

interface VerifyOpts { data?: string, json?: boolean, anchor?: string }
interface ExportOpts { data?: string, head?: boolean, format: string, since?: string, until?: string }

export function register (program: Command): void {
  const audit = program.command('audit').description('check and export the tamper-evident audit log')
  audit.command('verify')
    .description('check the hash chain and signatures; report where it was modified, deleted, inserted, reordered, truncated or rolled back')
    .option('--data <dir>', 'data directory (default: $DDIL_DATA, else ./data)')
    .option('--anchor <head>', 'a head exported earlier with "ddil audit export --head" (the line, or a file whose last line it is): the log must still hold its entry')
    .option('--json', 'print JSON')
    .action(async (opts: VerifyOpts) => {
      const [{ verifyAuditLog }, { createNodeCrypto }, { readAnchor, verifyReport }, { protectedNodePublicKey }] = await Promise.all([
        import('../../audit/index.ts'), import('../../crypto.ts'), import('../../audit/report.ts'), import('../../key-files.ts'),
      ])
      const dataDir = resolveDataDir({ dataDir: opts.data, env: process.env })
      const anchor = opts.anchor === undefined ? undefined : await readAnchor(opts.anchor)
      // A protected node.key keeps its public key in the clear: verifying needs no passphrase.
      const publicKey = await protectedNodePublicKey(dataDir)
      const result = await verifyAuditLog(dataDir, createNodeCrypto(), { anchor, ...(publicKey !== undefined ? { publicKey } : {}) })
      process.stdout.write(opts.json === true ? JSON.stringify(result) + '\n' : verifyReport(result))
      if (!result.ok) process.exitCode = 1
    })
  audit.command('export')
    .description('write the audit log (every rotated file, then the current one) on stdout, or with --head the signed head to keep off the node')
    .option('--data <dir>', 'data directory (default: $DDIL_DATA, else ./data)')
    .option('--format <format>', 'jsonl (the stored lines), csv (RFC 4180) or syslog (RFC 5424)', 'jsonl')
    .option('--since <when>', 'only entries from then on: a time ago (24h, 7d) or an ISO time (2026-01-02T03:04:05Z)')
    .option('--until <when>', 'only entries before then, written like --since')
    .option('--head', 'print only the signed head line (an anchor for "ddil audit verify --anchor")')
    .action(async (opts: ExportOpts) => {
      const [{ exportAuditHead, exportAuditRecords }, { exportFormat, parseTimeBound }] = await Promise.all([import('../../audit/index.ts'), import('../../audit/formats.ts')])
      const dataDir = resolveDataDir({ dataDir: opts.data, env: process.env })
      if (opts.head === true) { process.stdout.write(await exportAuditHead(dataDir) + '\n'); return }
      const format = exportFormat(opts.format)
      const nowMs = Date.now()
      const window = {
        ...(opts.since !== undefined ? { sinceMs: parseTimeBound(opts.since, nowMs, '--since') } : {}),
        ...(opts.until !== undefined ? { untilMs: parseTimeBound(opts.until, nowMs, '--until') } : {}),
      }
      if (format.header !== undefined) process.stdout.write(format.header + format.eol)
      for await (const r of exportAuditRecords(dataDir, window)) process.stdout.write(format.record(r) + format.eol)
    })
}
