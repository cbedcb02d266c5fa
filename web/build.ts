/**
 * Builds the field client into web/dist: `npm run build:web` (and `npm install`, through
 * `prepare`). esbuild bundles and minifies web/src/main.ts and its CSS into content-hashed
 * assets (served with immutable caching), writes index.html naming them, and builds the
 * service worker (web/dist/sw.js, at a fixed URL: a worker's scope is its path) with the
 * list of assets it caches and a version derived from their names, so a new build
 * replaces the old cache. Nothing is fetched from outside the relay.
 *
 * @example
 * node web/build.ts            // web/dist/index.html, web/dist/sw.js, web/dist/assets/*
 * await buildWeb({ outDir })    // the same elsewhere (the benchmark measures a fresh build)
 * node web/build.ts --quiet    // no summary line
 * node web/build.ts --out DIR  // into DIR (npm run package builds a bundle's copy)
 */
import { build } from 'esbuild'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { basename, join, relative } from 'node:path'

const here = fileURLToPath(new URL('.', import.meta.url))
export const defaultDistDir = join(here, 'dist')

/** Browsers the app targets: Chromium, Firefox and Safari from 2023 on (String#isWellFormed, <dialog>, :has). */
const targets = ['chrome111', 'firefox119', 'safari16.4']

/** Builds into `outDir` (default web/dist, which the relay serves); returns the files written, relative to it. */
export async function buildWeb (options: { quiet?: boolean, outDir?: string } = {}): Promise<{ files: string[] }> {
  const distDir = options.outDir ?? defaultDistDir
  rmSync(distDir, { recursive: true, force: true })
  mkdirSync(join(distDir, 'assets'), { recursive: true })
  const app = await build({
    entryPoints: [join(here, 'src/main.ts'), join(here, 'src/app.css')],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: targets,
    outdir: join(distDir, 'assets'),
    entryNames: '[name]-[hash]',
    assetNames: '[name]-[hash]',
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  })
  const outputs = Object.keys(app.metafile.outputs).map(p => relative(distDir, p).split('\\').join('/'))
  const script = outputs.find(p => p.endsWith('.js'))
  const style = outputs.find(p => p.endsWith('.css'))
  if (script === undefined || style === undefined) throw new Error(`esbuild produced no script or stylesheet: ${outputs.join(', ')}`)
  const template = readFileSync(join(here, 'src/index.html'), 'utf8')
  writeFileSync(join(distDir, 'index.html'), template.replace('%SCRIPT%', script).replace('%STYLE%', style))
  writeFileSync(join(distDir, 'manifest.webmanifest'), readFileSync(join(here, 'src/manifest.webmanifest')))
  const shell = ['./', ...outputs.map(p => `./${p}`), './manifest.webmanifest']
  const version = createHash('sha256').update(shell.join('\n')).digest('hex').slice(0, 16)
  await build({
    entryPoints: [join(here, 'src/sw.ts')],
    bundle: true,
    minify: true,
    format: 'iife',
    platform: 'browser',
    target: targets,
    outfile: join(distDir, 'sw.js'),
    define: { __SHELL__: JSON.stringify(shell), __VERSION__: JSON.stringify(version) },
    legalComments: 'none',
    logLevel: 'warning',
  })
  const files = ['index.html', 'sw.js', 'manifest.webmanifest', ...outputs]
  if (options.quiet !== true) process.stdout.write(`web/dist: ${files.map(f => basename(f)).join(', ')} (shell ${version})\n`)
  return { files }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv.indexOf('--out')
  await buildWeb({ quiet: process.argv.includes('--quiet'), ...(out > 0 && process.argv[out + 1] !== undefined ? { outDir: process.argv[out + 1] } : {}) })
}
