import type { MessageAttributeValue } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { MESSAGE_ATTRIBUTES, RELAY_ATTRIBUTE_NAMES, SQS_MAX_MESSAGE_ATTRIBUTES } from "../config/index.ts";

/** What the relay knows about an order message beyond its body, read from its SQS attributes. */
export interface OrderEnvelope {
  correlationId: string;
  /** The publisher's correlation id when the relay could not use it (too long, or not printable ASCII). */
  rejectedCorrelationId: boolean;
  /** 1 on first delivery. */
  attempt: number;
  firstReceivedAt: Date;
  notBefore: Date | undefined;
  originMessageId: string;
  unknownOutcome: boolean;
  /** Publisher attributes that are not the relay's own, forwarded while the 10-attribute budget allows. */
  foreignAttributes: Record<string, MessageAttributeValue>;
  /** The relay's own attributes found on a message that did not come from the retry queue, and ignored. */
  ignoredAttributes: string[];
}

/**
 * The relay attributes that steer an order (its attempt, its wait, its first receipt, whether to read
 * first, a dead-letter reason). Only the relay sets them, on the retry queue: on the orders queue a publisher
 * (or a console "start DLQ redrive") could set them, so they are ignored there. The origin message id and
 * the correlation id only label the order, and are read wherever they come from.
 */
const CONTROL_ATTRIBUTES: readonly string[] = [
  MESSAGE_ATTRIBUTES.attempt,
  MESSAGE_ATTRIBUTES.firstReceivedAt,
  MESSAGE_ATTRIBUTES.notBefore,
  MESSAGE_ATTRIBUTES.unknownOutcome,
  MESSAGE_ATTRIBUTES.deadLetterReason,
];

/** Where a record came from, as far as the envelope is concerned. */
export interface EnvelopeSource {
  /** The record came from the relay's retry queue: its control attributes are the relay's own. */
  fromRetryQueue: boolean;
  /** The correlation id an SNS notification envelope carried in the body, if any. */
  bodyCorrelationId?: string | undefined;
}

/** The name of a queue from its ARN (`arn:aws:sqs:region:account:name`) or URL (`https://…/account/name`). */
export function queueNameOf(arnOrUrl: string): string {
  return arnOrUrl.split(/[:/]/).pop() ?? "";
}

/** A correlation id the relay carries as given: 1 to 128 printable ASCII characters. */
const CORRELATION_ID = /^[\x21-\x7e]{1,128}$/;

/** An id the relay carries as given, or undefined when it is not 1 to 128 printable ASCII characters. */
function usableId(value: string | undefined): string | undefined {
  return value !== undefined && CORRELATION_ID.test(value) ? value : undefined;
}

/**
 * Reads the envelope of a received record. The correlation id is the `x-correlation-id` attribute, else
 * `bodyCorrelationId` (the one an SNS notification envelope carried in the body). Without a usable one the
 * record's SQS message id (a UUID) becomes one: it is the same on every redelivery, and retry messages
 * carry it on from there as the attribute.
 */
export function readEnvelope(record: SQSRecord, now: Date, source: EnvelopeSource): OrderEnvelope {
  const { bodyCorrelationId } = source;
  const attributes = record.messageAttributes ?? {};
  const ignoredAttributes = source.fromRetryQueue
    ? []
    : CONTROL_ATTRIBUTES.filter((name) => attributes[name] !== undefined);
  const text = (name: string): string | undefined => {
    if (ignoredAttributes.includes(name)) return undefined;
    const value = attributes[name]?.stringValue?.trim();
    return value ? value : undefined;
  };
  const date = (name: string): Date | undefined => {
    const value = text(name);
    const parsed = value === undefined ? Number.NaN : Date.parse(value);
    return Number.isNaN(parsed) ? undefined : new Date(parsed);
  };
  const given = text(MESSAGE_ATTRIBUTES.correlationId) ?? (bodyCorrelationId?.trim() || undefined);
  // It travels as an HTTP header and an SQS attribute: printable ASCII, bounded, or Imburse refuses the call.
  const usable = given !== undefined && CORRELATION_ID.test(given);
  const attempt = Number(text(MESSAGE_ATTRIBUTES.attempt));
  const foreignAttributes: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (RELAY_ATTRIBUTE_NAMES.includes(name)) continue;
    foreignAttributes[name] = {
      DataType: value.dataType,
      ...(value.stringValue !== undefined ? { StringValue: value.stringValue } : {}),
      ...(value.binaryValue !== undefined ? { BinaryValue: Buffer.from(value.binaryValue, "base64") } : {}),
    };
  }
  return {
    correlationId: usable ? given : record.messageId,
    rejectedCorrelationId: given !== undefined && !usable,
    attempt: Number.isInteger(attempt) && attempt >= 1 ? attempt : 1,
    firstReceivedAt: date(MESSAGE_ATTRIBUTES.firstReceivedAt) ?? now,
    notBefore: date(MESSAGE_ATTRIBUTES.notBefore),
    // A label from anywhere (the redrive carries it), so bounded like a correlation id: it travels in every
    // message, reason and event of the order.
    originMessageId: usableId(text(MESSAGE_ATTRIBUTES.originMessageId)) ?? record.messageId,
    unknownOutcome: text(MESSAGE_ATTRIBUTES.unknownOutcome) === "true",
    foreignAttributes,
    ignoredAttributes,
  };
}

/** What an outgoing retry or dead-letter message says beyond the envelope. */
export interface OutgoingAttributes {
  attempt: number;
  notBefore?: Date | undefined;
  unknownOutcome?: boolean;
  deadLetterReason?: string;
}

/** The bytes SQS counts for message attributes: each name, data type and value (UTF-8). */
export function attributeBytes(attributes: Record<string, MessageAttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(attributes)) {
    bytes += Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? "");
    if (value.StringValue !== undefined) bytes += Buffer.byteLength(value.StringValue);
    if (value.BinaryValue !== undefined) bytes += value.BinaryValue.byteLength;
  }
  return bytes;
}

/**
 * The attributes of a message the relay sends: its own first, then the publisher's in name order
 * while SQS's limit of 10 allows and they fit in `roomBytes` (what the target queue's message size leaves
 * beside the body). Returns the names that did not fit so the caller can log them.
 */
export function writeAttributes(
  envelope: OrderEnvelope,
  outgoing: OutgoingAttributes,
  roomBytes = Number.POSITIVE_INFINITY,
): { attributes: Record<string, MessageAttributeValue>; dropped: string[] } {
  const str = (value: string): MessageAttributeValue => ({ DataType: "String", StringValue: value });
  const attributes: Record<string, MessageAttributeValue> = {
    [MESSAGE_ATTRIBUTES.correlationId]: str(envelope.correlationId),
    [MESSAGE_ATTRIBUTES.attempt]: { DataType: "Number", StringValue: String(outgoing.attempt) },
    [MESSAGE_ATTRIBUTES.firstReceivedAt]: str(envelope.firstReceivedAt.toISOString()),
    [MESSAGE_ATTRIBUTES.originMessageId]: str(envelope.originMessageId),
  };
  if (outgoing.notBefore) attributes[MESSAGE_ATTRIBUTES.notBefore] = str(outgoing.notBefore.toISOString());
  if (outgoing.unknownOutcome) attributes[MESSAGE_ATTRIBUTES.unknownOutcome] = str("true");
  if (outgoing.deadLetterReason)
    attributes[MESSAGE_ATTRIBUTES.deadLetterReason] = str(outgoing.deadLetterReason);
  const dropped: string[] = [];
  let used = attributeBytes(attributes);
  for (const name of Object.keys(envelope.foreignAttributes).sort()) {
    const value = envelope.foreignAttributes[name]!;
    const size = attributeBytes({ [name]: value });
    if (Object.keys(attributes).length < SQS_MAX_MESSAGE_ATTRIBUTES && used + size <= roomBytes) {
      attributes[name] = value;
      used += size;
    } else dropped.push(name);
  }
  return { attributes, dropped };
}
