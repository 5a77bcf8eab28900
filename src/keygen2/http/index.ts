/**
 * The HTTP binding of KeyGen2 (spec §2.2, §2.3): invocation URLs, the client's
 * transport, and a request handler an issuer mounts.
 */
export { parseInvocationUrl, buildInvocationUrl, type Invocation } from './invocation-url.js';
export { createHttpTransport, type HttpTransportOptions } from './http-transport.js';
export {
  createIssuerRequestHandler,
  startIssuerServer,
  type IssuerHandlerOptions,
  type IssuerStep,
  type IssuerStepResult,
  type RunningIssuerServer,
} from './issuer-handler.js';
