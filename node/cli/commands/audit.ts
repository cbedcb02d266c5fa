/** `ddil audit verify` and `ddil audit export`: check and export the node's audit log. */
import type { Command } from 'commander'
import { resolveDataDir } from '../../config/paths.ts'

export function register (program: Command): void {
  const audit = program.command('audit').description('check and export the tamper-evident audit log')
  audit.command('verify')
    .description('check the hash chain and signatures; report where it was modified, deleted, inserted, reordered or truncated')
    .option('--data <dir>', 'data directory (default: $DDIL_DATA, else ./data)')
    .option('--json', 'print JSON')
    .action(async (opts: { data?: string, json?: boolean }) => {
      const [{ verifyAuditLog }, { createNodeCrypto }, { protectedNodePublicKey }] = await Promise.all([import('../../audit/index.ts'), import('../../crypto.ts'), import('../../key-files.ts')])
      const dataDir = resolveDataDir({ dataDir: opts.data, env: process.env })
      // A protected node.key keeps its public key in the clear: verifying needs no passphrase.
      const publicKey = await protectedNodePublicKey(dataDir)
      const result = await verifyAuditLog(dataDir, createNodeCrypto(), publicKey !== undefined ? { publicKey } : {})
      if (opts.json === true) process.stdout.write(JSON.stringify(result) + '\n')
      else if (result.ok) process.stdout.write(`audit log intact: ${result.entries} entries, all signed checkpoints and the head verify\n`)
      else {
        process.stdout.write(`audit log FAILED verification (${result.problems.length} problem${result.problems.length === 1 ? '' : 's'} in ${result.entries} entries):\n`)
        for (const p of result.problems) process.stdout.write(`  line ${p.line}${p.seq !== undefined ? ` (seq ${p.seq})` : ''}: ${p.kind}: ${p.message}\n`)
      }
      if (!result.ok) process.exitCode = 1
    })
  audit.command('export')
    .description('write the audit log as JSON lines on stdout')
    .option('--data <dir>', 'data directory (default: $DDIL_DATA, else ./data)')
    .action(async (opts: { data?: string }) => {
      const { exportAuditLog } = await import('../../audit/index.ts')
      const dataDir = resolveDataDir({ dataDir: opts.data, env: process.env })
      for await (const line of exportAuditLog(dataDir)) process.stdout.write(line + '\n')
    })
}
