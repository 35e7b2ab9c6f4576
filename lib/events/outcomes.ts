/**
 * What can become of an order, as the relay decides it and its outcome events publish it: the final
 * outcomes, the dead-letter kinds and causes, and the reasons a retry is scheduled. These words are part of
 * the published contract (the outcome event's `kind`, the DLQ reason), so they live with the events and the
 * relay, the redrive and the tools all read them from here.
 */
import type { FailureKind, ImburseErrorDetail } from "../imburse/index.ts";
import type { ValidationIssue } from "../orders/index.ts";

/**
 * Why an attempt is worth repeating later: a transient failure, `auth` (Imburse refused the relay's own key
 * or role: every order would fail alike, so orders wait while the probe and the breaker notice), `pending`
 * (Imburse holds the order but does not show all of it yet: it processes instructions after its 202), or
 * `unexpected` (Imburse answered a read in a way that tells nothing about the order, such as a 409).
 */
export type RetryReason =
  | Extract<FailureKind, "throttled" | "server-error" | "network" | "auth" | "unexpected">
  | "pending";

/** The final outcomes of an order, as the relay reports them. */
export type FinalOutcome = "submitted" | "already-existed" | DeadLetterKind;

/** Why a message is in the dead-letter queue. */
export type DeadLetterKind = "invalid" | "conflict" | "rejected" | "retries-exhausted";

/** The cause part of a dead-letter reason, one shape per kind. */
export type DeadLetterCause =
  | { kind: "invalid"; errors: ValidationIssue[]; truncatedErrors?: number }
  | { kind: "conflict"; detail: string; differences: string[] }
  | {
      kind: "rejected";
      status: number;
      errors: ImburseErrorDetail[];
      imburseCorrelationId: string | undefined;
    }
  | {
      kind: "retries-exhausted";
      /** The last failure; `arrived-late` for a retry that came after its deadline and was not tried. */
      lastReason: RetryReason | "arrived-late";
      lastStatus: number | undefined;
      lastErrorCodes: string[];
      imburseCorrelationId: string | undefined;
      /** A try may have reached Imburse unanswered: check the order at Imburse before paying it another way. */
      mayExistInImburse: boolean;
      /**
       * The limit that ran out: the retry budget or the earliest `settledByDate` (with the deadline), or the
       * optional cap on attempts.
       */
      exhausted?:
        | { limit: "retry-budget" | "settled-by-date"; deadline: string }
        | { limit: "max-attempts"; maxAttempts: number };
    };
