/**
 * The issuer service (`airtight/issuer`): configuration, templates and
 * attestation policy, the service library, and the fastify app.
 *
 * @example
 * import { readConfigFile, resolveServiceConfig, startIssuerService } from 'airtight/issuer';
 * const running = await startIssuerService(resolveServiceConfig(readConfigFile('issuer.json'), process.env), { handleSignals: true });
 * console.log(`listening on ${running.url}`);
 */
export { DEFAULT_LIMITS, readConfigFile, resolveServiceConfig, type ServiceConfig, type ServiceConfigFile, type ServiceLimits } from './config.js';
export { IssuerError, isIssuerError, ISSUER_ERROR_HTTP_STATUS, type IssuerErrorCode } from './errors.js';
export { DEFAULT_ALLOWED_ALGORITHMS, checkKeyAlgorithm, loadTrustRoots, type AttestationPolicy } from './policy/attestation.js';
export { BUILTIN_TEMPLATES, KEY_ALGORITHMS, checkTemplate, type EnrollmentTemplate } from './policy/templates.js';
export { KEYGEN2_ERROR_HTTP_STATUS } from './routes/errors.js';
export { REFUSAL_TEXT, type RefusalReason } from './service/reasons.js';
export { IssuerService, SESSION_COOKIE, type CreatedEnrollment, type CreatedManagementSession, type IssuerServiceOptions } from './service/issuer-service.js';
export {
  buildIssuerService,
  openIssuerService,
  startIssuerService,
  REDACTED_LOG_PATHS,
  type BuildIssuerServiceOptions,
  type RunningIssuerService,
} from './service/app.js';
