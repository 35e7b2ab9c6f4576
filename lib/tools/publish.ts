import { type MessageAttributeValue, SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { MESSAGE_ATTRIBUTES, SQS_MAX_BATCH_SIZE } from "../config/index.ts";

/** One message to publish to the orders queue. */
export interface PublishEntry {
  /** Identifies the entry in results (the orders-file line). */
  line: number;
  body: string;
  correlationId?: string;
}

/** What became of one entry. */
export type PublishResult =
  | { line: number; ok: true; messageId: string }
  | { line: number; ok: false; error: string };

/**
 * SQS caps the total payload of one SendMessageBatch (bodies plus attributes). 256 KiB is the limit that
 * every SQS endpoint has enforced; a message larger than that alone goes in a batch of its own and SQS decides.
 */
const SQS_MAX_BATCH_BYTES = 262_144;

/** The message attributes of an entry: the correlation id when one is given, nothing else. */
export function publishAttributes(entry: PublishEntry): Record<string, MessageAttributeValue> {
  return entry.correlationId === undefined
    ? {}
    : { [MESSAGE_ATTRIBUTES.correlationId]: { DataType: "String", StringValue: entry.correlationId } };
}

/** The size SQS counts for a message: body plus each attribute's name, type and value, in UTF-8 bytes. */
export function messageBytes(body: string, attributes: Record<string, MessageAttributeValue>): number {
  let bytes = Buffer.byteLength(body, "utf8");
  for (const [name, value] of Object.entries(attributes)) {
    bytes +=
      Buffer.byteLength(name) +
      Buffer.byteLength(value.DataType ?? "") +
      Buffer.byteLength(value.StringValue ?? "");
    bytes += value.BinaryValue?.byteLength ?? 0;
  }
  return bytes;
}

/** Splits entries, in order, into SendMessageBatch calls of at most 10 entries and {@link SQS_MAX_BATCH_BYTES}. */
export function toBatches<T extends PublishEntry>(
  entries: readonly T[],
  maxEntries = SQS_MAX_BATCH_SIZE,
  maxBytes = SQS_MAX_BATCH_BYTES,
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const entry of entries) {
    const size = messageBytes(entry.body, publishAttributes(entry));
    if (current.length > 0 && (current.length >= maxEntries || bytes + size > maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(entry);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Publishes entries in order with SendMessageBatch, reporting every entry through `onResult` as its batch
 * returns. An entry SQS refuses is a failed result; a whole call that fails (no such queue, no
 * credentials, the network) throws after the entries already sent were reported.
 */
export async function publishOrders(
  sqs: SQSClient,
  queueUrl: string,
  entries: readonly PublishEntry[],
  onResult: (result: PublishResult) => void = () => undefined,
): Promise<PublishResult[]> {
  const results: PublishResult[] = [];
  for (const batch of toBatches(entries)) {
    const byId = new Map(batch.map((entry, index) => [`e${index}`, entry]));
    const response = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [...byId].map(([id, entry]) => ({
          Id: id,
          MessageBody: entry.body,
          MessageAttributes: publishAttributes(entry),
        })),
      }),
    );
    const outcome = new Map<string, PublishResult>();
    for (const { Id: id = "", MessageId: messageId = "" } of response.Successful ?? []) {
      const entry = byId.get(id);
      if (entry) outcome.set(id, { line: entry.line, ok: true, messageId });
    }
    for (const { Id: id = "", Code: code, Message: message } of response.Failed ?? []) {
      const entry = byId.get(id);
      const error = [code, message].filter(Boolean).join(": ") || "refused by SQS";
      if (entry) outcome.set(id, { line: entry.line, ok: false, error });
    }
    for (const [id, entry] of byId) {
      const result = outcome.get(id) ?? {
        line: entry.line,
        ok: false,
        error: "SQS did not report this entry",
      };
      results.push(result);
      onResult(result);
    }
  }
  return results;
}
