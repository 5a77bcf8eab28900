/**
 * A test certification authority (spec §15.1 "Certificates"): an RSA-2048 CA
 * signing RSA-SHA256 end-entity certificates, subject `CN=<name>`, for any
 * public key (RSA, EC on any curve, Ed25519). The certificate embeds the
 * subject's SPKI bytes verbatim, so a test can certify a key the SKS did not
 * generate, or a key the SKS will reject.
 *
 * The CA key pair is generated once per test worker and cached.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { randomBytes, webcrypto, type KeyObject } from 'node:crypto';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const SIGNING_ALGORITHM = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;
const CA_NAME = 'CN=Airtight Test CA';

export interface IssueOptions {
  /** Subject common name; the certificate subject is `CN=<commonName>`. */
  readonly commonName?: string;
  /**
   * Adds a non-critical private extension of this many bytes, to produce a
   * certificate whose DER exceeds a size limit (spec §15.2 test 76).
   */
  readonly paddingBytes?: number;
}

export interface TestCa {
  /** DER of the self-signed CA certificate. */
  readonly certificate: Buffer;
  /** Issues an end-entity certificate for `publicKey` (a KeyObject or canonical SPKI bytes); returns its DER. */
  issue(publicKey: KeyObject | Uint8Array, options?: IssueOptions): Promise<Buffer>;
}

let cached: Promise<TestCa> | undefined;

/** The worker-wide test CA (created on first use). */
export function getTestCa(): Promise<TestCa> {
  cached ??= createTestCa();
  return cached;
}

const serial = (): string => {
  const serialBytes = randomBytes(12);
  serialBytes[0] &= 0x7f; // positive INTEGER
  serialBytes[0] |= 0x01; // never a leading zero byte
  return serialBytes.toString('hex');
};

async function createTestCa(): Promise<TestCa> {
  const keys = await webcrypto.subtle.generateKey({ ...SIGNING_ALGORITHM, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) }, true, [
    'sign',
    'verify',
  ]);
  const notBefore = new Date(Date.now() - 3600_000);
  const notAfter = new Date(Date.now() + 10 * 365 * 86400_000);
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: CA_NAME,
    notBefore,
    notAfter,
    signingAlgorithm: SIGNING_ALGORITHM,
    keys,
    extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
  });
  const certificate = Buffer.from(caCert.rawData);

  return {
    certificate,
    async issue(publicKey, options = {}) {
      const spki = publicKey instanceof Uint8Array ? Buffer.from(publicKey) : (publicKey.export({ type: 'spki', format: 'der' }) as Buffer);
      const extensions: x509.Extension[] = [new x509.BasicConstraintsExtension(false, undefined, true)];
      if (options.paddingBytes !== undefined) {
        extensions.push(new x509.Extension('1.3.6.1.4.1.55555.1', false, new Uint8Array(options.paddingBytes).fill(0x55)));
      }
      const cert = await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject: `CN=${options.commonName ?? 'Test Key'}`,
        issuer: caCert.subject,
        notBefore,
        notAfter,
        signingAlgorithm: SIGNING_ALGORITHM,
        publicKey: new Uint8Array(spki),
        signingKey: keys.privateKey,
        extensions,
      });
      return Buffer.from(cert.rawData);
    },
  };
}
