/**
 * Field client benchmark, `npm run bench -- web [--quick] [--json]`:
 * - the app shell a phone downloads (index.html, the hashed script and stylesheet, the
 *   service worker, the manifest: everything it needs to start and to work offline),
 *   raw and compressed with gzip and brotli, and what that costs on a 64 kbps link;
 * - in one run, the time from a send to its display through two relays on loopback,
 *   two ways, interleaved message by message: browser to browser through the app (real
 *   Chromium, typing into the composer until the text is on the other screen), and Node
 *   client to Node client through the client API alone (the CLI's code path). Their ratio
 *   is the app's own overhead: IndexedDB outbox, pure-JS crypto, rendering.
 *
 * @example
 * npm run bench -- web --quick
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { brotliCompressSync, constants, gzipSync } from 'node:zlib'
import type { Page } from 'playwright-core'
import { toHex } from '../protocol/bytes.ts'
import { buildWeb } from '../web/build.ts'
import { channelWithBen, twoRelays } from '../test/helpers/field.ts'
import { browserMissing } from '../test/helpers/browser.ts'
import { waitFor } from '../test/helpers/relays.ts'
import type { BenchOptions, BenchResult } from './types.ts'

/** The bound for the compressed shell, bytes. */
const shellCompressedBytesMax = 150 * 1024
/** The slow link a phone may be on, bits per second. */
const slowLinkBitsPerSecond = 64_000

function quantile (xs: number[], q: number): number {
  const s = [...xs].sort((x, y) => x - y)
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]
}

const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits

/** Each file of a fresh build of the app, raw and compressed. Built aside: web/dist may be serving a running test's relays. */
async function shellSizes (): Promise<Array<Record<string, string | number>>> {
  const dir = mkdtempSync(join(tmpdir(), 'ddil-web-build-'))
  try {
    const { files } = await buildWeb({ quiet: true, outDir: dir })
    return files.map(f => fileSizes(dir, f))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

function fileSizes (dir: string, f: string): Record<string, string | number> {
  const bytes = readFileSync(join(dir, f))
  return {
    file: f, raw_bytes: statSync(join(dir, f)).size, gzip_bytes: gzipSync(bytes, { level: 9 }).length,
    brotli_bytes: brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
  }
}

/** In Ben's page: note when each "bench N" text first appears, by the wall clock in ms. */
const watchScript = `(() => {
  window.__seen = {}
  const look = () => {
    for (const el of document.querySelectorAll('.messages .text')) {
      const m = /^bench (\\d+)$/.exec(el.textContent ?? '')
      if (m !== null && !(m[1] in window.__seen)) window.__seen[m[1]] = performance.timeOrigin + performance.now()
    }
  }
  new MutationObserver(look).observe(document.body, { subtree: true, childList: true, characterData: true })
})()`

async function browserOnce (ana: Page, ben: Page, i: number): Promise<number> {
  await ana.getByRole('textbox', { name: 'Message' }).fill(`bench ${i}`)
  const sent = await ana.evaluate(`(() => { const t = performance.timeOrigin + performance.now(); document.querySelector('form.composer').requestSubmit(); return t })()`) as number
  // Polled from here: the page's CSP forbids the eval that page.waitForFunction needs.
  const seen = await waitFor(`"bench ${i}" on Ben's screen`, async () => await ben.evaluate(`window.__seen[${i}]`) as number | undefined, { everyMs: 5 })
  return seen - sent
}

export async function bench (options: BenchOptions): Promise<BenchResult> {
  const missing = browserMissing()
  if (missing !== undefined) throw new Error(missing)
  options.log('building the app aside to measure it…')
  const sizes = await shellSizes()
  const total = (k: string): number => sizes.reduce((n, r) => n + Number(r[k]), 0)
  const brotli = total('brotli_bytes')

  const count = options.quick ? 5 : 50
  options.log('two relays, two browsers, two Node clients…')
  const f = await twoRelays(undefined, 'bench-web')
  const browser: number[] = []
  const node: number[] = []
  try {
    await channelWithBen(f, 'Bench')
    await f.ben.page.evaluate(watchScript)
    const sa = await f.a.channels()
    const sb = await f.b.channels()
    try {
      const { channel } = await sa.cc.createChannel({ name: 'bench' })
      await sa.cc.addMember(channel, { ed: f.b.user.ed25519.publicKey, x: f.b.user.x25519.publicKey })
      const arrived = new Map<string, number>()
      await waitFor('B to carry the Node channel', async () => (await sb.client.channels()).length > 0 ? true : undefined)
      await sb.open(toHex(channel), r => { if (r.type === 'text') arrived.set(toHex(r.id), performance.timeOrigin + performance.now()) })
      await waitFor('B\'s client to hold the channel keys', () => sb.cc.state(channel) !== undefined ? true : undefined)
      options.log(`${count} messages each way, interleaved…`)
      for (let i = 0; i < count; i++) {
        browser.push(await browserOnce(f.ana.page, f.ben.page, i))
        const t0 = performance.timeOrigin + performance.now()
        const env = await sa.cc.sendText(channel, `node ${i}`)
        await waitFor('the Node client\'s message at B', () => arrived.has(toHex(env.id)) ? true : undefined, { everyMs: 1 })
        node.push((arrived.get(toHex(env.id)) as number) - t0)
      }
    } finally {
      await sa.close()
      await sb.close()
    }
  } finally {
    await f.close()
  }
  const p = (xs: number[], q: number): number => round(quantile(xs, q))
  return {
    rows: [
      ...sizes,
      { file: 'app shell, total', raw_bytes: total('raw_bytes'), gzip_bytes: total('gzip_bytes'), brotli_bytes: brotli },
      { path: 'browser → relay A → relay B → browser (the app)', messages: count, p50_ms: p(browser, 0.5), p95_ms: p(browser, 0.95) },
      { path: 'Node client → relay A → relay B → Node client (client API alone)', messages: count, p50_ms: p(node, 0.5), p95_ms: p(node, 0.95) },
      { path: 'app / client API alone', p50_ratio: round(quantile(browser, 0.5) / quantile(node, 0.5), 2), p95_ratio: round(quantile(browser, 0.95) / quantile(node, 0.95), 2) },
    ],
    notes: [
      `App shell: ${round(brotli / 1024)} KiB with brotli (${round(total('gzip_bytes') / 1024)} KiB gzip, which the relay serves), bound ${shellCompressedBytesMax / 1024} KiB: ${brotli <= shellCompressedBytesMax ? 'within' : 'OVER'}; ${round(brotli * 8 / slowLinkBitsPerSecond)} s at 64 kbps.`,
      'The script holds Preact + htm (≈15 KB minified), Yjs + lib0 for the board (≈79 KB), @noble curves, hashes and ciphers (≈50 KB), qrcode (≈24 KB) and the app and protocol code.',
      'Latency pairs are measured one after the other in one run, on one machine\'s wall clock; the ratio is what the app adds to the client API path (IndexedDB outbox, @noble crypto, rendering).',
    ],
  }
}
