/**
 * The Imburse API client (Duck Creek Payments Orchestrator): HMAC token exchange and token cache, create
 * and get order, typed errors and the classification of every answer (retryable, refused, may have reached
 * Imburse), and the API's hosts.
 */
export {
  type CallOptions,
  type CreateOrderResult,
  type ImburseCallEvent,
  ImburseClient,
  type ImburseClientOptions,
  type ImburseRoute,
  OUT_OF_TIME,
  validateBaseUrl,
} from "./client.ts";
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
export { type HmacInputs, hmacAuthorization, randomNonce } from "./signing.ts";
export { jwtExpiry, normaliseExpiry, sharedTokenCache, TokenCache } from "./token.ts";
export { PRODUCTION_BASE_URL, SANDBOX_BASE_URL } from "./urls.ts";
