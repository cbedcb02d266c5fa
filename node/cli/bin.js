#!/usr/bin/env node
// Plain JavaScript on purpose: it must run on any Node to tell an old Node what it needs,
// before Node tries (and fails) to load the TypeScript entry point.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`ddil needs Node 22.18 or newer (it runs TypeScript by type stripping); this is Node ${process.versions.node}. Run it through npm (npm start, npx ddil), which uses the Node 24 that npm install put in node_modules/.bin.\n`)
  process.exit(2)
}

// Node strips the types of every .ts file on each run and compiles it and each package:
// for `ddil --help` that was most of its start-up. Node's compile cache keeps both on disk
// for the next run: in this user's cache directory, not in Node's default under the shared
// /tmp, where another local user could plant code for ddil to run. Off under test coverage,
// which Node's documentation says the cache can make less precise. NODE_COMPILE_CACHE still
// chooses the directory, NODE_DISABLE_COMPILE_CACHE=1 turns it off, and where it cannot be
// written ddil runs as it would without it.
const { enableCompileCache } = await import('node:module')
const { homedir } = await import('node:os')
const { isAbsolute, join } = await import('node:path')
/** $XDG_CACHE_HOME, else ~/.cache; undefined when neither is an absolute path (never the working directory). */
function userCacheHome () {
  const xdg = process.env.XDG_CACHE_HOME ?? ''
  if (isAbsolute(xdg)) return xdg
  let home = ''
  try { home = homedir() } catch {} // no home directory: no cache
  return isAbsolute(home) ? join(home, '.cache') : undefined
}
const cacheHome = userCacheHome()
if (cacheHome !== undefined && process.env.NODE_V8_COVERAGE === undefined) enableCompileCache(join(cacheHome, 'ddil-relay', 'node-compile-cache'))
await import('./main.ts')
