/**
 * Names shared by the infrastructure (`stacks/`), the Lambda handlers and the local mode.
 * Change a name here and every part of imburse-relay follows.
 */

/** Logical resource names. SST derives the physical AWS names from these; local mode uses them as-is. */
export const RESOURCE_NAMES = {
  ordersQueue: "Orders",
  retryQueue: "Retry",
  deadLetterQueue: "DeadLetter",
  ledgerTable: "Ledger",
  credentialsSecret: "ImburseCredentials",
  alarmTopic: "Alarms",
  dashboard: "Flow",
  submitFunction: "Submit",
  healthProbeFunction: "HealthProbe",
  redriveFunction: "Redrive",
  circuitBreakerFunction: "CircuitBreaker",
  ledgerCheckFunction: "LedgerCheck",
  outcomeBus: "Outcomes",
  outboxSweepFunction: "OutboxSweep",
} as const;

/**
 * Logical names of the availability alarms (stacks/availability.ts; physical names `<app>-<stage>-<name>`),
 * which the circuit breaker reads and local mode evaluates.
 */
export const AVAILABILITY_ALARMS = {
  probe: "ImburseProbeUnhealthy",
  errorRate: "ImburseErrorRate",
  unavailable: "ImburseUnavailable",
} as const;

/**
 * The ledger table's key schema, shared by the stacks and local mode: one item per orderRef and tenant,
 * TTL on `expiresAt`, and a sparse index of the orders that are not complete (only they carry `openShard`).
 */
export const LEDGER_TABLE = {
  partitionKey: "orderRef",
  sortKey: "tenantId",
  ttl: "expiresAt",
  openIndex: { name: "Open", partitionKey: "openShard", sortKey: "lastAttemptAt" },
  /** Items with outcome events still to publish (only they carry `outboxShard`): the outbox sweep's index. */
  outboxIndex: { name: "Outbox", partitionKey: "outboxShard", sortKey: "outboxDueAt" },
} as const;

/**
 * The key of the circuit breaker's state item in the ledger table (lib/ops/breaker-state.ts): `#` can never
 * start an order's `orderRef`, so no order can collide with it.
 */
export const BREAKER_STATE_KEY = { orderRef: "#circuit-breaker", tenantId: "#relay" } as const;

/**
 * Where the circuit breaker is (lib/ops/circuit-breaker.ts), also the `state` dimension of the
 * `BreakerTransition` metric the dashboard draws:
 * - `closed`: the mappings run at their configured batch size and concurrency;
 * - `open`: the mappings are disabled, orders wait in their queues;
 * - `trial` (half-open): the mappings run at the least traffic AWS allows, until the trial shows whether
 *   Imburse takes orders again.
 */
export type BreakerPhase = "closed" | "open" | "trial";

/** The credentials secret's name in a stage (`<app>/<stage>/ImburseCredentials`), readable for the operator. */
export function credentialsSecretName(stage: string): string {
  return `${SERVICE_NAME}/${stage}/${RESOURCE_NAMES.credentialsSecret}`;
}

/** The ledger's sparse index of open orders. */
export const LEDGER_OPEN_INDEX = LEDGER_TABLE.openIndex.name;

/**
 * The ledger table's physical name in a stage: set explicitly by the stacks (not generated), so that
 * `imburse-relay status --stage NAME` finds it and local mode uses the same rule.
 */
export function ledgerTableName(stage: string): string {
  return `${SERVICE_NAME}-${stage}-${RESOURCE_NAMES.ledgerTable}`;
}

/**
 * SQS message attribute names. SQS allows at most 10 attributes per message, so the relay owns
 * a fixed budget ({@link RELAY_ATTRIBUTE_NAMES}) and forwards publisher attributes only while
 * the total stays within {@link SQS_MAX_MESSAGE_ATTRIBUTES}.
 */
export const MESSAGE_ATTRIBUTES = {
  /** The one correlation id carried through logs, traces, metrics, headers and messages. */
  correlationId: "x-correlation-id",
  /** 1 for the first delivery; incremented on every retry hop that made a call to Imburse. */
  attempt: "relay-attempt",
  /** ISO-8601 time the relay first saw the order. */
  firstReceivedAt: "relay-first-received-at",
  /** ISO-8601 time before which a retry message must not be processed (waits longer than 900 s hop). */
  notBefore: "relay-not-before",
  /** SQS message id of the publisher's original message. */
  originMessageId: "relay-origin-message-id",
  /** Set when the previous attempt may have reached Imburse without an answer: GET before POST. */
  unknownOutcome: "relay-unknown-outcome",
  /** On DLQ messages: the structured reason, as JSON. */
  deadLetterReason: "relay-dlq-reason",
} as const;

/** The names of the relay's own message attributes (publishers must not send them). */
export const RELAY_ATTRIBUTE_NAMES: readonly string[] = Object.values(MESSAGE_ATTRIBUTES);

/** SQS hard limit: message attributes per message. */
export const SQS_MAX_MESSAGE_ATTRIBUTES = 10;
/** SQS hard limit: the longest delay of a message, in seconds. */
export const SQS_MAX_DELAY_SECONDS = 900;
/** SQS hard limit: messages in one batch request. */
export const SQS_MAX_BATCH_SIZE = 10;
/** 14 days, the longest SQS retains a message. */
export const SQS_MAX_RETENTION_SECONDS = 1_209_600;
/**
 * The largest message SQS takes: body and attributes (names, types and values), 1 MiB. The DLQ allows it, so
 * a body the orders queue took always fits there with its reason.
 */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;
/** Room the orders and retry queues keep below SQS's limit, for the relay's attributes and a DLQ reason. */
const RELAY_MESSAGE_RESERVE_BYTES = 16_384;
/** `MaximumMessageSize` of the orders and retry queues: 1 MiB less {@link RELAY_MESSAGE_RESERVE_BYTES}. */
export const SOURCE_QUEUE_MAX_MESSAGE_BYTES = SQS_MAX_MESSAGE_BYTES - RELAY_MESSAGE_RESERVE_BYTES;
/**
 * What the relay's own attributes other than the DLQ reason take at most (7 names, a 128-character
 * correlation id, ISO times, message ids: well under 1 KiB), with room to spare.
 */
export const RELAY_ATTRIBUTES_MAX_BYTES = 4_096;
/**
 * The largest order body (UTF-8 bytes) the relay accepts: what the orders queue takes, less the relay's own
 * attributes, so the same body always fits the retry queue as a retry and the DLQ with its reason.
 */
export const ORDER_BODY_MAX_BYTES = SOURCE_QUEUE_MAX_MESSAGE_BYTES - RELAY_ATTRIBUTES_MAX_BYTES;
/** The most one `SendMessageBatch` request may carry, all entries together: 1 MiB. */
export const SQS_MAX_BATCH_REQUEST_BYTES = 1_048_576;

/** Metric namespace and names emitted with Powertools Metrics (EMF). */
export const METRICS = {
  namespace: "ImburseRelay",
  submitted: "OrderSubmitted",
  alreadyExisted: "OrderAlreadyExisted",
  duplicateDelivery: "DuplicateDelivery",
  retried: "OrderRetried",
  deadLettered: "OrderDeadLettered",
  received: "OrderReceived",
  imburseLatency: "ImburseLatency",
  imburseError: "ImburseError",
  probeHealthy: "ProbeHealthy",
  probeLatency: "ProbeLatency",
  breakerTransition: "BreakerTransition",
  redriven: "Redriven",
  ledgerUnavailable: "LedgerUnavailable",
  stuckOrders: "StuckOrders",
  handedBack: "RecordHandedBack",
  outcomeEventPublished: "OutcomeEventPublished",
  outcomeEventFailed: "OutcomeEventFailed",
} as const;

/** The service name used by Powertools (logs, traces, metrics dimension). */
export const SERVICE_NAME = "imburse-relay";

/** The outcome events on the bus: their `source`, and the `detail-type` of each outcome. */
export const OUTCOME_EVENTS = {
  source: SERVICE_NAME,
  detailTypes: {
    submitted: "Order Submitted",
    "already-existed": "Order Already Existed",
    "dead-lettered": "Order Dead-Lettered",
    "retry-scheduled": "Order Retry Scheduled",
  },
} as const;

/**
 * The dimensions on every metric of the relay: `service` (which Powertools adds) and `stage`, from
 * `RELAY_STAGE`. The stage keeps stages that share an account apart: a test stage without credentials
 * emits `ProbeHealthy = 0`, and production's alarms must not see it.
 */
export function relayMetricDimensions(stage: string): { service: string; stage: string } {
  return { service: SERVICE_NAME, stage };
}
