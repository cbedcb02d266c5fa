// The node:crypto adapter against published test vectors (RFC 8032, RFC 7748, RFC 5869, the GCM spec, FIPS 180-2),
// plus its negative cases: bad lengths, tampered AEAD, low-order X25519 points (the shared port suite).
import t from 'tap'
import { createNodeCrypto } from '../node/crypto.ts'
import { cryptoPortSuite } from './helpers/crypto-port-suite.ts'

cryptoPortSuite(t, 'node:crypto', createNodeCrypto())
