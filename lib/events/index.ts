/**
 * TODO module doc for events
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
