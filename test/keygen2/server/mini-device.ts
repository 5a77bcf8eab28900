/**
 * A minimal device for issuer tests: answers the five requests with node:crypto and the shared
 * session crypto, keeping the MAC counter as the SKS does (one value per MAC, one per
 * attestation, in processing order). It trusts the issuer's MACs without checking them (the
 * recorded sessions prove those byte for byte); it exists to run fresh, unrecorded sessions.
 */
import { createECDH, createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { ALGORITHM_SESSION_ATTEST_1 } from '../../../src/sks/algorithms.js';
import { MacData, deriveSessionKey, deviceIdFor, sessionAttestationInput, sessionKdfInput } from '../../../src/sks/session-crypto.js';
import type { KeyGen2Message, MessageOf } from '../../../src/keygen2/messages/index.js';

const P256_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');

const attest = (sk: Buffer, counter: number, data: Uint8Array): Buffer => {
  const modifier = Buffer.alloc(19);
  modifier.write('DeviceAttestation', 'ascii');
  modifier.writeUInt16BE(counter, 17);
  return createHmac('sha256', Buffer.concat([sk, modifier])).update(data).digest();
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

  #initialize(r: MessageOf<'ProvisioningInitializationRequest'>): MessageOf<'ProvisioningInitializationResponse'> {
    this.#counter = 0;
    const ecdh = createECDH('prime256v1');
    const point = ecdh.generateKeys();
    const clientEphemeralKey = Buffer.concat([P256_PREFIX, point]);
    const z = ecdh.computeSecret(Buffer.from(r.serverEphemeralKey).subarray(P256_PREFIX.length));
    const device = this.options.device;
    const deviceId = deviceIdFor(this.#privacy, device?.certificatePath[0] ?? new Uint8Array(0));
    const sk = deriveSessionKey(z, sessionKdfInput(this.#clientSessionId, r.serverSessionId, this.options.issuerUri, deviceId));
    this.#sk = sk;
    const clientTime = this.options.clientTime ?? Math.floor(Date.now() / 1000);
    const a = sessionAttestationInput({
      clientSessionId: this.#clientSessionId,
      serverSessionId: r.serverSessionId,
      issuerUri: this.options.issuerUri,
      deviceId,
      sessionKeyAlgorithm: ALGORITHM_SESSION_ATTEST_1,
      privacyEnabled: this.#privacy,
      serverEphemeralKey: r.serverEphemeralKey,
      clientEphemeralKey,
      keyManagementKey: r.keyManagementKey,
      clientTime,
      sessionLifeTime: r.sessionLifeTime,
      sessionKeyLimit: r.sessionKeyLimit,
      serverCertificate: this.options.serverCertificate ?? new Uint8Array(0),
    });
    const attestation =
      device === undefined
        ? createHmac('sha256', sk).update(a).digest()
        : device.privateKey.asymmetricKeyType === 'ec'
          ? sign('sha256', a, { key: device.privateKey, dsaEncoding: 'ieee-p1363' })
          : sign('sha256', a, device.privateKey);
    const text = `${new Date(clientTime * 1000).toISOString().slice(0, 19)}+00:00`;
    return {
      qualifier: 'ProvisioningInitializationResponse',
      serverSessionId: r.serverSessionId,
      clientSessionId: this.#clientSessionId,
      serverTime: r.serverTime,
      clientTime: { epochMs: clientTime * 1000, offsetMinutes: 0, text },
      clientEphemeralKey,
      ...(device === undefined ? {} : { deviceId: { certificatePath: device.certificatePath } }),
      attestation,
    };
  }

  #createKeys(r: MessageOf<'KeyCreationRequest'>): MessageOf<'KeyCreationResponse'> {
    const sk = this.#sk as Buffer;
    const generatedKeys: { id: string; publicKey: Uint8Array; attestation: Uint8Array }[] = [];
    const key = (k: NonNullable<MessageOf<'KeyCreationRequest'>['keyEntrySpecifiers']>[number]): void => {
      this.#counter++; // createKeyEntry MAC
      const publicKey = k.keyAlgorithm.endsWith('#ec.nist.p256')
        ? Buffer.concat([P256_PREFIX, createECDH('prime256v1').generateKeys()])
        : generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'der', type: 'spki' });
      generatedKeys.push({ id: k.id, publicKey, attestation: attest(sk, this.#counter++, MacData.keyAttestation(publicKey, k.mac)) });
    };
    const pins = (ps: MessageOf<'KeyCreationRequest'>['pinPolicySpecifiers']): void => {
      for (const p of ps ?? []) {
        this.#counter++;
        p.keyEntrySpecifiers.forEach(key);
      }
    };
    for (const u of r.pukPolicySpecifiers ?? []) {
      this.#counter++;
      pins(u.pinPolicySpecifiers);
    }
    pins(r.pinPolicySpecifiers);
    (r.keyEntrySpecifiers ?? []).forEach(key);
    return { qualifier: 'KeyCreationResponse', serverSessionId: r.serverSessionId, clientSessionId: r.clientSessionId, generatedKeys };
  }

  #finalize(r: MessageOf<'ProvisioningFinalizationRequest'>): MessageOf<'ProvisioningFinalizationResponse'> {
    let macs = 0;
    const count = (v: unknown, member: string): void => {
      if (member === 'mac') macs++;
      else if (Array.isArray(v)) v.forEach((x) => count(x, ''));
      else if (v !== null && typeof v === 'object' && !(v instanceof Uint8Array)) for (const [k, x] of Object.entries(v)) count(x, k);
    };
    count(r, '');
    this.#counter += macs;
    const attestation = attest(this.#sk as Buffer, this.#counter++, MacData.closeAttestation(r.sessionCloseData.nonce));
    return { qualifier: 'ProvisioningFinalizationResponse', serverSessionId: r.serverSessionId, clientSessionId: r.clientSessionId, attestation };
  }
}
