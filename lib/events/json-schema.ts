import type { JsonSchema } from "../orders/index.ts";
import {
  OUTCOME_DETAIL_TYPES,
  OUTCOME_DETAIL_VERSION,
  OUTCOME_EVENT_SOURCE,
  type OutcomeDetail,
} from "./outcome-event.ts";

const ISO_TIME = { type: "string", description: "ISO-8601, UTC" } as const;
const DEAD_LETTER_KINDS = ["invalid", "rejected", "conflict", "retries-exhausted"] as const;
const RETRY_REASONS = ["throttled", "server-error", "network", "auth", "unexpected", "pending"] as const;

/** Every key of the detail, so the schema and the type cannot drift apart silently. */
const DETAIL_KEYS: Record<keyof OutcomeDetail, true> = {
  detailVersion: true,
  eventId: true,
  outcome: true,
  kind: true,
  orderRef: true,
  tenant: true,
  correlationId: true,
  originMessageId: true,
  attempts: true,
  firstReceivedAt: true,
  decidedAt: true,
  imburseCorrelationId: true,
  metadata: true,
  reason: true,
  nextAttemptAt: true,
  instructions: true,
};

/**
 * The `detail` of the outcome events as a JSON Schema (draft 2020-12), version {@link OUTCOME_DETAIL_VERSION}:
 * `schema/outcome-event.schema.json` is this, and a test validates every event the relay emits against it.
 * A change a consumer could notice bumps `detailVersion`; new optional fields do not.
 */
export function outcomeDetailJsonSchema(): JsonSchema {
  const properties: Record<keyof OutcomeDetail, JsonSchema> = {
    detailVersion: { const: OUTCOME_DETAIL_VERSION, description: "The version of this shape." },
    eventId: {
      type: "string",
      pattern: "^[0-9a-f]{32}$",
      description:
        "Deterministic: from tenant, orderRef, outcome, kind and the ledger item's version (the origin message id when there is no usable orderRef). Drop repeats by it.",
    },
    outcome: { enum: Object.keys(OUTCOME_DETAIL_TYPES) },
    kind: {
      enum: [...DEAD_LETTER_KINDS, ...RETRY_REASONS, null],
      description: "The dead-letter kind, the retry reason, or null for an order Imburse holds.",
    },
    orderRef: { type: ["string", "null"], description: "null when the message named no usable orderRef." },
    tenant: { type: ["string", "null"], description: "The Imburse tenant of the relay's credentials." },
    correlationId: { type: "string", description: "The order's correlation id (x-correlation-id)." },
    originMessageId: { type: "string", description: "The SQS message id of the publisher's message." },
    attempts: { type: "integer", minimum: 1 },
    firstReceivedAt: ISO_TIME,
    decidedAt: ISO_TIME,
    imburseCorrelationId: { type: ["string", "null"] },
    metadata: {
      type: "object",
      additionalProperties: { type: "string" },
      description:
        "The order's metadata as sent; for an invalid order only the entries that passed the guards.",
    },
    reason: {
      type: "object",
      additionalProperties: false,
      required: ["kind", "codes", "paths", "text"],
      properties: {
        kind: { enum: [...DEAD_LETTER_KINDS] },
        codes: { type: "array", items: { type: "string" } },
        paths: { type: "array", items: { type: "string" } },
        text: { type: "string" },
      },
      description: "Dead letters only: the reason in short.",
    },
    nextAttemptAt: { ...ISO_TIME, description: "Retries only: when the next attempt is due." },
    instructions: {
      type: "array",
      description: "Only with RELAY_EVENTS_INCLUDE_ORDER_DETAILS=true.",
      items: {
        type: "object",
        additionalProperties: false,
        required: ["instructionRef", "customerRef", "direction", "amount", "currency"],
        properties: {
          instructionRef: { type: "string" },
          customerRef: { type: "string" },
          direction: { enum: ["CREDIT", "DEBIT"] },
          amount: { type: "string" },
          currency: { type: "string" },
        },
      },
    },
  };
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "imburse-relay outcome event detail",
    description:
      `The detail of the events imburse-relay puts on its outcome bus (source "${OUTCOME_EVENT_SOURCE}", ` +
      `detail-type ${Object.values(OUTCOME_DETAIL_TYPES)
        .map((type) => `"${type}"`)
        .join(", ")}). See docs/publishers.md.`,
    type: "object",
    additionalProperties: false,
    required: Object.keys(DETAIL_KEYS).filter(
      (key) => !["reason", "nextAttemptAt", "instructions"].includes(key),
    ),
    properties,
    allOf: [
      {
        if: { properties: { outcome: { const: "dead-lettered" } } },
        // biome-ignore lint/suspicious/noThenProperty: a JSON Schema keyword
        then: { required: ["reason"], properties: { reason: true, kind: { enum: [...DEAD_LETTER_KINDS] } } },
      },
      {
        if: { properties: { outcome: { enum: ["submitted", "already-existed"] } } },
        // biome-ignore lint/suspicious/noThenProperty: a JSON Schema keyword
        then: { properties: { kind: { const: null } } },
      },
    ],
  };
}
