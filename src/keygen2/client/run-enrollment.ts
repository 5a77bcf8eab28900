/**
 * The device's KeyGen2 driver (spec §3.3): fetches the InvocationRequest,
 * asks the user, answers each request by driving the SKS through its public
 * API, and ends at the issuer's redirect. Any failure after the SKS session
 * was created aborts it (spec §11.2), so nothing half-done remains.
 */
import type { KeyHandle, ProvisioningHandle, SecureKeyStore } from '../../sks/api.js';
import { KeyGen2Error, isKeyGen2Error } from '../errors.js';
import { parseInvocationUrl, type Invocation } from '../http/invocation-url.js';
import {
  decodeMessage,
  encodeMessage,
  type InvocationRequest,
  type InvocationResponse,
  type KeyGen2Message,
  type MessageOf,
  type Qualifier,
} from '../messages/index.js';
import { answerCapabilities, type PlatformCapabilities } from './capabilities.js';
import { certificateInfo } from './certificate-info.js';
import { discoverCredentials } from './credential-discovery.js';
import { finalizeSession, type IssuedKey, type PostOperationDone } from './finalization.js';
import { initializeSession } from './initialization.js';
import { createKeys, keyCount, type CreatedKey } from './key-creation.js';
import { systemClock, type ClientClock, type EnrollmentUi, type KeyGen2Transport, type TransportReply } from './ports.js';
import { asKeyGen2Error, type OpenSession } from './session.js';

export interface EnrollmentOptions {
  /**
   * The device's key store (only its public API is used), or a function that opens it: called
   * once, after the user consented, so a store that serves one process at a time is not held
   * while the question waits.
   */
  readonly sks: SecureKeyStore | (() => SecureKeyStore | Promise<SecureKeyStore>);
  readonly transport: KeyGen2Transport;
  readonly ui: EnrollmentUi;
  /** `webpkiproxy://keygen2?init=…&url=…&cookie=…` (or the same query on http(s)), or its parsed form. */
  readonly invocationUrl: string | Invocation;
  /** Default: the system clock and the host's UTC offset. */
  readonly clock?: ClientClock;
  /** Client attributes and image preferences for capability queries (spec §10). */
  readonly platform?: PlatformCapabilities;
  /** Largest accepted distance between `serverTime` and the device clock; `null` skips the check. Default one day. */
  readonly serverTimeToleranceSeconds?: number | null;
  /** Refused entries per PIN before the enrollment is given up (USER_ABORT). Default 5. */
  readonly maxPinEntries?: number;
  /**
   * Decode every outgoing response strictly again before it is posted (default false): a
   * debugging aid, as the issuer decodes it strictly (§11.1) anyway.
   */
  readonly checkOutgoing?: boolean;
}

/** One key this enrollment installed. */
export interface InstalledKey {
  readonly id: string;
  /**
   * The key's handle once the session closed. After `updateKey` the new key
   * takes over the target's handle, so this is the target's.
   */
  readonly keyHandle: KeyHandle;
  readonly keyAlgorithm: string;
  readonly appUsage: string;
  readonly friendlyName: string | undefined;
  /** SPKI of the generated key (an imported private key replaces it; see the certificate). */
  readonly publicKey: Uint8Array;
  /** Java RFC 2253 rendering of the end-entity certificate's subject. */
  readonly certificateSubject: string;
  readonly certificatePath: readonly Uint8Array[];
  readonly imported: 'symmetric' | 'private' | undefined;
  readonly extensionTypes: readonly string[];
  readonly pinPolicyId: string | undefined;
}

/** What an enrollment did. */
export interface EnrollmentSummary {
  readonly issuerUri: string;
  readonly issuerHost: string;
  readonly serverSessionId: string;
  readonly clientSessionId: string;
  readonly provisioningHandle: ProvisioningHandle;
  readonly privacyEnabled: boolean;
  readonly action: 'manage' | 'unlock';
  readonly keys: readonly InstalledKey[];
  /** Post-operations committed by the close (target handles as they were before it). */
  readonly postOperations: readonly PostOperationDone[];
  /** Where the issuer sent the browser at the end (spec §2.2 step 4). */
  readonly redirectUrl: string;
}

/** What a committed session installed, before (or without) the issuer's final redirect. */
export type CommittedEnrollment = Omit<EnrollmentSummary, 'redirectUrl'>;

/**
 * The SKS committed the session, but the issuer's answer to the ProvisioningFinalizationResponse
 * failed (no connection, a message instead of the final redirect): the keys are on the device
 * and nothing can take them back, yet the issuer may never have verified the close and may
 * revoke their certificates. The code is the failure's (TRANSPORT, PROTOCOL, ...); `installed`
 * says what the device now holds, so the user can be told rather than read "aborted".
 */
export class UnconfirmedEnrollmentError extends KeyGen2Error {
  constructor(
    reason: KeyGen2Error,
    readonly installed: CommittedEnrollment,
  ) {
    super(reason.code, `the device committed the session, but the issuer did not confirm it: ${reason.message}`, {
      ...(reason.path === undefined ? {} : { path: reason.path }),
      cause: reason,
    });
  }
}

const DEFAULT_TOLERANCE_SECONDS = 24 * 60 * 60;

/** What may follow the initialization round (spec §3.2). */
type AfterInitialization = 'CredentialDiscoveryRequest' | 'KeyCreationRequest' | 'ProvisioningFinalizationRequest';

/** The summary's view of what finalization installed (an updated key reports the target's handle, which it takes over). */
function installedKeys(issued: readonly IssuedKey[], postOperations: readonly PostOperationDone[], created: readonly CreatedKey[]): InstalledKey[] {
  const updated = new Map(postOperations.filter((p) => p.operation === 'update').map((p) => [p.newKeyId, p.targetKeyHandle]));
  return issued.map((issuedKey) => {
    const item = created.find((k) => k.id === issuedKey.id);
    const ee = issuedKey.certificatePath.at(0);
    return {
      id: issuedKey.id,
      keyHandle: updated.get(issuedKey.id) ?? issuedKey.keyHandle,
      keyAlgorithm: item?.keyAlgorithm ?? '',
      appUsage: item?.appUsage ?? '',
      friendlyName: item?.friendlyName,
      publicKey: item?.publicKey ?? new Uint8Array(0),
      certificateSubject: ee === undefined ? '' : certificateInfo(ee).subject,
      certificatePath: issuedKey.certificatePath,
      imported: issuedKey.imported,
      extensionTypes: issuedKey.extensionTypes,
      pinPolicyId: item?.pinPolicyId,
    };
  });
}

function expectMessage(reply: TransportReply, what: string): string {
  if (reply.kind !== 'message') {
    throw new KeyGen2Error('TRANSPORT', `the issuer redirected where ${what} was expected`);
  }
  return reply.text;
}

function decode<Q extends Qualifier>(text: string, expected: readonly Q[]): MessageOf<Q> {
  return decodeMessage(text, expected);
}

/**
 * Runs one KeyGen2 enrollment as the device.
 *
 * @example
 * ```ts
 * const summary = await runEnrollment({
 *   sks, ui, transport: createHttpTransport(),
 *   invocationUrl: 'webpkiproxy://keygen2?init=https%3A%2F%2Fissuer%2Fkg2%3Finit%3Dtrue&url=https%3A%2F%2Fissuer%2Fkg2',
 * });
 * console.log(summary.keys.map((k) => k.certificateSubject));
 * ```
 */
export async function runEnrollment(options: EnrollmentOptions): Promise<EnrollmentSummary> {
  const { transport, ui } = options;
  const openStore = options.sks;
  /** The store once it is open: what a failure aborts the session in. */
  let opened: SecureKeyStore | undefined;
  const clock = options.clock ?? systemClock;
  const tolerance = options.serverTimeToleranceSeconds === null ? undefined : (options.serverTimeToleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS);
  const maxPinEntries = options.maxPinEntries ?? 5;
  // Mutable holder (not `let`s) because the session is reported from a callback.
  const sksSession: { open: OpenSession | undefined; closed: boolean } = { open: undefined, closed: false };
  /** Set once the URL parsed: where to send a cancel. */
  let cancelTo: Invocation | undefined;
  try {
    const invocation = typeof options.invocationUrl === 'string' ? parseInvocationUrl(options.invocationUrl) : options.invocationUrl;
    cancelTo = invocation;
    const initUrl = new URL(invocation.initUrl);
    const issuerHost = initUrl.host;
    const post = (m: KeyGen2Message): Promise<TransportReply> =>
      viaTransport(() => transport.postResponse(invocation, encodeMessage(m, { check: options.checkOutgoing ?? false })));

    // 1. InvocationRequest (spec §6.1): consent, capabilities. No SKS session yet.
    ui.progress?.({ step: 'invocation', issuerHost });
    const first = await viaTransport(() => transport.fetchInvocation(invocation));
    const invocationRequest: InvocationRequest = decode(expectMessage(first, 'the InvocationRequest'), ['InvocationRequest']);
    const serverCertificate = first.kind === 'message' ? (first.serverCertificate ?? new Uint8Array(0)) : new Uint8Array(0);
    if (initUrl.protocol === 'https:' && serverCertificate.length === 0) {
      throw new KeyGen2Error('TRANSPORT', 'the transport reported no TLS server certificate for an https init URL');
    }
    const privacyEnabled = invocationRequest.privacyEnabled ?? false;
    const queries = invocationRequest.clientCapabilityQuery ?? [];
    const consent = await ui.consent({
      issuerHost,
      secure: initUrl.protocol === 'https:',
      action: invocationRequest.action,
      privacyEnabled,
      preferredLanguages: invocationRequest.preferredLanguages ?? [],
      capabilityQueries: queries,
    });
    if (!consent) throw new KeyGen2Error('USER_ABORT', 'the user declined the enrollment');
    const sks = typeof openStore === 'function' ? await openStore() : openStore;
    opened = sks;
    const device = await sks.getDeviceInfo();
    const invocationResponse: InvocationResponse =
      invocationRequest.clientCapabilityQuery === undefined
        ? { qualifier: 'InvocationResponse', serverSessionId: invocationRequest.serverSessionId }
        : {
            qualifier: 'InvocationResponse',
            serverSessionId: invocationRequest.serverSessionId,
            clientCapabilities: answerCapabilities(queries, device, options.platform ?? {}, privacyEnabled),
          };

    // 2. ProvisioningInitialization (spec §6.3, §6.4): from here on, failures abort the SKS session.
    const initText = expectMessage(await post(invocationResponse), 'a ProvisioningInitializationRequest');
    const initRequest = decode(initText, ['ProvisioningInitializationRequest']);
    const init = await initializeSession(
      initRequest,
      {
        sks,
        clock,
        serverSessionId: invocationRequest.serverSessionId,
        privacyEnabled,
        issuerUri: invocation.transactionUrl,
        serverCertificate,
        deviceCertificatePath: device.certificatePath,
        serverTimeToleranceSeconds: tolerance,
      },
      (opened) => {
        sksSession.open = opened;
      },
    );
    const openSession = init.session;
    ui.progress?.({ step: 'initialization', clientSessionId: openSession.clientSessionId, serverSessionId: openSession.serverSessionId });

    // 3-5. CredentialDiscovery? KeyCreation? ProvisioningFinalization (spec §3.2 legal sequences).
    let reply = await post(init.response);
    let expected: AfterInitialization[] = ['CredentialDiscoveryRequest', 'KeyCreationRequest', 'ProvisioningFinalizationRequest'];
    let created: CreatedKey[] = [];
    for (;;) {
      const text = expectMessage(reply, `one of ${expected.join(', ')}`);
      const request = decode(text, expected);
      switch (request.qualifier) {
        case 'CredentialDiscoveryRequest': {
          ui.progress?.({ step: 'credential-discovery', lookups: request.lookupSpecifiers.length });
          const response = await discoverCredentials(openSession, request);
          expected = ['KeyCreationRequest', 'ProvisioningFinalizationRequest'];
          reply = await post(response);
          break;
        }
        case 'KeyCreationRequest': {
          ui.progress?.({ step: 'key-creation', keys: keyCount(request) });
          const result = await createKeys(openSession, request, ui, invocationRequest.action, maxPinEntries);
          created = result.created;
          expected = ['ProvisioningFinalizationRequest'];
          reply = await post(result.response);
          break;
        }
        case 'ProvisioningFinalizationRequest': {
          ui.progress?.({ step: 'finalization', credentials: request.issuedCredentials?.length ?? 0 });
          const finalization = await finalizeSession(openSession, request);
          sksSession.closed = true;
          const installed: CommittedEnrollment = {
            issuerUri: invocation.transactionUrl,
            issuerHost,
            serverSessionId: openSession.serverSessionId,
            clientSessionId: openSession.clientSessionId,
            provisioningHandle: openSession.provisioningHandle,
            privacyEnabled,
            action: invocationRequest.action,
            keys: installedKeys(finalization.issued, finalization.postOperations, created),
            postOperations: finalization.postOperations,
          };
          let last: TransportReply;
          try {
            last = await post(finalization.response);
            if (last.kind !== 'redirect') {
              throw new KeyGen2Error('PROTOCOL', 'the issuer answered the ProvisioningFinalizationResponse with a message instead of the final redirect');
            }
          } catch (failure) {
            throw new UnconfirmedEnrollmentError(asKeyGen2Error(failure), installed);
          }
          ui.progress?.({ step: 'done', redirect: last.location });
          return { ...installed, redirectUrl: last.location };
        }
      }
    }
  } catch (caught) {
    const error = isKeyGen2Error(caught) ? caught : asKeyGen2Error(caught);
    if (opened !== undefined && sksSession.open !== undefined && !sksSession.closed) await abortQuietly(opened, sksSession.open.provisioningHandle);
    // The user cancelled (declined, or gave up on the PIN): let the issuer drop its session now
    // rather than keep it open (spec §2.2 `cncl`). Other failures are the issuer's or ended by it.
    if (error.code === 'USER_ABORT' && cancelTo !== undefined) await transport.cancel?.(cancelTo).catch(() => undefined);
    ui.progress?.(error instanceof UnconfirmedEnrollmentError ? { step: 'unconfirmed', code: error.code } : { step: 'aborted', code: error.code });
    throw error;
  }
}

/** A transport failure that is not already a KeyGen2Error is a TRANSPORT error. */
async function viaTransport(fn: () => Promise<TransportReply>): Promise<TransportReply> {
  try {
    return await fn();
  } catch (error) {
    throw isKeyGen2Error(error) ? error : new KeyGen2Error('TRANSPORT', 'the transport failed', { cause: error });
  }
}

/** abortProvisioningSession, ignoring "no such session" (the SKS tears a session down itself on its own errors). */
async function abortQuietly(sks: SecureKeyStore, handle: ProvisioningHandle): Promise<void> {
  try {
    await sks.abortProvisioningSession(handle);
  } catch {
    // already gone
  }
}
