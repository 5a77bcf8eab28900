/**
 * Verifies a signature made by `airtight keys sign` (base64url; raw r‖s for ECDSA, PKCS#1 v1.5
 * for RSA, SHA-256) against the public key of an end-entity certificate, and that the certificate
 * is signed by a CA certificate. Exit 0 when both hold.
 *
 *   npx tsx scripts/live-interop/verify-signature.ts EE.pem CA.pem DATA-FILE SIGNATURE-B64URL
 */
import { readFileSync } from 'node:fs';
import { verify, X509Certificate } from 'node:crypto';

const [eeFile, caFile, dataFile, signature] = process.argv.slice(2) as Array<string | undefined>;
if (eeFile === undefined || caFile === undefined || dataFile === undefined || signature === undefined) {
  process.stderr.write('usage: verify-signature.ts EE.pem CA.pem DATA-FILE SIGNATURE-B64URL\n');
  process.exit(2);
}
const ee = new X509Certificate(readFileSync(eeFile));
const ca = new X509Certificate(readFileSync(caFile));
const chained = ee.checkIssued(ca) && ee.verify(ca.publicKey);
const key = ee.publicKey;
const ok = verify(
  'sha256',
  readFileSync(dataFile),
  key.asymmetricKeyType === 'ec' ? { key, dsaEncoding: 'ieee-p1363' } : key,
  Buffer.from(signature.trim(), 'base64url'),
);
process.stdout.write(`certificate issued by ${ca.subject.split('\n').join(', ')}: ${chained ? 'yes' : 'NO'}; signature: ${ok ? 'valid' : 'INVALID'}\n`);
process.exit(chained && ok ? 0 : 1);
