/**
 * Which CPU an ELF executable or shared object is built for, from its header: how the
 * packager and its test check that a linux-arm64 bundle holds arm64 builds (a bundle that
 * cannot run on this machine cannot be tested by running it).
 *
 * @example
 * elfArch(readFileSync('runtime/bin/node').subarray(0, 20))   // 'x64' | 'arm64' | undefined
 */
import { open } from 'node:fs/promises'

const elfMagic = [0x7f, 0x45, 0x4c, 0x46]
/** e_machine values (ELF specification): EM_X86_64 and EM_AARCH64. */
const machines = new Map<number, string>([[62, 'x64'], [183, 'arm64']])
const headerBytes = 20

/** The Node-style arch name of a 64-bit little-endian ELF header; undefined for anything else. */
export function elfArch (header: Uint8Array): string | undefined {
  if (header.length < headerBytes || elfMagic.some((b, i) => header[i] !== b)) return undefined
  if (header[4] !== 2 || header[5] !== 1) return undefined // 64-bit, little-endian
  return machines.get(header[18] | (header[19] << 8))
}

/** `elfArch` of a file's first bytes. */
export async function fileElfArch (path: string): Promise<string | undefined> {
  const handle = await open(path, 'r')
  try {
    const header = new Uint8Array(headerBytes)
    const { bytesRead } = await handle.read(header, 0, headerBytes, 0)
    return elfArch(header.subarray(0, bytesRead))
  } finally {
    await handle.close()
  }
}
