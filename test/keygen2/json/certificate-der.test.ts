/**
 * The DER certificate reader behind the §4.9 path check, judged against OpenSSL: on real
 * certificates of every signature algorithm it knows (and some it leaves to OpenSSL), on every
 * certificate path in the recorded sessions, and on every one-byte corruption of a signed
 * certificate, it never calls a link good that OpenSSL calls bad.
 */
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateParts, issuedBy } from '../../../src/keygen2/json/certificate-der.js';
import { checkCertificatePath } from '../../../src/keygen2/json/certificate-path.js';
import { KeyGen2Error } from '../../../src/keygen2/errors.js';
import { recordedMessages } from '../messages/recordings.js';

let dir: string;
const openssl = (...args: string[]): void => {
  execFileSync('openssl', args, { cwd: dir, stdio: 'ignore', timeout: 30_000 });
};
const der = (name: string): Buffer => new X509Certificate(readFileSync(join(dir, `${name}.pem`))).raw;

/** `-newkey` arguments per key type. */
const NEW_KEY: Readonly<Record<string, readonly string[]>> = {
  rsa: ['-newkey', 'rsa:2048'],
  p256: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'],
  p384: ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'],
  ed25519: ['-newkey', 'ed25519'],
};

function selfSigned(name: string, key: string, digest: string[] = ['-sha256']): void {
  openssl(
    'req',
    '-x509',
    ...(NEW_KEY[key] ?? []),
    ...digest,
    '-nodes',
    '-subj',
    `/CN=${name}/O=Airtight Test`,
    '-days',
    '2',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
  );
}

function issued(name: string, key: string, by: string, signing: string[] = ['-sha256']): void {
  openssl('req', '-new', ...(NEW_KEY[key] ?? []), '-nodes', '-subj', `/CN=${name}/O=Airtight Test`, '-keyout', `${name}.key`, '-out', `${name}.csr`);
  writeFileSync(join(dir, 'ext.cnf'), 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\nsubjectKeyIdentifier=hash\n');
  openssl(
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    `${by}.pem`,
    '-CAkey',
    `${by}.key`,
    '-set_serial',
    '7',
    '-days',
    '2',
    ...signing,
    '-extfile',
    'ext.cnf',
    '-out',
    `${name}.pem`,
  );
}

/** [child, parent, what the reader should answer] for chains OpenSSL made. */
const links: Array<[string, string, boolean | undefined]> = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'airtight-cert-der-'));
  selfSigned('root-rsa', 'rsa');
  issued('ca-p384', 'p384', 'root-rsa', ['-sha384']); // sha384WithRSAEncryption
  issued('ee-ed25519', 'ed25519', 'ca-p384', ['-sha384']); // ecdsa-with-SHA384
  issued('ee-p256', 'p256', 'ca-p384', ['-sha512']); // ecdsa-with-SHA512
  issued('ee-sha1', 'p256', 'root-rsa', ['-sha1']); // sha1WithRSAEncryption
  selfSigned('root-ed25519', 'ed25519', []);
  issued('ee-by-ed25519', 'rsa', 'root-ed25519', []); // Ed25519
  issued('ee-pss', 'p256', 'root-rsa', ['-sha256', '-sigopt', 'rsa_padding_mode:pss']); // RSASSA-PSS: left to OpenSSL
  links.push(
    ['ca-p384', 'root-rsa', true],
    ['ee-ed25519', 'ca-p384', true],
    ['ee-p256', 'ca-p384', true],
    ['ee-sha1', 'root-rsa', true],
    ['ee-by-ed25519', 'root-ed25519', true],
    ['root-rsa', 'root-rsa', true],
    ['root-ed25519', 'root-ed25519', true],
    ['ee-pss', 'root-rsa', undefined],
    ['ee-p256', 'root-rsa', undefined], // names differ
  );
  // A certificate whose issuer name equals the parent's subject but that another key signed.
  openssl(
    'req',
    '-x509',
    ...(NEW_KEY['rsa'] ?? []),
    '-nodes',
    '-subj',
    '/CN=root-rsa/O=Airtight Test',
    '-days',
    '2',
    '-keyout',
    'impostor.key',
    '-out',
    'impostor.pem',
  );
  issued('ee-impostor', 'p256', 'impostor');
  links.push(['ee-impostor', 'root-rsa', false]);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const opensslSays = (child: Uint8Array, parent: Uint8Array): boolean => {
  const [issuedCert, issuing] = [new X509Certificate(Buffer.from(child)), new X509Certificate(Buffer.from(parent))];
  return issuedCert.issuer === issuing.subject && issuedCert.verify(issuing.publicKey);
};

describe('certificateParts', () => {
  it('finds the key OpenSSL finds in certificates of every key type', () => {
    for (const name of ['root-rsa', 'ca-p384', 'ee-ed25519', 'ee-p256', 'ee-sha1', 'root-ed25519', 'ee-by-ed25519', 'ee-pss']) {
      const bytes = der(name);
      const spki = new X509Certificate(bytes).publicKey.export({ type: 'spki', format: 'der' });
      expect(Buffer.from(certificateParts(bytes).subjectPublicKeyInfo), name).toEqual(spki);
    }
  });

  it('reads every certificate of every recorded session', () => {
    let count = 0;
    for (const message of recordedMessages()) {
      for (const match of message.wire.matchAll(/"certificatePath":\s*\[([^\]]*)\]/g)) {
        for (const text of match[1].matchAll(/"([A-Za-z0-9_-]+)"/g)) {
          const bytes = Buffer.from(text[1], 'base64url');
          expect(Buffer.from(certificateParts(bytes).subjectPublicKeyInfo)).toEqual(
            new X509Certificate(bytes).publicKey.export({ type: 'spki', format: 'der' }),
          );
          count++;
        }
      }
    }
    expect(count).toBeGreaterThan(10);
  });

  it('refuses bytes after the certificate, a truncated one and a bare SEQUENCE', () => {
    const bytes = der('ee-p256');
    expect(() => certificateParts(Buffer.concat([bytes, Buffer.from([0])]))).toThrow();
    expect(() => certificateParts(bytes.subarray(0, bytes.length - 1))).toThrow();
    expect(() => certificateParts(Buffer.from([0x30, 0x00]))).toThrow();
  });
});

describe('issuedBy', () => {
  it('agrees with OpenSSL on every link it decides, and leaves the rest to it', () => {
    for (const [child, parent, expected] of links) {
      const answer = issuedBy(certificateParts(der(child)), certificateParts(der(parent)));
      expect(answer, `${child} by ${parent}`).toBe(expected);
      if (answer !== undefined) expect(answer, `${child} by ${parent}`).toBe(opensslSays(der(child), der(parent)));
    }
  });

  it('never accepts a one-byte corruption of a signed certificate that OpenSSL refuses', () => {
    const parent = certificateParts(der('ca-p384'));
    const good = der('ee-p256');
    let accepted = 0;
    for (let at = 0; at < good.length; at++) {
      const bad = Buffer.from(good);
      bad[at] = (bad[at] ?? 0) ^ 0x01;
      let ours: boolean | undefined;
      try {
        ours = issuedBy(certificateParts(bad), parent);
      } catch {
        continue; // refused as a structure
      }
      if (ours !== true) continue;
      accepted++;
      expect(opensslSays(bad, der('ca-p384')), `byte ${at}`).toBe(true);
    }
    // Only flips outside the signed bytes could pass (none exist: the signature covers the TBS, and
    // the signature value itself is checked); so nothing is accepted.
    expect(accepted).toBe(0);
  });
});

describe('checkCertificatePath', () => {
  it('accepts the chains OpenSSL made, including a link only OpenSSL can decide', () => {
    expect(() => checkCertificatePath([der('ee-ed25519'), der('ca-p384'), der('root-rsa')], 'certificatePath')).not.toThrow();
    expect(() => checkCertificatePath([der('ee-pss'), der('root-rsa')], 'certificatePath')).not.toThrow();
  });

  it('names the element of a path in the wrong order or with a forged link', () => {
    const check = (ders: Buffer[]): KeyGen2Error => {
      try {
        checkCertificatePath(ders, 'certificatePath');
      } catch (error) {
        if (error instanceof KeyGen2Error) return error;
        throw error;
      }
      throw new Error('accepted');
    };
    expect(check([der('ca-p384'), der('ee-p256')]).path).toBe('certificatePath[0]');
    expect(check([der('ee-impostor'), der('root-rsa')]).message).toMatch(/certificatePath\[0\].*not issued by the next certificate/);
    expect(check([der('ee-p256'), Buffer.from([0x30, 0x00])]).path).toBe('certificatePath[1]');
  });
});
