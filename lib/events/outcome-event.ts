/**
 * The outcome event: what the relay tells publishers on its EventBridge bus when an order reaches a
 * terminal outcome (and, when asked, when a retry is scheduled). Pure: built from what the record learned,
 * never from a clock or the network.
 */
import { createHash } from "node:crypto";
import canonicalize from "canonicalize";
import { OUTCOME_EVENTS } from "../config/index.ts";
import type { OutboxEntry } from "../ledger/index.ts";
import {
  isRecord,
  type MetadataLimits,
  metadataSchema,
  type Order,
  readSnsEnvelope,
} from "../orders/index.ts";
import type { DeadLetterCause, DeadLetterKind, RetryReason } from "./outcomes.ts";

/** The `source` of every outcome event. */
export const OUTCOME_EVENT_SOURCE = OUTCOME_EVENTS.source;

/** The version of the detail's shape: bumped on any change a consumer could notice (see the JSON Schema). */
export const OUTCOME_DETAIL_VERSION = 1;

/** The `detail-type` of each outcome. */
export const OUTCOME_DETAIL_TYPES = OUTCOME_EVENTS.detailTypes;

/** An outcome the relay publishes. */
export type PublishedOutcome = keyof typeof OUTCOME_DETAIL_TYPES;

/** A dead letter's reason, summarised: enough to route and read it, never a refused value. */
export interface ReasonSummary {
  kind: DeadLetterKind;
  /** Validation issue codes, Imburse error codes, or the last retry's codes. */
  codes: string[];
  /** Paths of the invalid fields, or of the fields that differ from the order Imburse holds. */
  paths: string[];
  /** One readable sentence. */
  text: string;
}

/** An instruction as echoed when `RELAY_EVENTS_INCLUDE_ORDER_DETAILS` is on. */
export interface EchoedInstruction {
  instructionRef: string;
  customerRef: string;
  direction: string;
  amount: string;
  currency: string;
}

/** The `detail` of an outcome event, version {@link OUTCOME_DETAIL_VERSION}. */
export interface OutcomeDetail {
  detailVersion: typeof OUTCOME_DETAIL_VERSION;
  /** Deterministic: the same outcome of the same order version always has the same id (drop repeats by it). */
  eventId: string;
  outcome: PublishedOutcome;
  /** The dead-letter kind, the retry reason, or null for an order Imburse holds. */
  kind: DeadLetterKind | RetryReason | null;
  /** null when the message named no usable orderRef; a ref holding personal data shows as its mask. */
  orderRef: string | null;
  /** The Imburse tenant of the relay's credentials; null when they could not be read. */
  tenant: string | null;
  correlationId: string;
  /** The SQS message id of the publisher's message: the same on every retry and redrive. */
  originMessageId: string;
  attempts: number;
  /** ISO-8601. */
  firstReceivedAt: string;
  /** ISO-8601: when the relay decided this outcome. */
  decidedAt: string;
  /** Imburse's own correlation id of the last exchange about the order, when Imburse sent one. */
  imburseCorrelationId: string | null;
  /** The order's metadata as sent (for an invalid order, only the entries that passed the guards). */
  metadata: Record<string, string>;
  /** Dead letters only. */
  reason?: ReasonSummary;
  /** Retries only: when the next attempt is due (ISO-8601). */
  nextAttemptAt?: string;
  /** Only with `RELAY_EVENTS_INCLUDE_ORDER_DETAILS`: amounts and customer refs. */
  instructions?: EchoedInstruction[];
}

/** What {@link outcomeEvent} needs to know about the record. */
export interface OutcomeFacts {
  outcome: PublishedOutcome;
  kind: OutcomeDetail["kind"];
  orderRef: string | undefined;
  tenant: string | undefined;
  correlationId: string;
  originMessageId: string;
  attempts: number;
  firstReceivedAt: number;
  decidedAt: number;
  /** The ledger item's version; undefined for an order that has no ledger item (invalid). */
  version: number | undefined;
  imburseCorrelationId: string | undefined;
  metadata: Record<string, string>;
  cause?: DeadLetterCause;
  nextAttemptAt?: Date | undefined;
  /** Set only when the setting asks for amounts and customer refs. */
  order?: Order | undefined;
}

/**
 * The event id: SHA-256 (hex, first 32 digits) of the canonical JSON of tenant, orderRef, outcome, kind and
 * the ledger item's version, so an order redriven and ending again gets a new id while a republished event
 * keeps its own. A message with no usable orderRef (or no ledger item) is identified by its origin message id.
 */
export function outcomeEventId(
  facts: Pick<OutcomeFacts, "tenant" | "orderRef" | "outcome" | "kind" | "version" | "originMessageId">,
): string {
  const key =
    facts.orderRef !== undefined && facts.version !== undefined
      ? ["order", facts.tenant ?? null, facts.orderRef, facts.outcome, facts.kind, facts.version]
      : ["message", facts.tenant ?? null, facts.originMessageId, facts.outcome, facts.kind];
  return createHash("sha256")
    .update(canonicalize(key) ?? "")
    .digest("hex")
    .slice(0, 32);
}

/** The outbox entry of an outcome: its detail, with the id in it. */
export function outcomeEvent(facts: OutcomeFacts): OutboxEntry {
  const id = outcomeEventId(facts);
  const detail: OutcomeDetail = {
    detailVersion: OUTCOME_DETAIL_VERSION,
    eventId: id,
    outcome: facts.outcome,
    kind: facts.kind,
    orderRef: facts.orderRef ?? null,
    tenant: facts.tenant ?? null,
    correlationId: facts.correlationId,
    originMessageId: facts.originMessageId,
    attempts: facts.attempts,
    firstReceivedAt: new Date(facts.firstReceivedAt).toISOString(),
    decidedAt: new Date(facts.decidedAt).toISOString(),
    imburseCorrelationId: facts.imburseCorrelationId ?? null,
    metadata: facts.metadata,
    ...(facts.cause ? { reason: summariseReason(facts.cause) } : {}),
    ...(facts.nextAttemptAt ? { nextAttemptAt: facts.nextAttemptAt.toISOString() } : {}),
    ...(facts.order ? { instructions: echoedInstructions(facts.order) } : {}),
  };
  return { id, detailType: OUTCOME_DETAIL_TYPES[facts.outcome], detail: JSON.stringify(detail) };
}

/** A dead letter's reason in a few fields and a sentence. Never a refused value: issues carry paths and codes only. */
export function summariseReason(cause: DeadLetterCause): ReasonSummary {
  switch (cause.kind) {
    case "invalid": {
      const codes = unique(cause.errors.map((issue) => issue.code));
      const more = cause.truncatedErrors ? ` (and ${cause.truncatedErrors} more)` : "";
      return {
        kind: cause.kind,
        codes,
        paths: unique(cause.errors.map((issue) => issue.path)),
        text: `the message is not a valid order: ${cause.errors.length} problem(s)${more}, ${codes.join(", ")}`,
      };
    }
    case "rejected": {
      const codes = unique(cause.errors.map((error) => error.errorCode));
      return {
        kind: cause.kind,
        codes,
        paths: [],
        text: `Imburse refused the order (HTTP ${cause.status}${codes.length ? `: ${codes.join(", ")}` : ""})`,
      };
    }
    case "conflict":
      // The differences quote amounts and values Imburse returned: they stay in the dead-letter reason.
      return {
        kind: cause.kind,
        codes: [],
        paths: [],
        text: `Imburse or the ledger holds this orderRef with other content${
          cause.differences.length
            ? ` (${cause.differences.length} difference(s): see the dead-letter reason)`
            : ""
        }`,
      };
    case "retries-exhausted": {
      const limit = cause.exhausted?.limit ?? "retry-budget";
      return {
        kind: cause.kind,
        codes: cause.lastErrorCodes,
        paths: [],
        text: `retries exhausted (${limit}); the last try ended ${cause.lastReason}${
          cause.lastStatus !== undefined ? ` (HTTP ${cause.lastStatus})` : ""
        }${cause.mayExistInImburse ? "; the order may exist in Imburse" : ""}`,
      };
    }
  }
}

function echoedInstructions(order: Order): EchoedInstruction[] {
  return (order.instructions ?? []).map((instruction) => ({
    instructionRef: instruction.instructionRef,
    customerRef: instruction.customerRef,
    direction: instruction.direction,
    amount: instruction.amount,
    currency: instruction.currency,
  }));
}

/**
 * The metadata of a message that is not a valid order, keeping only the entries that pass the metadata
 * guards on their own (a value refused as personal data, too long, or under a refused key is left out), at
 * most `metadataMaxKeys` of them. The body is read loosely (an SNS envelope unwrapped); nothing when it is
 * not JSON or has no metadata object.
 */
export function guardedMetadata(body: string, limits: MetadataLimits): Record<string, string> {
  let value: unknown;
  try {
    value = JSON.parse(body);
    const sns = readSnsEnvelope(value);
    if (sns?.ok) value = JSON.parse(sns.message);
  } catch {
    return {};
  }
  if (!isRecord(value) || !isRecord(value.metadata)) return {};
  const guard = metadataSchema(limits);
  const kept: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value.metadata)) {
    if (Object.keys(kept).length >= limits.metadataMaxKeys) break;
    if (typeof entry !== "string" || key === "__proto__") continue;
    if (guard.safeParse({ [key]: entry }).success) kept[key] = entry;
  }
  return kept;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
