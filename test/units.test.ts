// Units: durations, sizes, rates, percentages, ranges and Poisson rates parse exactly (table of cases),
// bad input is a ConfigError quoting the value and showing an example, and formatters read back.
import t from 'tap'
import fc from 'fast-check'
import {
  formatBytes, formatDuration, formatRate, parseDuration, parseDurationRange, parsePercent, parsePoissonRate,
  parseRate, parseSize, parseSizeRange,
} from '../protocol/units.ts'
import { testSeed } from './helpers/seed.ts'

t.test('durations', async t => {
  const cases: Array<[string | number, number]> = [
    ['500ms', 500], ['30s', 30_000], ['10m', 600_000], ['6h', 21_600_000], ['7d', 604_800_000],
    ['2h30m', 9_000_000], ['1h', 3_600_000], ['1m30s500ms', 90_500], ['1.5h', 5_400_000], ['0', 0], [0, 0], ['0s', 0],
  ]
  for (const [text, ms] of cases) t.equal(parseDuration(text), ms, `${text} = ${ms} ms`)
  for (const bad of ['', '5', 5, '5 minutes', '30S', '1s2h', '1m1m', '-5s', '1.s', 'h', '2h 30m', '1e3s']) {
    t.throws(() => parseDuration(bad as string), { code: 'ERR_CONFIG', message: new RegExp(`^invalid duration ${JSON.stringify(String(bad)).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(write it like .*30s`) }, `refuses ${JSON.stringify(bad)}`)
  }
})

t.test('sizes: KB is 1000 B, KiB is 1024 B', async t => {
  const cases: Array<[string, number]> = [
    ['200B', 200], ['4KB', 4000], ['4kB', 4000], ['50MB', 50_000_000], ['1GB', 1e9], ['20MB', 20e6],
    ['64KiB', 65_536], ['1MiB', 1_048_576], ['1.5KB', 1500], ['0B', 0], ['1 KB', 1000],
  ]
  for (const [text, bytes] of cases) t.equal(parseSize(text), bytes, `${text} = ${bytes} B`)
  for (const bad of ['200', '4Kb', '4kb', 'KB', '1.0005KB', '-1B', '4 K B', '1e3B']) {
    t.throws(() => parseSize(bad), { code: 'ERR_CONFIG', message: new RegExp(`"${bad.replace('.', '\\.')}".*200B, 4KB`) }, `refuses ${bad}`)
  }
})

t.test('rates are bits per second', async t => {
  const cases: Array<[string, number]> = [['9.6kbps', 9600], ['64kbps', 64_000], ['1Mbps', 1e6], ['2.4kbps', 2400], ['300bps', 300], ['1Gbps', 1e9]]
  for (const [text, bps] of cases) t.equal(parseRate(text), bps, `${text} = ${bps} bit/s`)
  for (const bad of ['9.6', '64KBps', '1MB', '0kbps', 'fast', '1 Mb']) {
    t.throws(() => parseRate(bad), { code: 'ERR_CONFIG', message: /invalid rate ".*" \(write it like .*9\.6kbps/ }, `refuses ${bad}`)
  }
})

t.test('percentages', async t => {
  const cases: Array<[string | number, number]> = [['2%', 0.02], ['0%', 0], ['100%', 1], ['12.5%', 0.125], [0, 0]]
  for (const [text, p] of cases) t.equal(parsePercent(text), p, `${text} = ${p}`)
  for (const bad of ['2', 0.02, '101%', '-1%', '%', '2 %']) {
    t.throws(() => parsePercent(bad as string), { code: 'ERR_CONFIG', message: /invalid percentage .* \(write it like/ }, `refuses ${bad}`)
  }
})

t.test('size and duration ranges', async t => {
  t.same(parseSizeRange('100B..1KB'), { minBytes: 100, maxBytes: 1000 })
  t.same(parseSizeRange('140B'), { minBytes: 140, maxBytes: 140 })
  t.same(parseDurationRange('25s..35s'), { minMs: 25_000, maxMs: 35_000 })
  t.same(parseDurationRange('2m'), { minMs: 120_000, maxMs: 120_000 })
  for (const bad of ['1KB..100B', '100B..', '100B..1KB..2KB', '..1KB']) {
    t.throws(() => parseSizeRange(bad), { code: 'ERR_CONFIG', message: /"/ }, `refuses size range ${bad}`)
  }
  t.throws(() => parseDurationRange('35s..25s'), { code: 'ERR_CONFIG', message: /shortest first/ })
})

t.test('Poisson rates are events per millisecond', async t => {
  const cases: Array<[string, number]> = [['20/h', 20 / 3_600_000], ['3/10m', 3 / 600_000], ['0.5/s', 0.5 / 1000], ['1/d', 1 / 86_400_000]]
  for (const [text, perMs] of cases) t.equal(parsePoissonRate(text), perMs, `${text}`)
  for (const bad of ['20', '20/hour', '/h', '0/h', '20/0s', 'h/20']) {
    t.throws(() => parsePoissonRate(bad), { code: 'ERR_CONFIG', message: /invalid Poisson rate ".*" \(write it like .*20\/h/ }, `refuses ${bad}`)
  }
})

t.test('formatters', async t => {
  const durations: Array<[number, string]> = [[0, '0ms'], [500, '500ms'], [9_000_000, '2h30m'], [90_500, '1m30s500ms'], [604_800_000, '7d'], [833.3333333, '833.333ms']]
  for (const [ms, text] of durations) t.equal(formatDuration(ms), text)
  const sizes: Array<[number, string]> = [[200, '200B'], [1500, '1.5KB'], [4000, '4KB'], [50e6, '50MB'], [1e9, '1GB'], [0, '0B']]
  for (const [bytes, text] of sizes) t.equal(formatBytes(bytes), text)
  const rates: Array<[number, string]> = [[9600, '9.6kbps'], [1e6, '1Mbps'], [300, '300bps']]
  for (const [bps, text] of rates) t.equal(formatRate(bps), text)
})

t.test('formatDuration reads back through parseDuration (property)', async t => {
  const seed = testSeed(t)
  fc.assert(fc.property(fc.integer({ min: 0, max: 400 * 86_400_000 }), ms => parseDuration(formatDuration(ms)) === ms), { seed, numRuns: 500 })
  // formatBytes keeps 3 decimals: it reads back within 0.05% (exactly below 1000 B).
  fc.assert(fc.property(fc.integer({ min: 0, max: 2 ** 40 }), n => {
    const back = parseSize(formatBytes(n))
    return n < 1000 ? back === n : Math.abs(back - n) <= n * 0.0005
  }), { seed, numRuns: 500 })
  t.pass(`round trips hold (seed ${seed})`)
})
