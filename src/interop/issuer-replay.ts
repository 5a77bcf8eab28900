/**
 * Replays a recorded openkeystore session (interop README §6, "Server-side
 * implementation") through our issuer: derives the issuer configuration from
 * the recorded requests, and injects the recorded randomness (server ephemeral
 * key, session id, server time, IVs, close nonce, ECDSA KMK signatures) through
 * the crypto port, the clock and the random source.
 *
 * Moved from test/keygen2/server/recording.ts so that `airtight interop` can
 * run it; the recorded JSON is walked as untyped data (a malformed file throws,
 * and the caller reports the throw as a failed check).
 */
import { createHash, createPrivateKey } from 'node:crypto';
import { decodeMessage, RESPONSE_QUALIFIERS, type KeyGen2Message } from '../keygen2/messages/index.js';
import {
  createIssuer,
  type IssuerState,
  DeviceTrust,
  NodeIssuerCrypto,
  type CapabilityQuery,
  type IssuedKeyMaterial,
  type IssuerConfig,
  type IssuerCryptoPort,
  type IssuerEnvironment,
  type KeyConfig,
  type PinPolicyConfig,
  type SealedRef,
  type TargetKeyConfig,
  type UpdatableKmkConfig,
} from '../keygen2/server/index.js';

/* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-return -- recorded JSON is untyped data */
type Json = any;

export interface RecordedMessage {
  readonly direction: 'server->client' | 'client->server';
  readonly qualifier: string;
  readonly wire: string;
}

export interface RecordedHmac {
  readonly purpose: string;
  readonly method_or_label?: string;
  readonly counter?: number;
  readonly key_modifier_hex: string;
  readonly input_hex: string;
  readonly mac_hex: string;
}

/** The members of a recorded session that callers compare against (the file's `sessions[]` entry). */
export interface RecordedSession {
  readonly label: string;
  readonly privacy_enabled: boolean;
  readonly issued_certificate_paths: Readonly<Record<string, readonly string[]>>;
  readonly server_hmacs: readonly RecordedHmac[];
  readonly encryptions: ReadonlyArray<{ readonly iv_and_ciphertext_hex: string; readonly plaintext_hex: string }>;
  readonly messages: readonly RecordedMessage[];
}

export interface Replay {
  readonly file: string;
  readonly label: string;
  readonly session: RecordedSession;
  readonly messages: readonly RecordedMessage[];
  readonly config: IssuerConfig;
  readonly environment: IssuerEnvironment;
  /** What the port computed, for comparison with `server_hmacs[]` / `encryptions[]`. */
  readonly log: { hmacs: Array<{ modifier: string; input: string; mac: string }>; encryptions: string[]; unmatchedSignatures: string[] };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const b64uToHex = (s: string): string => Buffer.from(s, 'base64url').toString('hex');
const hexToB64u = (h: string): string => Buffer.from(h, 'hex').toString('base64url');

const sameJwk = (a: Json, b: Json): boolean => (a.kty === 'EC' ? a.x === b.x && a.y === b.y : a.n === b.n && a.e === b.e);

/** Decodes a recorded response from its wire text with the strict message decoder (§4.2). */
export const decodeResponse = (wire: string): KeyGen2Message => decodeMessage(wire, [...RESPONSE_QUALIFIERS]);

const kindOf = (uri: string): CapabilityQuery['kind'] =>
  uri.includes('/keygen2/clientattr#') ? 'values' : uri.includes('/keygen2/logotype#') ? 'image' : 'feature';

export interface ReplayOptions {
  /** The node port's sealing key (default: random per replay). */
  readonly sealingKey?: Uint8Array;
  /** Device roots instead of the recording's device CA. */
  readonly deviceRoots?: readonly Uint8Array[];
  /** Called on every certification (to prove nothing is certified after a failure). */
  readonly onCertify?: (id: string) => void;
}

/**
 * The issuer configuration and environment that reproduce one recorded session
 * (`doc` is the parsed file, `session` one of its `sessions[]`). Throws on a
 * recording it cannot make sense of; the interop checks turn that into failures.
 */
export function issuerReplayOf(file: string, doc: Json, session: Json, options: ReplayOptions = {}): Replay {
  const messages = session.messages as RecordedMessage[];
  const wire = (text: string): Json => {
    const message = messages.find((x) => x.qualifier === text);
    return message === undefined ? undefined : JSON.parse(message.wire);
  };
  const kmks = doc.test_keys.key_management_keys as Record<string, Json>;
  const kmkByJwk = (jwk: Json): string => {
    const name = Object.keys(kmks).find((n) => sameJwk(kmks[n].jwk, jwk));
    if (name === undefined) throw new Error('unknown KMK in recording');
    return name;
  };
  const encryptions = session.encryptions as Json[];
  const plaintextOf = (b64: string): Buffer => {
    const encryption = encryptions.find((x) => x.iv_and_ciphertext_hex === b64uToHex(b64));
    if (encryption === undefined) throw new Error('encrypted value not in encryptions[]');
    return Buffer.from(encryption.plaintext_hex, 'hex');
  };
  // Every certificate the file knows, by SHA-256, to resolve target-key references.
  const certs = new Map<string, string>();
  const addCert = (b64: string): void => void certs.set(createHash('sha256').update(Buffer.from(b64, 'base64url')).digest('base64url'), b64);
  for (const state of doc.sessions as Json[]) {
    for (const path of Object.values(state.issued_certificate_paths as Record<string, string[]>)) for (const item of path) addCert(hexToB64u(item));
    for (const recordedMessage of state.messages as RecordedMessage[]) {
      if (recordedMessage.qualifier !== 'CredentialDiscoveryResponse') continue;
      for (const result of JSON.parse(recordedMessage.wire).lookupResults)
        for (const element of result.matchingCredentials) for (const data2 of element.certificatePath) addCert(data2);
    }
  }
  const signerOf = (authorization: string): string => {
    const key = (session.kmk_signatures as Json[]).find((s) => s.signature_hex === b64uToHex(authorization));
    if (key === undefined) throw new Error('authorization not in kmk_signatures[]');
    return key.signer_kmk;
  };
  const target = (entry: Json): TargetKeyConfig => {
    const certificate = certs.get(entry.fingerPrint);
    if (certificate === undefined) throw new Error('target certificate not found');
    return { certificate, clientSessionId: entry.clientSessionId, serverSessionId: entry.serverSessionId, kmk: signerOf(entry.authorization) };
  };

  const inv = wire('InvocationRequest');
  const pir = wire('ProvisioningInitializationRequest');
  const cdr = wire('CredentialDiscoveryRequest');
  const kcr = wire('KeyCreationRequest');
  const pfr = wire('ProvisioningFinalizationRequest');
  const credentials = new Map<string, Json>(((pfr?.issuedCredentials ?? []) as Json[]).map((c) => [c.id, c]));

  const keyOf = (key: Json): KeyConfig => {
    const entry = credentials.get(key.id) ?? {};
    const copy: Record<string, unknown> = {};
    for (const text of [
      'id',
      'serverSeed',
      'devicePinProtection',
      'enablePinCaching',
      'biometricProtection',
      'exportProtection',
      'deleteProtection',
      'friendlyName',
      'appUsage',
      'keyAlgorithm',
      'keyParameters',
      'endorsedAlgorithms',
    ]) {
      if (key[text] !== undefined) copy[text] = key[text];
    }
    if (key.encryptedPin !== undefined) copy.presetPin = plaintextOf(key.encryptedPin).toString('utf8');
    if (entry.trustAnchor !== undefined) copy.trustAnchor = entry.trustAnchor;
    if (entry.extensions !== undefined) copy.extensions = entry.extensions.map((x: Json) => ({ type: x.type, data: x.extensionData }));
    if (entry.encryptedExtensions !== undefined)
      copy.encryptedExtensions = entry.encryptedExtensions.map((x: Json) => ({ type: x.type, data: plaintextOf(x.extensionData).toString('base64url') }));
    if (entry.propertyBags !== undefined) copy.propertyBags = entry.propertyBags.map((b: Json) => ({ type: b.type, properties: b.properties }));
    if (entry.logotypes !== undefined) copy.logotypes = entry.logotypes.map((l: Json) => ({ type: l.type, mimeType: l.mimeType, data: l.extensionData }));
    if (entry.updateKey !== undefined) copy.updateKey = target(entry.updateKey);
    if (entry.cloneKeyProtection !== undefined) copy.cloneKeyProtection = target(entry.cloneKeyProtection);
    return copy as unknown as KeyConfig;
  };
  const pinOf = (params: Json): PinPolicyConfig => {
    const copy: Record<string, unknown> = {};
    for (const text of ['id', 'minLength', 'maxLength', 'retryLimit', 'format', 'userModifiable', 'grouping', 'inputMethod', 'patternRestrictions']) {
      if (params[text] !== undefined) copy[text] = params[text];
    }
    copy.keys = (params.keyEntrySpecifiers as Json[]).map(keyOf);
    return copy as unknown as PinPolicyConfig;
  };
  const treeOf = (nodes: Json[]): UpdatableKmkConfig[] =>
    nodes.map((n) => ({
      kmk: kmkByJwk(n.publicKey),
      ...(n.updatableKeyManagementKeys === undefined ? {} : { updatableKeyManagementKeys: treeOf(n.updatableKeyManagementKeys) }),
    }));

  const config: IssuerConfig = {
    issuerUri: session.issuer_uri,
    serverSessionId: session.server_session_id,
    serverCertificate: hexToB64u(doc.test_keys.server_certificate.certificate_der_hex),
    action: inv.action,
    ...(inv.privacyEnabled === undefined ? {} : { privacyEnabled: inv.privacyEnabled }),
    ...(inv.preferredLanguages === undefined ? {} : { preferredLanguages: inv.preferredLanguages }),
    ...(inv.targetKeyContainers === undefined ? {} : { targetKeyContainers: inv.targetKeyContainers }),
    ephemeralCurve: pir.serverEphemeralKey.crv,
    ...(inv.clientCapabilityQuery === undefined
      ? {}
      : { capabilityQueries: (inv.clientCapabilityQuery as string[]).map((type) => ({ type, kind: kindOf(type) })) }),
    sessionKeyLimit: pir.sessionKeyLimit,
    sessionLifeTime: pir.sessionLifeTime,
    ...(pir.keyManagementKey === undefined ? {} : { keyManagementKey: kmkByJwk(pir.keyManagementKey) }),
    ...(pir.updatableKeyManagementKeys === undefined ? {} : { updatableKeyManagementKeys: treeOf(pir.updatableKeyManagementKeys) }),
    ...(cdr === undefined
      ? {}
      : {
          lookups: (cdr.lookupSpecifiers as Json[]).map((l) => ({
            id: l.id,
            kmk: kmkByJwk(l.signature.publicKey),
            ...(l.searchFilter === undefined ? {} : { searchFilter: l.searchFilter }),
          })),
        }),
    ...(kcr?.deferredIssuance === undefined ? {} : { deferredIssuance: kcr.deferredIssuance }),
    ...(kcr?.pukPolicySpecifiers === undefined
      ? {}
      : {
          pukPolicies: (kcr.pukPolicySpecifiers as Json[]).map((u) => ({
            id: u.id,
            puk: plaintextOf(u.encryptedPuk).toString('utf8'),
            format: u.format,
            retryLimit: u.retryLimit,
            pinPolicies: (u.pinPolicySpecifiers as Json[]).map(pinOf),
          })),
        }),
    ...(kcr?.pinPolicySpecifiers === undefined ? {} : { pinPolicies: (kcr.pinPolicySpecifiers as Json[]).map(pinOf) }),
    ...(kcr?.keyEntrySpecifiers === undefined ? {} : { keys: (kcr.keyEntrySpecifiers as Json[]).map(keyOf) }),
    ...(pfr?.unlockKeys === undefined ? {} : { unlockKeys: (pfr.unlockKeys as Json[]).map(target) }),
    ...(pfr?.deleteKeys === undefined ? {} : { deleteKeys: (pfr.deleteKeys as Json[]).map(target) }),
  };

  const log: Replay['log'] = { hmacs: [], encryptions: [], unmatchedSignatures: [] };
  const inner = new NodeIssuerCrypto({
    ...(options.sealingKey === undefined ? {} : { sealingKey: options.sealingKey }),
    keyManagementKeys: Object.fromEntries(Object.entries(kmks).map(([n, k]) => [n, Buffer.from(k.pkcs8_hex, 'hex')])),
    ephemeralKeyFactory: () => createPrivateKey({ key: Buffer.from(session.ephemeral_keys.server.pkcs8_hex, 'hex'), format: 'der', type: 'pkcs8' }),
    randomBytes: () => nextIv.shift() ?? Buffer.alloc(16),
  });
  const nextIv: Buffer[] = [];
  const usedEncryptions = new Set<number>();
  const usedSignatures = new Set<number>();
  const port: IssuerCryptoPort = {
    generateEphemeralKey: (c) => inner.generateEphemeralKey(c),
    deriveSessionKey: (e, k, d) => inner.deriveSessionKey(e, k, d),
    async hmac(sk: SealedRef, modifier: Uint8Array, data: Uint8Array) {
      const mac = await inner.hmac(sk, modifier, data);
      log.hmacs.push({ modifier: hex(modifier), input: hex(data), mac: hex(mac) });
      return mac;
    },
    async encrypt(sk: SealedRef, plaintext: Uint8Array) {
      // The recorded IV of the first unused recorded encryption of this plaintext.
      const index = encryptions.findIndex((e, n) => !usedEncryptions.has(n) && e.plaintext_hex === hex(plaintext));
      if (index >= 0) {
        usedEncryptions.add(index);
        nextIv.push(Buffer.from(encryptions[index].iv_hex, 'hex'));
      }
      const out = await inner.encrypt(sk, plaintext);
      log.encryptions.push(hex(out));
      return out;
    },
    keyManagementKey: (n) => inner.keyManagementKey(n),
    async sign(name: string, data: Uint8Array) {
      // ECDSA is randomized: hand back the recorded signature of exactly these bytes.
      // Each recorded signature once: two signatures over the same bytes (clone and unlock of
      // one target) differ.
      const index = (session.kmk_signatures as Json[]).findIndex((s, n) => !usedSignatures.has(n) && s.signed_data_hex === hex(data) && s.signer_kmk === name);
      if (index >= 0) {
        usedSignatures.add(index);
        return Buffer.from(session.kmk_signatures[index].signature_hex, 'hex');
      }
      log.unmatchedSignatures.push(`${name}:${hex(data)}`);
      return inner.sign(name, data);
    },
    seal: (s) => inner.seal(s),
    unseal: (r) => inner.unseal(r),
  };

  const issuedPaths = session.issued_certificate_paths as Record<string, string[]>;
  const environment: IssuerEnvironment = {
    crypto: port,
    deviceTrust: new DeviceTrust(options.deviceRoots ?? [Buffer.from(doc.test_keys.device_attestation.issuer_ca_certificate_der_hex, 'hex')]),
    clock: () => Date.parse(session.server_time),
    randomBytes: (count) => {
      if (count !== 32) throw new Error(`unexpected random draw of ${count} bytes`);
      return Buffer.from(session.close_session.nonce_hex, 'hex');
    },
    certify: (key): IssuedKeyMaterial => {
      options.onCertify?.(key.id);
      const entry = credentials.get(key.id);
      const path = (issuedPaths[key.id] ?? []).map((h) => Buffer.from(h, 'hex'));
      return {
        certificatePath: path,
        ...(entry?.importPrivateKey === undefined ? {} : { importPrivateKey: plaintextOf(entry.importPrivateKey.encryptedKey) }),
        ...(entry?.importSymmetricKey === undefined ? {} : { importSymmetricKey: plaintextOf(entry.importSymmetricKey.encryptedKey) }),
      };
    },
  };
  return { file, label: session.label, session, messages, config, environment, log };
}

/**
 * Runs a replay up to (not including) the acceptance of the first response with `qualifier`;
 * returns the issuer, the state and that response, decoded.
 */
export async function driveUntil(
  result: Replay,
  qualifier: string,
): Promise<{ issuer: ReturnType<typeof createIssuer>; state: IssuerState; response: KeyGen2Message }> {
  const issuer = createIssuer(result.environment);
  let { state } = await issuer.start(result.config);
  for (const recordedMessage of result.messages) {
    if (recordedMessage.direction !== 'client->server') continue;
    const response = decodeResponse(recordedMessage.wire);
    if (recordedMessage.qualifier === qualifier) return { issuer, state, response };
    state = (await issuer.accept(state, response)).state;
  }
  throw new Error(`no ${qualifier} in ${result.file}`);
}
