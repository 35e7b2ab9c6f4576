/** Raised for records left unstarted because the invocation is about to time out; SQS delivers them again. */
export class NotStartedError extends Error {
  override readonly name = "NotStartedError";
}

/**
 * Raised for a record that should come back later rather than now: another delivery holds the order's
 * lease. The batch handler makes the message visible again after `visibleInSeconds` and reports it as a
 * batch item failure. An expected case, not an error.
 */
export class HandBackError extends Error {
  override readonly name = "HandBackError";
  readonly visibleInSeconds: number;
  constructor(message: string, visibleInSeconds: number) {
    super(message);
    this.visibleInSeconds = visibleInSeconds;
  }
}
