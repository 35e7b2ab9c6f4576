import type { Logger } from "@aws-lambda-powertools/logger";
import type { SQSRecord } from "aws-lambda";
import type { RelaySettings } from "../config/settings.ts";
import {
  type AttemptResult,
  type ClaimOutcome,
  fingerprintOf,
  type LastOutcome,
  type LedgerBatchWriter,
  type LedgerItem,
  LedgerUnavailableError,
  type OrderLedger,
  settledItem,
} from "../ledger/index.ts";
import { type Order, parseOrderMessage } from "../orders/index.ts";
import { type OrderEnvelope, readEnvelope, writeAttributes } from "./envelope.ts";
import { HandBackError } from "./errors.ts";
import { planHop, planRetry } from "./policy.ts";
import { type DeadLetterCause, type DeadLetterReason, MAX_REASON_ISSUES } from "./reasons.ts";
import { runInRecordScope } from "./scope.ts";
import type { MessageSender } from "./sender.ts";
import {
  ConflictSubmitError,
  MIN_CALL_TIMEOUT_MS,
  type OrderApi,
  RejectedSubmitError,
  RetryableSubmitError,
  type SubmitSuccess,
  submitOrder,
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
  /** What the invocation has left, in milliseconds; without it Imburse calls get their full timeout. */
  remainingMs?: () => number;
  annotate?: (key: string, value: string) => void;
}

/** What became of a record. Throwing instead means: hand it back to SQS (batch item failure). */
export type RecordResult =
  | { status: "submitted" | "already-existed" | "duplicate" }
  | { status: "retry-scheduled"; nextAttempt: number; delaySeconds: number }
  | { status: "deferred"; delaySeconds: number }
  | { status: "dead-lettered"; kind: DeadLetterCause["kind"] };

/**
 * While the ledger cannot be read or written, a record waits this many times the retry base (with jitter)
 * on the retry queue: it must not burn the queue's receives, and nothing may be posted without a claim.
 */
const LEDGER_WAIT_BASE_FACTOR = 1;
const LEDGER_WAIT_SPREAD_FACTOR = 3;

/**
 * Handles one order message end to end: validate, claim the order in the ledger, submit it (reading it
 * first when a previous try may have reached Imburse), record the outcome and route the message. The
 * record is acknowledged only once its retry or dead-letter message has been sent; any failure to send
 * throws.
 */
export async function processRecord(
  record: SQSRecord,
  deps: RecordDependencies,
  invocation: RecordInvocation,
): Promise<RecordResult> {
  const now = deps.clock();
  const parsed = parseOrderMessage(record.body, {
    metadataMaxKeys: deps.settings.metadataMaxKeys,
    metadataMaxKeyLength: deps.settings.metadataMaxKeyLength,
    metadataMaxValueLength: deps.settings.metadataMaxValueLength,
  });
  const envelope = readEnvelope(record, new Date(now), parsed.correlationId);
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
    const order = parsed.order;
    const tenantId = await deps.tenantId();
    const owner = deps.newLeaseOwner();
    let claim: ClaimOutcome;
    try {
      claim = await deps.ledger.claim({
        orderRef: order.orderRef,
        tenantId,
        fingerprint: fingerprintOf(order),
        correlationId: envelope.correlationId,
        attempt: envelope.attempt,
        firstReceivedAt: envelope.firstReceivedAt.getTime(),
        owner,
        now: deps.clock(),
        leaseMs: deps.settings.leaseSeconds * 1000,
        ttlSeconds: deps.settings.ledgerTtlSeconds,
      });
    } catch (error) {
      if (error instanceof LedgerUnavailableError) return route.waitForLedger(error);
      throw error;
    }
    switch (claim.kind) {
      case "duplicate":
        return route.succeeded("duplicate");
      case "conflict":
        return route.deadLetter({
          kind: "conflict",
          detail: "this orderRef was already submitted by the relay with different content",
          differences: [],
        });
      case "busy": {
        const seconds = Math.max(1, Math.ceil((claim.until - deps.clock()) / 1000));
        throw new HandBackError(`another delivery holds the order's lease for ${seconds} s`, seconds);
      }
      case "claimed":
        route.claimed(claim.item, claim.readFirst, invocation.ledgerWrites);
        return submitClaimed(order, claim.readFirst, route, deps, envelope, invocation);
    }
  });
}

/** Submits an order this delivery has claimed, and routes what Imburse answered. */
async function submitClaimed(
  order: Order,
  readFirst: boolean,
  route: RecordRouter,
  deps: RecordDependencies,
  envelope: OrderEnvelope,
  invocation: RecordInvocation,
): Promise<RecordResult> {
  const { remainingMs } = invocation;
  try {
    const result = await submitOrder(deps.api, order, {
      correlationId: envelope.correlationId,
      unknownOutcome: readFirst || envelope.unknownOutcome,
      ...(remainingMs
        ? { callTimeoutMs: () => callTimeoutMs(deps.settings.imburseTimeoutMs, remainingMs()) }
        : {}),
    });
    return route.succeeded(result);
  } catch (error) {
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
    // Unexpected: the record is handed back; the claim stays, so the next delivery reads Imburse first.
    throw error;
  }
}

/** Sends a record on its way, records it in the ledger and reports it; one instance per record. */
class RecordRouter {
  readonly #record: SQSRecord;
  readonly #envelope: OrderEnvelope;
  readonly #orderRef: string | undefined;
  readonly #deps: RecordDependencies;
  readonly #logger: Logger;
  /** Set once this delivery holds the order's claim. */
  #claim: { item: LedgerItem; readFirst: boolean; writes: LedgerBatchWriter } | undefined;

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

  /** This delivery holds the claim on the order: its outcome goes to the ledger. */
  claimed(item: LedgerItem, readFirst: boolean, writes: LedgerBatchWriter): void {
    this.#claim = { item, readFirst, writes };
    if (readFirst)
      this.#logger.info("A previous try may have reached Imburse: reading the order before posting");
  }

  /** A previous try may have reached Imburse unanswered, or this one may have. */
  #mayExist(thisAttempt = false): boolean {
    return thisAttempt || this.#envelope.unknownOutcome || (this.#claim?.readFirst ?? false);
  }

  succeeded(result: SubmitSuccess | "duplicate"): RecordResult {
    const { metrics } = this.#deps;
    if (result === "duplicate") {
      metrics.duplicateDelivery();
      this.#logger.info(
        "Order was already submitted; duplicate delivery acknowledged without calling Imburse",
      );
      this.#emit({
        type: "duplicate",
        originMessageId: this.#envelope.originMessageId,
        correlationId: this.#envelope.correlationId,
      });
      return { status: "duplicate" };
    }
    const status = result.outcome;
    if (status === "submitted") metrics.submitted();
    else metrics.alreadyExisted();
    // Written with the rest of the batch: until then the claim stands, which is safe (read before post).
    if (this.#claim) {
      const { item, readFirst, writes } = this.#claim;
      const lastOutcome: LastOutcome = {
        result: status,
        ...(result.outcome === "submitted" ? { status: result.status } : {}),
      };
      writes.add(settledItem(item, { state: status, lastOutcome }, readFirst, this.#deps.clock()), {
        owner: item.leaseOwner ?? "",
        leaseExpiresAt: item.leaseExpiresAt ?? 0,
      });
    }
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
    const mayExist = this.#mayExist(failure.unknownOutcome);
    const lastOutcome: LastOutcome = {
      result: failure.reason,
      ...(failure.status !== undefined ? { status: failure.status } : {}),
      errorCodes: failure.errorCodes,
      ...(failure.imburseCorrelationId ? { imburseCorrelationId: failure.imburseCorrelationId } : {}),
    };
    if (plan.kind === "exhausted") {
      return this.deadLetter(
        {
          kind: "retries-exhausted",
          lastReason: failure.reason,
          lastStatus: failure.status,
          lastErrorCodes: failure.errorCodes,
          imburseCorrelationId: failure.imburseCorrelationId,
          mayExistInImburse: mayExist,
        },
        { mayHaveReached: failure.unknownOutcome, lastOutcome },
      );
    }
    await this.#mark({ state: "waiting", mayHaveReached: failure.unknownOutcome, lastOutcome });
    await this.#send(settings.retryQueueUrl, plan.delaySeconds, {
      attempt: plan.nextAttempt,
      notBefore: plan.notBefore,
      unknownOutcome: mayExist,
    });
    this.#deps.metrics.retried(failure.reason);
    this.#logger.warn("Imburse call failed; retry scheduled", {
      reason: failure.reason,
      status: failure.status,
      error_codes: failure.errorCodes,
      imburse_correlation_id: failure.imburseCorrelationId,
      next_attempt: plan.nextAttempt,
      wait_seconds: plan.waitSeconds,
      may_exist: mayExist,
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

  /**
   * The ledger could not be read or written, so the order was not claimed and nothing was posted. The
   * message waits on the retry queue (jittered, a few retry bases) with its attempt unchanged: a ledger
   * outage must neither burn the queue's receives nor use up the order's attempts.
   */
  async waitForLedger(error: LedgerUnavailableError): Promise<RecordResult> {
    const { settings, random, metrics } = this.#deps;
    const delaySeconds = Math.ceil(
      settings.retryBaseSeconds * (LEDGER_WAIT_BASE_FACTOR + LEDGER_WAIT_SPREAD_FACTOR * random()),
    );
    await this.#send(settings.retryQueueUrl, delaySeconds, {
      attempt: this.#envelope.attempt,
      unknownOutcome: this.#envelope.unknownOutcome,
    });
    metrics.ledgerUnavailable();
    this.#logger.warn("Order ledger unavailable; nothing posted, the order waits on the retry queue", {
      problem: error.message,
      delay_seconds: delaySeconds,
    });
    return { status: "deferred", delaySeconds };
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

  async deadLetter(
    cause: DeadLetterCause,
    attempt: { mayHaveReached: boolean; lastOutcome?: LastOutcome } = { mayHaveReached: false },
  ): Promise<RecordResult> {
    if (cause.kind !== "invalid") {
      await this.#mark({
        state: "dead-lettered",
        kind: cause.kind,
        mayHaveReached: attempt.mayHaveReached,
        lastOutcome: attempt.lastOutcome ?? deadLetterOutcome(cause),
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
      deadLetterReason: JSON.stringify(reason),
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
      const written = await this.#deps.ledger.putIfOwner(next, item.leaseOwner ?? "");
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

/** The ledger's summary of a dead-letter cause that came without an Imburse answer of its own. */
function deadLetterOutcome(cause: Exclude<DeadLetterCause, { kind: "invalid" }>): LastOutcome {
  if (cause.kind === "rejected") {
    return {
      result: cause.kind,
      status: cause.status,
      errorCodes: cause.errors.map((error) => error.errorCode),
      ...(cause.imburseCorrelationId ? { imburseCorrelationId: cause.imburseCorrelationId } : {}),
    };
  }
  return { result: cause.kind };
}

/** Time kept back from Imburse calls to send the record's retry or dead-letter message. */
const SEND_RESERVE_MS = 3_000;

/** The timeout of the next Imburse call: the setting, or what the invocation has left; undefined when too little. */
export function callTimeoutMs(settingMs: number, remainingMs: number): number | undefined {
  const available = Math.min(settingMs, remainingMs - SEND_RESERVE_MS);
  return available >= MIN_CALL_TIMEOUT_MS ? available : undefined;
}
