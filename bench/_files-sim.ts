/**
 * The simulator half of `bench files` (#23): one file over a slow link between two relays,
 * three runs built from YAML in memory and run with the real engines (sim/runner.ts).
 *   (a) the file alone: link utilisation (the file's envelope frames over link capacity ×
 *       the time from posting until the last piece is stored across) and delivery vs the oracle;
 *   (b) the file with flash texts from the same sender every `flashEveryMs`, against the same
 *       flash texts with no file (an idle link): flash latency while the file crosses;
 *   (c) the file alone with the link down once for `dropMs`, starting when (a) had carried
 *       `dropAtShare` of the transfer time: envelope bytes sent beyond the file's own, per drop.
 * The drop's moment is taken from run (a) of the same bench run, not fixed.
 *
 * @example
 * const sim = await simFiles({ fileBytes: 1_000_000, log: console.error })
 * sim.rows   // three rows, one per run
 */
import { createNodeCrypto } from '../node/crypto.ts'
import { analysePairs, type Pair } from '../sim/analysis.ts'
import { runScenario, type RunResult } from '../sim/runner.ts'
import { parseScenario } from '../sim/scenario.ts'
import { FrameType, frameTypeNames } from '../protocol/frames.ts'

type Row = Record<string, string | number | boolean | null>

/** The link the issue names: 64 kbps; a geostationary hop's one-way latency, as scenarios/photo-satcom.yaml. */
export const simLink = { bandwidthBps: 64_000, latencyMs: 600 }
/** Links up and handshakes done well before the file is posted. */
const postAtMs = 60_000
const flashEveryMs = 10_000
const flashBytes = 160
/** The drop: down this long, starting at this share of run (a)'s transfer time. */
const dropMs = 30_000
const dropAtShare = 0.4

interface Case { file: boolean, flash: boolean, drop?: { atMs: number } }

function scenarioText (fileBytes: number, transferMsGuess: number, c: Case): string {
  const durationMs = Math.ceil((postAtMs + 3 * transferMsGuess + dropMs + 120_000) / 1000) * 1000
  const flashCount = Math.ceil(2 * transferMsGuess / flashEveryMs)
  return [
    'name: files-bench',
    'description: one file between two relays over one slow link (bench files)',
    'seed: 23',
    `duration: ${durationMs}ms`,
    'nodes: [a, b]',
    'links:',
    `  - { between: [a, b], bandwidth: ${simLink.bandwidthBps}bps, latency: ${simLink.latencyMs}ms }`,
    'channels:',
    '  - { name: ops, members: all }',
    'traffic:',
    ...(c.file ? [`  - { from: a, channel: ops, at: ${postAtMs}ms, size: ${fileBytes}B, precedence: routine }`] : []),
    ...(c.flash ? [`  - { from: a, channel: ops, at: ${postAtMs + flashEveryMs / 2}ms, count: ${flashCount}, every: ${flashEveryMs}ms, size: ${flashBytes}B, precedence: flash, ttl: 1h }`] : []),
    ...(c.drop === undefined ? [] : ['events:', `  - { at: ${Math.round(c.drop.atMs)}ms, down: [a, b] }`, `  - { at: ${Math.round(c.drop.atMs + dropMs)}ms, up: [a, b] }`]),
    '',
  ].join('\n')
}

interface Ran { result: RunResult, pairs: Pair[], file: Pair | undefined, flashes: Pair[] }

async function run (fileBytes: number, transferMsGuess: number, c: Case): Promise<Ran> {
  const scenario = parseScenario(scenarioText(fileBytes, transferMsGuess, c), 'bench-files.yaml')
  const result = await runScenario(scenario, { crypto: createNodeCrypto() })
  const pairs = analysePairs(result)
  const file = pairs.find(p => p.rec.file !== undefined)
  return { result, pairs, file, flashes: pairs.filter(p => p.rec.post.precedenceName === 'flash') }
}

/** The goal for the link's use while one file crosses it. */
const utilisationGoal = 0.9

export function round (x: number, digits = 2): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

function quantile (xs: number[], q: number): number {
  const s = [...xs].sort((x, y) => x - y)
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]
}

/** Frames other than envelopes that the sender's relay (node a) put on the link: bytes, and by type bytes in frames (mean ms on the link each). */
function controlFromSender (r: RunResult): { bytes: number, byType: string } {
  const { bytesSent, framesSent } = r.nodes[0].counters()
  const types = bytesSent.map((b, type) => ({ b, type, n: framesSent[type] })).filter(x => x.type !== FrameType.envelope && x.b > 0).sort((x, y) => y.b - x.b)
  const each = (x: { b: number, n: number }): string => `${x.b} B in ${x.n} frames, ${round(x.b / x.n * 8 / simLink.bandwidthBps * 1000, 0)} ms each on average`
  return { bytes: types.reduce((n, x) => n + x.b, 0), byType: types.map(x => `${frameTypeNames[x.type]} ${each(x)}`).join('; ') }
}

/** Envelope bytes engines handed to the link (every node; only a sends envelopes here). */
function envelopeBytesSent (r: RunResult): number { return r.counters.payloadBytesSent }

export interface SimFiles { rows: Row[], notes: string[], wireRatio: number, linkWireRatio: number }

export async function simFiles (options: { fileBytes: number, log: (line: string) => void }): Promise<SimFiles> {
  const { fileBytes, log } = options
  // A first guess of the transfer time only sizes the scenario (its duration, how many flashes); every figure comes from the runs.
  const guessMs = (fileBytes * 1.3 * 8) / simLink.bandwidthBps * 1000
  log(`sim: ${fileBytes} B over ${simLink.bandwidthBps / 1000} kbps, alone…`)
  const alone = await run(fileBytes, guessMs, { file: true, flash: false })
  if (alone.file === undefined || !alone.file.delivered) throw new Error('sim: the file was not delivered in the run without faults')
  const rec = alone.file.rec
  const pieces = rec.file?.keys.length ?? 1
  const transferMs = alone.file.latencyMs
  const utilisation = rec.frameBytes * 8 / (simLink.bandwidthBps * transferMs / 1000)
  const chunkFrameBytes = rec.frameBytes / pieces
  const chunkSerialisationMs = chunkFrameBytes * 8 / simLink.bandwidthBps * 1000

  log('sim: with flash texts, and the same flash texts on an idle link…')
  const busy = await run(fileBytes, transferMs, { file: true, flash: true })
  const idle = await run(fileBytes, transferMs, { file: false, flash: true })
  const fileB = busy.file
  if (fileB === undefined) throw new Error('sim: no file in the run with flash texts')
  const during = (p: Pair): boolean => p.rec.createdAtMs >= fileB.rec.createdAtMs && p.rec.createdAtMs <= (fileB.delivered ? fileB.deliveredAtMs : Infinity)
  const busyFlash = busy.flashes.filter(during)
  const busyTimes = new Set(busyFlash.map(p => p.rec.createdAtMs))
  const idleFlash = idle.flashes.filter(p => busyTimes.has(p.rec.createdAtMs))
  const lat = (ps: Pair[]): number[] => ps.map(p => p.delivered ? p.latencyMs : Infinity)
  const [busyP50, busyMax, idleP50, idleMax] = [quantile(lat(busyFlash), 0.5), quantile(lat(busyFlash), 1), quantile(lat(idleFlash), 0.5), quantile(lat(idleFlash), 1)]

  const dropAtMs = postAtMs + dropAtShare * transferMs
  log(`sim: the link down ${dropMs / 1000} s from ${round(dropAtMs / 1000, 1)} s (${dropAtShare * 100}% of the transfer time)…`)
  const dropped = await run(fileBytes, transferMs, { file: true, flash: false, drop: { atMs: dropAtMs } })
  const fileD = dropped.file
  if (fileD === undefined) throw new Error('sim: no file in the run with a drop')
  const ownBytes = dropped.result.ledger.records.filter(r => r.acked).reduce((n, r) => n + r.envelopeBytes, 0)
  const resent = envelopeBytesSent(dropped.result) - ownBytes
  const aloneResent = envelopeBytesSent(alone.result) - rec.envelopeBytes
  const drops = 1
  /** What the link holds at once, in chunks: one being serialised, and latency × rate propagating. */
  const inFlightChunks = 1 + simLink.latencyMs / 1000 * simLink.bandwidthBps / 8 / chunkFrameBytes
  const control = controlFromSender(alone.result)
  const controlBusy = controlFromSender(busy.result)

  const link = `${simLink.bandwidthBps / 1000} kbps, ${simLink.latencyMs} ms`
  const rows: Row[] = [
    {
      part: 'sim: file alone', link, file_bytes: fileBytes, pieces, transfer_s: round(transferMs / 1000, 1),
      vs_oracle: round(alone.file.ratio, 3), utilisation: round(utilisation, 3), goal_utilisation: utilisationGoal, goal_met: utilisation >= utilisationGoal,
      wire_ratio: round(rec.frameBytes / fileBytes, 3), link_bytes_ratio: round(alone.result.wire.bytes / fileBytes, 3),
      control_bytes_a_to_b: control.bytes, control_share_a_to_b: round(control.bytes / (control.bytes + envelopeBytesSent(alone.result)), 3), resent_bytes: aloneResent,
    },
    {
      part: 'sim: file + flash every 10 s', link, file_bytes: fileBytes, transfer_s: fileB.delivered ? round(fileB.latencyMs / 1000, 1) : null,
      vs_oracle: fileB.delivered ? round(fileB.ratio, 3) : null, flashes: busyFlash.length,
      flash_p50_ms: round(busyP50, 0), flash_max_ms: round(busyMax, 0), idle_flash_p50_ms: round(idleP50, 0), idle_flash_max_ms: round(idleMax, 0),
      flash_extra_max_ms: round(busyMax - idleMax, 0), chunk_serialisation_ms: round(chunkSerialisationMs, 0),
      goal_met: busyFlash.length > 0 && busyMax - idleMax <= chunkSerialisationMs,
    },
    {
      part: `sim: link down ${dropMs / 1000} s at ${dropAtShare * 100}%`, link, file_bytes: fileBytes, drops,
      transfer_s: fileD.delivered ? round(fileD.latencyMs / 1000, 1) : null, vs_oracle: fileD.delivered ? round(fileD.ratio, 3) : null,
      delay_beyond_outage_s: fileD.delivered ? round((fileD.latencyMs - transferMs - dropMs) / 1000, 1) : null,
      resent_bytes: resent, resent_bytes_per_drop: round(resent / drops, 0), resent_chunks_per_drop: round(resent / drops / (chunkFrameBytes - 1), 2),
      frames_lost_down: dropped.result.wire.lostDown, link_holds_chunks: round(inFlightChunks, 2), duplicate_bytes_received: dropped.result.counters.duplicatePayloadBytesReceived,
      goal_met: fileD.delivered && resent / drops <= chunkFrameBytes - 1,
    },
  ]
  const notes = [
    `sim: two relays, one ${link} link, no loss (SimNetwork: serialisation at the bandwidth plus latency, one frame on the wire per direction); the file posted at routine at ${postAtMs / 1000} s as ${pieces} pieces, ${rec.frameBytes} B of envelope frames (mean piece frame ${round(chunkFrameBytes, 0)} B, ${round(chunkSerialisationMs, 0)} ms at the link's rate)`,
    `sim: utilisation = the file's envelope frames × 8 / (link bit rate × time from posting until the last piece is stored at b); the time includes one latency (${simLink.latencyMs} ms), the handover and two store writes; goal ≥ ${utilisationGoal}: ${utilisation >= utilisationGoal ? 'met' : 'MISSED'} (${round(utilisation, 3)})`,
    `sim: flash texts (${flashBytes} B) from the sender every ${flashEveryMs / 1000} s; ${busyFlash.length} posted while the file crossed: p50 ${round(busyP50, 0)} ms, max ${round(busyMax, 0)} ms, vs ${round(idleP50, 0)} / ${round(idleMax, 0)} ms for the same texts on an idle link; goal: max within one chunk's serialisation (${round(chunkSerialisationMs, 0)} ms) of idle: ${rows[1].goal_met === true ? 'met' : 'MISSED'}`,
    `sim: besides the file's envelopes, a's relay put ${control.bytes} B of other frames on the link while alone (${control.byType}), ${controlBusy.bytes} B with the flash texts (${controlBusy.byType}); a flash text waits behind whatever frame is on the wire, these included; link_bytes_ratio counts every frame both ways`,
    `sim: re-sent = envelope bytes handed to the link − each envelope's bytes once (${ownBytes} B); one drop of ${dropMs / 1000} s: ${resent} B = ${round(resent / (chunkFrameBytes - 1), 2)} chunks, ${dropped.result.wire.lostDown} frames lost propagating (a frame being serialised when the link drops is lost too, uncounted there), ${dropped.result.counters.duplicatePayloadBytesReceived} B received twice; the link holds ${round(inFlightChunks, 2)} chunks at once (one serialising, ${simLink.latencyMs} ms × ${simLink.bandwidthBps / 1000} kbps propagating); goal ≤ 1 chunk per drop: ${rows[2].goal_met === true ? 'met' : 'MISSED'}`,
  ]
  return { rows, notes, wireRatio: rec.frameBytes / fileBytes, linkWireRatio: alone.result.wire.bytes / fileBytes }
}
