import type { Logger } from "@aws-lambda-powertools/logger";
import type { SQSRecord } from "aws-lambda";
import { SOURCE_QUEUE_MAX_MESSAGE_BYTES, SQS_MAX_MESSAGE_BYTES } from "../config/names.ts";
import type { RelaySettings } from "../config/settings.ts";
import {
  type AttemptResult,
  fingerprintOf,
  type LastOutcome,
  type LedgerBatchWriter,
  type LedgerItem,
  LedgerUnavailableError,
  type OrderLedger,
  settledItem,
} from "../ledger/index.ts";
import { type Order, parseOrderMessage } from "../orders/index.ts";
import { decide, isDue, type NextStep, type RecordOutcome, retryDeadline } from "./decide.ts";
import { type OrderEnvelope, queueNameOf, readEnvelope, writeAttributes } from "./envelope.ts";
import { HandBackError } from "./errors.ts";
import {
  type DeadLetterCause,
  type DeadLetterReason,
  deadLetterReasonRoom,
  fitDeadLetterReason,
  MAX_REASON_ISSUES,
} from "./reasons.ts";
import { runInRecordScope } from "./scope.ts";
import type { MessageSender } from "./sender.ts";
import { type OrderApi, submitOrder } from "./submit-order.ts";
import { type RecordEvent, type RelayMetrics, recordEvents } from "./telemetry.ts";

/** The settings one record needs. */
export type RecordSettings = Pick<
  RelaySettings,
  | "retryQueueUrl"
  | "deadLetterQueueUrl"
  | "retryBaseSeconds"
  | "retryCapSeconds"
  | "retryBudgetSeconds"
  | "maxAttempts"
  | "imburseTimeoutMs"
  | "remainingTimeMarginMs"
  | "metadataMaxKeys"
  | "metadataMaxKeyLength"
  | "metadataMaxValueLength"
  | "leaseSeconds"
  | "ledgerTtlSeconds"
>;

/** Everything {@link processRecord} talks to. */
export interface RecordDependencies {
  settings: RecordSettings;
  /** Imburse's order calls. */
  api: OrderApi;
  /** The order ledger: claimed before any call to Imburse. */
  ledger: OrderLedger;
  /** The tenant of the current credentials: ledger items are scoped by it. */
  tenantId: () => Promise<string>;
  sender: MessageSender;
  logger: Logger;
  metrics: RelayMetrics;
  /** Epoch milliseconds. */
  clock: () => number;
  /** A number in [0, 1) for the backoff jitter. */
  random: () => number;
  /** A new id for each delivery's lease on an order (unique across containers). */
  newLeaseOwner: () => string;
}

/** What belongs to the invocation a record runs in. */
export interface RecordInvocation {
  /** Collects the completed states of the batch, written together once every record is done. */
  ledgerWrites: LedgerBatchWriter;
  /** What the invocation has left, in milliseconds. */
  remainingMs: () => number;
  annotate?: (key: string, value: string) => void;
}

/** What became of a record. Throwing instead means: hand it back to SQS (batch item failure). */
export type RecordResult =
  | { status: "submitted" | "already-existed" | "duplicate" }
  | { status: "retry-scheduled"; nextAttempt: number; delaySeconds: number }
  | { status: "deferred"; delaySeconds: number }
  | { status: "dead-lettered"; kind: DeadLetterCause["kind"] };

/**
 * Time kept back at the end of the invocation for what follows the calls: the record's retry or
 * dead-letter message, and the batch's ledger write.
 */
export const SEND_RESERVE_MS = 3_000;

/**
 * Handles one order message end to end: validate it, claim it in the ledger, submit it (reading it first
 * when a previous try may have reached Imburse), let {@link decide} choose the next step, and take it. The
 * record is acknowledged only once its retry or dead-letter message has been sent; a failure to send throws.
 */
export async function processRecord(
  record: SQSRecord,
  deps: RecordDependencies,
  invocation: RecordInvocation,
): Promise<RecordResult> {
  const now = deps.clock();
  // Everything this record does must be over before the invocation ends, with the reserve kept back.
  const endsAt = now + invocation.remainingMs() - SEND_RESERVE_MS;
  const parsed = parseOrderMessage(record.body, {
    metadataMaxKeys: deps.settings.metadataMaxKeys,
    metadataMaxKeyLength: deps.settings.metadataMaxKeyLength,
    metadataMaxValueLength: deps.settings.metadataMaxValueLength,
  });
  const envelope = readEnvelope(record, new Date(now), {
    fromRetryQueue: queueNameOf(record.eventSourceARN) === queueNameOf(deps.settings.retryQueueUrl),
    bodyCorrelationId: parsed.correlationId,
  });
  const orderRef = parsed.success ? parsed.order.orderRef : parsed.claimedOrderRef;
  const annotate = invocation.annotate ?? (() => undefined);
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
    if (envelope.rejectedCorrelationId) {
      logger.warn(
        "The publisher's correlation id is not 1 to 128 printable ASCII characters; the message id replaces it",
      );
    }
    if (envelope.ignoredAttributes.length > 0) {
      logger.warn("Relay attributes on a message that did not come from the retry queue were ignored", {
        ignored: envelope.ignoredAttributes,
      });
    }
    const attempt = new Attempt(record, envelope, orderRef, deps, logger, invocation.ledgerWrites, endsAt);
    let outcome: RecordOutcome;
    if (!isDue(envelope.notBefore, now)) {
      outcome = { kind: "not-due", notBefore: envelope.notBefore! };
    } else if (invocation.remainingMs() < deps.settings.remainingTimeMarginMs) {
      outcome = { kind: "out-of-time" };
    } else {
      if (envelope.attempt === 1) deps.metrics.received();
      outcome = parsed.success
        ? await attempt.submit(parsed.order)
        : { kind: "invalid", errors: parsed.errors.slice(0, MAX_REASON_ISSUES), ...truncated(parsed.errors) };
    }
    const settledByDates = parsed.success
      ? (parsed.order.instructions ?? []).map((i) => i.settledByDate)
      : [];
    const step = decide(outcome, {
      attempt: envelope.attempt,
      firstReceivedAt: envelope.firstReceivedAt.getTime(),
      deadline: retryDeadline(
        envelope.firstReceivedAt.getTime(),
        deps.settings.retryBudgetSeconds,
        settledByDates,
      ),
      mayExist: attempt.mayExist(outcome),
      settings: deps.settings,
      now: deps.clock(),
      random: deps.random(),
    });
    return attempt.take(step, outcome);
  });
}

function truncated(errors: readonly unknown[]): { truncatedErrors?: number } {
  const over = errors.length - MAX_REASON_ISSUES;
  return over > 0 ? { truncatedErrors: over } : {};
}

/** One delivery of a record: its claim on the order, its call to Imburse, and the step it takes after. */
class Attempt {
  readonly #record: SQSRecord;
  readonly #envelope: OrderEnvelope;
  readonly #orderRef: string | undefined;
  readonly #deps: RecordDependencies;
  readonly #logger: Logger;
  readonly #writes: LedgerBatchWriter;
  readonly #endsAt: number;
  /** Set once this delivery holds the claim on the order. */
  #claim: { item: LedgerItem; readFirst: boolean } | undefined;

  constructor(
    record: SQSRecord,
    envelope: OrderEnvelope,
    orderRef: string | undefined,
    deps: RecordDependencies,
    logger: Logger,
    writes: LedgerBatchWriter,
    endsAt: number,
  ) {
    this.#record = record;
    this.#envelope = envelope;
    this.#orderRef = orderRef;
    this.#deps = deps;
    this.#logger = logger;
    this.#writes = writes;
    this.#endsAt = endsAt;
  }

  /** Claims the order, then submits it: what the ledger or Imburse said. */
  async submit(order: Order): Promise<RecordOutcome> {
    const deps = this.#deps;
    const tenantId = await deps.tenantId();
    const now = deps.clock();
    const abortSignal = this.#signal();
    let claim: Awaited<ReturnType<OrderLedger["claim"]>>;
    try {
      claim = await deps.ledger.claim(
        {
          orderRef: order.orderRef,
          tenantId,
          fingerprint: fingerprintOf(order),
          correlationId: this.#envelope.correlationId,
          attempt: this.#envelope.attempt,
          firstReceivedAt: this.#envelope.firstReceivedAt.getTime(),
          owner: deps.newLeaseOwner(),
          now,
          leaseMs: deps.settings.leaseSeconds * 1000,
          ttlSeconds: deps.settings.ledgerTtlSeconds,
        },
        { abortSignal },
      );
    } catch (error) {
      // A table that is missing or refused to the relay will not come back by waiting: fail loudly.
      if (!(error instanceof LedgerUnavailableError) || error.permanent) throw error;
      if (abortSignal.aborted) return { kind: "out-of-time" };
      this.#logger.warn("Order ledger unavailable; nothing posted", { problem: error.message });
      return { kind: "ledger-unavailable" };
    }
    switch (claim.kind) {
      case "duplicate":
        return { kind: "duplicate" };
      case "conflict":
        return { kind: "ledger-conflict" };
      case "busy":
        return { kind: "busy", until: claim.until };
      case "claimed":
        // A retry that says a try may have reached Imburse counts as much as the ledger's mark.
        this.#claim = { item: claim.item, readFirst: claim.readFirst || this.#envelope.unknownOutcome };
        if (claim.readFirst) {
          this.#logger.info("A previous try may have reached Imburse: reading the order before posting");
        }
        return submitOrder(deps.api, order, {
          correlationId: this.#envelope.correlationId,
          readFirst: this.#claim.readFirst,
          deadline: this.#endsAt,
          timeoutMs: deps.settings.imburseTimeoutMs,
          clock: deps.clock,
        });
    }
  }

  /** Whether a try of this order may have reached Imburse unanswered, this one included. */
  mayExist(outcome: RecordOutcome): boolean {
    const thisTry = outcome.kind === "failed" && outcome.failure.mayHaveReached;
    return thisTry || this.#envelope.unknownOutcome || (this.#claim?.readFirst ?? false);
  }

  /** Takes the step {@link decide} chose. */
  async take(step: NextStep, outcome: RecordOutcome): Promise<RecordResult> {
    switch (step.kind) {
      case "acknowledge":
        return this.#acknowledge(step.outcome, outcome);
      case "retry":
        return this.#retry(step, outcome);
      case "delay":
        return this.#delay(step);
      case "dead-letter":
        return this.#deadLetter(step.cause, outcome);
      case "hand-back":
        throw new HandBackError(
          step.why === "busy"
            ? `another delivery holds the order's lease for ${step.seconds} s`
            : "too little of the invocation is left to start it",
          step.seconds,
        );
    }
  }

  #acknowledge(status: "submitted" | "already-existed" | "duplicate", outcome: RecordOutcome): RecordResult {
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
    // Written with the rest of the batch: until then the claim stands, which is safe (read before post).
    if (this.#claim) {
      const { item, readFirst } = this.#claim;
      const lastOutcome: LastOutcome = {
        result: status,
        ...(outcome.kind === "submitted" ? { status: outcome.status } : {}),
      };
      this.#writes.add(settledItem(item, { state: status, lastOutcome }, readFirst, this.#deps.clock()), {
        owner: item.leaseOwner ?? "",
        leaseExpiresAt: item.leaseExpiresAt ?? 0,
      });
    }
    this.#logger.info("Order accepted by Imburse", { outcome: status });
    this.#final(status);
    return { status };
  }

  async #retry(step: Extract<NextStep, { kind: "retry" }>, outcome: RecordOutcome): Promise<RecordResult> {
    const { failure } = step;
    const mayExist = this.mayExist(outcome);
    await this.#mark({
      state: "waiting",
      mayHaveReached: failure.mayHaveReached,
      lastOutcome: lastOutcomeOf(outcome),
    });
    await this.#send(this.#deps.settings.retryQueueUrl, step.delaySeconds, {
      attempt: step.nextAttempt,
      notBefore: step.notBefore,
      unknownOutcome: mayExist,
    });
    this.#deps.metrics.retried(failure.reason);
    this.#logger.warn("Imburse call failed; retry scheduled", {
      reason: failure.reason,
      status: failure.status,
      error_codes: failure.errorCodes,
      imburse_correlation_id: failure.imburseCorrelationId,
      next_attempt: step.nextAttempt,
      wait_seconds: step.waitSeconds,
      may_exist: mayExist,
    });
    this.#emit({
      type: "retry-scheduled",
      originMessageId: this.#envelope.originMessageId,
      correlationId: this.#envelope.correlationId,
      nextAttempt: step.nextAttempt,
      delaySeconds: step.waitSeconds,
      reason: failure.reason,
    });
    return { status: "retry-scheduled", nextAttempt: step.nextAttempt, delaySeconds: step.waitSeconds };
  }

  /** The same attempt again later: a hop of a long wait, or a ledger outage (which is counted). */
  async #delay(step: Extract<NextStep, { kind: "delay" }>): Promise<RecordResult> {
    await this.#send(this.#deps.settings.retryQueueUrl, step.delaySeconds, {
      attempt: this.#envelope.attempt,
      notBefore: step.notBefore,
      unknownOutcome: this.#envelope.unknownOutcome,
    });
    if (step.why === "ledger-unavailable") {
      this.#deps.metrics.ledgerUnavailable();
      this.#logger.warn("The order waits on the retry queue until the ledger answers", {
        delay_seconds: step.delaySeconds,
      });
    } else {
      this.#logger.debug("Retry not due yet; delayed again", { delay_seconds: step.delaySeconds });
    }
    return { status: "deferred", delaySeconds: step.delaySeconds };
  }

  async #deadLetter(cause: DeadLetterCause, outcome: RecordOutcome): Promise<RecordResult> {
    if (cause.kind !== "invalid") {
      await this.#mark({
        state: "dead-lettered",
        kind: cause.kind,
        mayHaveReached: outcome.kind === "failed" && outcome.failure.mayHaveReached,
        lastOutcome: lastOutcomeOf(outcome),
      });
    }
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
      deadLetterReason: fitDeadLetterReason(reason, deadLetterReasonRoom(this.#record.body)),
    });
    this.#deps.metrics.deadLettered(cause.kind);
    this.#logger.error("Order dead-lettered", { reason });
    this.#final(cause.kind, "imburseCorrelationId" in cause ? cause.imburseCorrelationId : undefined, reason);
    return { status: "dead-lettered", kind: cause.kind };
  }

  /**
   * Records a non-final outcome at once, before the retry or dead-letter message goes out, so the next
   * delivery finds it. A failure is logged and left: the claim stays, and the next delivery reads first.
   */
  async #mark(result: AttemptResult): Promise<void> {
    if (!this.#claim) return;
    const { item, readFirst } = this.#claim;
    const next = settledItem(item, result, readFirst, this.#deps.clock());
    try {
      const written = await this.#deps.ledger.putIfOwner(next, item.leaseOwner ?? "", {
        abortSignal: this.#signal(),
      });
      if (!written) this.#logger.warn("Another delivery took the order over after this one's lease ended");
    } catch (error) {
      this.#deps.metrics.ledgerUnavailable();
      this.#logger.error("Could not record the order's state in the ledger; its claim stands", {
        problem: error instanceof Error ? error.message : String(error),
        state: result.state,
      });
    }
  }

  async #send(
    queueUrl: string,
    delaySeconds: number,
    outgoing: Parameters<typeof writeAttributes>[1],
  ): Promise<void> {
    // The DLQ takes SQS's largest message; the retry queue keeps the relay's reserve below it.
    const limit =
      queueUrl === this.#deps.settings.deadLetterQueueUrl
        ? SQS_MAX_MESSAGE_BYTES
        : SOURCE_QUEUE_MAX_MESSAGE_BYTES;
    const room = limit - Buffer.byteLength(this.#record.body);
    const { attributes, dropped } = writeAttributes(this.#envelope, outgoing, room);
    if (dropped.length > 0) {
      this.#logger.warn("Publisher attributes dropped to stay within SQS's attribute and size limits", {
        dropped,
      });
    }
    await this.#deps.sender.send(
      { queueUrl, body: this.#record.body, attributes, delaySeconds },
      { abortSignal: this.#signal(SEND_RESERVE_MS) },
    );
  }

  /** Aborts an AWS call at the record's end (plus `extraMs` of the reserve, for the sends that use it). */
  #signal(extraMs = 0): AbortSignal {
    return AbortSignal.timeout(Math.max(1, this.#endsAt + extraMs - this.#deps.clock()));
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

/** What the ledger records of an attempt's outcome. */
function lastOutcomeOf(outcome: RecordOutcome): LastOutcome {
  switch (outcome.kind) {
    case "failed": {
      const { failure } = outcome;
      return {
        result: failure.reason,
        ...(failure.status !== undefined ? { status: failure.status } : {}),
        errorCodes: failure.errorCodes,
        ...(failure.imburseCorrelationId ? { imburseCorrelationId: failure.imburseCorrelationId } : {}),
      };
    }
    case "rejected":
      return {
        result: "rejected",
        status: outcome.status,
        errorCodes: outcome.errors.map((error) => error.errorCode),
        ...(outcome.imburseCorrelationId ? { imburseCorrelationId: outcome.imburseCorrelationId } : {}),
      };
    default:
      return { result: outcome.kind };
  }
}
