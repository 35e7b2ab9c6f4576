/**
 * The submission: the submit Lambda's handler ({@link createSubmitHandler}) and what it is made of, the
 * per-record pipeline, the decision function and retry policy, the relay attributes of the message envelope,
 * the dead-letter reasons and the telemetry with its in-process observer.
 */
export { attributeBytes } from "./envelope.ts";
export { minimumRemainingTimeMarginMs } from "./process-record.ts";
export { type DeadLetterReason, parseDeadLetterReason } from "./reasons.ts";
export { createSubmitHandler, type SubmitHandlerOverrides } from "./submit-handler.ts";
export type { OrderApi } from "./submit-order.ts";
export { isImburseFailure, type RecordEvent } from "./telemetry.ts";
