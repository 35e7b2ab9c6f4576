import { type Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { METRICS } from "../config/index.ts";
import {
  type DeadLetterKind,
  type FinalOutcome,
  type OutboxMetrics,
  type OutboxObserver,
  powertoolsOutboxMetrics,
  type RetryReason,
} from "../events/index.ts";
import type { ImburseCallEvent } from "../imburse/index.ts";
import { countsAgainstAvailability, kindOfAnswer } from "../imburse/index.ts";

/** The counters and timings the relay emits. */
export interface RelayMetrics extends OutboxMetrics {
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
    ...powertoolsOutboxMetrics(metrics),
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
export interface RelayObserver extends OutboxObserver {
  /** One per record, when its outcome is known (or a retry is scheduled). */
  record?(event: RecordEvent): void;
  /** One per exchange with Imburse (the token exchange included). */
  imburseCall?(event: ImburseCallEvent): void;
}
