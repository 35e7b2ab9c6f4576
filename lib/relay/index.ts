/**
 * TODO module doc for relay
 */
export { attributeBytes } from "./envelope.ts";
export { minimumRemainingTimeMarginMs } from "./process-record.ts";
export { type DeadLetterReason, parseDeadLetterReason } from "./reasons.ts";
export { createSubmitHandler, type SubmitHandlerOverrides } from "./submit-handler.ts";
export type { OrderApi } from "./submit-order.ts";
export { isImburseFailure, type RecordEvent } from "./telemetry.ts";
