#!/usr/bin/env node
// Plain JavaScript on purpose: it must run on any Node to tell an old Node what it needs,
// before Node tries (and fails) to load the TypeScript entry point.
const [major, minor] = process.versions.node.split('.').map(Number)
if (major < 22 || (major === 22 && minor < 18)) {
  process.stderr.write(`ddil needs Node 22.18 or newer (it runs TypeScript by type stripping); this is Node ${process.versions.node}. Run it through npm (npm start, npx ddil), which uses the Node 24 that npm install put in node_modules/.bin.\n`)
  process.exit(2)
}
await import('./main.ts')
