/** One entry of the `errors` array of an Imburse error body. */
export interface ImburseErrorDetail {
  errorCode: string;
  message?: string;
  messageTemplate?: string;
  metadata?: Record<string, unknown>;
}

/** Base class of every error the Imburse client throws. Messages never contain keys, tokens or signatures. */
export class ImburseError extends Error {
  override readonly name: string = "ImburseError";
}

/** The client was configured in a way that cannot work (for example a plain-http base URL). */
export class ImburseConfigError extends ImburseError {
  override readonly name = "ImburseConfigError";
}

/** Imburse answered with a status outside 2xx. */
export class ImburseApiError extends ImburseError {
  override readonly name = "ImburseApiError";
  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly errors: readonly ImburseErrorDetail[];
  /** Imburse's own correlation id from the error body: quote it to Imburse support. */
  readonly imburseCorrelationId: string | undefined;
  /** Parsed `Retry-After` in seconds (from a delay or an HTTP date), when the response had one. */
  readonly retryAfterSeconds: number | undefined;
  /**
   * True when this answer came to a second try after a dead pooled socket, whose first try may have reached
   * Imburse: whatever this answer says, the call may have acted, so it must not be repeated unread.
   */
  readonly earlierTryMayHaveReached: boolean;

  constructor(init: {
    status: number;
    method: string;
    path: string;
    errors: readonly ImburseErrorDetail[];
    imburseCorrelationId?: string | undefined;
    retryAfterSeconds?: number | undefined;
    earlierTryMayHaveReached?: boolean;
  }) {
    const codes = init.errors.map((e) => e.errorCode).join(", ");
    const correlation = init.imburseCorrelationId
      ? ` (Imburse correlation id ${init.imburseCorrelationId})`
      : "";
    super(
      `Imburse ${init.method} ${init.path} answered ${init.status}${codes ? ` ${codes}` : ""}${correlation}`,
    );
    this.status = init.status;
    this.method = init.method;
    this.path = init.path;
    this.errors = init.errors;
    this.imburseCorrelationId = init.imburseCorrelationId;
    this.retryAfterSeconds = init.retryAfterSeconds;
    this.earlierTryMayHaveReached = init.earlierTryMayHaveReached ?? false;
  }

  /** The `errorCode`s of the body, in order. */
  get errorCodes(): string[] {
    return this.errors.map((e) => e.errorCode);
  }

  /** True when the body carries this error code. */
  hasErrorCode(code: string): boolean {
    return this.errors.some((e) => e.errorCode === code);
  }
}

/**
 * No HTTP answer: the connection failed, was reset, or timed out. `mayHaveReachedServer` tells
 * whether Imburse could have acted on the request (a timeout after the request was sent) or surely
 * did not (connection refused, DNS failure, a timeout before the request was written).
 */
export class ImburseNetworkError extends ImburseError {
  override readonly name = "ImburseNetworkError";
  readonly code: string;
  readonly method: string;
  readonly path: string;
  readonly timedOut: boolean;
  readonly mayHaveReachedServer: boolean;

  constructor(init: {
    code: string;
    method: string;
    path: string;
    timedOut: boolean;
    mayHaveReachedServer: boolean;
  }) {
    const what = init.timedOut ? "timed out" : `failed (${init.code})`;
    const reach = init.mayHaveReachedServer ? "it may have reached Imburse" : "it did not reach Imburse";
    super(`Imburse ${init.method} ${init.path} ${what}; ${reach}`);
    this.code = init.code;
    this.method = init.method;
    this.path = init.path;
    this.timedOut = init.timedOut;
    this.mayHaveReachedServer = init.mayHaveReachedServer;
  }
}

/** Reads the documented error body `{ timestamp, correlationId, errors: [...] }`, tolerating anything else. */
export function parseErrorBody(body: unknown): { errors: ImburseErrorDetail[]; correlationId?: string } {
  // Reading a field of a string or a number gives undefined: only null and undefined need a stand-in.
  const record = (body ?? {}) as Record<string, unknown>;
  const errors = Array.isArray(record.errors)
    ? record.errors.flatMap((entry): ImburseErrorDetail[] => {
        const e = (entry ?? {}) as Record<string, unknown>;
        if (typeof e.errorCode !== "string") return [];
        return [
          {
            errorCode: e.errorCode,
            ...(typeof e.message === "string" ? { message: e.message } : {}),
            ...(typeof e.messageTemplate === "string" ? { messageTemplate: e.messageTemplate } : {}),
            ...(typeof e.metadata === "object" && e.metadata !== null
              ? { metadata: e.metadata as Record<string, unknown> }
              : {}),
          },
        ];
      })
    : [];
  const correlationId = typeof record.correlationId === "string" ? record.correlationId : undefined;
  return correlationId ? { errors, correlationId } : { errors };
}

/**
 * Parses a `Retry-After` header: a non-negative number of seconds or an HTTP date, relative to `nowMs`.
 * Returns undefined when absent or unreadable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | undefined | null, nowMs: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed);
  // An HTTP date names its weekday and month; this keeps Date.parse from reading "-5" as a year.
  const date = /[a-z]{3}/i.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - nowMs) / 1000));
}
