/**
 * The baseline of `bench files` (#23): the same bytes as one libp2p stream between two
 * hosts built by the relay's own `createHost` (node/p2p/host.ts: TCP, Noise, yamux, the
 * same limits), each in a process of its own on loopback, as the two relays are. Run as a
 * script, this file is the receiving host: it prints its address as one JSON line, then
 * answers each stream on `streamProtocol` with one byte once it has read the byte count
 * the stream's first 8 bytes announce. `streamOnce` is the sending side.
 *
 * @example
 * const receiver = await startReceiver(); const ms = await streamOnce(sender, receiver.addr, 1_000_000); receiver.stop()
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createHost, type Host } from '../node/p2p/host.ts'

export const streamProtocol = '/ddil-bench/stream/1.0.0'
const loopback = '/ip4/127.0.0.1/tcp/0'
/** Bytes per `send`: libp2p's yamux splits them into its own frames. */
const writeBytes = 64 * 1024

export async function benchHost (): Promise<Host> {
  return await createHost({ privateKey: await generateKeyPair('Ed25519'), listen: [loopback] })
}

function lengthOf (data: { byteLength: number }): number { return data.byteLength }

/** Sends `bytes` on a new stream to `addr`; resolves with the ms from the first byte written until the receiver's answer. */
export async function streamOnce (host: Host, addr: string, bytes: number): Promise<number> {
  const stream: Stream = await host.dialProtocol(multiaddr(addr), streamProtocol)
  const answered = new Promise<void>(resolve => { stream.addEventListener('message', () => { resolve() }, { once: true }) })
  const chunk = new Uint8Array(writeBytes).fill(0x5a)
  const head = new Uint8Array(8)
  new DataView(head.buffer).setBigUint64(0, BigInt(bytes))
  const t0 = performance.now()
  if (!stream.send(head)) await stream.onDrain()
  for (let sent = 0; sent < bytes;) {
    const n = Math.min(writeBytes, bytes - sent)
    if (!stream.send(n === writeBytes ? chunk : chunk.subarray(0, n))) await stream.onDrain()
    sent += n
  }
  await answered
  const ms = performance.now() - t0
  await stream.close().catch(() => {})
  return ms
}

export interface Receiver { addr: string, stop (): void }

/** Starts this file as the receiving host in a child process. */
export async function startReceiver (): Promise<Receiver> {
  const child: ChildProcess = spawn(process.execPath, [fileURLToPath(import.meta.url), 'receive'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr?.setEncoding('utf8').on('data', (s: string) => { err += s })
  const addr = await new Promise<string>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (s: string) => {
      out += s
      const line = out.split('\n').find(l => l.startsWith('{'))
      if (line !== undefined && out.includes('\n')) resolve((JSON.parse(line) as { addr: string }).addr)
    })
    child.once('exit', code => { reject(new Error(`baseline receiver exited ${code}: ${err.slice(-500)}`)) })
  })
  return { addr, stop: () => { child.kill('SIGTERM') } }
}

async function receive (): Promise<void> {
  const host = await benchHost()
  await host.handle(streamProtocol, (stream: Stream) => {
    let expected = -1
    let got = 0
    const head = new Uint8Array(8)
    stream.addEventListener('message', (evt) => {
      const data = evt.data
      if (got < 8) head.set(data.subarray(0, Math.min(8 - got, lengthOf(data))), got)
      got += lengthOf(data)
      if (expected < 0 && got >= 8) expected = Number(new DataView(head.buffer).getBigUint64(0)) + 8
      if (expected >= 0 && got >= expected) { stream.send(Uint8Array.of(1)); expected = Infinity }
    })
  })
  const addr = host.getMultiaddrs().find(ma => ma.toString().startsWith('/ip4/127.0.0.1/tcp/'))
  process.stdout.write(JSON.stringify({ addr: addr?.toString() }) + '\n')
  // Our parent holds our stdin: when it ends, however it ended, so do we.
  process.stdin.on('end', () => { process.exit(0) }).resume()
  process.once('SIGTERM', () => { Promise.resolve(host.stop()).then(() => process.exit(0), () => process.exit(1)) })
}

if (process.argv[2] === 'receive') await receive()
