import type { Message, MessageAttributeValue } from "@aws-sdk/client-sqs";
import { MESSAGE_ATTRIBUTES, RELAY_ATTRIBUTE_NAMES } from "../config/index.ts";
import { type FailureKind, isTransient } from "../imburse/index.ts";

/** The last reasons of a retries-exhausted letter that say nothing against the order. */
const TRANSIENT_REASONS: ReadonlySet<string> = new Set(
  (
    ["throttled", "server-error", "network", "auth", "exists", "not-found", "rejected", "unexpected"] as const
  ).filter((kind: FailureKind) => isTransient(kind)),
);

import type { DeadLetterKind } from "../events/index.ts";
import { type DeadLetterReason, parseDeadLetterReason } from "../relay/index.ts";

/**
 * What a dead-lettered message is: one of the relay's kinds, or `unknown` for a message without a relay
 * reason (SQS moved it after `maxReceiveCount` receives because the handler kept failing on it).
 */
export type RedriveKind = DeadLetterKind | "unknown";

/** Every kind, in the order operators read them. */
export const REDRIVE_KINDS: readonly RedriveKind[] = [
  "invalid",
  "conflict",
  "rejected",
  "retries-exhausted",
  "unknown",
];

/**
 * The kinds moved when none are chosen: only `retries-exhausted` can succeed unchanged once Imburse
 * recovers; the others need a fix (of the order, the data at Imburse, or the relay) first.
 */
export const DEFAULT_REDRIVE_KINDS: readonly RedriveKind[] = ["retries-exhausted"];

/** The fields of a received SQS message that the redrive reads. */
export type DeadLetterMessage = Pick<Message, "MessageId" | "Body" | "MessageAttributes">;

/** A dead-lettered message's kind and, when the relay wrote one, its reason. */
export interface ClassifiedDeadLetter {
  kind: RedriveKind;
  reason: DeadLetterReason | undefined;
}

/** Reads the relay's reason attribute of a dead-lettered message. */
export function classifyDeadLetter(message: DeadLetterMessage): ClassifiedDeadLetter {
  const reason = parseDeadLetterReason(
    message.MessageAttributes?.[MESSAGE_ATTRIBUTES.deadLetterReason]?.StringValue,
  );
  return { kind: reason?.kind ?? "unknown", reason };
}

/** Narrows which dead letters of the chosen kinds move; every one of them when absent. */
export type RedriveFilter = (letter: ClassifiedDeadLetter) => boolean;

/**
 * True for a `retries-exhausted` letter whose last failure was transient: throttled, a server error or the
 * network, with a last status that agrees (none, 429 or 5xx). Such an order may succeed unchanged once
 * Imburse recovers, so the scheduled redrive moves it without a person; a reason that says otherwise (a 4xx
 * status, an unknown last reason) is left for a person.
 */
export function lastFailureWasTransient({ reason }: ClassifiedDeadLetter): boolean {
  if (reason?.kind !== "retries-exhausted") return false;
  // JSON drops an undefined lastStatus; tolerate null from other writers.
  const status = reason.lastStatus ?? undefined;
  const transientStatus = status === undefined || status === 429 || (status >= 500 && status <= 599);
  // A letter whose settledByDate passed would only be tried late again.
  if (reason.exhausted?.limit === "settled-by-date") return false;
  return TRANSIENT_REASONS.has(reason.lastReason) && transientStatus;
}

/** The message to send back to the orders queue. */
export interface RedriveMessage {
  body: string;
  attributes: Record<string, MessageAttributeValue>;
}

/** What to do with one dead-lettered message. */
export type RedrivePlan =
  | ({ action: "skip" } & ClassifiedDeadLetter)
  | ({ action: "redrive"; message: RedriveMessage } & ClassifiedDeadLetter);

/** Only the fields SendMessage accepts (a received value may carry empty list fields). */
function copyValue(value: MessageAttributeValue): MessageAttributeValue {
  return {
    DataType: value.DataType,
    ...(value.StringValue !== undefined ? { StringValue: value.StringValue } : {}),
    ...(value.BinaryValue !== undefined ? { BinaryValue: value.BinaryValue } : {}),
  };
}

/**
 * Decides whether a dead-lettered message goes back to the orders queue and, if so, what is sent: the
 * original body verbatim; the correlation id and the origin message id (from the attributes, else from the
 * reason, else the message's own id), so the order keeps its identity in logs and reports; and the
 * publisher's own attributes. Every other relay attribute is dropped (attempt, not-before, first-received,
 * unknown-outcome, the reason), so the order starts again at attempt 1 as if newly published.
 *
 * Moves only the chosen `kinds`, and of those only the ones `select` accepts when it is given.
 *
 * Pure: the CLI's `dlq redrive` and the scheduled redrive function share it.
 */
export function planRedrive(
  message: DeadLetterMessage,
  kinds: readonly RedriveKind[],
  select?: RedriveFilter,
): RedrivePlan {
  const classified = classifyDeadLetter(message);
  if (!kinds.includes(classified.kind) || (select && !select(classified))) {
    return { action: "skip", ...classified };
  }
  const given = message.MessageAttributes ?? {};
  const text = (name: string): string | undefined => {
    const value = given[name]?.StringValue?.trim();
    return value ? value : undefined;
  };
  const attributes: Record<string, MessageAttributeValue> = {};
  const correlationId = text(MESSAGE_ATTRIBUTES.correlationId) ?? classified.reason?.correlationId;
  if (correlationId)
    attributes[MESSAGE_ATTRIBUTES.correlationId] = { DataType: "String", StringValue: correlationId };
  const originMessageId =
    text(MESSAGE_ATTRIBUTES.originMessageId) ?? classified.reason?.originMessageId ?? message.MessageId;
  if (originMessageId) {
    attributes[MESSAGE_ATTRIBUTES.originMessageId] = { DataType: "String", StringValue: originMessageId };
  }
  for (const [name, value] of Object.entries(given)) {
    if (!RELAY_ATTRIBUTE_NAMES.includes(name)) attributes[name] = copyValue(value);
  }
  return { action: "redrive", ...classified, message: { body: message.Body ?? "", attributes } };
}
