/**
 * A small HTTP issuer around Airtight's KeyGen2 state machine (src/keygen2/server) for live
 * interop runs by hand: the Java reference device (`okspeer device URL`) enrolls against it.
 * Not part of `npm test` (Java and the okspeer build are not in CI); run.sh drives it.
 *
 *   npx tsx scripts/live-interop/our-issuer.ts --trust sks-root.pem [--port 0] [--port-file F]
 *                                              [--tls-cert cert.pem --tls-key key.pem]   (https)
 *
 * Endpoints (the same scenario set as `okspeer issuer`'s /new):
 *   GET /new?op=enroll&alg=ec|rsa&pin=1|0&privacy=0|1     one key (EC P-256 `authentication`, or
 *                                                         RSA-2048 `signature` with a friendlyName),
 *                                                         with a user PIN policy (numeric, 4-8, 3 tries)
 *   GET /new?op=delete|unlock[&fp=HEX][&privacy=1]        management session: credential discovery
 *                                                         with a KMK-signed lookup (fingerPrint
 *                                                         filter when fp is given), then
 *                                                         postDeleteKey / postUnlockKey
 *   GET /status?session=T   JSON: status created|active|done|failed, error, issued fingerprints, targets
 *   GET /ca.pem             the issuing CA and root (PEM, in that order) of the issued end-entity
 *                           certificates: a fresh in-memory hierarchy of src/issuer/ca per run
 *   GET /cert?fp=HEX        an issued end-entity certificate; GET /records lists them
 *   GET /done, /error, /health
 *   GET|POST /kg2           the KeyGen2 binding (spec §2.2, §2.3), session bound to `JSESSIONID=T`
 *
 *   (both: &kmk=ec|rsa picks the key-management key, default ec; &query=1 adds capability queries
 *   for the key algorithm and device-PIN support)
 *
 * Every session has a KMK, so every key it issues can be managed later; management sessions look
 * up with the KMK given in `kmk`, as the target's session was enrolled.
 */
import { createHash, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { generateEcKeyPair, generateRsaKeyPair } from '../../src/sks/crypto/keygen.js';
import { buildInvocationUrl } from '../../src/keygen2/http/invocation-url.js';
import { createIssuerRequestHandler, type IssuerStep } from '../../src/keygen2/http/issuer-handler.js';
import {
  createIssuer,
  DeviceTrust,
  NodeIssuerCrypto,
  type IssuerConfig,
  type IssuerState,
  type ManagementPlan,
  type TargetKeyConfig,
} from '../../src/keygen2/server/index.js';
import { CertificateIssuer, createCaHierarchy, parseDn } from '../../src/issuer/ca/index.js';

const SKS = 'https://webpki.github.io/sks/algorithm#';
type KmkName = 'kmk-ec' | 'kmk-rsa';

interface Args {
  readonly trust: string[];
  readonly port: number;
  readonly portFile?: string;
  /** PEM certificate (chain, leaf first) and key: serve https and attest the leaf (spec §2.3). */
  readonly tls?: { readonly cert: string; readonly key: string };
}

function parseArgs(argv: readonly string[]): Args {
  const trust: string[] = [];
  let port = 0;
  let portFile: string | undefined;
  let tlsCert: string | undefined;
  let tlsKey: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const value = argv.at(i + 1);
    if (value === undefined) throw new Error(`usage: our-issuer.ts --trust PEM [--port P] [--port-file F] [--tls-cert PEM --tls-key PEM] (at ${flag})`);
    if (flag === '--trust') trust.push(value);
    else if (flag === '--port') port = Number(value);
    else if (flag === '--port-file') portFile = value;
    else if (flag === '--tls-cert') tlsCert = value;
    else if (flag === '--tls-key') tlsKey = value;
    else throw new Error(`usage: our-issuer.ts --trust PEM [--port P] [--port-file F] [--tls-cert PEM --tls-key PEM] (at ${flag})`);
    i++;
  }
  if (trust.length === 0) throw new Error('--trust PEM is required (okspeer device --print-device-ca)');
  if ((tlsCert === undefined) !== (tlsKey === undefined)) throw new Error('--tls-cert and --tls-key go together');
  return {
    trust,
    port,
    ...(portFile === undefined ? {} : { portFile }),
    ...(tlsCert === undefined || tlsKey === undefined ? {} : { tls: { cert: readFileSync(tlsCert, 'utf8'), key: readFileSync(tlsKey, 'utf8') } }),
  };
}

const pemBlocks = (pem: string): Buffer[] =>
  [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) => Buffer.from(m[1].replace(/\s+/g, ''), 'base64'));
const toPem = (der: Uint8Array): string =>
  `-----BEGIN CERTIFICATE-----\n${Buffer.from(der)
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END CERTIFICATE-----\n`;
const sha256Hex = (der: Uint8Array): string => createHash('sha256').update(der).digest('hex');

type Op = 'enroll' | 'delete' | 'unlock';
interface Session {
  readonly token: string;
  readonly op: Op;
  readonly fp: string | undefined;
  readonly kmk: KmkName;
  readonly config: IssuerConfig;
  status: 'created' | 'active' | 'done' | 'failed';
  state?: IssuerState | undefined;
  error?: string;
  issued: string[];
  targets: string[];
  device?: string;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const roots = args.trust.flatMap((f) => pemBlocks(readFileSync(f, 'utf8')));
  if (roots.length === 0) throw new Error('no certificate in --trust');
  // The production CA code (src/issuer/ca), in memory for this run: end-entity certificates
  // with key usages derived from the key's appUsage, signed by an issuing CA under a root.
  const hierarchy = await createCaHierarchy({
    rootSubject: parseDn('CN=Airtight Live Interop Root CA'),
    issuingSubject: parseDn('CN=Airtight Live Interop Issuing CA'),
  });
  const certificates = new CertificateIssuer(hierarchy.issuing);
  const kmks: Record<KmkName, KeyObject> = {
    'kmk-ec': generateEcKeyPair('P-256').privateKey,
    'kmk-rsa': (await generateRsaKeyPair(2048, 65537)).privateKey,
  };
  const sessions = new Map<string, Session>();
  /** Issued EE certificates by fingerprint (hex SHA-256 of the DER). */
  const records = new Map<string, { readonly der: Uint8Array; status: 'active' | 'deleted' }>();

  const target = (kmk: KmkName, certificate: string, c: { clientSessionId: string; serverSessionId: string }): TargetKeyConfig => ({
    certificate,
    clientSessionId: c.clientSessionId,
    serverSessionId: c.serverSessionId,
    kmk,
  });
  // planManagement has no session argument: the session whose discovery is answered is the one
  // currently being stepped (node runs one step at a time per request; run.sh runs sessions in turn).
  let current: Session | undefined;
  const issuer = createIssuer({
    crypto: new NodeIssuerCrypto({ sealingKey: randomBytes(32), keyManagementKeys: kmks }),
    deviceTrust: new DeviceTrust(roots),
    certify: (attestedKey) => {
      const { der } = certificates.sign(
        certificates.plan({
          profile: { subject: [], validityDays: 30, appUsage: attestedKey.appUsage },
          user: { commonName: `Airtight live ${attestedKey.id} ${attestedKey.serverSessionId}` },
          subjectPublicKey: attestedKey.publicKey,
        }),
      );
      const fp = sha256Hex(der);
      records.set(fp, { der, status: 'active' });
      current?.issued.push(fp);
      return { certificatePath: [der] };
    },
    planManagement: (found): ManagementPlan | undefined => {
      const state = current;
      if (state === undefined) return undefined;
      const hits = found.filter((discoveredCredential) => {
        const fp = sha256Hex(Buffer.from(discoveredCredential.certificatePath[0] ?? '', 'base64url'));
        return (state.fp === undefined || fp === state.fp) && (state.op !== 'unlock' || discoveredCredential.locked);
      });
      const first = hits.at(0);
      if (first === undefined) throw new Error(`no ${state.op} target among ${found.length} discovered credential(s)`);
      const cert = first.certificatePath[0];
      state.targets.push(sha256Hex(Buffer.from(cert, 'base64url')));
      const targetKeyConfig = target(state.kmk, cert, first);
      return state.op === 'delete' ? { deleteKeys: [targetKeyConfig] } : { unlockKeys: [targetKeyConfig] };
    },
  });

  const tlsLeaf = args.tls === undefined ? undefined : pemBlocks(args.tls.cert)[0];
  if (args.tls !== undefined && tlsLeaf === undefined) throw new Error('no certificate in --tls-cert');
  let origin = '';
  const transactionUrl = (): string => `${origin}/kg2`;

  const configOf = (params: URLSearchParams): { op: Op; kmk: KmkName; config: IssuerConfig; fp: string | undefined } => {
    const op = params.get('op') ?? 'enroll';
    if (op !== 'enroll' && op !== 'delete' && op !== 'unlock') throw new Error(`op=${op}`);
    const kmk: KmkName = params.get('kmk') === 'rsa' ? 'kmk-rsa' : 'kmk-ec';
    const privacy = params.get('privacy') === '1';
    const fp = params.get('fp') ?? undefined;
    const rsa = params.get('alg') === 'rsa';
    const keyAlgorithm = rsa ? `${SKS}rsa2048` : `${SKS}ec.nist.p256`;
    const queries =
      params.get('query') === '1'
        ? {
            capabilityQueries: [
              { type: keyAlgorithm, kind: 'feature' as const },
              { type: 'https://webpki.github.io/keygen2/feature#device-pin-support', kind: 'feature' as const },
            ],
          }
        : {};
    const base: IssuerConfig = {
      issuerUri: transactionUrl(),
      keyManagementKey: kmk,
      ...(privacy ? { privacyEnabled: true } : {}),
      ...queries,
      // over https the session attestation covers the DER of the TLS leaf the client saw (§2.3)
      ...(tlsLeaf === undefined ? {} : { serverCertificate: tlsLeaf.toString('base64url') }),
    };
    if (op !== 'enroll') {
      const searchFilter = fp === undefined ? {} : { searchFilter: { fingerPrint: Buffer.from(fp, 'hex').toString('base64url') } };
      return {
        op,
        kmk,
        fp,
        config: { ...base, ...(op === 'unlock' ? { action: 'unlock' as const } : {}), lookups: [{ id: 'Lookup.1', kmk, ...searchFilter }] },
      };
    }
    const key = rsa
      ? { keyAlgorithm, appUsage: 'signature' as const, friendlyName: 'Airtight RSA signature key' }
      : { keyAlgorithm, appUsage: 'authentication' as const };
    const pin = (params.get('pin') ?? '1') === '1';
    return {
      op,
      kmk,
      fp,
      config: pin ? { ...base, pinPolicies: [{ minLength: 4, maxLength: 8, retryLimit: 3, format: 'numeric', keys: [key] }] } : { ...base, keys: [key] },
    };
  };

  const tokenOf = (cookie: string | undefined): string | undefined => /(?:^|;\s*)JSESSIONID=([^;]+)/.exec(cookie ?? '')?.[1];

  const step: IssuerStep = async (cookie, body) => {
    const token = tokenOf(cookie);
    const liveSession = token === undefined ? undefined : sessions.get(token);
    if (liveSession === undefined) throw new Error('unknown session');
    if (liveSession.status === 'failed' || liveSession.status === 'done') throw new Error(`session ${liveSession.status}`);
    current = liveSession;
    try {
      if (body === null) {
        if (liveSession.state !== undefined) throw new Error('init fetched twice');
        const { state, request } = await issuer.startText(liveSession.config);
        liveSession.state = state;
        liveSession.status = 'active';
        log(liveSession, `-> ${qualifierOf(request)}`);
        return { message: request };
      }
      if (liveSession.state === undefined) throw new Error('POST before init');
      log(liveSession, `<- ${qualifierOf(body)}`);
      const next = await issuer.acceptText(liveSession.state, body);
      liveSession.state = next.state;
      if (next.state.session?.deviceCertificatePath !== undefined && liveSession.device === undefined) {
        liveSession.device = new X509Certificate(Buffer.from(next.state.session.deviceCertificatePath[0], 'base64url')).subject.split('\n').join(', ');
      }
      if (next.outcome !== undefined) {
        for (const targetKeyConfig of next.outcome.deleted) {
          const result = records.get(sha256Hex(Buffer.from(targetKeyConfig.certificate, 'base64url')));
          if (result !== undefined) result.status = 'deleted';
        }
        liveSession.status = 'done';
        log(liveSession, `DONE ${liveSession.op} issued=[${liveSession.issued.join(',')}] targets=[${liveSession.targets.join(',')}]`);
        return { redirect: `${origin}/done?session=${liveSession.token}` };
      }
      log(liveSession, `-> ${qualifierOf(next.request)}`);
      return { message: next.request };
    } catch (errorValue) {
      liveSession.status = 'failed';
      liveSession.error =
        errorValue instanceof Error ? `${(errorValue as { code?: string }).code ?? errorValue.name}: ${errorValue.message}` : String(errorValue);
      log(liveSession, `FAILED ${liveSession.error}`);
      liveSession.state = undefined; // dropped (spec §11.2); kept in the map for /status
      throw errorValue;
    } finally {
      current = undefined;
    }
  };
  let binding: http.RequestListener | undefined;

  const listener: http.RequestListener = (req, res) => {
    const requestUrl = new URL(req.url ?? '/', origin);
    const text = (code: number, type: string, body: string): void => {
      res.writeHead(code, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    try {
      switch (requestUrl.pathname) {
        case '/kg2': {
          const token = tokenOf(req.headers.cookie) ?? '';
          if (req.method === 'GET' && requestUrl.searchParams.get('abort') === 'true') {
            const state = sessions.get(token);
            if (state !== undefined && state.status !== 'done') {
              state.status = 'failed';
              state.error = 'cancelled';
            }
            text(200, 'text/plain', 'cancelled\n');
            return;
          }
          binding ??= createIssuerRequestHandler({ step, errorUrl: `${origin}/error` });
          binding(req, res);
          return;
        }
        case '/new': {
          const token = randomBytes(18).toString('base64url');
          const { op, kmk, config, fp } = configOf(requestUrl.searchParams);
          sessions.set(token, { token, op, fp, kmk, config, status: 'created', issued: [], targets: [] });
          const url =
            buildInvocationUrl({
              initUrl: `${transactionUrl()}?init=true`,
              transactionUrl: transactionUrl(),
              cookie: `JSESSIONID=${token}`,
              cancelUrl: `${transactionUrl()}?abort=true`,
            }) + '&ver=1.00-1.99';
          process.stdout.write(`[${token}] new ${requestUrl.search}\n`);
          text(200, 'text/plain', `${url}\n`);
          return;
        }
        case '/status': {
          const liveSession = sessions.get(requestUrl.searchParams.get('session') ?? '');
          if (liveSession === undefined) {
            text(404, 'application/json', '{"error":"no such session"}\n');
            return;
          }
          const { token, op, status, error, issued, targets, device } = liveSession;
          text(
            200,
            'application/json',
            `${JSON.stringify({ session: token, op, status, error: error ?? null, device: device ?? (liveSession.config.privacyEnabled ? 'Anonymous' : null), issued, targets })}\n`,
          );
          return;
        }
        case '/records': {
          text(200, 'application/json', `${JSON.stringify([...records].map(([fingerprint, r]) => ({ fingerprint, status: r.status })))}\n`);
          return;
        }
        case '/cert': {
          const result = records.get(requestUrl.searchParams.get('fp') ?? '');
          if (result === undefined) text(404, 'text/plain', 'no such certificate\n');
          else text(200, 'application/x-pem-file', toPem(result.der));
          return;
        }
        case '/ca.pem': {
          text(200, 'application/x-pem-file', toPem(hierarchy.issuing.certificate) + toPem(hierarchy.root.certificate));
          return;
        }
        case '/health': {
          text(200, 'text/plain', 'ok\n');
          return;
        }
        case '/done': {
          text(200, 'text/plain', 'done\n');
          return;
        }
        case '/error': {
          text(200, 'text/plain', 'error\n');
          return;
        }
        default: {
          text(404, 'text/plain', 'not found\n');
          return;
        }
      }
    } catch (error) {
      text(400, 'text/plain', `${error instanceof Error ? error.message : String(error)}\n`);
      return;
    }
  };
  const server = args.tls === undefined ? http.createServer(listener) : https.createServer({ cert: args.tls.cert, key: args.tls.key }, listener);
  await new Promise<void>((resolve) => server.listen(args.port, '127.0.0.1', resolve));
  origin = `${args.tls === undefined ? 'http' : 'https'}://127.0.0.1:${(server.address() as AddressInfo).port}`;
  process.stdout.write(`airtight live issuer listening on ${origin} (transaction URL ${transactionUrl()})\n`);
  process.stdout.write(`  trust: ${roots.map((r) => new X509Certificate(r).subject.split('\n').join(', ')).join(' | ')}\n`);
  if (args.portFile !== undefined) writeFileSync(args.portFile, `${(server.address() as AddressInfo).port}\n`);
  const stop = (): void => {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

const qualifierOf = (text: string): string => /"@qualifier":"([A-Za-z]+)"/.exec(text)?.[1] ?? '?';
const log = (state: { token: string }, line: string): void => {
  process.stdout.write(`[${state.token}] ${line}\n`);
};

main().catch((error: unknown) => {
  process.stderr.write(`our-issuer: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
