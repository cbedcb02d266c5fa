/**
 * One CLI command's view of the channels: connects to the local relay's client API,
 * builds a ChannelClient for the operator user, and replays a channel's backlog
 * (all its governance and keys, then recent content) into it before acting.
 */
import { randomBytes } from 'node:crypto'
import { connect } from './client-context.ts'
import type { ClientOptions } from './relay-address.ts'
import { channelNames, deviceSeed, nextSequence, rememberChannel, resolveChannel } from './local-channel.ts'
import { ChannelClient, type Received } from '../../protocol/channel/client.ts'
import { fromHex, toHex } from '../../protocol/bytes.ts'
import type { Client } from '../api/client.ts'

export interface ChannelSession {
  client: Client
  cc: ChannelClient
  dataDir: string
  /** Subscribes to a channel: replays its backlog, then calls `onLive` for new envelopes. */
  open (channelHex: string, onReceived?: (r: Received, live: boolean) => void, backlog?: number): Promise<Uint8Array>
  resolve (arg: string): string
  nameOf (channelHex: string): string
  remember (channelHex: string, name: string): Promise<void>
  close (): Promise<void>
}

/** `submitted`: called with each envelope this session's client hands to the relay (ddil emulate learns a long post's pieces so). */
export async function channelSession (opts: ClientOptions, hooks: { submitted?: (envelope: Uint8Array) => void } = {}): Promise<ChannelSession> {
  const { client, ctx } = await connect(opts)
  const { user } = ctx
  let cc: ChannelClient
  cc = new ChannelClient({
    crypto: ctx.crypto,
    randomBytes: (n) => new Uint8Array(randomBytes(n)),
    nowMs: () => Date.now(),
    deviceSeed: deviceSeed(ctx.dataDir),
    node: {
      submit: (b) => { hooks.submitted?.(b); return client.submit(b) },
      submitMany: (list) => { for (const b of list) hooks.submitted?.(b); return client.submitMany(list) },
      stamp: () => client.stamp(),
    },
    reserveSeq: (chHex, count) => nextSequence(ctx.dataDir, chHex, cc.highestSeq(fromHex(chHex), user.ed25519.publicKey), count),
  }, user)
  return {
    client, cc, dataDir: ctx.dataDir,
    async open (channelHex, onReceived, backlog = 200) {
      const channel = fromHex(channelHex)
      let live = false
      // Each envelope, then what it released (a message held until its keys came is shown then).
      await client.subscribe(channel, { backlog }, env => { for (const r of cc.receiveAll(env.bytes)) onReceived?.(r, live) })
      live = true
      return channel
    },
    resolve: (arg) => resolveChannel(ctx.dataDir, arg),
    nameOf: (channelHex) => channelNames(ctx.dataDir)[channelHex] ?? channelHex,
    remember: (channelHex, name) => rememberChannel(ctx.dataDir, channelHex, name),
    close: () => client.close(),
  }
}

export { toHex }
