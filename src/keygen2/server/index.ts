/**
 * The issuer's side of KeyGen2 (spec §3.2, §5, §6, §7, §9): a state machine over a plain,
 * serializable state value, a crypto port for the server's secrets and its node:crypto adapter,
 * and the trusted device roots.
 */
export { createIssuer, type IssuerRequest, type IssuerResponse, type IssuerStep, type IssuerTextStep, type KeyGen2Issuer } from './issuer.js';
export type * from './config.js';
export type * from './state.js';
export type { AttestedKey, IssuedKeyMaterial, IssuerEnvironment, ManagementPlan } from './environment.js';
export type { EphemeralKey, IssuerCryptoPort, SealedRef } from './crypto-port.js';
export { NodeIssuerCrypto, type NodeIssuerCryptoOptions } from './node-crypto-port.js';
export { DeviceTrust, type VerifiedDevice } from './device-trust.js';
export type { ProvisioningOutcome } from './steps/finalization.js';
