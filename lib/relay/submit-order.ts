import type { RetryReason } from "../events/index.ts";
import {
  failureKind,
  ImburseApiError,
  type ImburseClient,
  type ImburseErrorDetail,
  ImburseNetworkError,
  OUT_OF_TIME,
} from "../imburse/index.ts";
import { compareWithExisting, type Order } from "../orders/index.ts";

/** The two calls the submission needs. */
export type OrderApi = Pick<ImburseClient, "createOrder" | "getOrder">;

/** An attempt that ended without a final answer. */
export interface RetryableFailure {
  reason: RetryReason;
  /** The HTTP status, when Imburse answered. */
  status: number | undefined;
  /** Imburse's error codes; for a network failure the socket error code. */
  errorCodes: string[];
  /** From the response's `Retry-After`, when there was one. */
  retryAfterSeconds: number | undefined;
  imburseCorrelationId: string | undefined;
  /** This attempt's request may have reached Imburse without an answer. */
  mayHaveReached: boolean;
}

/** What one submission attempt came to: Imburse's answer, settled. */
export type SubmitOutcome =
  | { kind: "submitted"; status: number }
  /** Imburse already held the order with the same content. */
  | { kind: "already-existed" }
  /** Imburse holds an order with this orderRef and other content. */
  | { kind: "conflict"; differences: string[] }
  /** Imburse refused the order for good. */
  | {
      kind: "rejected";
      status: number;
      errors: ImburseErrorDetail[];
      imburseCorrelationId: string | undefined;
    }
  | { kind: "failed"; failure: RetryableFailure };

/** Options of one submission attempt. */
export interface SubmitAttempt {
  correlationId: string;
  /** A previous try may have reached Imburse unanswered: read the order before posting it again. */
  readFirst: boolean;
  /**
   * When the attempt must be over (epoch milliseconds): every call gets at most what is left of it, the
   * client's own retries (a 401 cascade) included, and no call starts with less than
   * {@link MIN_CALL_TIMEOUT_MS} left.
   */
  deadline?: number;
  /** The per-call timeout setting. */
  timeoutMs?: number;
  /** Epoch milliseconds. */
  clock?: () => number;
}

/** Shortest call worth starting: below it the record would time out rather than learn anything. */
const MIN_CALL_TIMEOUT_MS = 1_000;

/**
 * Submits one order and settles what Imburse's answer means: created, already there with the same content,
 * already there with other content (conflict), refused, or worth retrying. Only an error that did not come
 * from Imburse (a bug) is thrown.
 */
export async function submitOrder(
  api: OrderApi,
  order: Order,
  attempt: SubmitAttempt,
): Promise<SubmitOutcome> {
  const clock = attempt.clock ?? Date.now;
  let posted = false;
  /** The options of the next call; undefined when too little time is left to make it. */
  const callOptions = () => {
    if (attempt.deadline === undefined) {
      return {
        correlationId: attempt.correlationId,
        ...(attempt.timeoutMs ? { timeoutMs: attempt.timeoutMs } : {}),
      };
    }
    const left = attempt.deadline - clock();
    const timeoutMs = Math.min(attempt.timeoutMs ?? left, left);
    if (timeoutMs < MIN_CALL_TIMEOUT_MS) return undefined;
    return { correlationId: attempt.correlationId, timeoutMs, deadline: attempt.deadline };
  };
  const outOfTime = (): SubmitOutcome =>
    failed("network", undefined, { errorCodes: [OUT_OF_TIME], mayHaveReached: attempt.readFirst || posted });

  if (attempt.readFirst) {
    const options = callOptions();
    if (!options) return outOfTime();
    const existing = await readOrder(api, order.orderRef, options);
    if (existing.kind === "failed") return existing;
    if (existing.kind === "found") return reconcile(order, existing.order);
  }
  const options = callOptions();
  if (!options) return outOfTime();
  try {
    posted = true;
    const created = await api.createOrder(order, options);
    return { kind: "submitted", status: created.status };
  } catch (error) {
    const kind = failureKind(error);
    if (kind === "unexpected" && !(error instanceof ImburseApiError)) throw error;
    if (kind === "rejected" || kind === "not-found") return rejected(error as ImburseApiError);
    if (kind !== "exists") return failedFrom(kind, error);
    const readOptions = callOptions();
    if (!readOptions) return outOfTime();
    const existing = await readOrder(api, order.orderRef, readOptions);
    if (existing.kind === "failed") return existing;
    // Imburse says it exists but cannot show it yet: look again later.
    if (existing.kind === "absent") return pending("ORDER_NOT_FOUND_AFTER_EXISTS");
    return reconcile(order, existing.order);
  }
}

function reconcile(order: Order, existing: unknown): SubmitOutcome {
  const comparison = compareWithExisting(order, existing);
  if (comparison.equal) return { kind: "already-existed" };
  // Only instructions missing, nothing that differs: Imburse may still be processing them after its 202.
  if (comparison.missing.length > 0 && comparison.missing.length === comparison.differences.length) {
    return pending("INSTRUCTIONS_NOT_SHOWN_YET");
  }
  return { kind: "conflict", differences: comparison.differences };
}

/** Imburse holds the order but does not show it (or all of it) yet: read it again on the next attempt. */
function pending(errorCode: string): SubmitOutcome {
  return failed("pending", undefined, { errorCodes: [errorCode], mayHaveReached: true });
}

type ReadResult =
  | { kind: "found"; order: unknown }
  | { kind: "absent" }
  | Extract<SubmitOutcome, { kind: "failed" }>;

/** GET the order: found, absent (404, or 400 ORDER_NOT_FOUND), or a failure to retry. */
async function readOrder(
  api: OrderApi,
  orderRef: string,
  options: { correlationId: string; timeoutMs?: number },
): Promise<ReadResult> {
  try {
    return { kind: "found", order: await api.getOrder(orderRef, options) };
  } catch (error) {
    const kind = failureKind(error);
    if (kind === "not-found") return { kind: "absent" };
    if (kind === "unexpected" && !(error instanceof ImburseApiError)) throw error;
    // A read that Imburse refused (or answered with a 409) tells nothing about the order: the order may
    // exist, so it is not the order's rejection. Retry it, reading first again.
    const reason = kind === "rejected" || kind === "exists" ? "unexpected" : kind;
    return failedFrom(reason, error, true);
  }
}

/** Imburse refused the order for good. */
function rejected(error: ImburseApiError): Extract<SubmitOutcome, { kind: "rejected" }> {
  return {
    kind: "rejected",
    status: error.status,
    errors: [...error.errors],
    imburseCorrelationId: error.imburseCorrelationId,
  };
}

/**
 * The failure outcome of a call that threw an Imburse API or network error. `mayHaveReached` marks a call
 * whose order may exist whatever the answer (a read); otherwise only a network error without an answer may
 * have reached Imburse: had Imburse acted before a 5xx, the next POST meets ORDER_ALREADY_EXISTS and
 * reconciles.
 */
function failedFrom(
  reason: Exclude<RetryReason, "pending">,
  error: unknown,
  mayHaveReached = false,
): Extract<SubmitOutcome, { kind: "failed" }> {
  if (error instanceof ImburseNetworkError) {
    return failed("network", undefined, {
      errorCodes: [error.code],
      mayHaveReached: mayHaveReached || error.mayHaveReachedServer,
    });
  }
  const api = error as ImburseApiError;
  return failed(reason, api.status, {
    errorCodes: api.errorCodes,
    retryAfterSeconds: api.retryAfterSeconds,
    imburseCorrelationId: api.imburseCorrelationId,
    mayHaveReached: mayHaveReached || reason === "unexpected" || api.earlierTryMayHaveReached === true,
  });
}

function failed(
  reason: RetryReason,
  status: number | undefined,
  facts: Partial<Omit<RetryableFailure, "reason" | "status">> & { mayHaveReached: boolean },
): Extract<SubmitOutcome, { kind: "failed" }> {
  return {
    kind: "failed",
    failure: {
      reason,
      status,
      errorCodes: facts.errorCodes ?? [],
      retryAfterSeconds: facts.retryAfterSeconds,
      imburseCorrelationId: facts.imburseCorrelationId,
      mayHaveReached: facts.mayHaveReached,
    },
  };
}
