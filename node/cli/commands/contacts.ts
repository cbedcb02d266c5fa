/**
 * `ddil contacts rwp …` (#24): writes a random-waypoint contact trace in The ONE's format
 * (sim/rwp.ts), for a scenario's `contacts:` key. Seeded: the same options and seed give the
 * same trace. To stdout, or `--out FILE`.
 *
 * @example
 * ddil contacts rwp --nodes 50 --area 1500mx300m --range 100m --speed 0.5..20 --pause 0..60 --duration 4000s --seed 1 --out scenarios/traces/rwp-50.one
 */
import type { Command } from 'commander'
import { writeFileSync } from 'node:fs'
import { UsageError } from '../../../protocol/errors.ts'
import { parseDuration } from '../../../protocol/units.ts'

interface RwpOpts { nodes: string, area: string, range: string, speed: string, pause: string, duration: string, step: string, seed: string, out?: string }

const decimal = '(\\d+(?:\\.\\d+)?)'

function metres (text: string, option: string): number {
  const m = new RegExp(`^${decimal}m?$`).exec(text)
  if (m === null) throw new UsageError(`${option} "${text}" is not a distance; write e.g. 100m`)
  return Number(m[1])
}

function area (text: string): { widthM: number, heightM: number } {
  const m = new RegExp(`^${decimal}m?x${decimal}m?$`).exec(text)
  if (m === null) throw new UsageError(`--area "${text}" is not an area; write e.g. 1500mx300m`)
  return { widthM: Number(m[1]), heightM: Number(m[2]) }
}

/** `low..high` (or one number) in the option's unit. */
function range (text: string, option: string, unit: string): [number, number] {
  const m = new RegExp(`^${decimal}(?:\\.\\.${decimal})?$`).exec(text)
  if (m === null) throw new UsageError(`${option} "${text}" is not a range; write e.g. 0.5..20 (${unit})`)
  const low = Number(m[1])
  const high = m[2] === undefined ? low : Number(m[2])
  if (high < low) throw new UsageError(`${option} "${text}": write the low end first`)
  return [low, high]
}

function duration (text: string, option: string): number {
  try { return parseDuration(text) } catch { throw new UsageError(`${option} "${text}" is not a duration; write e.g. 4000s or 1h`) }
}

export function register (program: Command): void {
  const contacts = program.command('contacts').description('generate contact traces for the simulator (The ONE\'s format)')
  contacts.command('rwp')
    .description('random-waypoint mobility: nodes walk between random points of an area; a contact is two nodes within range')
    .requiredOption('--nodes <n>', 'how many nodes (host numbers 0 … n-1 in the trace)')
    .requiredOption('--area <WxH>', 'the area, e.g. 1500mx300m')
    .requiredOption('--range <distance>', 'radio range, e.g. 100m')
    .option('--speed <low..high>', 'walking speed range, metres a second', '0.5..1.5')
    .option('--pause <low..high>', 'pause at each waypoint, seconds', '0..120')
    .requiredOption('--duration <time>', 'how long, e.g. 4000s')
    .option('--step <time>', 'how often positions are sampled (The ONE: 0.1s)', '100ms')
    .option('--seed <n>', 'random seed', '1')
    .option('--out <file>', 'write the trace here instead of stdout')
    .action(async (opts: RwpOpts) => {
      const { randomWaypointTrace } = await import('../../../sim/rwp.ts')
      const nodes = Number(opts.nodes)
      const seed = Number(opts.seed)
      if (!Number.isInteger(nodes)) throw new UsageError(`--nodes must be a whole number, not ${opts.nodes}`)
      if (!Number.isInteger(seed) || seed < 0 || seed > 2 ** 32 - 1) throw new UsageError(`--seed must be a whole number from 0 to ${2 ** 32 - 1}, not ${opts.seed}`)
      let text: string
      try {
        text = randomWaypointTrace({
          nodes, ...area(opts.area), rangeM: metres(opts.range, '--range'), speedMps: range(opts.speed, '--speed', 'm/s'),
          pauseS: range(opts.pause, '--pause', 's'), durationMs: duration(opts.duration, '--duration'), stepMs: duration(opts.step, '--step'), seed,
        })
      } catch (e) {
        if (e instanceof UsageError) throw e
        throw new UsageError((e as Error).message)
      }
      const header = `# ddil contacts rwp --nodes ${nodes} --area ${opts.area} --range ${opts.range} --speed ${opts.speed} --pause ${opts.pause} --duration ${opts.duration} --step ${opts.step} --seed ${seed}\n`
      if (opts.out === undefined) process.stdout.write(header + text)
      else writeFileSync(opts.out, header + text)
    })
}
