/**
 * `npx tsx bench/issuer-ca.ts`: end-entity certificates per second from the
 * issuer's CA, side by side with what they cannot avoid (one `crypto.sign`
 * over a TBS-sized buffer) and with @peculiar/x509 building the same
 * certificate, for a P-256 and an RSA-2048 issuing CA. Ops take turns in
 * rounds and each figure is its best round (the machine is shared);
 * single-threaded, synchronous signing unless a row says otherwise. The
 * last section runs the crash-safe sequence over the SQLite issuer database,
 * where two durable commits per certificate dwarf the issuance itself.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createHash, generateKeyPairSync, randomUUID, sign, webcrypto } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertificateIssuer, createCaHierarchy, issueOnce, type CaKeyType, type IssuanceRequest } from '../src/issuer/ca/index.js';
import { openIssuerDatabase } from '../src/issuer/db/index.js';

// @peculiar/x509 is typed against the DOM lib, which this project does not load: its crypto
// parameter types do not resolve here, so node's webcrypto objects are passed as they are (no
// casts to unresolved types) and the signing algorithm is described by the shape it needs.
type X509SigningAlgorithm = { readonly name: string; readonly hash?: string };
const provider = webcrypto;

const ROUND_MS = Number(process.env['BENCH_ROUND_MS'] ?? 500);
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);

type Op = () => unknown;

/**
 * Operations per second of each op, best of ROUNDS rounds of ROUND_MS each.
 * The ops take turns within every round, so load from other processes on a
 * shared machine hits all of them alike and the ratios stay meaningful.
 */
async function rates(ops: readonly Op[]): Promise<number[]> {
  for (const fn of ops) for (let i = 0; i < 20; i++) await fn(); // warm-up
  const best = ops.map(() => 0);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [opIndex, fn] of ops.entries()) {
      let count = 0;
      let elapsed: number;
      const start = performance.now();
      while ((elapsed = performance.now() - start) < ROUND_MS) {
        for (let i = 0; i < 8; i++) await fn();
        count += 8;
      }
      best[opIndex] = Math.max(best[opIndex], (count * 1000) / elapsed);
    }
  }
  return best;
}

const subjectSpki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'der' });
const request: IssuanceRequest = {
  profile: {
    subject: [
      { type: 'C', value: 'SE' },
      { type: 'O', value: 'Example Bank' },
    ],
    validityDays: 730,
    appUsage: 'universal',
  },
  user: { commonName: 'Alice Andersson', email: 'alice@example.com' },
  subjectPublicKey: subjectSpki,
};

async function benchCa(keyType: CaKeyType): Promise<void> {
  const { issuing } = await createCaHierarchy({ keyType });
  const issuer = new CertificateIssuer(issuing);
  const plan = issuer.plan(request);
  const tbsSize = issuer.tbs(plan).length;
  const tbsSized = Buffer.alloc(tbsSize, 0x5a);
  const hash = keyType === 'ec-p384' ? 'sha384' : 'sha256';

  // The same certificate with @peculiar/x509 (webcrypto signing, as its API requires).
  const ec = keyType.startsWith('ec');
  const signingKey = await webcrypto.subtle.importKey(
    'pkcs8',
    issuing.privateKey.export({ type: 'pkcs8', format: 'der' }),
    ec ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const signingAlgorithm: X509SigningAlgorithm = ec ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5' };
  const caCert = new x509.X509Certificate(issuing.certificate);
  const aki = await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey.rawData, false, provider);
  const peculiar = async (): Promise<ArrayBuffer> => {
    const now = new Date(Math.floor(Date.now() / 1000) * 1000);
    const cert = await x509.X509CertificateGenerator.create(
      {
        serialNumber: webcrypto
          .getRandomValues(new Uint8Array(16))
          .reduce((s, b, i) => s + (i === 0 ? (b & 0x7f) | 0x40 : b).toString(16).padStart(2, '0'), ''),
        issuer: caCert.subjectName,
        subject: 'C=SE, O=Example Bank, CN=Alice Andersson',
        notBefore: now,
        notAfter: new Date(now.getTime() + 730 * 86_400_000),
        publicKey: subjectSpki,
        signingKey,
        signingAlgorithm,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation | x509.KeyUsageFlags.keyAgreement, true),
          await x509.SubjectKeyIdentifierExtension.create(subjectSpki, false, provider),
          aki,
          new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
          new x509.SubjectAlternativeNameExtension([{ type: 'email', value: 'alice@example.com' }]),
        ],
      },
      provider,
    );
    return cert.rawData;
  };

  const IN_FLIGHT = 16;
  const [raw, full, signOnly, planOnly, tbsOnly, lib, asyncBatch] = (await rates([
    () => sign(hash, tbsSized, { key: issuing.privateKey, dsaEncoding: 'der' }),
    () => issuer.issue(request),
    () => issuer.sign(plan),
    () => issuer.plan(request),
    () => issuer.tbs(plan),
    peculiar,
    () => Promise.all(Array.from({ length: IN_FLIGHT }, () => issuer.signAsync(issuer.plan(request)))),
  ])) as [number, number, number, number, number, number, number];

  const row = (what: string, perSec: number): string =>
    `  ${what.padEnd(52)} ${perSec.toFixed(0).padStart(8)} /s  ${(1e6 / perSec).toFixed(1).padStart(8)} µs  ${((perSec / raw) * 100).toFixed(0).padStart(4)}% of raw sign`;
  console.log(`\nissuing CA ${keyType} (TBSCertificate ${tbsSize} bytes, P-256 subject key, 6 extensions)`);
  console.log(row('raw crypto.sign of a TBS-sized buffer', raw));
  console.log(row('template: plan + sign (full issuance)', full));
  console.log(row('template: sign(plan) (re-run after a crash)', signOnly));
  console.log(row('template: plan only (serial, checks, no signature)', planOnly));
  console.log(row('template: TBSCertificate build only', tbsOnly));
  console.log(row('@peculiar/x509 X509CertificateGenerator.create', lib));
  console.log(row(`template: plan + signAsync, ${IN_FLIGHT} in flight (thread pool)`, asyncBatch * IN_FLIGHT));
}

/**
 * The whole crash-safe sequence (issueOnce: intent recorded, signed,
 * certificate recorded) over the SQLite issuer database, i.e. two durable
 * commits per certificate, beside issuance alone: where the time goes once
 * durability is paid for.
 */
async function benchDurable(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'airtight-bench-issuer-'));
  try {
    const { issuing } = await createCaHierarchy();
    const issuer = new CertificateIssuer(issuing);
    const db = await openIssuerDatabase(join(dir, 'issuer.sqlite'));
    await db.createEnrollment({ token: 'bench', template: 'bench', userName: 'bench', expiresAt: Date.now() + 3_600_000 });
    const started = await db.startEnrollmentSession('bench', {
      id: `s-${randomUUID()}`,
      state: '{}',
      requestHash: createHash('sha256').update('bench').digest('hex'),
      response: { kind: 'body', contentType: 'application/json', body: '{}' },
      expiresAt: Date.now() + 3_600_000,
    });
    if (started.kind !== 'started') throw new Error('bench session did not start');
    let key = 0;
    const sessionId = started.session.id;
    const [durable, alone] = (await rates([() => issueOnce(issuer, db, { sessionId, keyId: `Key.${key++}`, request }), () => issuer.issue(request)])) as [
      number,
      number,
    ];
    await db.close();
    console.log('\nissueOnce over SQLite (synchronous=FULL: intent and certificate each committed durably), P-256 issuing CA');
    console.log(
      `  ${'issueOnce (record intent, signAsync, complete)'.padEnd(52)} ${durable.toFixed(0).padStart(8)} /s  ${(1e6 / durable).toFixed(1).padStart(8)} µs`,
    );
    console.log(`  ${'issuance alone (plan + sign)'.padEnd(52)} ${alone.toFixed(0).padStart(8)} /s  ${(1e6 / alone).toFixed(1).padStart(8)} µs`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`node ${process.version}, ops interleaved in ${ROUNDS} rounds of ${ROUND_MS} ms each, best round per op`);
for (const keyType of ['ec-p256', 'rsa-2048'] as const) await benchCa(keyType);
await benchDurable();
