/** Dead letters of every kind, as the relay writes their reasons: shared by the redrive's tests. */
import type { MessageAttributeValue } from "@aws-sdk/client-sqs";
import type { DeadLetterCause } from "../../lib/events/index.ts";
import type { DeadLetterReason } from "../../lib/relay/index.ts";

export const str = (value: string): MessageAttributeValue => ({ DataType: "String", StringValue: value });

/** A dead-letter reason as the relay writes it. */
export function reason(orderRef: string, cause: DeadLetterCause): DeadLetterReason {
  return {
    ...cause,
    correlationId: `corr-${orderRef}`,
    orderRef,
    attempts: cause.kind === "retries-exhausted" ? 3 : 1,
    originMessageId: `origin-${orderRef}`,
    firstReceivedAt: "2026-01-01T00:00:00.000Z",
    deadLetteredAt: "2026-01-01T00:05:00.000Z",
  };
}

export const exhausted = (
  lastReason: "throttled" | "server-error" | "network",
  lastStatus: number | undefined,
): DeadLetterCause => ({
  kind: "retries-exhausted",
  lastReason,
  lastStatus,
  mayExistInImburse: false,
  lastErrorCodes: lastStatus === undefined ? ["ECONNRESET"] : [`HTTP_${lastStatus}`],
  imburseCorrelationId: undefined,
});

/** One dead letter of every kind; the first three are the only ones the scheduled redrive may move. */
export const LETTERS: Record<string, DeadLetterCause | undefined> = {
  "T-429": exhausted("throttled", 429),
  "T-503": exhausted("server-error", 503),
  "T-NET": exhausted("network", undefined),
  "X-400": exhausted("server-error", 400),
  "X-INVALID": { kind: "invalid", errors: [{ path: "orderRef", code: "required", message: "is required" }] },
  "X-REJECTED": {
    kind: "rejected",
    status: 422,
    errors: [{ errorCode: "X" }],
    imburseCorrelationId: "IMB-1",
  },
  "X-CONFLICT": { kind: "conflict", detail: "differs", differences: ["amount"] },
  "X-POISON": undefined,
};
