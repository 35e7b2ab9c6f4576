import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { METRICS } from "../config/names.ts";
import type { OutboxEntry } from "../events/outcome-event.ts";
import type { ImburseCallEvent } from "../imburse/index.ts";
import { countsAgainstAvailability, kindOfAnswer } from "../imburse/index.ts";
import type { DeadLetterKind, FinalOutcome } from "./reasons.ts";
import type { RetryReason } from "./submit-order.ts";

/** The counters and timings the relay emits. */
export interface RelayMetrics {
  received(): void;
  submitted(): void;
  alreadyExisted(): void;
  duplicateDelivery(): void;
  retried(reason: RetryReason): void;
  deadLettered(kind: DeadLetterKind): void;
  imburseCall(event: ImburseCallEvent): void;
  /** A record met a ledger that could not be read or written. */
  ledgerUnavailable(): void;
  /** A record was handed back to SQS to come back later (another delivery held the order, or no time). */
  handedBack(): void;
  /** Outcome events that reached the bus. */
  eventsPublished(count: number): void;
  /** Outcome events that could not be published (they stay due in the outbox, or are lost for an invalid order). */
  eventsFailed(count: number): void;
}

/** {@link RelayMetrics} as CloudWatch EMF through Powertools Metrics; dimensioned counts are single metrics. */
export function powertoolsRelayMetrics(metrics: Metrics): RelayMetrics {
  const count = (name: string) => metrics.addMetric(name, MetricUnit.Count, 1);
  const countBy = (name: string, dimension: string, value: string) => {
    const single = metrics.singleMetric();
    single.addDimension(dimension, value);
    single.addMetric(name, MetricUnit.Count, 1);
  };
  return {
    received: () => count(METRICS.received),
    submitted: () => count(METRICS.submitted),
    alreadyExisted: () => count(METRICS.alreadyExisted),
    duplicateDelivery: () => count(METRICS.duplicateDelivery),
    retried: (reason) => {
      count(METRICS.retried);
      countBy(METRICS.retried, "reason", reason);
    },
    deadLettered: (kind) => {
      count(METRICS.deadLettered);
      countBy(METRICS.deadLettered, "kind", kind);
    },
    ledgerUnavailable: () => count(METRICS.ledgerUnavailable),
    handedBack: () => count(METRICS.handedBack),
    eventsPublished: (n) => metrics.addMetric(METRICS.outcomeEventPublished, MetricUnit.Count, n),
    eventsFailed: (n) => metrics.addMetric(METRICS.outcomeEventFailed, MetricUnit.Count, n),
    imburseCall: (event) => {
      metrics.addMetric(METRICS.imburseLatency, MetricUnit.Milliseconds, event.durationMs);
      if (isImburseFailure(event)) count(METRICS.imburseError);
    },
  };
}

/**
 * Whether an exchange with Imburse counts against its availability (the `ImburseError` metric behind the
 * error-rate alarm and the circuit breaker): no answer, throttling, a server error, or a refused key.
 */
export function isImburseFailure(event: Pick<ImburseCallEvent, "status" | "method" | "path">): boolean {
  return countsAgainstAvailability(kindOfAnswer(event));
}

/** Reported once per record for in-process observers (local mode's progress and report). */
export type RecordEvent =
  | {
      type: "final";
      outcome: FinalOutcome;
      originMessageId: string;
      orderRef: string | undefined;
      correlationId: string;
      attempts: number;
      imburseCorrelationId?: string | undefined;
      reason?: unknown;
      /** The id of the order's outcome event, when events are on. */
      outcomeEventId?: string | undefined;
    }
  | {
      type: "retry-scheduled";
      originMessageId: string;
      correlationId: string;
      nextAttempt: number;
      delaySeconds: number;
      reason: RetryReason;
    }
  | {
      type: "duplicate";
      originMessageId: string;
      correlationId: string;
      /** The id of the outcome event of the order it repeats, when events are on. */
      outcomeEventId?: string;
    };

/**
 * Who watches the relay in-process: told of every record's outcome, every exchange with Imburse and every
 * PutEvents round. Given to the handler's assembly (`observer` of `createSubmitHandler`); none in Lambda,
 * where logs and metrics say the same. Local mode passes one to draw its progress, write its report and
 * evaluate its alarms without scraping logs. An observer must not throw.
 */
export interface RelayObserver {
  /** One per record, when its outcome is known (or a retry is scheduled). */
  record?(event: RecordEvent): void;
  /** One per exchange with Imburse (the token exchange included). */
  imburseCall?(event: ImburseCallEvent): void;
  /** Outcome events as they reached the bus, and the ids that did not. */
  outcomeEvents?(event: OutcomeEventsPublished): void;
}

/** What one PutEvents round achieved, for in-process observers. */
export interface OutcomeEventsPublished {
  /** The entries that reached the bus. */
  published: OutboxEntry[];
  /** The ids that did not. */
  failed: string[];
}
