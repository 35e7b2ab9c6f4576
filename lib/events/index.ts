/**
 * Outcome events: what can become of an order (final outcomes, dead-letter kinds and causes, retry
 * reasons), the detail published on EventBridge with its deterministic id and JSON Schema, the ledger outbox
 * that makes publishing at least once, the PutEvents publisher and the scheduled outbox sweep.
 */
export { outcomeDetailJsonSchema } from "./json-schema.ts";
export {
  type OutboxMetrics,
  type OutboxObserver,
  OutcomeOutbox,
  powertoolsOutboxMetrics,
  publishDue,
} from "./outbox.ts";
export {
  guardedMetadata,
  OUTCOME_EVENT_SOURCE,
  type OutcomeDetail,
  type OutcomeFacts,
  outcomeEvent,
  outcomeEventId,
} from "./outcome-event.ts";
export type { DeadLetterCause, DeadLetterKind, FinalOutcome, RetryReason } from "./outcomes.ts";
export { eventBridgePublisher, type OutcomePublisher } from "./publisher.ts";
export { createOutboxSweepHandler } from "./sweep.ts";
