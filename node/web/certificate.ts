/**
 * The HTTPS listener's certificate. An organisation's own (config `web.cert` and `web.key`,
 * PEM) when it names one; otherwise one the node makes for itself at `ddil init` (or at the
 * first start of a data directory from before): `<data>/web-cert.pem` and
 * `<data>/web-key.pem` (mode 0600), self-signed, ECDSA P-256 with SHA-256, valid 825 days
 * (the longest iOS accepts for a TLS server), with subject alternative names for `localhost`,
 * the loopback addresses, this machine's name and every address its interfaces have now. A
 * browser warns about a certificate nobody vouches for; the user compares its SHA-256
 * fingerprint with the one `ddil start` and `ddil enrol` print (`fingerprint`, colon-separated
 * hex as browsers show it). A generated certificate within 30 days of expiry is replaced at
 * start (its fingerprint changes, and is printed).
 *
 * Built with @peculiar/x509 over Node's WebCrypto; read back with node:crypto, which also
 * checks that the key belongs to the certificate.
 *
 * @example
 * const { certificate, created } = await ensureWebCertificate(dataDir, { nowMs: Date.now() })
 * https.createServer({ cert: certificate.cert, key: certificate.key }, handler)
 * console.log(certificate.fingerprint)   // 'A1:B2:…' (32 bytes)
 */
import { createPrivateKey, webcrypto, X509Certificate as NodeX509 } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import { hostname } from 'node:os'
import { isIP } from 'node:net'
import { join } from 'node:path'
import { ConfigError } from '../../protocol/errors.ts'
import { checkPrivateFile, statOrUndefined, writeNewFile } from '../config/files.ts'
import { interfaceAddresses } from './addresses.ts'
import { webCertRenewBeforeMs, webCertValidityMs, webPemBytesMax } from '../api/limits.ts'

export const webCertFileName = 'web-cert.pem'
export const webKeyFileName = 'web-key.pem'

export interface WebCertificate {
  /** PEM text of the certificate (chain, for an organisation's) and of its private key. */
  cert: string
  key: string
  /** SHA-256 of the leaf certificate's DER, colon-separated upper-case hex. */
  fingerprint: string
  /** Where the certificate was read from. */
  certPath: string
  /** The node made it itself (`<data>/web-cert.pem`), or the config named an organisation's. */
  source: 'generated' | 'configured'
  notAfterMs: number
  /** Subject alternative names, as node:crypto lists them (`DNS:localhost, IP Address:127.0.0.1, …`). */
  names: string
}

/** `localhost`, loopback, this machine's name and its interfaces' addresses now, plus any given. */
export function certificateHosts (extra: string[] = []): string[] {
  const name = hostname()
  const names = /^[a-z0-9-]{1,63}$/i.test(name) ? [name, `${name}.local`] : []
  return [...new Set(['localhost', ...names, '127.0.0.1', '::1', ...interfaceAddresses(), ...extra.filter(h => h !== '0.0.0.0' && h !== '::')])]
}

/** A new self-signed certificate and its key, PEM. */
export async function createWebCertificate (options: { hosts: string[], nowMs: number, commonName: string }): Promise<{ cert: string, key: string }> {
  // @peculiar/x509's dependency injection (tsyringe) needs the Reflect metadata polyfill loaded first.
  await import('reflect-metadata')
  const x509 = await import('@peculiar/x509')
  // Node's WebCrypto and the DOM's, which the library's types name, differ only in their type declarations.
  const crypto = webcrypto as never
  x509.cryptoProvider.set(crypto)
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])
  const serial = Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)))
  serial[0] &= 0x7f // a positive serial number
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: `CN=${options.commonName.replace(/[,=+<>#;"\\]/g, '')}`,
    // A day back: a phone whose clock is a little behind must not see a certificate "not yet valid".
    notBefore: new Date(options.nowMs - 86_400_000),
    notAfter: new Date(options.nowMs + webCertValidityMs),
    keys: keys as never,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(options.hosts.map(h => ({ type: isIP(h) === 0 ? 'dns' : 'ip', value: h }))),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey as never, false, crypto),
    ],
  }, crypto)
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)
  return { cert: certificate.toString('pem') + '\n', key: x509.PemConverter.encode(pkcs8, 'PRIVATE KEY') + '\n' }
}

/** Reads a certificate and its key, refusing a key others can read, or one that does not belong to the certificate. */
export async function loadWebCertificate (certPath: string, keyPath: string, source: WebCertificate['source']): Promise<WebCertificate> {
  await checkPrivateFile(keyPath, 'the HTTPS private key')
  const [cert, key] = await Promise.all([readPem(certPath), readPem(keyPath)])
  let leaf: NodeX509
  try { leaf = new NodeX509(cert) } catch (e) { throw new ConfigError(`${certPath} is not a PEM certificate (${(e as Error).message})`) }
  let privateKey
  try { privateKey = createPrivateKey(key) } catch (e) { throw new ConfigError(`${keyPath} is not a PEM private key (${(e as Error).message})`) }
  if (!leaf.checkPrivateKey(privateKey)) throw new ConfigError(`${keyPath} is not the private key of the certificate in ${certPath}`)
  return { cert, key, fingerprint: leaf.fingerprint256, certPath, source, notAfterMs: Date.parse(leaf.validTo), names: leaf.subjectAltName ?? '' }
}

async function readPem (path: string): Promise<string> {
  const stats = await statOrUndefined(path)
  if (stats === undefined) throw new ConfigError(`${path} does not exist`)
  if (!stats.isFile() || stats.size > webPemBytesMax) throw new ConfigError(`${path} is not a PEM file of at most ${webPemBytesMax} bytes`)
  return await readFile(path, 'utf8')
}

/**
 * The node's own certificate in `dataDir`: read, or made when missing (both files, or the key
 * alone without its certificate, which is replaced), or remade when it expires within 30 days.
 */
export async function ensureWebCertificate (dataDir: string, options: { nowMs: number, hosts?: string[], commonName?: string }): Promise<{ certificate: WebCertificate, created: boolean }> {
  const certPath = join(dataDir, webCertFileName)
  const keyPath = join(dataDir, webKeyFileName)
  const [certThere, keyThere] = await Promise.all([statOrUndefined(certPath), statOrUndefined(keyPath)])
  if (certThere !== undefined && keyThere !== undefined) {
    const existing = await loadWebCertificate(certPath, keyPath, 'generated')
    if (existing.notAfterMs - options.nowMs > webCertRenewBeforeMs) return { certificate: existing, created: false }
  }
  if (certThere !== undefined && keyThere === undefined) throw new ConfigError(`${certPath} exists without ${keyPath}; move it away (the relay then makes a new pair)`)
  // Remove the old pair (expiring, or a key left without its certificate), then write key first: a certificate is never left without its key.
  await rm(certPath, { force: true })
  await rm(keyPath, { force: true })
  const made = await createWebCertificate({ hosts: options.hosts ?? certificateHosts(), nowMs: options.nowMs, commonName: options.commonName ?? `ddil relay ${hostname()}` })
  await writeNewFile(keyPath, made.key, 0o600)
  await writeNewFile(certPath, made.cert, 0o644)
  return { certificate: await loadWebCertificate(certPath, keyPath, 'generated'), created: true }
}
