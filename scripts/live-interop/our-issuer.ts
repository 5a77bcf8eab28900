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
 *   GET /ca.pem             the test CA of the issued end-entity certificates
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
import { createHash, generateKeyPairSync, randomBytes, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
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
import { getTestCa } from '../../test/support/test-ca.js';

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
    const a = argv[i];
    const v = argv[i + 1];
    if (a === '--trust' && v !== undefined) (trust.push(v), i++);
    else if (a === '--port' && v !== undefined) ((port = Number(v)), i++);
    else if (a === '--port-file' && v !== undefined) ((portFile = v), i++);
    else if (a === '--tls-cert' && v !== undefined) ((tlsCert = v), i++);
    else if (a === '--tls-key' && v !== undefined) ((tlsKey = v), i++);
    else throw new Error(`usage: our-issuer.ts --trust PEM [--port P] [--port-file F] [--tls-cert PEM --tls-key PEM] (at ${a})`);
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
  [...pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)].map((m) => Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
const toPem = (der: Uint8Array): string =>
  `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').match(/.{1,64}/g)!.join('\n')}\n-----END CERTIFICATE-----\n`;
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
  const ca = await getTestCa();
  const kmks: Record<KmkName, KeyObject> = {
    'kmk-ec': generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey,
    'kmk-rsa': generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey,
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
    certify: async (k) => {
      const der = await ca.issue(k.publicKey, { commonName: `Airtight live ${k.id} ${k.serverSessionId}` });
      const fp = sha256Hex(der);
      records.set(fp, { der, status: 'active' });
      current?.issued.push(fp);
      return { certificatePath: [der] };
    },
    planManagement: (found): ManagementPlan | undefined => {
      const s = current;
      if (s === undefined) return undefined;
      const hits = found.filter((c) => {
        const fp = sha256Hex(Buffer.from(c.certificatePath[0] ?? '', 'base64url'));
        return (s.fp === undefined || fp === s.fp) && (s.op !== 'unlock' || c.locked);
      });
      const first = hits[0];
      if (first === undefined) throw new Error(`no ${s.op} target among ${found.length} discovered credential(s)`);
      const cert = first.certificatePath[0]!;
      s.targets.push(sha256Hex(Buffer.from(cert, 'base64url')));
      const t = target(s.kmk, cert, first);
      return s.op === 'delete' ? { deleteKeys: [t] } : { unlockKeys: [t] };
    },
  });

  const tlsLeaf = args.tls === undefined ? undefined : pemBlocks(args.tls.cert)[0];
  if (args.tls !== undefined && tlsLeaf === undefined) throw new Error('no certificate in --tls-cert');
  let origin = '';
  const transactionUrl = (): string => `${origin}/kg2`;

  const configOf = (q: URLSearchParams): { op: Op; kmk: KmkName; config: IssuerConfig; fp: string | undefined } => {
    const op = (q.get('op') ?? 'enroll') as Op;
    if (op !== 'enroll' && op !== 'delete' && op !== 'unlock') throw new Error(`op=${op}`);
    const kmk: KmkName = q.get('kmk') === 'rsa' ? 'kmk-rsa' : 'kmk-ec';
    const privacy = q.get('privacy') === '1';
    const fp = q.get('fp') ?? undefined;
    const rsa = q.get('alg') === 'rsa';
    const keyAlgorithm = rsa ? `${SKS}rsa2048` : `${SKS}ec.nist.p256`;
    const queries =
      q.get('query') === '1'
        ? { capabilityQueries: [{ type: keyAlgorithm, kind: 'feature' as const }, { type: 'https://webpki.github.io/keygen2/feature#device-pin-support', kind: 'feature' as const }] }
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
      return { op, kmk, fp, config: { ...base, ...(op === 'unlock' ? { action: 'unlock' as const } : {}), lookups: [{ id: 'Lookup.1', kmk, ...searchFilter }] } };
    }
    const key = rsa
      ? { keyAlgorithm, appUsage: 'signature' as const, friendlyName: 'Airtight RSA signature key' }
      : { keyAlgorithm, appUsage: 'authentication' as const };
    const pin = (q.get('pin') ?? '1') === '1';
    return {
      op,
      kmk,
      fp,
      config: pin
        ? { ...base, pinPolicies: [{ minLength: 4, maxLength: 8, retryLimit: 3, format: 'numeric', keys: [key] }] }
        : { ...base, keys: [key] },
    };
  };

  const tokenOf = (cookie: string | undefined): string | undefined => /(?:^|;\s*)JSESSIONID=([^;]+)/.exec(cookie ?? '')?.[1];

  const step: IssuerStep = async (cookie, body) => {
    const token = tokenOf(cookie);
    const s = token === undefined ? undefined : sessions.get(token);
    if (s === undefined) throw new Error('unknown session');
    if (s.status === 'failed' || s.status === 'done') throw new Error(`session ${s.status}`);
    current = s;
    try {
      if (body === null) {
        if (s.state !== undefined) throw new Error('init fetched twice');
        const { state, request } = await issuer.startText(s.config);
        s.state = state;
        s.status = 'active';
        log(s, `-> ${qualifierOf(request)}`);
        return { message: request };
      }
      if (s.state === undefined) throw new Error('POST before init');
      log(s, `<- ${qualifierOf(body)}`);
      const next = await issuer.acceptText(s.state, body);
      s.state = next.state;
      if (next.state.session?.deviceCertificatePath !== undefined && s.device === undefined) {
        s.device = new X509Certificate(Buffer.from(next.state.session.deviceCertificatePath[0]!, 'base64url')).subject.split('\n').join(', ');
      }
      if (next.outcome !== undefined) {
        for (const d of next.outcome.deleted) {
          const r = records.get(sha256Hex(Buffer.from(d.certificate, 'base64url')));
          if (r !== undefined) r.status = 'deleted';
        }
        s.status = 'done';
        log(s, `DONE ${s.op} issued=[${s.issued.join(',')}] targets=[${s.targets.join(',')}]`);
        return { redirect: `${origin}/done?session=${s.token}` };
      }
      log(s, `-> ${qualifierOf(next.request)}`);
      return { message: next.request };
    } catch (e) {
      s.status = 'failed';
      s.error = e instanceof Error ? `${(e as { code?: string }).code ?? e.name}: ${e.message}` : String(e);
      log(s, `FAILED ${s.error}`);
      s.state = undefined; // dropped (spec §11.2); kept in the map for /status
      throw e;
    } finally {
      current = undefined;
    }
  };
  let binding: http.RequestListener | undefined;

  const listener: http.RequestListener = (req, res) => {
    const u = new URL(req.url ?? '/', origin);
    const text = (code: number, type: string, body: string): void => {
      res.writeHead(code, { 'Content-Type': type, 'Cache-Control': 'no-store' });
      res.end(body);
    };
    try {
      switch (u.pathname) {
        case '/kg2': {
          const token = tokenOf(req.headers.cookie) ?? '';
          if (req.method === 'GET' && u.searchParams.get('abort') === 'true') {
            const s = sessions.get(token);
            if (s !== undefined && s.status !== 'done') ((s.status = 'failed'), (s.error = 'cancelled'));
            return text(200, 'text/plain', 'cancelled\n');
          }
          binding ??= createIssuerRequestHandler({ step, errorUrl: `${origin}/error` });
          return binding(req, res);
        }
        case '/new': {
          const token = randomBytes(18).toString('base64url');
          const { op, kmk, config, fp } = configOf(u.searchParams);
          sessions.set(token, { token, op, fp, kmk, config, status: 'created', issued: [], targets: [] });
          const url = buildInvocationUrl({
            initUrl: `${transactionUrl()}?init=true`,
            transactionUrl: transactionUrl(),
            cookie: `JSESSIONID=${token}`,
            cancelUrl: `${transactionUrl()}?abort=true`,
          }) + '&ver=1.00-1.99';
          process.stdout.write(`[${token}] new ${u.search}\n`);
          return text(200, 'text/plain', `${url}\n`);
        }
        case '/status': {
          const s = sessions.get(u.searchParams.get('session') ?? '');
          if (s === undefined) return text(404, 'application/json', '{"error":"no such session"}\n');
          const { token, op, status, error, issued, targets, device } = s;
          return text(200, 'application/json', `${JSON.stringify({ session: token, op, status, error: error ?? null, device: device ?? (s.config.privacyEnabled ? 'Anonymous' : null), issued, targets })}\n`);
        }
        case '/records':
          return text(200, 'application/json', `${JSON.stringify([...records].map(([fingerprint, r]) => ({ fingerprint, status: r.status })))}\n`);
        case '/cert': {
          const r = records.get(u.searchParams.get('fp') ?? '');
          return r === undefined ? text(404, 'text/plain', 'no such certificate\n') : text(200, 'application/x-pem-file', toPem(r.der));
        }
        case '/ca.pem':
          return text(200, 'application/x-pem-file', toPem(ca.certificate));
        case '/health':
          return text(200, 'text/plain', 'ok\n');
        case '/done':
          return text(200, 'text/plain', 'done\n');
        case '/error':
          return text(200, 'text/plain', 'error\n');
        default:
          return text(404, 'text/plain', 'not found\n');
      }
    } catch (e) {
      return text(400, 'text/plain', `${e instanceof Error ? e.message : String(e)}\n`);
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
const log = (s: { token: string }, line: string): void => {
  process.stdout.write(`[${s.token}] ${line}\n`);
};

main().catch((e: unknown) => {
  process.stderr.write(`our-issuer: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
