/**
 * The issuer's certification step for the benchmark: a real X.509 v3 end-entity certificate per
 * key (serial, issuer, validity, subject, the key's SPKI), signed ECDSA P-256/SHA-256 by a CA key
 * with one node:crypto `sign`. The DER is assembled directly: @peculiar/x509 manages some 600
 * certificates a second, which would make the CA, not KeyGen2, the cost being measured.
 */
import { randomBytes, sign, type KeyObject } from 'node:crypto';
import { generateEcKeyPair } from '../../src/sks/crypto/keygen.js';

const der = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  const count = body.length;
  const len = count < 0x80 ? Buffer.of(count) : count < 0x100 ? Buffer.of(0x81, count) : Buffer.of(0x82, count >> 8, count & 0xff);
  return Buffer.concat([Buffer.of(tag), len, body]);
};
const seq = (...p: Buffer[]): Buffer => der(0x30, ...p);
const oid = (hex: string): Buffer => der(0x06, Buffer.from(hex, 'hex'));
const name = (cn: string): Buffer => seq(der(0x31, seq(oid('550403'), der(0x0c, Buffer.from(cn, 'utf8')))));
const ECDSA_SHA256 = seq(oid('2a8648ce3d040302'));
const VALIDITY = seq(der(0x17, Buffer.from('260101000000Z')), der(0x17, Buffer.from('360101000000Z')));
const ISSUER = name('Airtight Bench CA');

export interface BenchCa {
  /** DER of an end-entity certificate for `spki`, subject `CN=<commonName>`. */
  issue(spki: Uint8Array, commonName: string): Buffer;
}

export function createBenchCa(privateKey: KeyObject = generateEcKeyPair('P-256').privateKey): BenchCa {
  return {
    issue(spki, commonName) {
      const serial = randomBytes(12);
      serial[0] = ((serial.at(0) ?? 0) & 0x7f) | 0x01;
      const tbs = seq(der(0xa0, der(0x02, Buffer.of(2))), der(0x02, serial), ECDSA_SHA256, ISSUER, VALIDITY, name(commonName), Buffer.from(spki));
      const signature = sign('sha256', tbs, privateKey);
      return seq(tbs, ECDSA_SHA256, der(0x03, Buffer.of(0), signature));
    },
  };
}
