/**
 * A self-signed P-256 certificate and its key, made by `openssl req -x509` in `dir` (which the
 * caller creates and removes): a TLS server certificate for 127.0.0.1 by default, or any subject
 * a test needs (`openssl -subj` syntax).
 *
 * @example
 * const { cert, key } = selfSignedCertificate(dir);
 * https.createServer({ cert, key }, handler).listen(0, '127.0.0.1');
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface SelfSignedOptions {
  /** Default `/CN=127.0.0.1`. */
  readonly subject?: string;
  /** Validity in days; default 2. */
  readonly days?: number;
  /** A subjectAltName extension (`openssl -addext` syntax without the name), e.g. `IP:127.0.0.1`. */
  readonly altName?: string;
}

/** PEM certificate and PKCS#8 key; written to `dir/cert.pem` and `dir/key.pem` (overwritten). */
export function selfSignedCertificate(dir: string, options: SelfSignedOptions = {}): { cert: Buffer; key: Buffer } {
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-subj',
      options.subject ?? '/CN=127.0.0.1',
      ...(options.altName === undefined ? [] : ['-addext', `subjectAltName=${options.altName}`]),
      '-days',
      String(options.days ?? 2),
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ],
    { stdio: 'ignore' },
  );
  return { cert: readFileSync(certFile), key: readFileSync(keyFile) };
}
