import { SQS_MAX_DELAY_SECONDS } from "../config/index.ts";
import type { DeadLetterCause } from "../events/index.ts";
import type { ImburseErrorDetail } from "../imburse/index.ts";
import type { ValidationIssue } from "../orders/index.ts";
import { MAX_REASON_ISSUES } from "./reasons.ts";
import type { RetryableFailure, SubmitOutcome } from "./submit-order.ts";

/**
 * Everything one delivery of a record can come to, before the relay acts on it: the one input of
 * {@link decide}.
 */
export type RecordOutcome =
  | SubmitOutcome
  /** A retry that arrived before its `relay-not-before`. */
  | { kind: "not-due"; notBefore: Date }
  | { kind: "invalid"; errors: ValidationIssue[]; truncatedErrors?: number }
  /** The ledger holds the order complete with the same content. */
  | { kind: "duplicate" }
  /** The ledger holds the order complete with other content. */
  | { kind: "ledger-conflict" }
  /** Another delivery holds the order's lease until `until` (epoch milliseconds). */
  | { kind: "busy"; until: number }
  /** The ledger could not be read or written in time: nothing was posted. */
  | { kind: "ledger-unavailable" }
  /** The Imburse credentials could not be read: nothing was posted. */
  | { kind: "credentials-unavailable" }
  /** A retry that arrived after its deadline (it waited behind a paused breaker, say): not posted. */
  | { kind: "deadline-passed" }
  /** Too little of the invocation was left to start (or claim) the record. */
  | { kind: "out-of-time" };

/** What the relay does next with a record. */
export type NextStep =
  /** Done: delete the message. */
  | { kind: "acknowledge"; outcome: "submitted" | "already-existed" | "duplicate" }
  /** Send a copy to the retry queue for the next attempt. */
  | {
      kind: "retry";
      nextAttempt: number;
      /** The whole wait before the next attempt. */
      waitSeconds: number;
      /** SQS `DelaySeconds` of this hop (at most 900). */
      delaySeconds: number;
      /** Set when the wait is longer than one hop: the message is delayed again until then. */
      notBefore: Date | undefined;
      failure: RetryableFailure;
    }
  /** Send a copy to the retry queue with the same attempt: a hop of a long wait, or a dependency outage. */
  | {
      kind: "delay";
      delaySeconds: number;
      notBefore: Date | undefined;
      why: "not-due" | "ledger-unavailable" | "credentials-unavailable";
    }
  | { kind: "dead-letter"; cause: DeadLetterCause }
  /** Leave the message to SQS, visible again after `seconds`. */
  | { kind: "hand-back"; seconds: number; why: "busy" | "out-of-time" };

/** What {@link decide} knows beyond the outcome. */
export interface DecisionContext {
  /** The attempt that just ended (1 for the first delivery). */
  attempt: number;
  /** When the relay first saw the order (epoch milliseconds). */
  firstReceivedAt: number;
  /** When retrying must stop (epoch milliseconds), and why then. See {@link retryDeadline}. */
  deadline: RetryDeadline;
  /** A try of this order may have reached Imburse unanswered (before or during this attempt). */
  mayExist: boolean;
  settings: RetrySettings;
  /** Epoch milliseconds. */
  now: number;
  /** A number in [0, 1), for the jitter. */
  random: number;
}

/** The retry settings {@link decide} reads. */
export interface RetrySettings {
  retryBaseSeconds: number;
  retryCapSeconds: number;
  /** An extra cap on attempts; none when undefined. */
  maxAttempts?: number | undefined;
}

/** When an order's retries must stop, and which limit set it. */
export interface RetryDeadline {
  /** Epoch milliseconds. */
  at: number;
  from: "retry-budget" | "settled-by-date";
}

/** The longest the relay waits for one retry, whatever `Retry-After` says: 24 hours. */
export const MAX_RETRY_WAIT_SECONDS = 86_400;

/** A record not started for lack of time comes back after this many seconds, not the visibility timeout. */
export const NOT_STARTED_VISIBLE_IN_SECONDS = 5;

/**
 * The deadline of an order's retries: `budgetSeconds` after the relay first saw it, and never past the end
 * (UTC) of its earliest instruction's `settledByDate` (an order Imburse could only settle late is not worth
 * retrying). Without instructions the budget alone applies.
 */
export function retryDeadline(
  firstReceivedAt: number,
  budgetSeconds: number,
  settledByDates: readonly string[] = [],
): RetryDeadline {
  const budget: RetryDeadline = { at: firstReceivedAt + budgetSeconds * 1000, from: "retry-budget" };
  const ends = settledByDates
    .map((date) => Date.parse(`${date}T00:00:00Z`) + 86_400_000)
    .filter(Number.isFinite);
  if (ends.length === 0) return budget;
  const earliest = Math.min(...ends);
  return earliest < budget.at ? { at: earliest, from: "settled-by-date" } : budget;
}

/**
 * The one place that decides what happens to a record after a delivery, from its outcome alone: acknowledge
 * it, retry it at a time, delay it, dead-letter it with a reason, or hand it back to SQS. Pure: the clock
 * and the random draw come in the context.
 */
export function decide(outcome: RecordOutcome, context: DecisionContext): NextStep {
  switch (outcome.kind) {
    case "submitted":
    case "already-existed":
    case "duplicate":
      return { kind: "acknowledge", outcome: outcome.kind };
    case "not-due": {
      const remaining = Math.ceil((outcome.notBefore.getTime() - context.now) / 1000);
      return { kind: "delay", why: "not-due", ...hop(remaining, context.now) };
    }
    case "ledger-unavailable":
    case "credentials-unavailable":
      return { kind: "delay", why: outcome.kind, ...hop(dependencyWaitSeconds(context), context.now) };
    case "deadline-passed":
      return { kind: "dead-letter", cause: exhausted(context, undefined) };
    case "busy":
      return {
        kind: "hand-back",
        why: "busy",
        seconds: Math.max(1, Math.ceil((outcome.until - context.now) / 1000)),
      };
    case "out-of-time":
      return { kind: "hand-back", why: "out-of-time", seconds: NOT_STARTED_VISIBLE_IN_SECONDS };
    case "invalid":
      return {
        kind: "dead-letter",
        cause: {
          kind: "invalid",
          errors: outcome.errors,
          ...(outcome.truncatedErrors ? { truncatedErrors: outcome.truncatedErrors } : {}),
        },
      };
    case "ledger-conflict":
      return {
        kind: "dead-letter",
        cause: {
          kind: "conflict",
          detail: "this orderRef was already submitted by the relay with different content",
          differences: [],
        },
      };
    case "conflict":
      return {
        kind: "dead-letter",
        cause: {
          kind: "conflict",
          detail: "Imburse already holds this orderRef with different content",
          differences: capped(outcome.differences),
        },
      };
    case "rejected":
      return {
        kind: "dead-letter",
        cause: {
          kind: "rejected",
          status: outcome.status,
          errors: capped<ImburseErrorDetail>(outcome.errors),
          imburseCorrelationId: outcome.imburseCorrelationId,
        },
      };
    case "failed":
      return planRetry(outcome.failure, context);
  }
}

function capped<T>(items: readonly T[]): T[] {
  return items.slice(0, MAX_REASON_ISSUES);
}

/**
 * While the ledger (or the credentials secret) cannot be read, the record waits on the retry queue with its
 * attempt unchanged: such an outage must burn neither the queue's receives nor the order's attempts, and
 * nothing may be posted without a claim. The wait grows with the order's age (half to all of it, between the retry base and cap),
 * so every order backs off exponentially through a long outage without a counter of its own.
 */
function dependencyWaitSeconds({ settings, now, firstReceivedAt, random }: DecisionContext): number {
  const ageSeconds = Math.max(0, (now - firstReceivedAt) / 1000);
  const ceiling = Math.min(settings.retryCapSeconds, Math.max(settings.retryBaseSeconds, ageSeconds));
  return Math.ceil(ceiling * (0.5 + random / 2));
}

/**
 * A retryable failure: the larger of `Retry-After` and full-jitter backoff, in whole seconds, until the
 * deadline. A backoff that would pass the deadline is cut to it (one last try at the deadline); a
 * `Retry-After` that would pass it is honoured, so the order is exhausted now. `maxAttempts`, when set, is
 * an extra cap.
 */
function planRetry(failure: RetryableFailure, context: DecisionContext): NextStep {
  const { attempt, deadline, settings, now } = context;
  const leftSeconds = Math.floor((deadline.at - now) / 1000);
  const retryAfter = failure.retryAfterSeconds ?? 0;
  const capReached = settings.maxAttempts !== undefined && attempt >= settings.maxAttempts;
  if (capReached || leftSeconds <= 0 || retryAfter > leftSeconds) {
    return { kind: "dead-letter", cause: exhausted(context, failure) };
  }
  const backoff = fullJitterBackoffSeconds(
    attempt,
    settings.retryBaseSeconds,
    settings.retryCapSeconds,
    context.random,
  );
  const wanted = Math.min(MAX_RETRY_WAIT_SECONDS, leftSeconds, Math.max(retryAfter, backoff));
  const waitSeconds = Math.ceil(wanted);
  return { kind: "retry", nextAttempt: attempt + 1, waitSeconds, failure, ...hop(waitSeconds, now) };
}

/** `retries-exhausted`: the last failure (none for a retry that arrived late), and the limit that ran out. */
function exhausted(
  { attempt, deadline, settings, mayExist }: DecisionContext,
  failure: RetryableFailure | undefined,
): DeadLetterCause {
  const capReached = settings.maxAttempts !== undefined && attempt >= settings.maxAttempts;
  return {
    kind: "retries-exhausted",
    lastReason: failure?.reason ?? "arrived-late",
    lastStatus: failure?.status,
    lastErrorCodes: failure?.errorCodes ?? [],
    imburseCorrelationId: failure?.imburseCorrelationId,
    mayExistInImburse: mayExist,
    exhausted: capReached
      ? { limit: "max-attempts", maxAttempts: settings.maxAttempts ?? attempt }
      : { limit: deadline.from, deadline: new Date(deadline.at).toISOString() },
  };
}

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

/** SQS delays a message 900 s at most: longer waits hop, carrying the time they are for. */
function hop(waitSeconds: number, now: number): { delaySeconds: number; notBefore: Date | undefined } {
  if (waitSeconds <= SQS_MAX_DELAY_SECONDS)
    return { delaySeconds: Math.max(0, waitSeconds), notBefore: undefined };
  return { delaySeconds: SQS_MAX_DELAY_SECONDS, notBefore: new Date(now + waitSeconds * 1000) };
}

/**
 * Whether a message that names a `notBefore` is due. A not-before beyond the longest wait the relay sets
 * was not set by the relay: it is treated as due.
 */
export function isDue(notBefore: Date | undefined, now: number): boolean {
  if (!notBefore) return true;
  const remaining = Math.ceil((notBefore.getTime() - now) / 1000);
  return remaining <= 0 || remaining > MAX_RETRY_WAIT_SECONDS;
}
