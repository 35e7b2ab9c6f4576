import { formatIssues } from "../orders/index.ts";
import type { DeadLetterReason } from "../relay/index.ts";

const MAX_DETAILS = 5;

/** At most {@link MAX_DETAILS} lines, then how many more there were (`more` were cut before). */
function capped(lines: string[], more = 0): string[] {
  const shown = lines.slice(0, MAX_DETAILS);
  const rest = lines.length - shown.length + more;
  return rest > 0 ? [...shown, `… and ${rest} more`] : shown;
}

/** A few lines saying why a message was dead-lettered, for a person. Quotes no order content. */
export function describeDeadLetter(reason: DeadLetterReason | undefined): string[] {
  if (!reason) {
    return [
      "no relay reason: SQS moved it here after its receive limit, so the relay failed on it every time",
    ];
  }
  switch (reason.kind) {
    case "invalid":
      return capped(formatIssues(reason.errors).split("\n"), reason.truncatedErrors ?? 0);
    case "conflict":
      return [reason.detail, ...capped(reason.differences)];
    case "rejected": {
      const codes = reason.errors.map((error) => error.errorCode).join(", ") || "no error code";
      const id = reason.imburseCorrelationId
        ? ` (Imburse correlation id ${reason.imburseCorrelationId})`
        : "";
      return [`Imburse answered HTTP ${reason.status}: ${codes}${id}`];
    }
    case "retries-exhausted": {
      const status = reason.lastStatus === undefined ? "" : ` HTTP ${reason.lastStatus}`;
      const codes = reason.lastErrorCodes.length > 0 ? ` ${reason.lastErrorCodes.join(", ")}` : "";
      const id = reason.imburseCorrelationId
        ? ` (Imburse correlation id ${reason.imburseCorrelationId})`
        : "";
      const limit = reason.exhausted;
      const why =
        limit === undefined
          ? `gave up after ${reason.attempts} attempts`
          : limit.limit === "max-attempts"
            ? `gave up after ${limit.maxAttempts} attempts (RELAY_MAX_ATTEMPTS)`
            : `gave up at ${limit.deadline} (${limit.limit === "retry-budget" ? "the retry budget" : "the earliest settledByDate"}), after ${reason.attempts} attempts`;
      const last =
        reason.lastReason === "arrived-late"
          ? "the retry arrived after the deadline and was not tried"
          : `last failure ${reason.lastReason}${status}${codes}${id}`;
      return [`${why}; ${last}`];
    }
  }
}
