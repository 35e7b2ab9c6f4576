import { ImburseApiError, ImburseNetworkError } from "./errors.ts";
import { TOKEN_PATH } from "./urls.ts";

/**
 * What kind of failure a call to Imburse met: the one classification the relay's decisions, its metrics,
 * the health probe, the redrive and the circuit breaker's error rate share.
 *
 * - `throttled`: 429.
 * - `server-error`: 5xx, or 408 (Imburse did not finish in time).
 * - `network`: no answer at all (refused, reset, timed out).
 * - `auth`: Imburse refused the relay's own key or role (401, 403, or a token exchange refused with any other
 *   4xx: a bad signature, a skewed clock, a reused nonce). Every order would fail alike.
 * - `exists`: the order exists already (409, or 400 `ORDER_ALREADY_EXISTS`) on a create.
 * - `not-found`: 404, or 400 `ORDER_NOT_FOUND`.
 * - `rejected`: any other 4xx: Imburse refused the request for good.
 * - `unexpected`: not an answer from Imburse at all (a bug), or an answer that makes no sense for the call
 *   (a 409 on a read).
 */
export type FailureKind =
  | "throttled"
  | "server-error"
  | "network"
  | "auth"
  | "exists"
  | "not-found"
  | "rejected"
  | "unexpected";

/** The facts of an answer that decide its kind. */
export interface AnswerFacts {
  /** undefined: no answer. */
  status: number | undefined;
  method?: string;
  path?: string;
  errorCodes?: readonly string[];
}

/** The kind of an answer (or of its absence). A 2xx is not a failure: undefined. */
export function kindOfAnswer({
  status,
  method,
  path,
  errorCodes = [],
}: AnswerFacts): FailureKind | undefined {
  if (status === undefined) return "network";
  if (status < 400) return undefined;
  if (status === 429) return "throttled";
  if (status === 408 || status >= 500) return "server-error";
  // Any refusal on the token exchange's path is about the relay's key, never about an order.
  if (status === 401 || status === 403 || path === TOKEN_PATH) return "auth";
  if (status === 404 || (status === 400 && errorCodes.includes("ORDER_NOT_FOUND"))) return "not-found";
  const exists = status === 409 || (status === 400 && errorCodes.includes("ORDER_ALREADY_EXISTS"));
  // Only a create can meet an order that exists; a read answering 409 is not something to reconcile.
  if (exists) return method === "GET" ? "unexpected" : "exists";
  return "rejected";
}

/** The kind of a failed call, from what the client threw. */
export function failureKind(error: unknown): FailureKind {
  if (error instanceof ImburseNetworkError) return "network";
  if (error instanceof ImburseApiError) {
    return (
      kindOfAnswer({
        status: error.status,
        method: error.method,
        path: error.path,
        errorCodes: error.errorCodes,
      }) ?? "unexpected"
    );
  }
  return "unexpected";
}

/** Failures that say nothing against the order: the same request may succeed later, unchanged. */
export function isTransient(kind: FailureKind): boolean {
  return kind === "throttled" || kind === "server-error" || kind === "network";
}

/**
 * Failures that count against Imburse's availability (the `ImburseError` metric, the error-rate alarm and so
 * the circuit breaker): the transient ones and `auth`, which would fail every order alike.
 */
export function countsAgainstAvailability(kind: FailureKind | undefined): boolean {
  return kind !== undefined && (isTransient(kind) || kind === "auth");
}

/** Whether a failed read says the order does not exist (404, or 400 `ORDER_NOT_FOUND`). */
export function isOrderNotFound(error: unknown): boolean {
  return failureKind(error) === "not-found";
}
