/**
 * A minimal device for issuer tests: answers the five requests with node:crypto and the shared
 * session crypto, keeping the MAC counter as the SKS does (one value per MAC, one per
 * attestation, in processing order). It trusts the issuer's MACs without checking them (the
 * recorded sessions prove those byte for byte); it exists to run fresh, unrecorded sessions.
 */
import { createECDH, createHmac, sign, type KeyObject } from 'node:crypto';
import { generateKeyPairSync } from '../../support/keygen.js';
import { ALGORITHM_SESSION_ATTEST_1 } from '../../../src/sks/algorithms.js';
import { MacData, deriveSessionKey, deviceIdFor, sessionAttestationInput, sessionKdfInput } from '../../../src/sks/session-crypto.js';
import type { KeyGen2Message, MessageOf } from '../../../src/keygen2/messages/index.js';

const P256_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

const attest = (sk: Buffer, counter: number, data: Uint8Array): Buffer => {
  const modifier = Buffer.alloc(19);
  modifier.write('DeviceAttestation', 'ascii');
  modifier.writeUInt16BE(counter, 17);
  return createHmac('sha256', Buffer.concat([sk, modifier]))
    .update(data)
    .digest();
};

export interface MiniDeviceOptions {
  readonly issuerUri: string;
  /** RSA or EC device key and its path; absent = privacy mode. */
  readonly device?: { readonly privateKey: KeyObject; readonly certificatePath: readonly Uint8Array[] };
  readonly serverCertificate?: Uint8Array;
  readonly clientSessionId?: string;
  /** Seconds since the epoch the SKS attests. */
  readonly clientTime?: number;
}

export class MiniDevice {
  #sk: Buffer | undefined;
  #counter = 0;
  #privacy = false;
  readonly #clientSessionId: string;

  constructor(private readonly options: MiniDeviceOptions) {
    this.#clientSessionId = options.clientSessionId ?? 'MiniDeviceSession0000000000000001';
  }

  answer(request: KeyGen2Message): KeyGen2Message {
    switch (request.qualifier) {
      case 'InvocationRequest':
        this.#privacy = request.privacyEnabled === true;
        return {
          qualifier: 'InvocationResponse',
          serverSessionId: request.serverSessionId,
          ...(request.clientCapabilityQuery === undefined
            ? {}
            : { clientCapabilities: request.clientCapabilityQuery.map((type) => ({ type, kind: 'supported' as const, supported: false })) }),
        };
      case 'ProvisioningInitializationRequest':
        return this.#initialize(request);
      case 'CredentialDiscoveryRequest':
        return {
          qualifier: 'CredentialDiscoveryResponse',
          serverSessionId: request.serverSessionId,
          clientSessionId: request.clientSessionId,
          lookupResults: request.lookupSpecifiers.map((l) => ({ id: l.id, matchingCredentials: [] })),
        };
      case 'KeyCreationRequest':
        return this.#createKeys(request);
      case 'ProvisioningFinalizationRequest':
        return this.#finalize(request);
      default:
        throw new Error(`not a request: ${request.qualifier}`);
    }
  }

  #initialize(provisioningInitializationRequest: MessageOf<'ProvisioningInitializationRequest'>): MessageOf<'ProvisioningInitializationResponse'> {
    this.#counter = 0;
    const ecdh = createECDH('prime256v1');
    const point = ecdh.generateKeys();
    const clientEphemeralKey = Buffer.concat([P256_PREFIX, point]);
    const nonSharedBuffer = ecdh.computeSecret(Buffer.from(provisioningInitializationRequest.serverEphemeralKey).subarray(P256_PREFIX.length));
    const device = this.options.device;
    const deviceId = deviceIdFor(this.#privacy, device?.certificatePath[0] ?? new Uint8Array(0));
    const sk = deriveSessionKey(
      nonSharedBuffer,
      sessionKdfInput(this.#clientSessionId, provisioningInitializationRequest.serverSessionId, this.options.issuerUri, deviceId),
    );
    this.#sk = sk;
    const clientTime = this.options.clientTime ?? Math.floor(Date.now() / 1000);
    const bytes = sessionAttestationInput({
      clientSessionId: this.#clientSessionId,
      serverSessionId: provisioningInitializationRequest.serverSessionId,
      issuerUri: this.options.issuerUri,
      deviceId,
      sessionKeyAlgorithm: ALGORITHM_SESSION_ATTEST_1,
      privacyEnabled: this.#privacy,
      serverEphemeralKey: provisioningInitializationRequest.serverEphemeralKey,
      clientEphemeralKey,
      keyManagementKey: provisioningInitializationRequest.keyManagementKey,
      clientTime,
      sessionLifeTime: provisioningInitializationRequest.sessionLifeTime,
      sessionKeyLimit: provisioningInitializationRequest.sessionKeyLimit,
      serverCertificate: this.options.serverCertificate ?? new Uint8Array(0),
    });
    const attestation =
      device === undefined
        ? createHmac('sha256', sk).update(bytes).digest()
        : device.privateKey.asymmetricKeyType === 'ec'
          ? sign('sha256', bytes, { key: device.privateKey, dsaEncoding: 'ieee-p1363' })
          : sign('sha256', bytes, device.privateKey);
    const text = `${new Date(clientTime * 1000).toISOString().slice(0, 19)}+00:00`;
    return {
      qualifier: 'ProvisioningInitializationResponse',
      serverSessionId: provisioningInitializationRequest.serverSessionId,
      clientSessionId: this.#clientSessionId,
      serverTime: provisioningInitializationRequest.serverTime,
      clientTime: { epochMs: clientTime * 1000, offsetMinutes: 0, text },
      clientEphemeralKey,
      ...(device === undefined ? {} : { deviceId: { certificatePath: device.certificatePath } }),
      attestation,
    };
  }

  #createKeys(keyCreationRequest: MessageOf<'KeyCreationRequest'>): MessageOf<'KeyCreationResponse'> {
    const sk = this.#sk!;
    const generatedKeys: Array<{ id: string; publicKey: Uint8Array; attestation: Uint8Array }> = [];
    const key = (keyEntrySpecifier: NonNullable<MessageOf<'KeyCreationRequest'>['keyEntrySpecifiers']>[number]): void => {
      this.#counter++; // createKeyEntry MAC
      const publicKey = keyEntrySpecifier.keyAlgorithm.endsWith('#ec.nist.p256')
        ? Buffer.concat([P256_PREFIX, createECDH('prime256v1').generateKeys()])
        : generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' });
      generatedKeys.push({
        id: keyEntrySpecifier.id,
        publicKey,
        attestation: attest(sk, this.#counter++, MacData.keyAttestation(publicKey, keyEntrySpecifier.mac)),
      });
    };
    const pins = (ps: MessageOf<'KeyCreationRequest'>['pinPolicySpecifiers']): void => {
      for (const pinPolicySpecifier of ps ?? []) {
        this.#counter++;
        pinPolicySpecifier.keyEntrySpecifiers.forEach(key);
      }
    };
    for (const pukPolicySpecifier of keyCreationRequest.pukPolicySpecifiers ?? []) {
      this.#counter++;
      pins(pukPolicySpecifier.pinPolicySpecifiers);
    }
    pins(keyCreationRequest.pinPolicySpecifiers);
    (keyCreationRequest.keyEntrySpecifiers ?? []).forEach(key);
    return {
      qualifier: 'KeyCreationResponse',
      serverSessionId: keyCreationRequest.serverSessionId,
      clientSessionId: keyCreationRequest.clientSessionId,
      generatedKeys,
    };
  }

  #finalize(provisioningFinalizationRequest: MessageOf<'ProvisioningFinalizationRequest'>): MessageOf<'ProvisioningFinalizationResponse'> {
    let macs = 0;
    const count = (value: unknown, member: string): void => {
      if (member === 'mac') macs++;
      else if (Array.isArray(value)) value.forEach((x) => count(x, ''));
      else if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array))
        for (const [key, input] of Object.entries(value)) count(input, key);
    };
    count(provisioningFinalizationRequest, '');
    this.#counter += macs;
    const attestation = attest(this.#sk!, this.#counter++, MacData.closeAttestation(provisioningFinalizationRequest.sessionCloseData.nonce));
    return {
      qualifier: 'ProvisioningFinalizationResponse',
      serverSessionId: provisioningFinalizationRequest.serverSessionId,
      clientSessionId: provisioningFinalizationRequest.clientSessionId,
      attestation,
    };
  }
}
