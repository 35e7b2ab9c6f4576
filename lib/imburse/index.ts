/**
 * The Imburse API client (Duck Creek Payments Orchestrator): create and get order over an auth ladder (HMAC
 * token exchange, token cache, key rotation) and a transport (keep-alive HTTP, typed network errors), typed
 * errors and the classification of every answer (retryable, refused, may have reached Imburse), and the
 * API's hosts and paths.
 */
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
export { TokenCache } from "./token.ts";
export {
  type CallOptions,
  type ImburseCallEvent,
  OUT_OF_TIME,
  type Transport,
  validateBaseUrl,
} from "./transport.ts";
export { ORDERS_PATH, PRODUCTION_BASE_URL, SANDBOX_BASE_URL, TOKEN_PATH } from "./urls.ts";
