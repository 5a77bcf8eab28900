/**
 * What the device's KeyGen2 client needs from its environment (ARCHITECTURE:
 * "pass the environment in"): a transport to the issuer, a user interface and
 * a clock. The SKS itself is the `SecureKeyStore` contract of `airtight/sks`.
 */
import type { Invocation } from '../http/invocation-url.js';

// ---------------------------------------------------------------------------
// Transport (spec §2.2)

/** What the issuer answered: the next KeyGen2 request, or a redirect out of KeyGen2. */
export type TransportReply =
  | {
      readonly kind: 'message';
      /** The JSON text of the next request (UTF-8 decoded). */
      readonly text: string;
      /**
       * DER of the issuer's TLS leaf certificate on this connection; absent
       * without TLS. Only the one of the `init` GET is used (spec §2.2 step 2).
       */
      readonly serverCertificate?: Uint8Array | undefined;
    }
  | { readonly kind: 'redirect'; readonly location: string };

/**
 * Carries KeyGen2 messages between the client and the issuer. The HTTP binding
 * is `createHttpTransport` (`keygen2/http`); tests substitute canned replies.
 * Failures are `KeyGen2Error` with code `TRANSPORT` (or `USER_ABORT` when cancelled).
 */
export interface KeyGen2Transport {
  /** GET the `init` URL: the InvocationRequest. */
  fetchInvocation(invocation: Invocation): Promise<TransportReply>;
  /** POST one response to the transaction URL: the next request, or the final redirect. */
  postResponse(invocation: Invocation, text: string): Promise<TransportReply>;
  /**
   * Tells the issuer that the user cancelled: GET the invocation's `cncl` URL with the cookie
   * (spec §2.2; the Android client opens it in the browser). Best effort: never throws.
   */
  cancel?(invocation: Invocation): Promise<void>;
}

// ---------------------------------------------------------------------------
// User interface (spec §3.3 step 1, §8)

/** What the user is asked to agree to before anything is stored (spec §6.1). */
export interface ConsentRequest {
  /** Host (with port, if any) of the `init` URL: who is asking. */
  readonly issuerHost: string;
  /** Whether the `init` URL was fetched over TLS. */
  readonly secure: boolean;
  readonly action: 'manage' | 'unlock';
  readonly privacyEnabled: boolean;
  readonly preferredLanguages: readonly string[];
  /** The capability URIs the issuer asked about and that would be disclosed (spec §10.2). */
  readonly capabilityQueries: readonly string[];
}

/** Why a PIN the user typed was refused (spec §8 validation order). */
export type PinRejection =
  | 'length'
  | 'syntax'
  | 'missing-group'
  | 'sequence'
  | 'repeated'
  | 'two-in-a-row'
  | 'three-in-a-row'
  /** `binary` format: not an even number of hex digits. */
  | 'not-hex'
  /** `unique` / `signature+standard`: equals a PIN already chosen for another group of the policy. */
  | 'grouping'
  /** The UI's own confirmation did not match; a UI may report it through `enterPin`'s retry. */
  | 'mismatch';

export type PinFormat = 'numeric' | 'alphanumeric' | 'string' | 'binary';
export type PinGroupingName = 'none' | 'shared' | 'signature+standard' | 'unique';
export type AppUsageName = 'signature' | 'authentication' | 'encryption' | 'universal';

/** One PIN the user must choose (spec §8 table): for one or more keys of one PIN policy. */
export interface PinPrompt {
  readonly pinPolicyId: string;
  readonly format: PinFormat;
  readonly minLength: number;
  readonly maxLength: number;
  /** Pattern restriction names as in the request (`two-in-a-row`, `sequence`, …). */
  readonly patternRestrictions: readonly string[];
  readonly grouping: PinGroupingName;
  /** The app usage of the keys this PIN will protect (for "signature PIN" etc.). */
  readonly appUsage: AppUsageName;
  /** Ids and friendly names of the keys this PIN will protect. */
  readonly keys: ReadonlyArray<{ readonly id: string; readonly friendlyName: string | undefined }>;
  /** Set when asking again: why the previous entry was refused. */
  readonly rejected?: PinRejection | undefined;
  /** 1 for the first time this PIN is asked for, then 2, 3, … */
  readonly attempt: number;
}

/** Progress of an enrollment, for a status line or a log. */
export type ProgressEvent =
  | { readonly step: 'invocation'; readonly issuerHost: string }
  | { readonly step: 'initialization'; readonly clientSessionId: string; readonly serverSessionId: string }
  | { readonly step: 'credential-discovery'; readonly lookups: number }
  | { readonly step: 'key-creation'; readonly keys: number }
  | { readonly step: 'key-created'; readonly id: string }
  | { readonly step: 'finalization'; readonly credentials: number }
  | { readonly step: 'done'; readonly redirect: string }
  | { readonly step: 'aborted'; readonly code: string }
  /** The SKS committed the session, then the issuer's confirmation (the final redirect) failed. */
  | { readonly step: 'unconfirmed'; readonly code: string };

/**
 * The user-facing side of an enrollment. PINs are pre-checked against the
 * policy before the SKS sees them (the SKS aborts the whole session on a bad
 * PIN, spec §8); a refused entry is asked for again with `rejected` set.
 */
export interface EnrollmentUi {
  /** Shows the issuer host and action; false cancels (USER_ABORT) before any SKS session exists. */
  consent(request: ConsentRequest): Promise<boolean>;
  /**
   * Asks for a user-defined PIN. Return the text as typed (hex digits for the
   * `binary` format), or `undefined` to cancel the enrollment.
   */
  enterPin(prompt: PinPrompt): Promise<string | undefined>;
  /** Optional progress notifications; must not throw. */
  progress?(event: ProgressEvent): void;
}

// ---------------------------------------------------------------------------
// Clock

/** The device clock: `clientTime` is this instant written with this UTC offset (spec §4.6). */
export interface ClientClock {
  now(): Date;
  /** Minutes east of UTC for writing `clientTime`; default: the host's offset at that instant. */
  utcOffsetMinutes?(at: Date): number;
}

export const systemClock: ClientClock = { now: () => new Date() };
