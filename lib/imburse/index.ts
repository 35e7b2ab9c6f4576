export { type CreateOrderResult, ImburseClient, type ImburseClientOptions } from "./client.ts";
export {
  type CredentialsProvider,
  describeCredentialsProblem,
  type ImburseCredentials,
  imburseCredentialsSchema,
  staticCredentials,
} from "./credentials.ts";
export {
  ImburseApiError,
  ImburseConfigError,
  ImburseError,
  type ImburseErrorDetail,
  ImburseNetworkError,
  parseErrorBody,
  parseRetryAfter,
} from "./errors.ts";
export {
  type AnswerFacts,
  countsAgainstAvailability,
  type FailureKind,
  failureKind,
  isOrderNotFound,
  isTransient,
  kindOfAnswer,
} from "./failure.ts";
export { jwtExpiry, normaliseExpiry, sharedTokenCache, TokenCache } from "./token.ts";
export {
  type CallOptions,
  type ImburseCallEvent,
  type ImburseRoute,
  OUT_OF_TIME,
  type Transport,
  validateBaseUrl,
} from "./transport.ts";
export { PRODUCTION_BASE_URL, SANDBOX_BASE_URL } from "./urls.ts";
