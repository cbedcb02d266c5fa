// The protocol core stays sans-I/O: no Node built-ins, no network or storage libraries, no clocks,
// timers or randomness of its own. Scans every file under protocol/ (comments stripped).
import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'

const root = new URL('../protocol/', import.meta.url).pathname

function files (dir: string): string[] {
  return readdirSync(dir).flatMap(name => {
    const p = join(dir, name)
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : []
  })
}

const forbiddenImports = [/^node:/, /^(fs|path|os|net|http|https|crypto|child_process|worker_threads|timers|dgram|tls|stream|process)$/, /^libp2p/, /^@libp2p\//, /^@chainsafe\//, /^level/, /^classic-level/, /^ws$/, /^pino/]
const forbiddenCalls: Array<[RegExp, string]> = [
  [/\bDate\.now\s*\(/, 'Date.now'],
  [/\bnew\s+Date\s*\(/, 'new Date'],
  [/\bMath\.random\s*\(/, 'Math.random'],
  [/\bset(Timeout|Interval|Immediate)\s*\(/, 'timers'],
  [/\bperformance\.now\s*\(/, 'performance.now'],
  [/\bcrypto\.getRandomValues\s*\(/, 'crypto.getRandomValues'],
  [/\bcrypto\.subtle\b/, 'crypto.subtle'],
  [/\bprocess\s*[.[]/, 'process'],
  [/\brequire\s*\(/, 'require'],
  [/\bimport\s*\(/, 'dynamic import'],
]

function stripComments (src: string): string {
  return src.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
}

export function violations (path: string, src: string): string[] {
  const out: string[] = []
  const code = stripComments(src)
  for (const m of code.matchAll(/(?:import|export)\s[^'"`]*?from\s*['"]([^'"]+)['"]|import\s*['"]([^'"]+)['"]/g)) {
    const spec = m[1] ?? m[2]
    if (forbiddenImports.some(re => re.test(spec))) out.push(`${path}: imports ${spec}`)
  }
  for (const [re, what] of forbiddenCalls) if (re.test(code)) out.push(`${path}: uses ${what}`)
  return out
}

t.test('protocol/ imports no I/O and reads no clock, timer or random source', async t => {
  const all = files(root)
  t.ok(all.length >= 5, `scanned ${all.length} files`)
  const found = all.flatMap(p => violations(p, readFileSync(p, 'utf8')))
  t.same(found, [], found.join('\n'))
})

t.test('the checker itself catches each forbidden thing', async t => {
  const samples = [
    "import fs from 'node:fs'", "import { x } from 'libp2p'", "import { y } from '@libp2p/tcp'", "import { Level } from 'level'",
    "import WebSocket from 'ws'", "import pino from 'pino'", 'const t = Date.now()', 'const d = new Date()', 'Math.random()',
    'setTimeout(f, 1)', 'setInterval(f, 1)', 'performance.now()', 'crypto.getRandomValues(b)', 'crypto.subtle.digest()',
    'process.env.X', "const m = await import('x')",
  ]
  for (const s of samples) t.ok(violations('sample.ts', s).length > 0, `caught: ${s}`)
  t.same(violations('ok.ts', "// Date.now() in a comment\nimport { a } from './a.ts'\n"), [], 'comments and relative imports pass')
})

// Folder direction (docs/ARCHITECTURE.md): protocol/ is the core everyone shares and imports neither the
// daemon nor the simulator; the simulator runs the core without the daemon (its crypto is injected); the
// daemon reaches the simulator only through the `ddil sim` command.
const repo = new URL('../', import.meta.url).pathname

/** Every relative import in `dir` that resolves into `target/`, as "file → specifier" (comments stripped). */
function importsInto (dir: string, target: string): string[] {
  return files(join(repo, dir)).flatMap(path => {
    const code = stripComments(readFileSync(path, 'utf8'))
    const specs = [...code.matchAll(/(?:import|export)\s[^'"`]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|import\s*['"]([^'"]+)['"]/g)].map(m => m[1] ?? m[2] ?? m[3])
    return specs.filter(s => s.startsWith('.') && join(path, '..', s).startsWith(join(repo, target) + '/')).map(s => `${path.slice(repo.length)} → ${s}`)
  })
}

/** The testers' commands, the only part of node/ that loads the simulator: `ddil sim`, `ddil contacts` (#24) and `ddil emulate` with its parts (#26). */
const simCommands = ['node/cli/commands/sim.ts ', 'node/cli/commands/contacts.ts ', 'node/cli/commands/emulate.ts ', 'node/emulate/']

t.test('folder direction: protocol/ imports neither node/ nor sim/; sim/ imports no node/; node/ imports sim/ only in the testers\' commands', async t => {
  t.same(importsInto('protocol', 'node'), [], 'protocol/ → node/')
  t.same(importsInto('protocol', 'sim'), [], 'protocol/ → sim/')
  t.same(importsInto('sim', 'node'), [], 'sim/ → node/ (crypto is injected: RunOptions.crypto)')
  t.same(importsInto('node', 'sim').filter(x => !simCommands.some(c => x.startsWith(c))), [], 'node/ → sim/ outside the sim, contacts and emulate commands')
  t.ok(importsInto('node', 'sim').length > 0, 'the checker sees the sim command\'s imports')
})

// The field app (web/src) runs in a browser: from node/ it takes only the client API's codec and its pure
// companions, never a Node built-in; nothing outside web/ imports it but its own build and tests.
const webFromNode = new Set(['node/api/wire.ts', 'node/api/errors.ts', 'node/api/auth.ts', 'node/api/base64url.ts', 'node/api/facade.ts', 'node/api/limits.ts'])

t.test('folder direction: web/src takes from node/ only the client API codec; protocol/, node/ and sim/ import no web/', async t => {
  const resolved = importsInto('web/src', 'node').map(x => {
    const [file, spec] = x.split(' → ')
    return join(file, '..', spec)
  })
  t.ok(resolved.length > 0, 'the checker sees the app\'s imports of node/api')
  t.same(resolved.filter(p => !webFromNode.has(p)), [], 'web/src → node/ beyond the client API codec')
  t.same(importsInto('web/src', 'sim'), [], 'web/src → sim/')
  for (const dir of ['protocol', 'node', 'sim']) t.same(importsInto(dir, 'web'), [], `${dir}/ → web/`)
  const builtins = files(join(repo, 'web/src')).filter(p => /from\s*['"](node:|ws['"])/.test(stripComments(readFileSync(p, 'utf8'))))
  t.same(builtins, [], 'web/src imports no Node built-in and no ws')
})
