import type { ImburseClient } from "../imburse/client.ts";
import { ImburseApiError } from "../imburse/errors.ts";
import { compareWithExisting, type Order } from "../orders/index.ts";
import { classifyFailure, type FailureClassification } from "./policy.ts";

/** The two calls the submission needs. */
export type OrderApi = Pick<ImburseClient, "createOrder" | "getOrder">;

/** A submission that succeeded: Imburse has this order with this content. */
export type SubmitSuccess = { outcome: "submitted"; status: number } | { outcome: "already-existed" };

/** Options of one submission attempt. */
export interface SubmitAttempt {
  correlationId: string;
  /** The previous attempt may have reached Imburse unanswered: read the order before posting it again. */
  unknownOutcome: boolean;
  /**
   * The timeout for the next call to Imburse, from what is left of the record's time budget; undefined
   * when there is not enough time left for a call.
   */
  callTimeoutMs?: () => number | undefined;
}

/** Shortest call worth starting: below it the record would time out rather than learn anything. */
export const MIN_CALL_TIMEOUT_MS = 1_000;

/** The attempt failed in a way that is worth repeating later. */
export class RetryableSubmitError extends Error {
  override readonly name = "RetryableSubmitError";
  readonly classification: Extract<FailureClassification, { action: "retry" }>;
  constructor(classification: Extract<FailureClassification, { action: "retry" }>, cause: unknown) {
    super(`retryable failure (${classification.reason})`, { cause });
    this.classification = classification;
  }
}

/** Imburse refused the order for good (a 4xx other than throttling and duplicates). */
export class RejectedSubmitError extends Error {
  override readonly name = "RejectedSubmitError";
  readonly classification: Extract<FailureClassification, { action: "reject" }>;
  constructor(classification: Extract<FailureClassification, { action: "reject" }>, cause: unknown) {
    super(`rejected by Imburse (${classification.status})`, { cause });
    this.classification = classification;
  }
}

/** Imburse holds an order with this orderRef whose content differs from this one. */
export class ConflictSubmitError extends Error {
  override readonly name = "ConflictSubmitError";
  readonly differences: string[];
  constructor(differences: string[]) {
    super(`Imburse already holds orderRef with different content: ${differences.join("; ")}`);
    this.differences = differences;
  }
}

/**
 * Submits one order and settles what Imburse's answer means: created, already there with the same
 * content, already there with other content (conflict), refused, or worth retrying.
 */
export async function submitOrder(
  api: OrderApi,
  order: Order,
  attempt: SubmitAttempt,
): Promise<SubmitSuccess> {
  let posted = false;
  // Every call gets what is left of the budget; with too little left, the attempt ends as a retry.
  const options = () => {
    const timeoutMs = attempt.callTimeoutMs ? attempt.callTimeoutMs() : undefined;
    if (attempt.callTimeoutMs && timeoutMs === undefined) throw outOfTime(attempt.unknownOutcome || posted);
    return { correlationId: attempt.correlationId, ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
  };
  if (attempt.unknownOutcome) {
    const existing = await findOrder(api, order.orderRef, options());
    if (existing !== undefined) return reconcile(order, existing);
  }
  try {
    const callOptions = options();
    posted = true;
    const created = await api.createOrder(order, callOptions);
    return { outcome: "submitted", status: created.status };
  } catch (error) {
    if (error instanceof RetryableSubmitError) throw error;
    const classification = classifyFailure(error);
    if (classification.action !== "reconcile") throw toSubmitError(classification, error);
    const existing = await findOrder(api, order.orderRef, options());
    // Imburse says it exists but cannot show it yet: look again later.
    if (existing === undefined) throw pending(["ORDER_NOT_FOUND_AFTER_EXISTS"]);
    return reconcile(order, existing);
  }
}

function reconcile(order: Order, existing: unknown): SubmitSuccess {
  const comparison = compareWithExisting(order, existing);
  if (comparison.equal) return { outcome: "already-existed" };
  // Only instructions missing, nothing that differs: Imburse may still be processing them after its 202.
  if (comparison.missing.length > 0 && comparison.missing.length === comparison.differences.length) {
    throw pending(["INSTRUCTIONS_NOT_SHOWN_YET"]);
  }
  throw new ConflictSubmitError(comparison.differences);
}

/** Imburse holds the order but does not show it (or all of it) yet: read it again on the next attempt. */
function pending(errorCodes: string[]): RetryableSubmitError {
  return new RetryableSubmitError(
    {
      action: "retry",
      reason: "pending",
      status: undefined,
      errorCodes,
      retryAfterSeconds: undefined,
      imburseCorrelationId: undefined,
      unknownOutcome: true,
    },
    undefined,
  );
}

/** The record's time budget ran out before the next call: end this attempt as a retry. */
function outOfTime(unknownOutcome: boolean): RetryableSubmitError {
  return new RetryableSubmitError(
    {
      action: "retry",
      reason: "network",
      status: undefined,
      errorCodes: ["RELAY_OUT_OF_TIME"],
      retryAfterSeconds: undefined,
      imburseCorrelationId: undefined,
      unknownOutcome,
    },
    undefined,
  );
}

/** GET the order; undefined when Imburse does not know it (404, or 400 ORDER_NOT_FOUND). */
async function findOrder(
  api: OrderApi,
  orderRef: string,
  options: { correlationId: string },
): Promise<unknown> {
  try {
    return await api.getOrder(orderRef, options);
  } catch (error) {
    if (error instanceof ImburseApiError && (error.status === 404 || error.hasErrorCode("ORDER_NOT_FOUND"))) {
      return undefined;
    }
    const classification = classifyFailure(error);
    if (classification.action === "reconcile") throw error;
    throw toSubmitError(classification, error);
  }
}

function toSubmitError(
  classification: Exclude<FailureClassification, { action: "reconcile" }>,
  cause: unknown,
): RetryableSubmitError | RejectedSubmitError {
  return classification.action === "retry"
    ? new RetryableSubmitError(classification, cause)
    : new RejectedSubmitError(classification, cause);
}
