/**
 * Replays a recorded openkeystore session (interop README §6, "Server-side
 * implementation") through our issuer: derives the issuer configuration from
 * the recorded requests, and injects the recorded randomness (server ephemeral
 * key, session id, server time, IVs, close nonce, ECDSA KMK signatures) through
 * the crypto port, the clock and the random source.
 *
 * Moved from test/keygen2/server/recording.ts so that `airtight interop` can
 * run it. The recorded JSON is read through {@link JsonNode}: a member that is
 * missing or of the wrong type throws a VectorFormatError naming its path, and
 * the caller reports the throw as a failed check. Values the issuer's own
 * configuration check covers (enumerations, search filters, property lists)
 * are handed over as recorded.
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
  type LookupConfig,
  type PinPolicyConfig,
  type PukPolicyConfig,
  type SealedRef,
  type TargetKeyConfig,
  type UpdatableKmkConfig,
} from '../keygen2/server/index.js';
import { JsonNode } from './json.js';

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

/** The same public key: EC by its point, RSA by modulus and exponent. */
const sameJwk = (known: JsonNode, jwk: JsonNode): boolean => {
  const same = (name: string): boolean => known.opt(name)?.value === jwk.opt(name)?.value;
  return known.get('kty').str() === 'EC' ? same('x') && same('y') : same('n') && same('e');
};

/** The members of `node` named in `names` that are present, copied as recorded. */
function present(node: JsonNode, names: readonly string[]): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const name of names) {
    const member = node.opt(name);
    if (member !== undefined) copy[name] = member.value;
  }
  return copy;
}

const KEY_MEMBERS = [
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
] as const;
const PIN_POLICY_MEMBERS = [
  'id',
  'minLength',
  'maxLength',
  'retryLimit',
  'format',
  'userModifiable',
  'grouping',
  'inputMethod',
  'patternRestrictions',
] as const;

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
export function issuerReplayOf(file: string, doc: unknown, session: unknown, options: ReplayOptions = {}): Replay {
  const root = JsonNode.root(doc, file);
  const node = JsonNode.root(session, `${file} session`);
  const messages: RecordedMessage[] = node
    .get('messages')
    .items()
    .map((m) => ({ direction: m.get('direction').str() as RecordedMessage['direction'], qualifier: m.get('qualifier').str(), wire: m.get('wire').str() }));
  const parsed = (wire: string, path: string): JsonNode => JsonNode.root(JSON.parse(wire) as unknown, path);
  const wire = (qualifier: string): JsonNode | undefined => {
    const message = messages.find((x) => x.qualifier === qualifier);
    return message === undefined ? undefined : parsed(message.wire, `${file} ${qualifier}`);
  };
  const testKeys = root.get('test_keys');
  const kmks = testKeys.get('key_management_keys').entries();
  const kmkByJwk = (jwk: JsonNode): string => {
    const found = kmks.find(([, k]) => sameJwk(k.get('jwk'), jwk));
    if (found === undefined) throw new Error('unknown KMK in recording');
    return found[0];
  };
  const encryptions = node
    .get('encryptions')
    .items()
    .map((e) => ({ ivAndCiphertext: e.get('iv_and_ciphertext_hex').str(), plaintext: e.get('plaintext_hex').str(), iv: e.get('iv_hex').str() }));
  const plaintextOf = (b64: JsonNode): Buffer => {
    const encryption = encryptions.find((x) => x.ivAndCiphertext === b64uToHex(b64.str()));
    if (encryption === undefined) throw new Error('encrypted value not in encryptions[]');
    return Buffer.from(encryption.plaintext, 'hex');
  };
  // Every certificate the file knows, by SHA-256, to resolve target-key references.
  const certs = new Map<string, string>();
  const addCert = (b64: string): void => void certs.set(createHash('sha256').update(Buffer.from(b64, 'base64url')).digest('base64url'), b64);
  for (const state of root.get('sessions').items()) {
    for (const [, path] of state.get('issued_certificate_paths').entries()) for (const item of path.strs()) addCert(hexToB64u(item));
    for (const recordedMessage of state.get('messages').items()) {
      if (recordedMessage.get('qualifier').str() !== 'CredentialDiscoveryResponse') continue;
      const response = parsed(recordedMessage.get('wire').str(), `${recordedMessage.path}.wire`);
      for (const result of response.get('lookupResults').items())
        for (const element of result.get('matchingCredentials').items()) for (const item of element.get('certificatePath').strs()) addCert(item);
    }
  }
  const kmkSignatures = node
    .get('kmk_signatures')
    .items()
    .map((k) => ({ signer: k.get('signer_kmk').str(), signedData: k.get('signed_data_hex').str(), signature: k.get('signature_hex').str() }));
  const signerOf = (authorization: string): string => {
    const key = kmkSignatures.find((k) => k.signature === b64uToHex(authorization));
    if (key === undefined) throw new Error('authorization not in kmk_signatures[]');
    return key.signer;
  };
  const target = (entry: JsonNode): TargetKeyConfig => {
    const certificate = certs.get(entry.get('fingerPrint').str());
    if (certificate === undefined) throw new Error('target certificate not found');
    return {
      certificate,
      clientSessionId: entry.get('clientSessionId').str(),
      serverSessionId: entry.get('serverSessionId').str(),
      kmk: signerOf(entry.get('authorization').str()),
    };
  };

  const inv = wire('InvocationRequest');
  const pir = wire('ProvisioningInitializationRequest');
  if (inv === undefined || pir === undefined) throw new Error('the recording has no InvocationRequest or ProvisioningInitializationRequest');
  const cdr = wire('CredentialDiscoveryRequest');
  const kcr = wire('KeyCreationRequest');
  const pfr = wire('ProvisioningFinalizationRequest');
  const credentials = new Map<string, JsonNode>((pfr?.opt('issuedCredentials')?.items() ?? []).map((c) => [c.get('id').str(), c]));

  const keyOf = (key: JsonNode): KeyConfig => {
    const id = key.opt('id');
    const entry = id === undefined ? undefined : credentials.get(id.str());
    const copy = present(key, KEY_MEMBERS);
    const member = (name: string): JsonNode | undefined => entry?.opt(name);
    const encryptedPin = key.opt('encryptedPin');
    if (encryptedPin !== undefined) copy['presetPin'] = plaintextOf(encryptedPin).toString('utf8');
    const trustAnchor = member('trustAnchor');
    if (trustAnchor !== undefined) copy['trustAnchor'] = trustAnchor.value;
    const extensions = member('extensions');
    if (extensions !== undefined) copy['extensions'] = extensions.items().map((x) => ({ type: x.get('type').str(), data: x.get('extensionData').str() }));
    const encryptedExtensions = member('encryptedExtensions');
    if (encryptedExtensions !== undefined) {
      copy['encryptedExtensions'] = encryptedExtensions
        .items()
        .map((x) => ({ type: x.get('type').str(), data: plaintextOf(x.get('extensionData')).toString('base64url') }));
    }
    const propertyBags = member('propertyBags');
    if (propertyBags !== undefined)
      copy['propertyBags'] = propertyBags.items().map((b) => ({ type: b.get('type').str(), properties: b.get('properties').value }));
    const logotypes = member('logotypes');
    if (logotypes !== undefined) {
      copy['logotypes'] = logotypes.items().map((l) => ({ type: l.get('type').str(), mimeType: l.get('mimeType').str(), data: l.get('extensionData').str() }));
    }
    const updateKey = member('updateKey');
    if (updateKey !== undefined) copy['updateKey'] = target(updateKey);
    const cloneKeyProtection = member('cloneKeyProtection');
    if (cloneKeyProtection !== undefined) copy['cloneKeyProtection'] = target(cloneKeyProtection);
    return copy as unknown as KeyConfig;
  };
  const pinOf = (params: JsonNode): PinPolicyConfig => {
    const copy = present(params, PIN_POLICY_MEMBERS);
    copy['keys'] = params.get('keyEntrySpecifiers').items().map(keyOf);
    return copy as unknown as PinPolicyConfig;
  };
  const treeOf = (nodes: readonly JsonNode[]): UpdatableKmkConfig[] =>
    nodes.map((kmkNode) => {
      const children = kmkNode.opt('updatableKeyManagementKeys');
      return { kmk: kmkByJwk(kmkNode.get('publicKey')), ...(children === undefined ? {} : { updatableKeyManagementKeys: treeOf(children.items()) }) };
    });
  const pukOf = (policy: JsonNode): PukPolicyConfig =>
    ({
      id: policy.get('id').str(),
      puk: plaintextOf(policy.get('encryptedPuk')).toString('utf8'),
      format: policy.get('format').value,
      retryLimit: policy.get('retryLimit').int(),
      pinPolicies: policy.get('pinPolicySpecifiers').items().map(pinOf),
    }) as PukPolicyConfig;
  const lookupOf = (lookup: JsonNode): LookupConfig => {
    const searchFilter = lookup.opt('searchFilter');
    return {
      id: lookup.get('id').str(),
      kmk: kmkByJwk(lookup.get('signature').get('publicKey')),
      ...(searchFilter === undefined ? {} : { searchFilter: searchFilter.value as NonNullable<LookupConfig['searchFilter']> }),
    };
  };
  /** `{ [name]: read(member) }` when the member is present, else `{}`. */
  const optional = <T>(from: JsonNode | undefined, member: string, name: string, read: (n: JsonNode) => T): Record<string, T> => {
    const found = from?.opt(member);
    return found === undefined ? {} : { [name]: read(found) };
  };
  const queryOf = (type: string): CapabilityQuery => ({ type, kind: kindOf(type) });

  const config = {
    issuerUri: node.get('issuer_uri').str(),
    serverSessionId: node.get('server_session_id').str(),
    serverCertificate: hexToB64u(testKeys.get('server_certificate').get('certificate_der_hex').str()),
    action: inv.get('action').value,
    ...optional(inv, 'privacyEnabled', 'privacyEnabled', (n) => n.bool()),
    ...optional(inv, 'preferredLanguages', 'preferredLanguages', (n) => n.strs()),
    ...optional(inv, 'targetKeyContainers', 'targetKeyContainers', (n) => n.strs()),
    ephemeralCurve: pir.get('serverEphemeralKey').get('crv').str(),
    ...optional(inv, 'clientCapabilityQuery', 'capabilityQueries', (n) => n.strs().map(queryOf)),
    sessionKeyLimit: pir.get('sessionKeyLimit').int(),
    sessionLifeTime: pir.get('sessionLifeTime').int(),
    ...optional(pir, 'keyManagementKey', 'keyManagementKey', kmkByJwk),
    ...optional(pir, 'updatableKeyManagementKeys', 'updatableKeyManagementKeys', (n) => treeOf(n.items())),
    ...optional(cdr, 'lookupSpecifiers', 'lookups', (n) => n.items().map(lookupOf)),
    ...optional(kcr, 'deferredIssuance', 'deferredIssuance', (n) => n.bool()),
    ...optional(kcr, 'pukPolicySpecifiers', 'pukPolicies', (n) => n.items().map(pukOf)),
    ...optional(kcr, 'pinPolicySpecifiers', 'pinPolicies', (n) => n.items().map(pinOf)),
    ...optional(kcr, 'keyEntrySpecifiers', 'keys', (n) => n.items().map(keyOf)),
    ...optional(pfr, 'unlockKeys', 'unlockKeys', (n) => n.items().map(target)),
    ...optional(pfr, 'deleteKeys', 'deleteKeys', (n) => n.items().map(target)),
  } as IssuerConfig;

  const log: Replay['log'] = { hmacs: [], encryptions: [], unmatchedSignatures: [] };
  const ephemeralServerKey = node.get('ephemeral_keys').get('server').get('pkcs8_hex').hex();
  const inner = new NodeIssuerCrypto({
    ...(options.sealingKey === undefined ? {} : { sealingKey: options.sealingKey }),
    keyManagementKeys: Object.fromEntries(kmks.map(([n, k]) => [n, k.get('pkcs8_hex').hex()])),
    ephemeralKeyFactory: () => createPrivateKey({ key: ephemeralServerKey, format: 'der', type: 'pkcs8' }),
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
      const index = encryptions.findIndex((e, n) => !usedEncryptions.has(n) && e.plaintext === hex(plaintext));
      if (index >= 0) {
        usedEncryptions.add(index);
        nextIv.push(Buffer.from(encryptions[index].iv, 'hex'));
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
      const index = kmkSignatures.findIndex((k, n) => !usedSignatures.has(n) && k.signedData === hex(data) && k.signer === name);
      if (index >= 0) {
        usedSignatures.add(index);
        return Buffer.from(kmkSignatures[index].signature, 'hex');
      }
      log.unmatchedSignatures.push(`${name}:${hex(data)}`);
      return inner.sign(name, data);
    },
    seal: (s) => inner.seal(s),
    unseal: (r) => inner.unseal(r),
  };

  const issuedPaths = new Map(
    node
      .get('issued_certificate_paths')
      .entries()
      .map(([id, path]) => [id, path.strs()]),
  );
  const serverTime = Date.parse(node.get('server_time').str());
  const closeNonce = node.get('close_session').get('nonce_hex').hex();
  const deviceRoot = testKeys.get('device_attestation').get('issuer_ca_certificate_der_hex').hex();
  const environment: IssuerEnvironment = {
    crypto: port,
    deviceTrust: new DeviceTrust(options.deviceRoots ?? [deviceRoot]),
    clock: () => serverTime,
    randomBytes: (count) => {
      if (count !== 32) throw new Error(`unexpected random draw of ${count} bytes`);
      return Buffer.from(closeNonce);
    },
    certify: (key): IssuedKeyMaterial => {
      options.onCertify?.(key.id);
      const entry = credentials.get(key.id);
      const path = (issuedPaths.get(key.id) ?? []).map((h) => Buffer.from(h, 'hex'));
      const importPrivateKey = entry?.opt('importPrivateKey');
      const importSymmetricKey = entry?.opt('importSymmetricKey');
      return {
        certificatePath: path,
        ...(importPrivateKey === undefined ? {} : { importPrivateKey: plaintextOf(importPrivateKey.get('encryptedKey')) }),
        ...(importSymmetricKey === undefined ? {} : { importSymmetricKey: plaintextOf(importSymmetricKey.get('encryptedKey')) }),
      };
    },
  };
  const recorded: RecordedSession = {
    label: node.get('label').str(),
    privacy_enabled: node.get('privacy_enabled').bool(),
    issued_certificate_paths: Object.fromEntries(issuedPaths),
    server_hmacs: node
      .get('server_hmacs')
      .items()
      .map((hmac) => {
        const methodOrLabel = hmac.optValue('method_or_label');
        const counter = hmac.optValue('counter');
        return {
          purpose: hmac.get('purpose').str(),
          ...(methodOrLabel === undefined ? {} : { method_or_label: methodOrLabel.str() }),
          ...(counter === undefined ? {} : { counter: counter.int() }),
          key_modifier_hex: hmac.get('key_modifier_hex').str(),
          input_hex: hmac.get('input_hex').str(),
          mac_hex: hmac.get('mac_hex').str(),
        };
      }),
    encryptions: encryptions.map((e) => ({ iv_and_ciphertext_hex: e.ivAndCiphertext, plaintext_hex: e.plaintext })),
    messages,
  };
  return { file, label: recorded.label, session: recorded, messages, config, environment, log };
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
