// #23 in the field app, end to end: a real relay, a real headless Chromium enrolled on it, and the
// operator's `ddil` CLI. The operator sends a long message and a small PNG, then adds the phone's
// user with the channel's history (so the phone gets their manifests from the backlog and fetches
// the chunks with filePage), then sends a non-image file while the phone has the channel open
// (every piece live). The phone shows the long message whole, the image inline from a blob: URL,
// and the other file as a download link; the sender's `ddil tail` sees both files delivered to 1
// of 1 (the phone acknowledges a file only once it is whole and checked). The device keeps the
// manifests, not the chunks, and after a reload fetches the image again. Screenshots of the channel
// go to out/test-web/web-files/.
import t from 'tap'
import { deflateSync, crc32 } from 'node:zlib'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { browserMissing, shotsDir } from './helpers/browser.ts'
import { ddil, follow } from './helpers/cli.ts'
import { enrolledPhone, pin } from './helpers/field.ts'
import { Kind } from '../protocol/envelope.ts'
import { fileChunkBytes } from '../protocol/limits.ts'
import { fetchPieces, FileShelf, isInlineImage } from '../web/src/files.ts'
import { cleanupRelays, Relay, waitFor } from './helpers/relays.ts'

const missing = browserMissing()
if (missing !== undefined) throw new Error(missing)

const work = mkdtempSync(join(tmpdir(), 'ddil-web-files-'))
t.teardown(() => { rmSync(work, { recursive: true, force: true }); cleanupRelays() })

/** A valid PNG of `side`² RGB pixels in a fixed noisy pattern (so it does not compress below a few KB, and takes several chunks). */
function png (side: number): Uint8Array {
  const chunk = (type: string, data: Uint8Array): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const out = Buffer.alloc(8 + data.length + 4)
    out.writeUInt32BE(data.length, 0)
    body.copy(out, 4)
    out.writeUInt32BE(crc32(body), 8 + data.length)
    return out
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(side, 0); header.writeUInt32BE(side, 4)
  header[8] = 8; header[9] = 2 // 8-bit RGB; compression, filter and interlace 0
  const rows = Buffer.alloc(side * (1 + side * 3))
  let x = 0x2545f491
  for (let i = 0; i < rows.length; i++) {
    if (i % (1 + side * 3) === 0) continue // filter byte 0
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5 // xorshift32: noise, the same every run
    rows[i] = x & 0xff
  }
  return new Uint8Array(Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', new Uint8Array())]))
}

t.test('the shelf of whole files keeps within its bound, oldest let go first; a fetch pages until the file is whole', async t => {
  const shelf = new FileShelf(10)
  t.same(shelf.keep('a', 'ch', new Uint8Array(4), 'image/png'), [])
  t.same(shelf.keep('b', 'ch', new Uint8Array(4), 'text/html'), [])
  t.equal(shelf.blob('a')?.type, 'image/png', 'an inline image keeps its type')
  t.equal(shelf.blob('b')?.type, 'application/octet-stream', 'anything else is plain bytes: it can be saved, never rendered')
  t.same(shelf.keep('c', 'ch', new Uint8Array(4), 'image/svg+xml'), [{ id: 'a', channel: 'ch' }], 'the oldest goes')
  t.notOk(shelf.isDone('a'), 'and can be fetched again')
  t.ok(shelf.isDone('c'))
  t.same(shelf.keep('d', 'ch', new Uint8Array(20), 'image/png'), [{ id: 'b', channel: 'ch' }, { id: 'c', channel: 'ch' }], 'a file over the bound alone is still kept')
  t.ok(isInlineImage('IMAGE/JPEG'))
  t.notOk(isInlineImage('image/svg+xml'), 'no SVG inline')

  const asked: Array<string | undefined> = []
  const pages = [{ pieces: [new Uint8Array([1]), new Uint8Array([2])], more: true, after: new Uint8Array([2]) }, { pieces: [new Uint8Array([3])], more: true, after: new Uint8Array([3]) }, { pieces: [], more: false }]
  const api = { filePage: async (_c: Uint8Array, _f: Uint8Array, after?: Uint8Array) => { asked.push(after?.join()); return pages[asked.length - 1] } }
  const got: number[] = []
  let waits = 0
  await fetchPieces(api, new Uint8Array(8), new Uint8Array(32), b => { got.push(b[0]) }, () => false, async () => { waits++ })
  t.same(got, [1, 2, 3])
  t.same(asked, [undefined, '2', '3'], 'each page after the last')
  t.equal(waits, 2, 'a pause between requests')
  asked.length = 0
  await fetchPieces(api, new Uint8Array(8), new Uint8Array(32), () => {}, () => true, async () => {})
  t.equal(asked.length, 1, 'no more pages once the file is whole')
})

t.test('a long message, an image and another file sent with the CLI show whole on the phone; the sender sees them delivered', async t => {
  const a = await Relay.init('web-files')
  a.writeConfig({ authors: [] })
  await a.start()
  t.teardown(async () => { await a.kill('SIGKILL') })
  const ana = await enrolledPhone(a, 'Ana')
  t.teardown(async () => { await ana.close() })
  const anaKey = await ana.key()

  const created = await ddil(['channel', 'create', '--data', a.dataDir, 'levee'])
  t.equal(created.code, 0, created.stderr)

  const report = 'Levee breach at km 12: evacuate sectors 4 to 9 via route B. '.repeat(60).trim()
  const sentText = await ddil(['send', '--data', a.dataDir, 'levee', report])
  t.equal(sentText.code, 0, sentText.stderr)
  const image = png(40)
  t.ok(image.length > 3 * fileChunkBytes, `the PNG (${image.length} bytes) takes several chunks`)
  writeFileSync(join(work, 'breach.png'), image)
  const sentImage = await ddil(['send', '--data', a.dataDir, 'levee', '--file', join(work, 'breach.png'), '--caption', 'north bank'])
  t.equal(sentImage.code, 0, sentImage.stderr)
  const added = await ddil(['channel', 'add', '--data', a.dataDir, 'levee', anaKey, '--share-history'])
  t.equal(added.code, 0, added.stderr)

  // The phone finds the channel at its next channel-list poll and follows it: manifests from the backlog.
  const p = ana.page
  await p.goto(new URL('#/', p.url()).href)
  await p.getByRole('link', { name: /levee/ }).click()
  const messages = p.locator('.messages')
  const long = messages.locator('li.msg p.text', { hasText: 'Levee breach at km 12' })
  await long.waitFor()
  t.equal(await long.innerText(), report, 'the long message is shown whole, as one text')

  const img = messages.locator('li.msg', { hasText: 'breach.png' }).locator('img.file-image')
  await img.waitFor()
  // Evaluated as text: the page's DOM typings are not the test's.
  await p.waitForFunction(`[...document.querySelectorAll('img.file-image')].some(i => i.complete && i.naturalWidth > 0)`)
  const shown = await p.evaluate(`(i => ({ src: i.src, width: i.naturalWidth, alt: i.alt }))(document.querySelector('img.file-image'))`) as { src: string, width: number, alt: string }
  t.match(shown, { width: 40, alt: 'north bank' }, 'the image decodes in the browser at its size')
  t.match(shown.src, /^blob:/, 'from a blob: URL')
  await messages.locator('li.msg', { hasText: 'breach.png' }).getByText('image/png').waitFor()

  // Live: every piece through the subscription while the channel is on screen.
  const notes = new Uint8Array(5000).map((_, i) => (i * 7) & 0xff)
  writeFileSync(join(work, 'plan.pdf'), notes)
  const sentPdf = await ddil(['send', '--data', a.dataDir, 'levee', '--file', join(work, 'plan.pdf')])
  t.equal(sentPdf.code, 0, sentPdf.stderr)
  const save = messages.getByRole('link', { name: 'Save plan.pdf' })
  await save.waitFor()
  t.equal(await save.getAttribute('download'), 'plan.pdf', 'a download link with the file\'s name')
  t.match(await save.getAttribute('href'), /^blob:/)
  const [download] = await Promise.all([p.waitForEvent('download'), save.click()])
  t.equal(download.suggestedFilename(), 'plan.pdf', 'saved under its name')
  t.same(new Uint8Array(readFileSync(await download.path())), notes, 'the bytes sent')
  t.equal(await messages.locator('li.msg', { hasText: 'plan.pdf' }).locator('img').count(), 0, 'a PDF is not shown inline')

  const tail = follow(['tail', 'levee', '--follow', '--data', a.dataDir])
  t.teardown(() => { tail.child.kill('SIGKILL') })
  await tail.line(/file breach\.png.*delivered to 1 of 1/)
  await tail.line(/file plan\.pdf.*delivered to 1 of 1/)
  t.pass('the sender\'s tail shows both files delivered to 1 of 1')

  // The phone sends: a long message (its chunks go as a batch) and a file from the composer.
  const reply = 'Phone report from the levee: sandbags holding at km 11, water still rising. '.repeat(40).trim()
  await p.getByRole('textbox', { name: 'Message' }).fill(reply)
  await p.getByRole('button', { name: /^Send/ }).click()
  await tail.line(/Phone report from the levee: sandbags holding at km 11, water still rising\. Phone report/)
  t.pass('a long message from the phone reaches the CLI whole')
  const photo = png(24)
  await p.getByLabel('Attach a file').setInputFiles({ name: 'south.png', mimeType: 'image/png', buffer: Buffer.from(photo) })
  await p.getByRole('textbox', { name: 'Message' }).fill('south bank')
  await p.getByRole('button', { name: /^Send/ }).click()
  const mine = messages.locator('li.msg.mine', { hasText: 'south.png' })
  await mine.getByText('Delivered to 1 of 1').waitFor()
  t.pass('the phone\'s file is delivered to 1 of 1 once the CLI has it whole')
  await p.waitForFunction(`[...document.querySelectorAll('li.msg.mine img.file-image')].some(i => i.complete && i.naturalWidth === 24)`)
  await ana.shot(shotsDir(import.meta.url), 'files')
  const line = await tail.line(/south\.png complete .*ddil get [0-9a-f]{16} ([0-9a-f]{16})/)
  const id = (/ddil get [0-9a-f]{16} ([0-9a-f]{16})/.exec(line) as RegExpExecArray)[1]
  const got = await ddil(['get', '--data', a.dataDir, 'levee', id, '--out', join(work, 'got.png')])
  t.equal(got.code, 0, got.stderr)
  t.same(new Uint8Array(readFileSync(join(work, 'got.png'))), photo, 'the CLI gets the bytes the phone sent')

  const manifests = async (): Promise<number> => (await ana.stored('envelopes') as Array<{ kind: number }>).filter(r => r.kind === Kind.file).length
  await waitFor('the manifests in the device\'s cache', async () => await manifests() >= 5 ? true : undefined)
  t.equal(await manifests(), 5, 'the device caches the five manifests and none of the chunks')
  await p.reload()
  await ana.unlock(pin)
  await img.waitFor()
  await p.waitForFunction(`[...document.querySelectorAll('img.file-image')].some(i => i.complete && i.naturalWidth === 40)`)
  await long.waitFor()
  t.pass('after a reload the image is fetched again and the long message shown whole')
  t.same(ana.errors, [], 'no uncaught errors in the page')
})
