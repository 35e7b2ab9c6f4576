import type { Logger } from "@aws-lambda-powertools/logger";
import type { SQSRecord } from "aws-lambda";
import { CredentialsUnavailableError } from "../aws/index.ts";
import type { RelaySettings } from "../config/index.ts";
import { SOURCE_QUEUE_MAX_MESSAGE_BYTES, SQS_MAX_MESSAGE_BYTES } from "../config/index.ts";
import type { OutcomeOutbox } from "../events/index.ts";
import {
  type DeadLetterCause,
  guardedMetadata,
  type OutcomeFacts,
  outcomeEvent,
  outcomeEventId,
} from "../events/index.ts";
import {
  type AttemptResult,
  fingerprintOf,
  hasEventsDue,
  type LastOutcome,
  type LedgerBatchWriter,
  type LedgerItem,
  LedgerUnavailableError,
  type OrderLedger,
  type OutboxEntry,
  publishedItem,
  settledItem,
} from "../ledger/index.ts";
import { type Order, parseOrderMessage } from "../orders/index.ts";
import {
  decide,
  isDue,
  type NextStep,
  type RecordOutcome,
  type RetryDeadline,
  retryDeadline,
} from "./decide.ts";
import { type OrderEnvelope, queueNameOf, readEnvelope, writeAttributes } from "./envelope.ts";
import { HandBackError } from "./errors.ts";
import {
  type DeadLetterReason,
  deadLetterReasonRoom,
  fitDeadLetterReason,
  MAX_REASON_ISSUES,
} from "./reasons.ts";
import { type RecordLogger, type RecordScope, recordLogger, runInRecordScope } from "./scope.ts";
import type { MessageSender } from "./sender.ts";
import { type OrderApi, submitOrder } from "./submit-order.ts";
import type { RecordEvent, RelayMetrics, RelayObserver } from "./telemetry.ts";

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
  | "eventsRetryScheduled"
  | "eventsIncludeOrderDetails"
  | "outboxSweepAfterSeconds"
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
  /** Told of each record's outcome (local mode); none in Lambda. */
  observer?: RelayObserver | undefined;
}

/** What belongs to the invocation a record runs in. */
export interface RecordInvocation {
  /** Collects the completed states of the batch, written together once every record is done. */
  ledgerWrites: LedgerBatchWriter;
  /** Collects the batch's outcome events, published once the ledger states are written. None: events off. */
  outbox?: OutcomeOutbox;
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
 * The end of the invocation is budgeted from the back. Calls (the claim, the credentials, Imburse) must end
 * {@link SEND_RESERVE_MS} before it; the record's own ledger mark and its retry or dead-letter message
 * {@link FLUSH_RESERVE_MS} before it; the batch's ledger write and hand-backs use the rest.
 */
export const SEND_RESERVE_MS = 3_000;

/** What is kept back, after the record's mark and send, for the batch's ledger write and hand-backs. */
export const FLUSH_RESERVE_MS = 1_000;

/** Taking an event back after a failed send may use the batch's share, short of its very end. */
const WITHDRAW_RESERVE_MS = 500;

/**
 * The least `RELAY_REMAINING_TIME_MARGIN_MS` that lets a record started at the margin finish its calls: the
 * reserve, and two Imburse calls (a read first, then the POST).
 */
export function minimumRemainingTimeMarginMs(imburseTimeoutMs: number): number {
  return SEND_RESERVE_MS + 2 * imburseTimeoutMs;
}

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
  // Everything this record does must be over before the invocation ends, with the reserves kept back.
  const invocationEnd = now + invocation.remainingMs();
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
  const logger = recordLogger(deps.logger, {
    correlation_id: envelope.correlationId,
    order_ref: orderRef,
    attempt: envelope.attempt,
    message_id: record.messageId,
  });
  const scope: RecordScope = { logger };
  return runInRecordScope(scope, async () => {
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
    const settledByDates = parsed.success
      ? (parsed.order.instructions ?? []).map((i) => i.settledByDate)
      : [];
    const deadline = retryDeadline(
      envelope.firstReceivedAt.getTime(),
      deps.settings.retryBudgetSeconds,
      settledByDates,
    );
    const attempt = new Attempt(record, envelope, orderRef, deps, logger, invocation, scope, {
      invocationEnd,
      deadline,
    });
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
    const step = decide(outcome, {
      attempt: envelope.attempt,
      firstReceivedAt: envelope.firstReceivedAt.getTime(),
      deadline,
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
  readonly #logger: RecordLogger;
  readonly #writes: LedgerBatchWriter;
  readonly #outbox: OutcomeOutbox | undefined;
  readonly #scope: RecordScope;
  /** When the invocation ends (epoch milliseconds). */
  readonly #invocationEnd: number;
  /** When the order's retries must stop. */
  readonly #deadline: RetryDeadline;
  /** Set once this delivery holds the claim on the order. */
  #claim: { item: LedgerItem; readFirst: boolean } | undefined;
  /** The valid order this delivery carries, and the tenant it is claimed under. */
  #order: { order: Order; tenantId: string } | undefined;
  /** For a duplicate delivery: the ledger's item of the completed order it repeats. */
  #completed: LedgerItem | undefined;

  constructor(
    record: SQSRecord,
    envelope: OrderEnvelope,
    orderRef: string | undefined,
    deps: RecordDependencies,
    logger: RecordLogger,
    invocation: RecordInvocation,
    scope: RecordScope,
    times: { invocationEnd: number; deadline: RetryDeadline },
  ) {
    this.#record = record;
    this.#envelope = envelope;
    this.#orderRef = orderRef;
    this.#deps = deps;
    this.#logger = logger;
    this.#writes = invocation.ledgerWrites;
    this.#outbox = invocation.outbox;
    this.#scope = scope;
    this.#invocationEnd = times.invocationEnd;
    this.#deadline = times.deadline;
  }

  /** Claims the order, then submits it: what the ledger or Imburse said. */
  async submit(order: Order): Promise<RecordOutcome> {
    const deps = this.#deps;
    const callsEnd = this.#invocationEnd - SEND_RESERVE_MS;
    let tenantId: string;
    try {
      tenantId = await withDeadline(deps.tenantId(), callsEnd - deps.clock());
    } catch (error) {
      this.#logger.warn("Imburse credentials unavailable; nothing posted", { problem: describe(error) });
      return { kind: "credentials-unavailable" };
    }
    this.#order = { order, tenantId };
    const abortSignal = this.#signal(SEND_RESERVE_MS);
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
          now: deps.clock(),
          leaseMs: deps.settings.leaseSeconds * 1000,
          ttlSeconds: deps.settings.ledgerTtlSeconds,
        },
        { abortSignal },
      );
    } catch (error) {
      // A table that is missing or refused to the relay will not come back by waiting: fail loudly.
      if (!(error instanceof LedgerUnavailableError) || error.permanent) throw error;
      // Slow or failing, it costs no SQS receive: the message waits on the retry queue.
      this.#logger.warn("Order ledger unavailable; nothing posted", {
        problem: abortSignal.aborted ? "no answer before the record's time ran out" : error.message,
      });
      return { kind: "ledger-unavailable" };
    }
    switch (claim.kind) {
      case "duplicate":
        this.#completed = claim.item;
        this.#publishStillDue(claim.item);
        return { kind: "duplicate" };
      case "conflict":
        this.#publishStillDue(claim.item);
        return { kind: "ledger-conflict" };
      case "busy":
        return { kind: "busy", until: claim.until };
      case "claimed":
        // A retry that says a try may have reached Imburse counts as much as the ledger's mark.
        this.#claim = { item: claim.item, readFirst: claim.readFirst || this.#envelope.unknownOutcome };
        // A retry that waited past its deadline (behind a paused breaker, say) is not tried again.
        if (this.#envelope.attempt > 1 && deps.clock() >= this.#deadline.at)
          return { kind: "deadline-passed" };
        if (claim.readFirst) {
          this.#logger.info("A previous try may have reached Imburse: reading the order before posting");
        }
        try {
          return await submitOrder(deps.api, order, {
            correlationId: this.#envelope.correlationId,
            readFirst: this.#claim.readFirst,
            deadline: callsEnd,
            timeoutMs: deps.settings.imburseTimeoutMs,
            clock: deps.clock,
          });
        } catch (error) {
          // The client re-reads the credentials on a 401: the secret may have become unreadable since.
          if (!(error instanceof CredentialsUnavailableError)) throw error;
          this.#logger.warn("Imburse credentials unavailable; the claim stands", { problem: error.message });
          return { kind: "credentials-unavailable" };
        }
    }
  }

  /**
   * The order's next delivery publishes what its earlier one left due (the sweep's other half), once it
   * has been due as long as the sweep waits: an event published moments ago is only not recorded yet.
   */
  #publishStillDue(item: LedgerItem): void {
    if (hasEventsDue(item, this.#deps.clock(), this.#deps.settings.outboxSweepAfterSeconds * 1000)) {
      this.#outbox?.addItem(item);
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
        ...(this.#outbox && this.#completed
          ? { outcomeEventId: this.#completedEventId(this.#completed) }
          : {}),
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
      const event = this.#event({ outcome: status, kind: null });
      const settled = settledItem(item, { state: status, lastOutcome }, readFirst, this.#deps.clock(), event);
      // The event rides in the batch's write of the state it announces: no request of its own.
      this.#writes.add(settled, { owner: item.leaseOwner ?? "", leaseExpiresAt: item.leaseExpiresAt ?? 0 });
      this.#outbox?.addItem(settled);
      this.#logger.info("Order accepted by Imburse", { outcome: status });
      this.#final(status, undefined, undefined, event?.id);
      return { status };
    }
    this.#logger.info("Order accepted by Imburse", { outcome: status });
    this.#final(status);
    return { status };
  }

  async #retry(step: Extract<NextStep, { kind: "retry" }>, outcome: RecordOutcome): Promise<RecordResult> {
    const { failure } = step;
    const mayExist = this.mayExist(outcome);
    const event = this.#deps.settings.eventsRetryScheduled
      ? this.#event({
          outcome: "retry-scheduled",
          kind: failure.reason,
          nextAttemptAt: new Date(this.#deps.clock() + step.waitSeconds * 1000),
          imburseCorrelationId: failure.imburseCorrelationId,
        })
      : undefined;
    const marked = await this.#mark(
      { state: "waiting", mayHaveReached: failure.mayHaveReached, lastOutcome: lastOutcomeOf(outcome) },
      event,
    );
    await this.#sendThenAnnounce(marked, event, () =>
      this.#send(this.#deps.settings.retryQueueUrl, step.delaySeconds, {
        attempt: step.nextAttempt,
        notBefore: step.notBefore,
        unknownOutcome: mayExist,
      }),
    );
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
    } else if (step.why === "credentials-unavailable") {
      this.#logger.warn("The order waits on the retry queue until the credentials can be read", {
        delay_seconds: step.delaySeconds,
      });
    } else {
      this.#logger.debug("Retry not due yet; delayed again", { delay_seconds: step.delaySeconds });
    }
    return { status: "deferred", delaySeconds: step.delaySeconds };
  }

  async #deadLetter(cause: DeadLetterCause, outcome: RecordOutcome): Promise<RecordResult> {
    const imburseCorrelationId = "imburseCorrelationId" in cause ? cause.imburseCorrelationId : undefined;
    let event: OutboxEntry | undefined;
    let marked: Marked = { kept: undefined };
    if (cause.kind !== "invalid") {
      event = this.#event({ outcome: "dead-lettered", kind: cause.kind, cause, imburseCorrelationId });
      marked = await this.#mark(
        {
          state: "dead-lettered",
          kind: cause.kind,
          mayHaveReached: outcome.kind === "failed" && outcome.failure.mayHaveReached,
          lastOutcome: lastOutcomeOf(outcome),
        },
        event,
      );
    } else if (this.#outbox) {
      // No ledger item keeps an invalid order.
      event = this.#event({
        outcome: "dead-lettered",
        kind: cause.kind,
        cause,
        // Bounded like every call of the record: a slow secret must not hold up the dead letter.
        tenant: await withDeadline(
          this.#deps.tenantId(),
          this.#invocationEnd - SEND_RESERVE_MS - this.#deps.clock(),
        ).catch(() => undefined),
        metadata: guardedMetadata(this.#record.body, this.#deps.settings),
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
    await this.#sendThenAnnounce(marked, event, () =>
      this.#send(this.#deps.settings.deadLetterQueueUrl, 0, {
        attempt: this.#envelope.attempt,
        deadLetterReason: fitDeadLetterReason(reason, deadLetterReasonRoom(this.#record.body)),
      }),
    );
    this.#deps.metrics.deadLettered(cause.kind);
    this.#logger.error("Order dead-lettered", { reason });
    this.#final(cause.kind, imburseCorrelationId, reason, event?.id);
    return { status: "dead-lettered", kind: cause.kind };
  }

  /**
   * Records a non-final outcome at once, before the retry or dead-letter message goes out, so the next
   * delivery finds it. A failure is logged and left: the claim stays, and the next delivery reads first.
   */
  async #mark(result: AttemptResult, event?: OutboxEntry): Promise<Marked> {
    // No claim (a conflict the ledger itself found): no item of this delivery keeps the event.
    if (!this.#claim) return { kept: undefined };
    const { item, readFirst } = this.#claim;
    const next = settledItem(item, result, readFirst, this.#deps.clock(), event);
    try {
      const abortSignal = this.#signal(FLUSH_RESERVE_MS);
      const written = await this.#deps.ledger
        .putIfOwner(next, item.leaseOwner ?? "", { abortSignal })
        .catch((error: unknown) => {
          // Out of time is not an outage: the claim stands, and the next delivery reads first.
          if (abortSignal.aborted) return "out-of-time" as const;
          throw error;
        });
      if (written === "out-of-time") {
        this.#logger.warn("No time left to record the order's state; its claim stands", {
          state: result.state,
        });
        return { kept: undefined };
      }
      if (written) return { kept: next };
      this.#logger.warn("Another delivery took the order over after this one's lease ended");
      return "superseded";
    } catch (error) {
      this.#deps.metrics.ledgerUnavailable();
      this.#logger.error("Could not record the order's state in the ledger; its claim stands", {
        problem: describe(error),
        state: result.state,
      });
      return { kept: undefined };
    }
  }

  /**
   * Sends the record's retry or dead-letter message, then announces its outcome event: with the ledger item
   * that keeps it, or alone (published with the batch's, and kept in an item of its own if that fails). A
   * send that fails withdraws the event from the item (the record goes back to SQS: nothing was decided),
   * and throws.
   */
  async #sendThenAnnounce(
    marked: Marked,
    event: OutboxEntry | undefined,
    send: () => Promise<void>,
  ): Promise<void> {
    try {
      await send();
    } catch (error) {
      if (marked !== "superseded" && marked.kept && event) await this.#withdraw(marked.kept, event);
      throw error;
    }
    if (!event || marked === "superseded") return;
    if (marked.kept) this.#outbox?.addItem(marked.kept);
    else this.#outbox?.addLoose(event);
  }

  /** Takes `event` out of the item this delivery wrote, if nothing wrote it since. Best effort. */
  async #withdraw(item: LedgerItem, event: OutboxEntry): Promise<void> {
    const without = publishedItem(item, new Set([event.id]));
    if (!without) return;
    try {
      await this.#deps.ledger.putIfVersion(without, item.version, {
        abortSignal: this.#signal(WITHDRAW_RESERVE_MS),
      });
    } catch {
      // Still due: the sweep publishes an outcome the order's next delivery will supersede.
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
      { abortSignal: this.#signal(FLUSH_RESERVE_MS) },
    );
  }

  /** Aborts an AWS call `reserveMs` before the invocation ends. */
  #signal(reserveMs: number): AbortSignal {
    return AbortSignal.timeout(Math.max(1, this.#invocationEnd - reserveMs - this.#deps.clock()));
  }

  /**
   * The outcome event of this delivery, or undefined when events are off. Built from the claimed item's
   * version, the valid order's metadata (or what `overrides` gives for an invalid one) and the last
   * Imburse correlation id the record saw.
   */
  #event(
    facts: Pick<OutcomeFacts, "outcome" | "kind"> &
      Partial<Pick<OutcomeFacts, "cause" | "nextAttemptAt" | "imburseCorrelationId" | "tenant" | "metadata">>,
  ): OutboxEntry | undefined {
    if (!this.#outbox) return undefined;
    const order = this.#order?.order;
    return outcomeEvent({
      orderRef: this.#orderRef,
      tenant: this.#order?.tenantId,
      correlationId: this.#envelope.correlationId,
      originMessageId: this.#envelope.originMessageId,
      attempts: this.#envelope.attempt,
      firstReceivedAt: this.#claim?.item.firstReceivedAt ?? this.#envelope.firstReceivedAt.getTime(),
      decidedAt: this.#deps.clock(),
      version: this.#claim?.item.version,
      metadata: order?.metadata ?? {},
      order: this.#deps.settings.eventsIncludeOrderDetails ? order : undefined,
      ...facts,
      imburseCorrelationId: facts.imburseCorrelationId ?? this.#scope.imburseCorrelationId,
    });
  }

  /** The id of the outcome event of the completed order a duplicate delivery repeats. */
  #completedEventId(item: LedgerItem): string {
    return outcomeEventId({
      tenant: item.tenantId,
      orderRef: item.orderRef,
      outcome: item.state === "already-existed" ? "already-existed" : "submitted",
      kind: null,
      version: item.version,
      originMessageId: this.#envelope.originMessageId,
    });
  }

  #final(
    outcome: Extract<RecordEvent, { type: "final" }>["outcome"],
    imburseCorrelationId?: string,
    reason?: DeadLetterReason,
    outcomeEventId?: string,
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
      ...(outcomeEventId ? { outcomeEventId } : {}),
    });
  }

  #emit(event: RecordEvent): void {
    this.#deps.observer?.record?.(event);
  }
}

/** Settles with `promise`, or rejects once `ms` have passed (the promise is left to finish on its own). */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error("no answer before the record's time ran out")),
      Math.max(0, ms),
    );
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** What {@link Attempt}'s state write did: the item it wrote (none: no claim, or the write failed), or lost the order. */
type Marked = { kept: LedgerItem | undefined } | "superseded";

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
