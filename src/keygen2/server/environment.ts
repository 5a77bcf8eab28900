/**
 * What an issuer needs from its surroundings (STYLE §4: passed in, never global): the crypto port,
 * the trusted device roots, the certification callback, a clock and a random source.
 */
import { randomBytes } from 'node:crypto';
import type { AppUsage } from '../messages/enums.js';
import type { IssuerCryptoPort } from './crypto-port.js';
import type { DeviceTrust } from './device-trust.js';
import type { CapabilityAnswer, DiscoveredCredential } from './state.js';
import type { TargetKeyConfig } from './config.js';

/** A generated key whose attestation verified: what the issuer certifies (spec §6.8, §6.9.1). */
export interface AttestedKey {
  readonly id: string;
  /** SPKI of the key the SKS generated. */
  readonly publicKey: Uint8Array;
  readonly keyAlgorithm: string;
  readonly appUsage: AppUsage;
  readonly clientSessionId: string;
  readonly serverSessionId: string;
  /** The device certificate path (E2ES mode), end-entity first. */
  readonly deviceCertificatePath?: readonly Uint8Array[];
  /** Capability answers from the InvocationResponse. */
  readonly capabilities: readonly CapabilityAnswer[];
}

/** What the certification callback returns for one key. */
export interface IssuedKeyMaterial {
  /** End-entity first; it certifies `publicKey`, or the imported private key's public key. */
  readonly certificatePath: readonly Uint8Array[];
  /** PKCS#8 DER of a private key to import instead of the generated one (spec §6.9.3). */
  readonly importPrivateKey?: Uint8Array;
  /** Raw symmetric key to import (spec §6.9.1). */
  readonly importSymmetricKey?: Uint8Array;
}

/** Post-operations decided after a credential discovery (spec §9.2). */
export interface ManagementPlan {
  readonly unlockKeys?: readonly TargetKeyConfig[];
  readonly deleteKeys?: readonly TargetKeyConfig[];
  /** By id of a key in this session's configuration. */
  readonly updateKey?: Readonly<Record<string, TargetKeyConfig>>;
  readonly cloneKeyProtection?: Readonly<Record<string, TargetKeyConfig>>;
}

export interface IssuerEnvironment {
  readonly crypto: IssuerCryptoPort;
  /** Device vendor roots; a device whose path does not chain to one is refused (POLICY). */
  readonly deviceTrust: DeviceTrust;
  /** Decides the certificate path (and optional import) of each attested key. */
  readonly certify: (key: AttestedKey) => IssuedKeyMaterial | Promise<IssuedKeyMaterial>;
  /** Post-operations to add once a discovery round has answered. */
  readonly planManagement?: (discovered: readonly DiscoveredCredential[]) => ManagementPlan | undefined | Promise<ManagementPlan | undefined>;
  /** Milliseconds since the epoch (default `Date.now`). */
  readonly clock?: () => number;
  /** Random bytes for session ids and close nonces (default node:crypto). */
  readonly randomBytes?: (length: number) => Uint8Array;
  /** Whether privacy-mode sessions (no device identity) are accepted (default true). */
  readonly allowPrivacyMode?: boolean;
  /**
   * Largest accepted distance between the attested `clientTime` and the issuer's clock, in
   * seconds (default: unchecked, as the reference).
   */
  readonly clientTimeToleranceSeconds?: number;
  /**
   * Refuse responses once `sessionLifeTime` seconds have passed since `serverTime` (SESSION);
   * default true. The SKS may keep its session open that long, the issuer need not wait longer.
   */
  readonly enforceSessionLifeTime?: boolean;
  /**
   * Decode every outgoing request strictly again before `startText`/`acceptText` return it
   * (default false). A debugging aid: the requests are built by this process from a validated
   * configuration and decoded responses, and the client decodes them strictly (§11.1) anyway;
   * the self-check costs as much as that decode, an X.509 parse per issued certificate included.
   * Tests turn it on (test/keygen2/server) so an encoder fault fails where it happens.
   */
  readonly checkOutgoing?: boolean;
}

export interface ResolvedEnvironment extends IssuerEnvironment {
  readonly clock: () => number;
  readonly randomBytes: (length: number) => Uint8Array;
  readonly allowPrivacyMode: boolean;
  readonly enforceSessionLifeTime: boolean;
  readonly checkOutgoing: boolean;
}

/**
 * node:crypto randomness drawn 4 KiB at a time: a call per 32-byte nonce costs more than the
 * HMACs of a whole session. Each byte is handed out once.
 */
export function pooledRandomBytes(): (length: number) => Uint8Array {
  let pool = Buffer.alloc(0);
  let offset = 0;
  return (length) => {
    if (length > 1024) return randomBytes(length);
    if (pool.length - offset < length) {
      pool = randomBytes(4096);
      offset = 0;
    }
    const out = Buffer.from(pool.subarray(offset, offset + length));
    pool.fill(0, offset, offset + length);
    offset += length;
    return out;
  };
}

export const resolveEnvironment = (env: IssuerEnvironment): ResolvedEnvironment => ({
  ...env,
  clock: env.clock ?? Date.now,
  randomBytes: env.randomBytes ?? pooledRandomBytes(),
  allowPrivacyMode: env.allowPrivacyMode ?? true,
  enforceSessionLifeTime: env.enforceSessionLifeTime ?? true,
  checkOutgoing: env.checkOutgoing ?? false,
});
