/**
 * A minimal KeyGen2 issuer on 127.0.0.1 for tests that run the client as a
 * separate process: node:http (startIssuerServer) around our issuer state
 * machine (createIssuer) with the node:crypto port, one issuer state per
 * cookie, device trust = the given vendor roots, and a certify callback that
 * issues a real certificate from the test CA (`CN=<prefix> <key id>`).
 *
 * @example
 * const issuer = await startHttpIssuer({ deviceRoots: [rootDer], config: (uri) => ({ issuerUri: uri, keys: [...] }) });
 * spawn('airtight', ['enroll', issuer.invocationUrl('JSESSIONID=1'), '--yes']);
 * // ... issuer.outcomes, issuer.close()
 */
import { randomBytes } from 'node:crypto';
import { buildInvocationUrl } from '../../src/keygen2/http/invocation-url.js';
import { startIssuerServer, type IssuerStep, type RunningIssuerServer } from '../../src/keygen2/http/issuer-handler.js';
import { decodeMessage, encodeMessage } from '../../src/keygen2/messages/index.js';
import { createIssuer, DeviceTrust, NodeIssuerCrypto, type IssuerConfig, type IssuerState, type ProvisioningOutcome } from '../../src/keygen2/server/index.js';
import { getTestCa } from './test-ca.js';

export interface HttpIssuerOptions {
  /** DER of the device vendor roots the issuer trusts. */
  readonly deviceRoots: readonly Uint8Array[];
  /** The session configuration, given the transaction URL (which is also the issuerUri). */
  readonly config: (issuerUri: string) => IssuerConfig;
  /** Subject prefix of issued certificates; default `Enrolled`. */
  readonly commonNamePrefix?: string;
  /** PEM certificate chain and key to serve https; the issuer then attests the leaf it serves. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer; readonly leafDer: Uint8Array };
  /** Answer the last response with a message instead of the final redirect (a broken issuer, for the client's "unconfirmed" path). */
  readonly withholdFinalRedirect?: boolean;
}

export interface HttpIssuer {
  readonly origin: string;
  /** The transaction URL (`<origin>/kg2`). */
  readonly transactionUrl: string;
  /** `webpkiproxy://keygen2?init=…&url=…&cookie=…` for a session bound to `cookie`. */
  invocationUrl(cookie: string, scheme?: string): string;
  /** What each completed session provisioned. */
  readonly outcomes: ProvisioningOutcome[];
  /** Messages of the steps that failed (the client got the error redirect). */
  readonly failures: string[];
  close(): Promise<void>;
}

export async function startHttpIssuer(options: HttpIssuerOptions): Promise<HttpIssuer> {
  const ca = await getTestCa();
  const prefix = options.commonNamePrefix ?? 'Enrolled';
  const issuer = createIssuer({
    crypto: new NodeIssuerCrypto({ sealingKey: randomBytes(32) }),
    deviceTrust: new DeviceTrust(options.deviceRoots),
    certify: async (k) => ({ certificatePath: [await ca.issue(k.publicKey, { commonName: `${prefix} ${k.id}` })] }),
  });
  const states = new Map<string, IssuerState>();
  const outcomes: ProvisioningOutcome[] = [];
  const failures: string[] = [];
  let origin = '';
  const transactionUrl = (): string => `${origin}/kg2`;
  const serve: IssuerStep = async (cookie, body) => {
    if (cookie === undefined) throw new Error('no cookie');
    if (body === null) {
      const base = options.config(transactionUrl());
      const config: IssuerConfig = options.tls === undefined ? base : { ...base, serverCertificate: Buffer.from(options.tls.leafDer).toString('base64url') };
      const { state, request } = await issuer.start(config);
      states.set(cookie, state);
      return { message: encodeMessage(request) };
    }
    const state = states.get(cookie);
    if (state === undefined) throw new Error('unknown session');
    const next = await issuer.accept(state, decodeMessage(body));
    states.set(cookie, next.state);
    if (next.outcome !== undefined) {
      outcomes.push(next.outcome);
      return options.withholdFinalRedirect === true ? { message: '{}' } : { redirect: `${origin}/done` };
    }
    return { message: encodeMessage(next.request) };
  };
  const step: IssuerStep = async (cookie, body) => {
    try {
      return await serve(cookie, body);
    } catch (error) {
      failures.push(error instanceof Error ? `${(error as { code?: string }).code ?? error.name}: ${error.message}` : String(error));
      throw error;
    }
  };
  const tls = options.tls;
  const server: RunningIssuerServer = await startIssuerServer(
    tls === undefined ? { step, errorUrl: '/keygen2-error' } : { step, errorUrl: '/keygen2-error', tls: { cert: tls.cert, key: tls.key } },
  );
  origin = server.origin;
  return {
    origin,
    transactionUrl: transactionUrl(),
    invocationUrl: (cookie, scheme) => buildInvocationUrl({ initUrl: `${origin}/kg2?init=true`, transactionUrl: transactionUrl(), cookie }, scheme),
    outcomes,
    failures,
    close: () => server.close(),
  };
}
