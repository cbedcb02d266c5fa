/**
 * `ddil tail CH [-n N] [--follow] [--json]`: the newest N messages of a channel, oldest
 * first, with "delivered to k of N" for your own (updated as receipts arrive), receipts
 * sent for what you were shown, and with `--follow`, new messages as they come. Someone
 * watching a channel must know when they are cut off: if the relay goes away, tail says
 * so on stderr and reconnects when it returns, without showing anything twice. A followed
 * channel this relay does not know yet (someone just added you; its governance is still on
 * the way) is waited for, with a note; a plain tail of one fails at once.
 *
 * @example
 * await tail('ops', { lines: '50', follow: true })
 */
import { channelSession, type ChannelSession } from './channel-session.ts'
import { resolveChannel } from './local-channel.ts'
import { TailView } from './tail-view.ts'
import { resolveDataDir } from '../config/paths.ts'
import { UsageError } from '../../protocol/errors.ts'
import { receiptIdsMax } from '../../protocol/limits.ts'

export interface TailOptions { data?: string, config?: string, lines: string, follow?: boolean, json?: boolean }

/** Waits between reconnection attempts, ms: short at first (a restart), then every 10 s (an outage). */
const reconnectDelaysMs = [500, 1000, 2000, 5000, 10_000]

export async function tail (name: string, opts: TailOptions): Promise<void> {
  const backlog = Number(opts.lines)
  if (!Number.isInteger(backlog) || backlog < 0 || backlog > 1000) throw new UsageError(`--lines must be a whole number from 0 to 1000, not ${opts.lines}`)
  // Resolved before connecting: a name this machine does not know fails at once, with no connection left open.
  const ref = resolveChannel(resolveDataDir({ dataDir: opts.data, env: process.env }), name)
  const note = (line: string): void => { (opts.json === true ? process.stderr : process.stdout).write(`${opts.json === true ? 'ddil: ' : '-- '}${line}\n`) }
  let session = await channelSession(opts)
  const view = new TailView({
    me: session.cc.me, json: opts.json === true, write: line => process.stdout.write(line + '\n'), note,
    report: (channel, file, heldBytes) => { session.cc.sendFileProgress(channel, file, heldBytes).catch((e: unknown) => { note(`could not tell the sender how much of a file is here: ${(e as Error).message}`) }) },
  })
  const stopped = stopSignal()
  try {
    const follow = opts.follow === true
    await show(session, ref, view, backlog, note, follow ? Promise.race([session.client.closed, stopped.promise]) : undefined)
    if (!follow) return
    for (;;) {
      const ended = await Promise.race([session.client.closed, stopped.promise])
      if (ended === 'stopped') return
      note(`lost the relay (${ended.code}${ended.reason === '' ? '' : ` ${ended.reason}`}) at ${new Date().toISOString()}; reconnecting when it is back`)
      const next = await reconnect(opts, stopped)
      if (next === undefined) return
      session = next
      note(`reconnected at ${new Date().toISOString()}`)
      await show(session, ref, view, backlog, note, Promise.race([session.client.closed, stopped.promise]))
    }
  } finally {
    stopped.dispose()
    await session.close()
  }
}

/**
 * Subscribes with the backlog, prints it, and acknowledges what was shown (the backlog's
 * receipts are sent before this returns: a plain tail exits right after); live items go
 * through the view too, their receipts sent as they come. With `waitUntil` (a followed tail),
 * a channel the relay does not know yet is waited for until it arrives or `waitUntil` settles.
 */
async function show (s: ChannelSession, ref: string, view: TailView, backlog: number, note: (line: string) => void, waitUntil?: Promise<unknown>): Promise<void> {
  const acknowledge = async (channel: Uint8Array, ids: Uint8Array[]): Promise<void> => {
    for (let i = 0; i < ids.length; i += receiptIdsMax) {
      await s.cc.sendReceipt(channel, ids.slice(i, i + receiptIdsMax)).catch((e: unknown) => { note(`could not send a receipt: ${(e as Error).message}`) })
    }
  }
  let known = (): void => {}
  const arrived = new Promise<void>(resolve => { known = resolve })
  const channel = await s.open(ref, (r, live) => {
    void acknowledge(r.channel, view.take(s.cc, r.channel, r, live))
    if (s.cc.state(r.channel) !== undefined) known()
  }, backlog)
  if (s.cc.state(channel) === undefined) {
    const unknown = `channel ${ref} is unknown to this relay (not created, or its governance has not arrived yet)`
    if (waitUntil === undefined) throw new UsageError(unknown)
    note(`${unknown}; waiting for it`)
    if (await Promise.race([arrived.then(() => 'arrived' as const), waitUntil]) !== 'arrived') return
    note(`channel ${ref} arrived at ${new Date().toISOString()}`)
  }
  const name = s.cc.board(channel).name
  if (name !== '' && !/^[0-9a-f]{16}$/.test(name)) await s.remember(ref, name)
  // Long messages and small files in the backlog came as manifests: fetch their chunks so they show whole.
  for (const id of view.wanted()) {
    await s.client.fetchFile(channel, id, bytes => { for (const r of s.cc.receiveAll(bytes)) void acknowledge(r.channel, view.take(s.cc, r.channel, r, false)) })
  }
  await acknowledge(channel, view.backlogDone(s.cc, channel))
}

async function reconnect (opts: TailOptions, stopped: StopSignal): Promise<ChannelSession | undefined> {
  for (let attempt = 0; ; attempt++) {
    if (await waitUnlessStopped(reconnectDelaysMs[Math.min(attempt, reconnectDelaysMs.length - 1)], stopped) === 'stopped') return undefined
    try { return await channelSession(opts) } catch { /* not back yet: the loop tries again */ }
  }
}

interface StopSignal { promise: Promise<'stopped'>, dispose: () => void }

/** Resolves on Ctrl-C or SIGTERM: the end of a followed tail, with status 0. */
function stopSignal (): StopSignal {
  let stop = (): void => {}
  const promise = new Promise<'stopped'>(resolve => { stop = () => { resolve('stopped') } })
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return { promise, dispose: () => { process.off('SIGINT', stop); process.off('SIGTERM', stop) } }
}

/** Waits `ms`, or less if stopped first (the timer is cleared either way, so it keeps nothing alive). */
async function waitUnlessStopped (ms: number, stopped: StopSignal): Promise<'waited' | 'stopped'> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([new Promise<'waited'>(resolve => { timer = setTimeout(() => { resolve('waited') }, ms) }), stopped.promise])
  } finally {
    clearTimeout(timer)
  }
}
