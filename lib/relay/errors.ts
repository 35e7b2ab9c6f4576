/**
 * Raised for a record that should come back later rather than now: another delivery holds the order's
 * lease, or too little of the invocation is left to start it. The batch handler makes the message visible again after `visibleInSeconds` and reports it as a
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
