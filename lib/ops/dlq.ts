import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  type Message,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { MESSAGE_ATTRIBUTES, SQS_MAX_BATCH_REQUEST_BYTES, SQS_MAX_BATCH_SIZE } from "../config/index.ts";
import { attributeBytes } from "../relay/index.ts";
import {
  type ClassifiedDeadLetter,
  classifyDeadLetter,
  planRedrive,
  type RedriveFilter,
  type RedriveKind,
} from "./redrive.ts";

/** A dead-lettered message as the operator commands show it. */
export interface DeadLetter extends ClassifiedDeadLetter {
  messageId: string;
  body: string;
  attributes: Record<string, MessageAttributeValue>;
  /** SQS's ApproximateReceiveCount, which peeking increments too. */
  receiveCount: number | undefined;
}

/** How the DLQ is read. */
export interface DeadLetterReadOptions {
  /** Seconds a received message stays hidden while the command works; it is made visible again after. */
  hideSeconds?: number;
  /** Long-poll wait of each receive: 1 s asks every SQS server, so an empty answer means empty. */
  waitTimeSeconds?: number;
}

const DEFAULT_HIDE_SECONDS = 30;

function receive(sqs: SQSClient, queueUrl: string, max: number, options: DeadLetterReadOptions) {
  return sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: Math.min(SQS_MAX_BATCH_SIZE, max),
      VisibilityTimeout: options.hideSeconds ?? DEFAULT_HIDE_SECONDS,
      WaitTimeSeconds: options.waitTimeSeconds ?? 1,
      MessageAttributeNames: ["All"],
      MessageSystemAttributeNames: ["ApproximateReceiveCount"],
    }),
  );
}

function toDeadLetter(message: Message): DeadLetter {
  const count = Number(message.Attributes?.ApproximateReceiveCount);
  return {
    ...classifyDeadLetter(message),
    messageId: message.MessageId ?? "",
    body: message.Body ?? "",
    attributes: message.MessageAttributes ?? {},
    receiveCount: Number.isFinite(count) ? count : undefined,
  };
}

/** Makes received messages visible again at once; per-entry failures (an expired handle) are harmless. */
async function release(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly Pick<Message, "ReceiptHandle">[],
): Promise<void> {
  for (let start = 0; start < messages.length; start += SQS_MAX_BATCH_SIZE) {
    const chunk = messages.slice(start, start + SQS_MAX_BATCH_SIZE);
    await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((message, index) => ({
          Id: `r${index}`,
          ReceiptHandle: message.ReceiptHandle,
          VisibilityTimeout: 0,
        })),
      }),
    );
  }
}

/**
 * Reads up to `max` dead-lettered messages without consuming them: each is hidden while the queue is read
 * (so the next receive returns others), then made visible again, also when reading fails.
 */
export async function peekDeadLetters(
  sqs: SQSClient,
  queueUrl: string,
  options: DeadLetterReadOptions & { max: number },
): Promise<DeadLetter[]> {
  const received: Message[] = [];
  const letters = new Map<string, DeadLetter>();
  try {
    while (letters.size < options.max) {
      const { Messages = [] } = await receive(sqs, queueUrl, options.max - letters.size, options);
      if (Messages.length === 0) break;
      received.push(...Messages);
      for (const message of Messages) {
        const letter = toDeadLetter(message);
        if (!letters.has(letter.messageId)) letters.set(letter.messageId, letter);
      }
    }
  } finally {
    await release(sqs, queueUrl, received);
  }
  return [...letters.values()].slice(0, options.max);
}

/** One message moved by {@link redriveDeadLetters}. */
export interface MovedMessage {
  messageId: string;
  /** Its id on the orders queue. */
  newMessageId: string;
  kind: RedriveKind;
  orderRef: string | undefined;
  correlationId: string | undefined;
}

/** What {@link redriveDeadLetters} did. */
export interface RedriveSummary {
  moved: MovedMessage[];
  /** Messages left in the DLQ, by kind: not chosen (kind or filter), over the max, or back during this run. */
  left: Partial<Record<RedriveKind, number>>;
  /** Messages that could not be moved (left in the DLQ) or were sent but not deleted (now in both queues). */
  failed: { messageId: string; kind: RedriveKind; error: string }[];
}

/** Options of {@link redriveDeadLetters}. */
export interface RedriveOptions extends DeadLetterReadOptions {
  from: string;
  to: string;
  kinds: readonly RedriveKind[];
  /** Of the chosen kinds, moves only the letters it accepts (see {@link planRedrive}). */
  select?: RedriveFilter;
  /** Most messages to move; all by default. */
  max?: number;
  /** Asked before each receive; the run ends, releasing what it holds, once it answers false (a Lambda deadline). */
  hasTimeLeft?: () => boolean;
  onMoved?: (moved: MovedMessage) => void;
}

/**
 * Moves dead-lettered messages of the chosen kinds back to the orders queue, rewritten by
 * {@link planRedrive}. Each message is deleted from the DLQ only after its send succeeded. Messages not
 * moved are made visible again. A message whose order was already moved during this run (it failed again
 * and came back) is left, so a redrive never loops.
 */
export async function redriveDeadLetters(sqs: SQSClient, options: RedriveOptions): Promise<RedriveSummary> {
  const max = options.max ?? Number.POSITIVE_INFINITY;
  const summary: RedriveSummary = { moved: [], left: {}, failed: [] };
  // Only the handles: a long scan must not hold every body it read in memory.
  const keep: Pick<Message, "ReceiptHandle">[] = [];
  const movedOrigins = new Set<string>();
  const leave = (message: Message, kind: RedriveKind) => {
    keep.push({ ReceiptHandle: message.ReceiptHandle });
    summary.left[kind] = (summary.left[kind] ?? 0) + 1;
  };
  try {
    while (summary.moved.length < max && (options.hasTimeLeft?.() ?? true)) {
      const { Messages = [] } = await receive(sqs, options.from, SQS_MAX_BATCH_SIZE, options);
      if (Messages.length === 0) break;
      const toSend: {
        message: Message;
        plan: Extract<ReturnType<typeof planRedrive>, { action: "redrive" }>;
      }[] = [];
      for (const message of Messages) {
        const plan = planRedrive(message, options.kinds, options.select);
        const origin =
          plan.action === "redrive" ? plan.message.attributes[MESSAGE_ATTRIBUTES.originMessageId] : undefined;
        const cameBack = origin?.StringValue !== undefined && movedOrigins.has(origin.StringValue);
        if (plan.action === "skip" || cameBack || summary.moved.length + toSend.length >= max) {
          leave(message, plan.kind);
        } else {
          toSend.push({ message, plan });
        }
      }
      if (toSend.length === 0) continue;
      // One request carries at most 1 MiB in all: large letters go one per request.
      const groups =
        batchBytes(toSend.map(({ plan }) => plan.message)) > SQS_MAX_BATCH_REQUEST_BYTES
          ? toSend.map((entry) => [entry])
          : [toSend];
      for (const [position, group] of groups.entries()) {
        const response = await sqs
          .send(
            new SendMessageBatchCommand({
              QueueUrl: options.to,
              Entries: group.map(({ plan }, index) => ({
                Id: `m${index}`,
                MessageBody: plan.message.body,
                MessageAttributes: plan.message.attributes,
              })),
            }),
          )
          .catch((error: unknown) => {
            // The request failed as a whole: its letters and those not yet sent stay in the DLQ, visible
            // again with the rest (should SQS have taken it after all, the relay's idempotency absorbs the
            // copies).
            for (const { message } of groups.slice(position).flat())
              keep.push({ ReceiptHandle: message.ReceiptHandle });
            throw error;
          });
        const sent = new Map((response.Successful ?? []).map((entry) => [entry.Id, entry.MessageId ?? ""]));
        const refused = new Map(
          (response.Failed ?? []).map((entry) => [entry.Id, entry.Message ?? entry.Code]),
        );
        const toDelete: Message[] = [];
        group.forEach(({ message, plan }, index) => {
          const newMessageId = sent.get(`m${index}`);
          if (newMessageId === undefined) {
            keep.push({ ReceiptHandle: message.ReceiptHandle });
            const error = refused.get(`m${index}`) ?? "SQS did not report this entry";
            summary.failed.push({ messageId: message.MessageId ?? "", kind: plan.kind, error });
            return;
          }
          toDelete.push(message);
          const attributes = plan.message.attributes;
          const origin = attributes[MESSAGE_ATTRIBUTES.originMessageId]?.StringValue;
          if (origin) movedOrigins.add(origin);
          const moved: MovedMessage = {
            messageId: message.MessageId ?? "",
            newMessageId,
            kind: plan.kind,
            orderRef: plan.reason?.orderRef ?? undefined,
            correlationId: attributes[MESSAGE_ATTRIBUTES.correlationId]?.StringValue,
          };
          summary.moved.push(moved);
          options.onMoved?.(moved);
        });
        await deleteMoved(sqs, options.from, toDelete, summary);
      }
    }
  } finally {
    await release(sqs, options.from, keep);
  }
  return summary;
}

/** The bytes SQS counts for these messages in one request: bodies and attributes. */
function batchBytes(
  messages: readonly { body: string; attributes: Record<string, MessageAttributeValue> }[],
): number {
  return messages.reduce(
    (sum, message) => sum + Buffer.byteLength(message.body) + attributeBytes(message.attributes),
    0,
  );
}

async function deleteMoved(
  sqs: SQSClient,
  queueUrl: string,
  messages: readonly Message[],
  summary: RedriveSummary,
): Promise<void> {
  if (messages.length === 0) return;
  const response = await sqs.send(
    new DeleteMessageBatchCommand({
      QueueUrl: queueUrl,
      Entries: messages.map((message, index) => ({ Id: `d${index}`, ReceiptHandle: message.ReceiptHandle })),
    }),
  );
  for (const failed of response.Failed ?? []) {
    const message = messages[Number(failed.Id?.slice(1))];
    summary.failed.push({
      messageId: message?.MessageId ?? "",
      kind: message ? classifyDeadLetter(message).kind : "unknown",
      error: `sent to the orders queue but not deleted from the DLQ (${failed.Message ?? failed.Code}); the relay's idempotency absorbs the copy`,
    });
  }
}
