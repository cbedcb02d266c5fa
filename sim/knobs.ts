/**
 * The simulator's link fault knobs, named in one place. Scenario links, `defaults.link`
 * and `degrade` events accept exactly these keys; the timeline carries their values
 * per interval; the simulated transport applies them per frame.
 *
 * @example
 * for (const [key, knob] of Object.entries(linkKnobs)) console.log(key, knob.unit, knob.doc)
 */

/** One knob: the YAML key, the unit it is written in, and what the simulator does with it. */
export interface LinkKnob {
  readonly unit: 'rate' | 'duration' | 'percent'
  readonly doc: string
}

export const linkKnobs = {
  bandwidth: { unit: 'rate', doc: 'capacity in each direction, bits per second; a frame occupies the link for size*8/bandwidth' },
  latency: { unit: 'duration', doc: 'one-way propagation delay added to every frame after serialisation' },
  loss: { unit: 'percent', doc: 'probability that a frame is dropped; 100% blocks the link (the oracle treats it as down)' },
  jitter: { unit: 'duration', doc: 'extra one-way delay drawn uniformly from 0..jitter per frame (the oracle ignores it: it only adds)' },
  duplicate: { unit: 'percent', doc: 'probability that a delivered frame is delivered a second time' },
  reorder: { unit: 'percent', doc: 'probability that a frame is held back and delivered after the next one' },
} as const satisfies Record<string, LinkKnob>

export type LinkKnobName = keyof typeof linkKnobs

/** Every knob's resolved value: the physical state of one link direction. */
export interface LinkParams {
  bandwidthBitsPerSecond: number
  latencyMs: number
  /** Probability 0..1. */
  loss: number
  jitterMs: number
  /** Probability 0..1. */
  duplicate: number
  /** Probability 0..1. */
  reorder: number
}

/** Knob values used when neither the link nor `defaults.link` sets them. */
export const builtinLinkParams: Readonly<LinkParams> = {
  bandwidthBitsPerSecond: 1_000_000,
  latencyMs: 5,
  loss: 0,
  jitterMs: 0,
  duplicate: 0,
  reorder: 0,
}

/** Which `LinkParams` field each knob sets. */
export const knobField = {
  bandwidth: 'bandwidthBitsPerSecond',
  latency: 'latencyMs',
  loss: 'loss',
  jitter: 'jitterMs',
  duplicate: 'duplicate',
  reorder: 'reorder',
} as const satisfies Record<LinkKnobName, keyof LinkParams>
