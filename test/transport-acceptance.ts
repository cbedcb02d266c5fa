/**
 * The shared acceptance suite for the `Transport` port and the host side that calls a
 * `LinkHandler`: every link adapter (the simulator's SimNetwork, the libp2p frame transport)
 * must pass it, so the simulator cannot lie about links (brief §2). Not a test file itself:
 * test/transport-sim.test.ts and test/transport-libp2p.test.ts run it per adapter.
 *
 * What every adapter promises: `linkUp` once per link with the info its host promises, and
 * `linkDown` once, on both sides, never from inside `send` or `disconnect`; `send` takes a
 * frame or returns false (busy, or no link), and after a false `drain` follows once the link
 * can take frames again; frames arrive whole and in order per direction, or not at all once
 * the link failed, and nothing arrives after `linkDown`; the largest frame arrives whole, a
 * larger or an empty one is refused (LimitError) or reported by the receiver, never delivered.
 *
 * @example
 * runTransportAcceptance(t, 'sim', { open: async (handlers) => simPair(handlers) })
 */
import type { Test } from 'tap'
import { frameBytesMax as protocolFrameBytesMax, frameBytesMin } from '../protocol/limits.ts'
import type { LinkHandler, LinkInfo, PeerId, Transport } from '../protocol/ports.ts'

export type Side = 'a' | 'b'

/** Two endpoints of one link, as an adapter's factory sets them up (the link starts down). */
export interface LinkPair {
  /** How each side names the other: a's transport sends to `ids.b`. */
  readonly ids: Readonly<Record<Side, PeerId>>
  readonly transports: Readonly<Record<Side, Transport>>
  /** The largest frame the link carries (either way: the smaller side's limit). */
  readonly frameBytesMax: number
  /** What `linkUp` must carry on each side (matched with t.match). */
  readonly promisedInfo: Readonly<Record<Side, Partial<LinkInfo>>>
  /** Why `side`'s receiver reported its peer for breaking the framing rules, each time it did. */
  reported (side: Side): string[]
  /** Brings the link up, or back up after `cut` (the suite waits for `linkUp`). */
  connect (): Promise<void>
  /** The network between them fails: neither side decided it. */
  cut (): Promise<void>
  /** Lets time pass until `done()` holds; throws naming `what` if it never does. */
  until (what: string, done: () => boolean): Promise<void>
  /** Lets a little time pass, so that anything still due happens (checks that something does not). */
  settle (): Promise<void>
  close (): Promise<void>
}

export interface TransportFactory {
  open (handlers: Readonly<Record<Side, LinkHandler>>): Promise<LinkPair>
}

type Event = { kind: 'up', info: LinkInfo } | { kind: 'down' } | { kind: 'rx', frame: Uint8Array } | { kind: 'drain' }

class Recorder implements LinkHandler {
  readonly events: Array<Event & { peer: PeerId }> = []
  onDrain: (() => void) | undefined
  readonly #reentered: (what: string) => void
  constructor (reentered: (what: string) => void) { this.#reentered = reentered }
  linkUp (peer: PeerId, info: LinkInfo): void { this.#push({ kind: 'up', info, peer }) }
  linkDown (peer: PeerId): void { this.#push({ kind: 'down', peer }) }
  receive (peer: PeerId, frame: Uint8Array): void { this.#push({ kind: 'rx', frame, peer }) }
  drain (peer: PeerId): void { this.#push({ kind: 'drain', peer }); this.onDrain?.() }
  count (kind: Event['kind']): number { return this.events.filter(e => e.kind === kind).length }
  /** Frames received since the `after`-th link-up (0: all). */
  frames (after = 0): Uint8Array[] {
    let ups = 0
    const out: Uint8Array[] = []
    for (const e of this.events) {
      if (e.kind === 'up') ups++
      else if (e.kind === 'rx' && ups >= after) out.push(e.frame)
    }
    return out
  }

  /** Events of `kind` after the first link-down. */
  afterDown (kind: Event['kind']): number {
    const down = this.events.findIndex(e => e.kind === 'down')
    return down < 0 ? 0 : this.events.slice(down + 1).filter(e => e.kind === kind).length
  }

  #push (e: Event & { peer: PeerId }): void { this.#reentered(e.kind); this.events.push(e) }
}

/** A numbered frame of `size` bytes (at least 4): its number first, then a pattern from it. */
export function numbered (n: number, size: number): Uint8Array {
  const out = new Uint8Array(size)
  for (let i = 4; i < size; i++) out[i] = (i * 31 + n) & 0xff
  new DataView(out.buffer).setUint32(0, n)
  return out
}

const equal = (x: Uint8Array, y: Uint8Array): boolean => Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(y)
const isPrefix = (got: Uint8Array[], sent: Uint8Array[]): boolean => got.length <= sent.length && got.every((f, i) => equal(f, sent[i]))

export function runTransportAcceptance (t: Test, name: string, factory: TransportFactory): void {
  const withPair = (title: string, fn: (t: Test, p: LinkPair, rec: Record<Side, Recorder>, tx: Record<Side, SideTx>) => Promise<void>): void => {
    t.test(`${name}: ${title}`, async t => {
      const reentered: string[] = []
      let calling: string | undefined
      const check = (what: string): void => { if (calling !== undefined) reentered.push(`${what} inside ${calling}`) }
      const rec = { a: new Recorder(check), b: new Recorder(check) }
      const p = await factory.open(rec)
      const sideTx = (side: Side, peer: PeerId): SideTx => ({
        send: (frame) => { calling = 'send'; try { return p.transports[side].send(peer, frame) } finally { calling = undefined } },
        disconnect: (reason) => { calling = 'disconnect'; try { p.transports[side].disconnect(peer, reason) } finally { calling = undefined } },
      })
      try {
        await fn(t, p, rec, { a: sideTx('a', p.ids.b), b: sideTx('b', p.ids.a) })
        t.same(reentered, [], 'no handler call from inside send or disconnect')
      } finally {
        await p.close()
      }
    })
  }
  const linked = async (p: LinkPair, rec: Record<Side, Recorder>, ups = 1): Promise<void> => {
    await p.connect()
    await p.until(`link-up number ${ups} on both sides`, () => rec.a.count('up') === ups && rec.b.count('up') === ups)
  }
  /** Sends `count` frames made by `make` in order, as fast as the link takes them, resuming on drain; `sent` holds those taken. */
  const pump = (rec: Recorder, tx: SideTx, count: number, make: (i: number) => Uint8Array): { sent: Uint8Array[] } => {
    const sent: Uint8Array[] = []
    const go = (): void => {
      while (sent.length < count) {
        const frame = make(sent.length)
        if (!tx.send(frame)) return
        sent.push(frame)
      }
    }
    rec.onDrain = go
    go()
    return { sent }
  }

  withPair('link-up comes once on each side, naming the peer, with the info the host promises', async (t, p, rec, tx) => {
    t.equal(tx.a.send(numbered(0, 8)), false, 'no link yet: send is false, not a throw')
    await linked(p, rec)
    await p.settle()
    t.same([rec.a.count('up'), rec.b.count('up'), rec.a.count('down'), rec.b.count('down')], [1, 1, 0, 0], 'one linkUp each, no linkDown')
    for (const [side, peer] of [['a', p.ids.b], ['b', p.ids.a]] as const) {
      const up = rec[side].events.find(e => e.kind === 'up')
      t.equal(up?.peer, peer, `${side} is told the other side's id`)
      const info = up?.kind === 'up' ? up.info : {}
      t.match(info, p.promisedInfo[side], `${side}'s link info`)
      const frames = info.frameBytesMax ?? protocolFrameBytesMax
      t.ok(frames >= frameBytesMin && frames <= protocolFrameBytesMax, `frames of ${frames} B: within the protocol's [${frameBytesMin}, ${protocolFrameBytesMax}]`)
      t.ok(info.latencyMs === undefined || (Number.isFinite(info.latencyMs) && info.latencyMs >= 0), 'a latency, if any, is a figure')
      t.ok(info.bandwidthBitsPerSecond === undefined || (Number.isFinite(info.bandwidthBitsPerSecond) && info.bandwidthBitsPerSecond > 0), 'a bandwidth, if any, is a figure')
    }
  })

  withPair('send and back-pressure: false while busy, then one drain; every frame taken arrives, the refused one never', async (t, p, rec, tx) => {
    await linked(p, rec)
    const sent: Uint8Array[] = []
    for (let frame = numbered(0, p.frameBytesMax); tx.a.send(frame); frame = numbered(sent.length, p.frameBytesMax)) {
      sent.push(frame)
      if (sent.length > 1000) throw new Error('the link took 1000 full frames at once and never pushed back')
    }
    t.ok(sent.length >= 1, `the idle link took ${sent.length} full frame(s) before it pushed back`)
    await p.until('drain after the refusal', () => rec.a.count('drain') === 1)
    t.equal(rec.a.events.find(e => e.kind === 'drain')?.peer, p.ids.b, 'drain names the peer')
    t.ok(tx.a.send(numbered(sent.length, 8)), 'taken again after drain')
    sent.push(numbered(sent.length, 8))
    await p.until('every frame taken arrives', () => rec.b.frames().length >= sent.length)
    await p.settle()
    t.equal(rec.b.frames().length, sent.length, 'and nothing else: the refused frames never went')
    t.ok(isPrefix(rec.b.frames(), sent), 'whole and in order')
    t.equal(rec.a.count('drain'), 1, 'one drain for one refusal')
  })

  withPair('order per direction, both directions at once, frames of every size', async (t, p, rec, tx) => {
    await linked(p, rec)
    const count = 40
    const size = (salt: number) => (i: number): number => i % 10 === 9 ? p.frameBytesMax : 4 + ((i + salt) * 7919) % 3000
    const ab = pump(rec.a, tx.a, count, i => numbered(i, size(0)(i)))
    const ba = pump(rec.b, tx.b, count, i => numbered(i, size(1)(i)))
    await p.until('all frames both ways', () => rec.b.frames().length >= count && rec.a.frames().length >= count)
    t.ok(rec.b.frames().length === count && isPrefix(rec.b.frames(), ab.sent), 'a → b: every frame, whole, in order')
    t.ok(rec.a.frames().length === count && isPrefix(rec.a.frames(), ba.sent), 'b → a: every frame, whole, in order')
  })

  const failsMidFrame = async (t: Test, p: LinkPair, rec: Record<Side, Recorder>, tx: Record<Side, SideTx>, fail: () => Promise<void>): Promise<void> => {
    await linked(p, rec)
    const ab = pump(rec.a, tx.a, 1000, i => numbered(i, p.frameBytesMax))
    const ba = pump(rec.b, tx.b, 1000, i => numbered(i, p.frameBytesMax))
    t.ok(rec.b.frames().length < ab.sent.length, `frames on their way when the link fails (${ab.sent.length} taken)`)
    await fail()
    t.equal(tx.a.send(numbered(0, 8)), false, 'send right after the failure is false')
    await p.until('link-down on both sides', () => rec.a.count('down') === 1 && rec.b.count('down') === 1)
    await p.settle()
    t.same([rec.a.count('down'), rec.b.count('down')], [1, 1], 'one linkDown each')
    t.same([rec.a.afterDown('rx'), rec.b.afterDown('rx')], [0, 0], 'nothing delivered after linkDown')
    t.same([rec.a.afterDown('drain'), rec.b.afterDown('drain')], [0, 0], 'no drain after linkDown')
    t.ok(isPrefix(rec.b.frames(), ab.sent) && isPrefix(rec.a.frames(), ba.sent), 'what did arrive came whole and in order: a prefix of what was taken')
    t.same([tx.a.send(numbered(0, 8)), tx.b.send(numbered(0, 8))], [false, false], 'a down link takes nothing')
  }

  withPair('the network fails mid-frame: frames in flight are lost whole, nothing arrives after linkDown, once on each side', async (t, p, rec, tx) => {
    await failsMidFrame(t, p, rec, tx, () => p.cut())
  })

  withPair('one side disconnects (an engine\'s verdict) mid-frame: the same, and linkDown is not called from inside disconnect', async (t, p, rec, tx) => {
    await failsMidFrame(t, p, rec, tx, async () => { tx.a.disconnect('acceptance test verdict') })
  })

  withPair('frame limits: the largest frame arrives whole; one byte more, or an empty frame, is refused and never delivered', async (t, p, rec, tx) => {
    await linked(p, rec)
    const largest = numbered(1, p.frameBytesMax)
    t.ok(tx.a.send(largest), `a frame of ${p.frameBytesMax} B is taken`)
    await p.until('the largest frame', () => rec.b.frames().length === 1)
    t.ok(equal(rec.b.frames()[0], largest), 'whole')
    const outcome = (frame: Uint8Array): string => {
      try { return tx.a.send(frame) ? 'taken' : 'false' } catch (e) { return (e as { code?: string }).code ?? String(e) }
    }
    const over = outcome(numbered(2, p.frameBytesMax + 1))
    if (over === 'taken') {
      await p.until('the receiver reports the oversized frame and drops the link', () => p.reported('b').length === 1 && rec.b.count('down') === 1)
      await p.settle()
      t.equal(rec.b.frames().length, 1, 'one byte over: taken by the sender, reported by the receiver, which dropped the link, and not delivered')
      return
    }
    t.equal(over, 'ERR_LIMIT', 'one byte over: refused at the transport with a LimitError (a caller bug)')
    t.equal(outcome(new Uint8Array(0)), 'ERR_LIMIT', 'an empty frame: refused with a LimitError (a stream cannot carry it)')
    await p.settle()
    t.equal(rec.b.frames().length, 1, 'neither was delivered')
    // A paced link may still be busy with the largest frame: taken again once it is free.
    await p.until('the link to take a frame again', () => tx.a.send(numbered(3, 8)))
    t.pass('the link still takes frames')
    await p.until('the next frame', () => rec.b.frames().length === 2)
    t.ok(equal(rec.b.frames()[1], numbered(3, 8)), 'and carries them')
  })

  withPair('after a network failure the link comes back: linkUp once more, frames flow, none from before the failure', async (t, p, rec, tx) => {
    await linked(p, rec)
    pump(rec.a, tx.a, 1000, i => numbered(i, p.frameBytesMax))
    await p.cut()
    await p.until('link-down on both sides', () => rec.a.count('down') === 1 && rec.b.count('down') === 1)
    rec.a.onDrain = undefined
    await linked(p, rec, 2)
    t.ok(tx.a.send(numbered(5000, 16)) && tx.b.send(numbered(6000, 16)), 'both sides take frames again')
    await p.until('frames on the new link', () => rec.b.frames(2).length >= 1 && rec.a.frames(2).length >= 1)
    await p.settle()
    t.same([rec.b.frames(2).length, rec.a.frames(2).length], [1, 1], 'only the new frames arrive on the new link')
    t.ok(equal(rec.b.frames(2)[0], numbered(5000, 16)) && equal(rec.a.frames(2)[0], numbered(6000, 16)), 'whole')
    t.same([rec.a.count('up'), rec.b.count('up'), rec.a.count('down'), rec.b.count('down')], [2, 2, 1, 1])
  })
}

interface SideTx {
  send (frame: Uint8Array): boolean
  disconnect (reason: string): void
}
