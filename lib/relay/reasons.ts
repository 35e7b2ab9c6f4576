import { RELAY_ATTRIBUTES_MAX_BYTES, SQS_MAX_MESSAGE_BYTES } from "../config/index.ts";
import type { DeadLetterCause, DeadLetterKind } from "../events/index.ts";

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
  /** Set when the reason was cut to fit the DLQ's message size ({@link fitDeadLetterReason}). */
  truncated?: true;
};

/**
 * The bytes a dead letter's reason may take beside `body` in the DLQ: its size limit, less the body and the
 * relay's other attributes. At least 12 KiB for any body the orders queue took.
 */
export function deadLetterReasonRoom(body: string): number {
  return SQS_MAX_MESSAGE_BYTES - Buffer.byteLength(body) - RELAY_ATTRIBUTES_MAX_BYTES;
}

/** A reason lists at most this many issues, errors or differences (and fewer when its size demands: {@link fitDeadLetterReason}). */
export const MAX_REASON_ISSUES = 50;

/** The list a reason of each kind carries, which {@link fitDeadLetterReason} shortens. */
function listOf(reason: DeadLetterReason): unknown[] | undefined {
  if (reason.kind === "invalid" || reason.kind === "rejected") return reason.errors;
  if (reason.kind === "conflict") return reason.differences;
  return undefined;
}

function withList(reason: DeadLetterReason, items: unknown[], dropped: number): DeadLetterReason {
  switch (reason.kind) {
    case "invalid": {
      const truncatedErrors = (reason.truncatedErrors ?? 0) + dropped;
      return {
        ...reason,
        errors: items as typeof reason.errors,
        ...(truncatedErrors ? { truncatedErrors } : {}),
      };
    }
    case "rejected":
      return { ...reason, errors: items as typeof reason.errors };
    case "conflict":
      return { ...reason, differences: items as string[] };
    default:
      return reason;
  }
}

/**
 * The reason as the JSON of the `relay-dlq-reason` attribute, in at most `maxBytes` (UTF-8): SQS refuses a
 * dead letter whose body and attributes exceed the DLQ's limit, and the body must always survive. A reason
 * too large loses the tail of its list (an `invalid` one counts what it dropped in `truncatedErrors`) and says
 * `truncated: true`; one still too large keeps only what identifies the order and the kind.
 */
export function fitDeadLetterReason(reason: DeadLetterReason, maxBytes: number): string {
  const fits = (candidate: object) => {
    const text = JSON.stringify(candidate);
    return Buffer.byteLength(text) <= maxBytes ? text : undefined;
  };
  const whole = fits(reason);
  if (whole) return whole;
  const list = listOf(reason) ?? [];
  // A shorter prefix of the list each time (halving), down to none.
  for (let keep = Math.floor(list.length / 2); ; keep = Math.floor(keep / 2)) {
    const shorter = fits({ ...withList(reason, list.slice(0, keep), list.length - keep), truncated: true });
    if (shorter) return shorter;
    if (keep === 0) break;
  }
  const minimal = {
    kind: reason.kind,
    correlationId: reason.correlationId,
    orderRef: reason.orderRef,
    attempts: reason.attempts,
    originMessageId: reason.originMessageId,
    firstReceivedAt: reason.firstReceivedAt,
    deadLetteredAt: reason.deadLetteredAt,
    truncated: true,
  };
  return fits(minimal) ?? JSON.stringify({ kind: reason.kind, truncated: true });
}

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
