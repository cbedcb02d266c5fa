/**
 * A stream is one author's envelopes in one channel. Its key is the channel reference
 * then the author reference, as one binary string (one char per byte, as `Envelope.stream`
 * and the catalog hold it); these helpers build it and take it apart, so no caller slices
 * at bare offsets.
 *
 * @example
 * const key = streamKey(env)                    // === env.stream
 * idFromKey(streamAuthorKey(key))               // the author reference, bytes
 */
import { binaryString as idKey } from '../bytes.ts'
import { channelRefBytes, type Envelope } from '../envelope.ts'

export function streamKey (s: Pick<Envelope, 'channel' | 'author'>): string {
  return idKey(s.channel) + idKey(s.author)
}

/** The channel reference of a stream, as an id key. */
export function streamChannelKey (stream: string): string { return stream.slice(0, channelRefBytes) }

/** The author reference of a stream, as an id key. */
export function streamAuthorKey (stream: string): string { return stream.slice(channelRefBytes) }
