/**
 * Random-waypoint contact traces (#24), the mobility model The ONE has built in: each node
 * starts at a uniformly random point of a rectangle, picks a random waypoint, walks there in
 * a straight line at a speed drawn uniformly from a range, pauses for a time drawn from
 * another, and repeats. Two nodes are in contact while they are within radio range. Positions
 * are sampled every `stepMs` (The ONE's default update interval is 0.1 s); each change of
 * contact becomes one line of The ONE's external-events format, `<seconds> CONN <a> <b> up|down`,
 * hosts numbered from 0 as sim/contacts.ts reads them. Seeded: the same options give the
 * same trace byte for byte.
 *
 * @example
 * const text = randomWaypointTrace({ nodes: 50, widthM: 1500, heightM: 300, rangeM: 100, speedMps: [0.5, 20], pauseS: [0, 60], durationMs: 4_000_000, stepMs: 100, seed: 1 })
 */
import { LimitError } from '../protocol/errors.ts'
import { contactLinesMax, scenarioNodesMax } from '../protocol/limits.ts'
import { Rng } from './rng.ts'

export interface RwpOptions {
  nodes: number
  widthM: number
  heightM: number
  rangeM: number
  /** Walking speed range, metres a second. */
  speedMps: [number, number]
  /** Pause range at each waypoint, seconds. */
  pauseS: [number, number]
  durationMs: number
  /** How often positions are sampled, ms. */
  stepMs: number
  seed: number
}

/** Steps one trace may take (positions sampled × duration), so a typo cannot run for hours. */
export const rwpStepsMax = 10_000_000

interface Walker {
  x: number
  y: number
  /** Where it is heading, and at what speed (m/ms); paused until `pausedUntilMs`. */
  toX: number
  toY: number
  speed: number
  pausedUntilMs: number
}

function uniform (rng: Rng, [min, max]: [number, number]): number { return min + rng.float() * (max - min) }

function newLeg (w: Walker, o: RwpOptions, rng: Rng): void {
  w.toX = rng.float() * o.widthM
  w.toY = rng.float() * o.heightM
  w.speed = uniform(rng, o.speedMps) / 1000
}

/** Moves a walker `dtMs` along its leg; at the waypoint it pauses, then starts the next leg. */
function advance (w: Walker, nowMs: number, dtMs: number, o: RwpOptions, rng: Rng): void {
  if (nowMs < w.pausedUntilMs) return
  const dx = w.toX - w.x
  const dy = w.toY - w.y
  const left = Math.hypot(dx, dy)
  const step = w.speed * dtMs
  if (step < left) { w.x += dx * step / left; w.y += dy * step / left; return }
  w.x = w.toX
  w.y = w.toY
  w.pausedUntilMs = nowMs + uniform(rng, o.pauseS) * 1000
  newLeg(w, o, rng)
}

function check (o: RwpOptions): void {
  const bad = (what: string): never => { throw new LimitError(`random waypoint: ${what}`) }
  if (!Number.isInteger(o.nodes) || o.nodes < 2 || o.nodes > scenarioNodesMax) bad(`--nodes must be 2 to ${scenarioNodesMax}, not ${o.nodes}`)
  if (!(o.widthM > 0 && o.heightM > 0 && o.rangeM > 0)) bad('the area and the range must be positive')
  if (!(o.speedMps[0] > 0 && o.speedMps[0] <= o.speedMps[1])) bad('--speed must be a range of positive speeds, low..high')
  if (!(o.pauseS[0] >= 0 && o.pauseS[0] <= o.pauseS[1])) bad('--pause must be a range of non-negative times, low..high')
  if (!(o.stepMs > 0 && o.durationMs > 0)) bad('--duration and --step must be positive')
  if ((o.durationMs / o.stepMs) * o.nodes > rwpStepsMax) bad(`${o.nodes} nodes over ${o.durationMs / o.stepMs} steps exceed ${rwpStepsMax} node-steps: a longer --step or a shorter --duration`)
}

/** Seconds as The ONE writes them: up to 3 decimals, no trailing zeros. */
function seconds (ms: number): string { return String(Math.round(ms) / 1000) }

/** The trace's lines (without a header); throws LimitError for options out of bounds. */
export function randomWaypointTrace (o: RwpOptions): string {
  check(o)
  const root = Rng.from(o.seed)
  const rngs = Array.from({ length: o.nodes }, (_, i) => root.fork(`rwp/${i}`))
  const walkers: Walker[] = rngs.map(rng => {
    const w: Walker = { x: rng.float() * o.widthM, y: rng.float() * o.heightM, toX: 0, toY: 0, speed: 0, pausedUntilMs: 0 }
    newLeg(w, o, rng)
    return w
  })
  const range2 = o.rangeM * o.rangeM
  const inContact = new Uint8Array(o.nodes * o.nodes)
  const lines: string[] = []
  for (let now = 0; now <= o.durationMs; now += o.stepMs) {
    if (now > 0) walkers.forEach((w, i) => { advance(w, now, o.stepMs, o, rngs[i]) })
    for (let a = 0; a < o.nodes; a++) {
      for (let b = a + 1; b < o.nodes; b++) {
        const dx = walkers[a].x - walkers[b].x
        const dy = walkers[a].y - walkers[b].y
        const near = dx * dx + dy * dy <= range2 ? 1 : 0
        if (near === inContact[a * o.nodes + b]) continue
        inContact[a * o.nodes + b] = near
        lines.push(`${seconds(now)} CONN ${a} ${b} ${near === 1 ? 'up' : 'down'}`)
        if (lines.length >= contactLinesMax) throw new LimitError(`random waypoint: more than ${contactLinesMax} contact changes; a shorter --duration or fewer --nodes`)
      }
    }
  }
  return lines.join('\n') + '\n'
}
