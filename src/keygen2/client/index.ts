/**
 * The device's side of KeyGen2 (`airtight/keygen2` client): `runEnrollment`
 * drives a `SecureKeyStore` through one session, through a transport and a UI
 * port the caller supplies.
 *
 * @example
 * ```ts
 * import { runEnrollment } from 'airtight/keygen2/client';
 * import { createHttpTransport } from 'airtight/keygen2/http';
 * const summary = await runEnrollment({ sks, ui, transport: createHttpTransport(), invocationUrl });
 * ```
 */
export {
  runEnrollment,
  UnconfirmedEnrollmentError,
  type CommittedEnrollment,
  type EnrollmentOptions,
  type EnrollmentSummary,
  type InstalledKey,
} from './run-enrollment.js';
export type {
  AppUsageName,
  ClientClock,
  ConsentRequest,
  EnrollmentUi,
  KeyGen2Transport,
  PinFormat,
  PinGroupingName,
  PinPrompt,
  PinRejection,
  ProgressEvent,
  TransportReply,
} from './ports.js';
export { systemClock } from './ports.js';
export type { PlatformCapabilities } from './capabilities.js';
export type { PostOperationDone, PostOperationKind } from './finalization.js';
export { pinBytes, pinPolicyViolation } from './pin-collection.js';
export { certificateInfo, type CertificateInfo } from './certificate-info.js';
export { javaRegex } from './search-filter.js';
