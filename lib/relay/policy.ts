import { SQS_MAX_DELAY_SECONDS } from "../config/names.ts";
import { ImburseApiError, ImburseNetworkError } from "../imburse/errors.ts";

/**
 * Why an attempt is worth repeating later. `auth`: Imburse refused the relay's own key or token (a revoked
 * or rotating key, a missing role, a skewed clock): every order would fail the same way, so orders wait
 * (and the probe and the breaker notice) instead of being dead-lettered one by one. `pending`: Imburse
 * holds the order but does not show all its instructions yet (it processes them after its 202).
 */
export type RetryReason = "throttled" | "server-error" | "network" | "auth" | "pending";

/** The longest the relay waits for one retry, whatever `Retry-After` says: 24 hours. */
export const MAX_RETRY_WAIT_SECONDS = 86_400;

/** The token exchange's path: any refusal there is about the relay's key, never about an order. */
const TOKEN_PATH = "/v1/identity/hmac";

/**
 * Whether an answer (or its absence) means Imburse failed rather than refused the order: no response,
 * a timeout (408), throttling (429), a server error (5xx) or a refused key or role (401, 403). These feed
 * the `ImburseError` metric behind the error-rate alarm and the circuit breaker.
 */
export function isImburseFailure(status: number | undefined): boolean {
  return (
    status === undefined ||
    status === 401 ||
    status === 403 ||
    status === 408 ||
    status === 429 ||
    status >= 500
  );
}

/** What to do with the outcome of a call to Imburse that did not succeed. */
export type FailureClassification =
  /** The order exists already (400 ORDER_ALREADY_EXISTS or 409): read it back and compare. */
  | { action: "reconcile" }
  | {
      action: "retry";
      reason: RetryReason;
      status: number | undefined;
      errorCodes: string[];
      retryAfterSeconds: number | undefined;
      imburseCorrelationId: string | undefined;
      /** The request may have reached Imburse without an answer: GET before POSTing again. */
      unknownOutcome: boolean;
    }
  | {
      action: "reject";
      status: number;
      errors: ImburseApiError["errors"];
      imburseCorrelationId: string | undefined;
    };

/**
 * Classifies a failed Imburse call. Anything that is not an Imburse error (a bug, an unexpected
 * exception) is rethrown so the record fails loudly and SQS delivers it again.
 */
export function classifyFailure(error: unknown): FailureClassification {
  if (error instanceof ImburseNetworkError) {
    return {
      action: "retry",
      reason: "network",
      status: undefined,
      errorCodes: [error.code],
      retryAfterSeconds: undefined,
      imburseCorrelationId: undefined,
      unknownOutcome: error.mayHaveReachedServer,
    };
  }
  if (!(error instanceof ImburseApiError)) throw error;
  if (error.status === 409 || (error.status === 400 && error.hasErrorCode("ORDER_ALREADY_EXISTS"))) {
    return { action: "reconcile" };
  }
  // A refused key or role, or a token exchange refused with a 4xx (bad signature, skewed clock, reused nonce).
  const tokenRefused = error.path === TOKEN_PATH && error.status >= 400 && error.status < 500;
  const authFailure =
    error.status === 401 || error.status === 403 || (tokenRefused && ![408, 429].includes(error.status));
  if (authFailure || error.status === 408 || error.status === 429 || error.status >= 500) {
    return {
      action: "retry",
      reason: error.status === 429 ? "throttled" : authFailure ? "auth" : "server-error",
      status: error.status,
      errorCodes: error.errorCodes,
      retryAfterSeconds: error.retryAfterSeconds,
      imburseCorrelationId: error.imburseCorrelationId,
      // An answer came. Had Imburse acted before a 5xx, the next POST meets ORDER_ALREADY_EXISTS and reconciles.
      unknownOutcome: false,
    };
  }
  return {
    action: "reject",
    status: error.status,
    errors: error.errors,
    imburseCorrelationId: error.imburseCorrelationId,
  };
}

/** Inputs of {@link planRetry}. */
export interface RetryPlanInput {
  /** The attempt that just failed (1 for the first). */
  attempt: number;
  maxAttempts: number;
  baseSeconds: number;
  capSeconds: number;
  /** From the response's `Retry-After`, when there was one. */
  retryAfterSeconds: number | undefined;
  /** Epoch milliseconds. */
  now: number;
  /** A number in [0, 1). */
  random: number;
}

/** Where a failed attempt goes next. */
export type RetryPlan =
  | {
      kind: "retry";
      nextAttempt: number;
      /** Total wait before the next attempt. */
      waitSeconds: number;
      /** SQS `DelaySeconds` of this hop (at most 900). */
      delaySeconds: number;
      /** Set when the wait is longer than one hop: the message is delayed again until then. */
      notBefore: Date | undefined;
    }
  | { kind: "exhausted" };

/**
 * Full-jitter exponential backoff (AWS Architecture Blog): random(0, min(cap, base · 2^(attempt-1))).
 */
export function fullJitterBackoffSeconds(
  attempt: number,
  baseSeconds: number,
  capSeconds: number,
  random: number,
): number {
  const ceiling = Math.min(capSeconds, baseSeconds * 2 ** Math.max(0, attempt - 1));
  return random * ceiling;
}

/**
 * Decides the next hop of a retryable failure: the larger of `Retry-After` and the jittered backoff,
 * in whole seconds and at most {@link MAX_RETRY_WAIT_SECONDS}; waits longer than SQS's 900 s become
 * several hops through `notBefore`.
 */
export function planRetry(input: RetryPlanInput): RetryPlan {
  if (input.attempt >= input.maxAttempts) return { kind: "exhausted" };
  const backoff = fullJitterBackoffSeconds(input.attempt, input.baseSeconds, input.capSeconds, input.random);
  const wanted = Math.max(input.retryAfterSeconds ?? 0, backoff);
  const waitSeconds = Math.ceil(Math.min(MAX_RETRY_WAIT_SECONDS, wanted));
  return { kind: "retry", nextAttempt: input.attempt + 1, waitSeconds, ...hop(waitSeconds, input.now) };
}

/**
 * For a message that arrives before its `notBefore`: how long to delay it again.
 * Returns undefined when it is due.
 */
export function planHop(
  notBefore: Date | undefined,
  now: number,
): { delaySeconds: number; notBefore: Date | undefined } | undefined {
  if (!notBefore) return undefined;
  const remaining = Math.ceil((notBefore.getTime() - now) / 1000);
  // A not-before beyond the longest wait the relay sets was not set by the relay: treat it as due.
  if (remaining <= 0 || remaining > MAX_RETRY_WAIT_SECONDS) return undefined;
  return hop(remaining, now);
}

function hop(waitSeconds: number, now: number): { delaySeconds: number; notBefore: Date | undefined } {
  if (waitSeconds <= SQS_MAX_DELAY_SECONDS) return { delaySeconds: waitSeconds, notBefore: undefined };
  return { delaySeconds: SQS_MAX_DELAY_SECONDS, notBefore: new Date(now + waitSeconds * 1000) };
}
