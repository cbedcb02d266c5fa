/**
 * Waiting in tests: for a condition, never for a fixed time. The deadline is generous on
 * purpose (the suite must pass on a busy two-core machine, where a relay can take tens of
 * seconds to start); a condition that holds ends the wait at once, so patience costs a
 * passing run nothing. Set DDIL_TEST_PATIENCE_MS to wait longer still.
 *
 * @example
 * await waitUntil('B linked to A', async () => (await b.status()).peers.length === 1 ? true : undefined)
 * const closed = await within(raw.closed, 'the close')
 */

/** How long one wait may take before the test fails, ms (below tap's per-file timeout). */
export const patienceMs = Number(process.env.DDIL_TEST_PATIENCE_MS ?? 120_000)

/** Polls `probe` until it returns something other than undefined or false; fails after `patienceMs`. */
export async function waitUntil<T> (what: string, probe: () => Promise<T | undefined | false> | T | undefined | false, options: { everyMs?: number, patienceMs?: number } = {}): Promise<T> {
  const patience = options.patienceMs ?? patienceMs
  const deadline = performance.now() + patience
  for (;;) {
    const v = await probe()
    if (v !== undefined && v !== false) return v
    if (performance.now() > deadline) throw new Error(`timed out after ${patience} ms waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, options.everyMs ?? 20))
  }
}

/** `p`, or a failure naming `what` if it has not settled within `patienceMs`. */
export function within<T> (p: Promise<T>, what: string, ms = patienceMs): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => { reject(new Error(`timed out after ${ms} ms waiting for ${what}`)) }, ms) })
  return Promise.race([p, timeout]).finally(() => { clearTimeout(timer) })
}
