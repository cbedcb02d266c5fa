/**
 * Yamux window updates once half the window is used, not after every frame.
 *
 * @chainsafe/libp2p-yamux answers every data frame a stream receives with a window update
 * (a 12-byte frame, 96 B on the wire once Noise, TCP/IP and Ethernet wrap it). Captured on the
 * emulated 9.6 kbps radio (#26): 71 of them went from the command post to the observation post
 * in a minute, 6.8 KB, about six seconds of the radio that the routine backlog and the flash
 * messages needed. The yamux specification leaves the timing to the receiver, and Go's yamux
 * sends an update only once the unreported consumption reaches half the window; so does this.
 * The sender still holds at least half a window (128 KiB and up) of credit, far more than a
 * slow link carries in a round trip, and a fast link's window still grows (the library's own
 * code runs whenever an update is sent).
 *
 * The library has no option for it: `YamuxStream.prototype.sendWindowUpdate` is wrapped, once,
 * and test/p2p-coalesce.test.ts counts the segments a receiving end sends.
 *
 * @example
 * economiseYamuxWindowUpdates()   // before the first yamux stream (createHost calls it)
 */
import { StreamState, YamuxStream } from '@chainsafe/libp2p-yamux/stream'

interface WindowFields { state: StreamState, recvWindow: number, recvWindowCapacity: number }

/** Whether a window update may wait: the stream is established and less than half its window is unreported. */
export function updateMayWait (s: WindowFields): boolean {
  return s.state === StreamState.Established && s.recvWindowCapacity * 2 > s.recvWindow
}

let installed = false

/** Installs the half-window rule on every yamux stream of this process (idempotent). */
export function economiseYamuxWindowUpdates (): void {
  if (installed) return
  const proto = YamuxStream.prototype as unknown as { sendWindowUpdate: (this: WindowFields) => void }
  const send = proto.sendWindowUpdate
  if (typeof send !== 'function') throw new Error('@chainsafe/libp2p-yamux has no YamuxStream.sendWindowUpdate: node/p2p/yamux-window.ts needs updating')
  proto.sendWindowUpdate = function (this: WindowFields): void {
    if (typeof this.recvWindow !== 'number' || typeof this.recvWindowCapacity !== 'number') throw new Error('@chainsafe/libp2p-yamux stream has no receive window fields: node/p2p/yamux-window.ts needs updating')
    if (updateMayWait(this)) return
    send.call(this)
  }
  installed = true
}
