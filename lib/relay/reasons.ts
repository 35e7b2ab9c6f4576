import type { ImburseErrorDetail } from "../imburse/errors.ts";
import type { ValidationIssue } from "../orders/index.ts";
import type { RetryReason } from "./submit-order.ts";

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

/**
 * The structured reason carried by every message the relay dead-letters (attribute `relay-dlq-reason`,
 * JSON): enough for a person to act on, and for the redrive to choose what may go back.
 */
export type DeadLetterReason = DeadLetterCause & {
  correlationId: string;
  /** null when the message did not carry a readable orderRef. */
  orderRef: string | null;
  attempts: number;
  originMessageId: string;
  firstReceivedAt: string;
  deadLetteredAt: string;
};

/** SQS caps a message with its attributes at 256 KiB; a reason lists at most this many issues, errors or differences. */
export const MAX_REASON_ISSUES = 50;

/** Reads a dead-letter reason back; undefined when the attribute is missing or not one of ours. */
export function parseDeadLetterReason(text: string | undefined): DeadLetterReason | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Partial<DeadLetterReason>;
    const kinds: DeadLetterKind[] = ["invalid", "conflict", "rejected", "retries-exhausted"];
    return typeof value === "object" && value !== null && kinds.includes(value.kind as DeadLetterKind)
      ? (value as DeadLetterReason)
      : undefined;
  } catch {
    return undefined;
  }
}
