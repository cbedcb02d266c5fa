/**
 * One V8 setting for processes that run the simulator, applied by its entry points
 * (`ddil sim`, the benchmark's child) before a run.
 *
 * V8 watches each allocation site and, once the objects from a site keep surviving
 * young-generation collections, allocates that site's objects straight into the old
 * generation ("pretenuring"). In a simulated fleet the same code paths allocate both
 * kinds of object: during a flood, store keys, outgoing frames and map tables live a
 * few milliseconds of wall time but long enough to survive, so within 20 simulated
 * minutes of city-200 about a hundred sites are switched to old-space allocation
 * (`--trace-pretenuring-statistics`). From then on their short-lived objects are
 * reclaimed only by full mark-compacts, which then run every few seconds over a heap
 * of gigabytes. Turning pretenuring off keeps them in the young generation.
 *
 * Measured side by side in one run (city-200, first 240 simulated minutes): 140 s with
 * pretenuring, 115 s without; peak RSS 1.6 GB against 1.9 GB.
 *
 * @example
 * tuneHeapForSimulation()
 * await runScenario(scenario)
 */
import { setFlagsFromString } from 'node:v8'

let tuned = false

export function tuneHeapForSimulation (): void {
  if (tuned) return
  // A heuristic the collector reads at each young-generation collection, so it may
  // change while the process runs (unlike flags that shape the heap at start-up).
  setFlagsFromString('--no-allocation-site-pretenuring')
  tuned = true
}
