import { IdempotencyValidationError } from "@aws-lambda-powertools/idempotency";
import type { Logger } from "@aws-lambda-powertools/logger";
import type { SQSRecord } from "aws-lambda";
import type { RelaySettings } from "../config/settings.ts";
import { parseOrderMessage } from "../orders/index.ts";
import { type OrderEnvelope, readEnvelope, writeAttributes } from "./envelope.ts";
import type { IdempotentSubmit } from "./idempotency.ts";
import { planHop, planRetry } from "./policy.ts";
import { type DeadLetterCause, type DeadLetterReason, MAX_REASON_ISSUES } from "./reasons.ts";
import { runInRecordScope } from "./scope.ts";
import type { MessageSender } from "./sender.ts";
import {
  ConflictSubmitError,
  MIN_CALL_TIMEOUT_MS,
  RejectedSubmitError,
  RetryableSubmitError,
} from "./submit-order.ts";
import { type RecordEvent, type RelayMetrics, recordEvents } from "./telemetry.ts";

/** The settings one record needs. */
export type RecordSettings = Pick<
  RelaySettings,
  | "retryQueueUrl"
  | "deadLetterQueueUrl"
  | "retryBaseSeconds"
  | "retryCapSeconds"
  | "maxAttempts"
  | "imburseTimeoutMs"
  | "metadataMaxKeys"
  | "metadataMaxKeyLength"
  | "metadataMaxValueLength"
>;

/** Everything {@link processRecord} talks to. */
export interface RecordDependencies {
  settings: RecordSettings;
  submit: IdempotentSubmit;
  /** The tenant of the current credentials: idempotency keys are scoped by it. */
  tenantId: () => Promise<string>;
  sender: MessageSender;
  logger: Logger;
  metrics: RelayMetrics;
  /** Epoch milliseconds. */
  clock: () => number;
  /** A number in [0, 1) for the backoff jitter. */
  random: () => number;
}

/** What became of a record. Throwing instead means: hand it back to SQS (batch item failure). */
export type RecordResult =
  | { status: "submitted" | "already-existed" | "duplicate" }
  | { status: "retry-scheduled"; nextAttempt: number; delaySeconds: number }
  | { status: "deferred"; delaySeconds: number }
  | { status: "dead-lettered"; kind: DeadLetterCause["kind"] };

/**
 * Handles one order message end to end: validate, submit once, and route the outcome. The record is
 * acknowledged only once its retry or dead-letter message has been sent; any failure to send throws.
 */
export async function processRecord(
  record: SQSRecord,
  deps: RecordDependencies,
  annotate: (key: string, value: string) => void = () => undefined,
  remainingMs?: () => number,
): Promise<RecordResult> {
  const now = deps.clock();
  const parsed = parseOrderMessage(record.body, {
    metadataMaxKeys: deps.settings.metadataMaxKeys,
    metadataMaxKeyLength: deps.settings.metadataMaxKeyLength,
    metadataMaxValueLength: deps.settings.metadataMaxValueLength,
  });
  const envelope = readEnvelope(record, new Date(now), parsed.correlationId);
  const orderRef = parsed.success ? parsed.order.orderRef : parsed.claimedOrderRef;
  annotate("correlationId", envelope.correlationId);
  if (orderRef) annotate("orderRef", orderRef);
  const logger = deps.logger.createChild({
    persistentKeys: {
      correlation_id: envelope.correlationId,
      order_ref: orderRef,
      attempt: envelope.attempt,
      message_id: record.messageId,
    },
  });
  return runInRecordScope({ logger }, async () => {
    const route = new RecordRouter(record, envelope, orderRef, deps, logger);
    if (envelope.rejectedCorrelationId) {
      logger.warn(
        "The publisher's correlation id is not 1 to 128 printable ASCII characters; the message id replaces it",
      );
    }
    const hop = planHop(envelope.notBefore, now);
    if (hop) return route.defer(hop.delaySeconds, hop.notBefore);
    if (envelope.attempt === 1) deps.metrics.received();
    if (!parsed.success) {
      const errors = parsed.errors.slice(0, MAX_REASON_ISSUES);
      const truncatedErrors = parsed.errors.length - errors.length;
      return route.deadLetter({
        kind: "invalid",
        errors,
        ...(truncatedErrors > 0 ? { truncatedErrors } : {}),
      });
    }
    const tenantId = await deps.tenantId();
    try {
      const { result, replayed } = await deps.submit(parsed.order, tenantId, {
        correlationId: envelope.correlationId,
        unknownOutcome: envelope.unknownOutcome,
        ...(remainingMs
          ? { callTimeoutMs: () => callTimeoutMs(deps.settings.imburseTimeoutMs, remainingMs()) }
          : {}),
      });
      return route.succeeded(replayed ? "duplicate" : result.outcome);
    } catch (error) {
      if (error instanceof IdempotencyValidationError) {
        return route.deadLetter({
          kind: "conflict",
          detail: "this orderRef was already submitted by the relay with different content",
          differences: [],
        });
      }
      if (error instanceof ConflictSubmitError) {
        return route.deadLetter({
          kind: "conflict",
          detail: "Imburse already holds this orderRef with different content",
          differences: error.differences.slice(0, MAX_REASON_ISSUES),
        });
      }
      if (error instanceof RejectedSubmitError) {
        const { status, errors, imburseCorrelationId } = error.classification;
        return route.deadLetter({
          kind: "rejected",
          status,
          errors: errors.slice(0, MAX_REASON_ISSUES),
          imburseCorrelationId,
        });
      }
      if (error instanceof RetryableSubmitError) return route.retry(error);
      throw error;
    }
  });
}

/** Sends a record on its way and reports it; one instance per record. */
class RecordRouter {
  readonly #record: SQSRecord;
  readonly #envelope: OrderEnvelope;
  readonly #orderRef: string | undefined;
  readonly #deps: RecordDependencies;
  readonly #logger: Logger;

  constructor(
    record: SQSRecord,
    envelope: OrderEnvelope,
    orderRef: string | undefined,
    deps: RecordDependencies,
    logger: Logger,
  ) {
    this.#record = record;
    this.#envelope = envelope;
    this.#orderRef = orderRef;
    this.#deps = deps;
    this.#logger = logger;
  }

  succeeded(status: "submitted" | "already-existed" | "duplicate"): RecordResult {
    const { metrics } = this.#deps;
    if (status === "duplicate") {
      metrics.duplicateDelivery();
      this.#logger.info(
        "Order was already submitted; duplicate delivery acknowledged without calling Imburse",
      );
      this.#emit({
        type: "duplicate",
        originMessageId: this.#envelope.originMessageId,
        correlationId: this.#envelope.correlationId,
      });
      return { status };
    }
    if (status === "submitted") metrics.submitted();
    else metrics.alreadyExisted();
    this.#logger.info("Order accepted by Imburse", { outcome: status });
    this.#final(status);
    return { status };
  }

  async retry(error: RetryableSubmitError): Promise<RecordResult> {
    const { settings, clock, random } = this.#deps;
    const failure = error.classification;
    const plan = planRetry({
      attempt: this.#envelope.attempt,
      maxAttempts: settings.maxAttempts,
      baseSeconds: settings.retryBaseSeconds,
      capSeconds: settings.retryCapSeconds,
      retryAfterSeconds: failure.retryAfterSeconds,
      now: clock(),
      random: random(),
    });
    if (plan.kind === "exhausted") {
      return this.deadLetter({
        kind: "retries-exhausted",
        lastReason: failure.reason,
        lastStatus: failure.status,
        lastErrorCodes: failure.errorCodes,
        imburseCorrelationId: failure.imburseCorrelationId,
        mayExistInImburse: failure.unknownOutcome || this.#envelope.unknownOutcome,
      });
    }
    await this.#send(settings.retryQueueUrl, plan.delaySeconds, {
      attempt: plan.nextAttempt,
      notBefore: plan.notBefore,
      unknownOutcome: failure.unknownOutcome || this.#envelope.unknownOutcome,
    });
    this.#deps.metrics.retried(failure.reason);
    this.#logger.warn("Imburse call failed; retry scheduled", {
      reason: failure.reason,
      status: failure.status,
      error_codes: failure.errorCodes,
      imburse_correlation_id: failure.imburseCorrelationId,
      next_attempt: plan.nextAttempt,
      wait_seconds: plan.waitSeconds,
    });
    this.#emit({
      type: "retry-scheduled",
      originMessageId: this.#envelope.originMessageId,
      correlationId: this.#envelope.correlationId,
      nextAttempt: plan.nextAttempt,
      delaySeconds: plan.waitSeconds,
      reason: failure.reason,
    });
    return { status: "retry-scheduled", nextAttempt: plan.nextAttempt, delaySeconds: plan.waitSeconds };
  }

  async defer(delaySeconds: number, notBefore: Date | undefined): Promise<RecordResult> {
    await this.#send(this.#deps.settings.retryQueueUrl, delaySeconds, {
      attempt: this.#envelope.attempt,
      notBefore,
      unknownOutcome: this.#envelope.unknownOutcome,
    });
    this.#logger.debug("Retry not due yet; delayed again", { delay_seconds: delaySeconds });
    return { status: "deferred", delaySeconds };
  }

  async deadLetter(cause: DeadLetterCause): Promise<RecordResult> {
    const reason: DeadLetterReason = {
      ...cause,
      correlationId: this.#envelope.correlationId,
      orderRef: this.#orderRef ?? null,
      attempts: this.#envelope.attempt,
      originMessageId: this.#envelope.originMessageId,
      firstReceivedAt: this.#envelope.firstReceivedAt.toISOString(),
      deadLetteredAt: new Date(this.#deps.clock()).toISOString(),
    };
    await this.#send(this.#deps.settings.deadLetterQueueUrl, 0, {
      attempt: this.#envelope.attempt,
      deadLetterReason: JSON.stringify(reason),
    });
    this.#deps.metrics.deadLettered(cause.kind);
    this.#logger.error("Order dead-lettered", { reason });
    this.#final(cause.kind, "imburseCorrelationId" in cause ? cause.imburseCorrelationId : undefined, reason);
    return { status: "dead-lettered", kind: cause.kind };
  }

  async #send(
    queueUrl: string,
    delaySeconds: number,
    outgoing: Parameters<typeof writeAttributes>[1],
  ): Promise<void> {
    const { attributes, dropped } = writeAttributes(this.#envelope, outgoing);
    if (dropped.length > 0) {
      this.#logger.warn("Publisher attributes dropped to stay within SQS's 10-attribute limit", { dropped });
    }
    await this.#deps.sender.send({ queueUrl, body: this.#record.body, attributes, delaySeconds });
  }

  #final(
    outcome: Extract<RecordEvent, { type: "final" }>["outcome"],
    imburseCorrelationId?: string,
    reason?: DeadLetterReason,
  ): void {
    this.#emit({
      type: "final",
      outcome,
      originMessageId: this.#envelope.originMessageId,
      orderRef: this.#orderRef,
      correlationId: this.#envelope.correlationId,
      attempts: this.#envelope.attempt,
      ...(imburseCorrelationId ? { imburseCorrelationId } : {}),
      ...(reason ? { reason } : {}),
    });
  }

  #emit(event: RecordEvent): void {
    recordEvents.emit("record", event);
  }
}

/** Time kept back from Imburse calls to send the record's retry or dead-letter message. */
const SEND_RESERVE_MS = 3_000;

/** The timeout of the next Imburse call: the setting, or what the invocation has left; undefined when too little. */
export function callTimeoutMs(settingMs: number, remainingMs: number): number | undefined {
  const available = Math.min(settingMs, remainingMs - SEND_RESERVE_MS);
  return available >= MIN_CALL_TIMEOUT_MS ? available : undefined;
}
