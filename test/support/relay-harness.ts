import { randomUUID } from "node:crypto";
import {
  DeleteMessageBatchCommand,
  type MessageAttributeValue,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { vi } from "vitest";
import { sqsClient } from "../../lib/aws/index.ts";
import type { SettingName } from "../../lib/config/index.ts";
import { MESSAGE_ATTRIBUTES } from "../../lib/config/index.ts";
import type { ImburseCredentials } from "../../lib/imburse/index.ts";
import {
  type LocalEnvironment,
  type LocalQueue,
  lambdaContext,
  startLocalEnvironment,
  toSqsRecord,
} from "../../lib/local/index.ts";
import {
  createSubmitHandler,
  type DeadLetterReason,
  parseDeadLetterReason,
  type SubmitHandlerOverrides,
} from "../../lib/relay/index.ts";
import {
  DEMO_CREDENTIALS,
  type RecordedRequest,
  type Simulator,
  type SimulatorOptions,
  startSimulator,
} from "../../lib/simulator/index.ts";
import { settledByDateIn } from "./dates.ts";
import { captureJsonOutput } from "./json-output.ts";

const REGION = "us-east-1";

/** A message as it sits in a queue (read without consuming it). */
export interface QueuedMessage {
  body: string;
  attributes: Record<string, string | undefined>;
  delaySeconds: number;
  reason: DeadLetterReason | undefined;
}

/** The whole relay on real protocol peers: fauxqs, dynalite, the Secrets Manager stand-in and the simulator. */
export interface RelayHarness {
  simulator: Simulator;
  local: LocalEnvironment;
  sqs: SQSClient;
  handler: (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;
  /** Structured log lines written by the relay (Powertools Logger JSON on stdout). */
  logs: () => Array<Record<string, unknown>>;
  clock: { now: number };
  /** Sends a message to the orders queue, or to `queue` (the retry queue, to play a relay retry). */
  publish(
    body: unknown,
    correlationId?: string,
    extra?: Record<string, MessageAttributeValue>,
    queue?: LocalQueue,
  ): Promise<string>;
  /** Receives up to 10 messages from a queue and runs the handler on them, deleting what it acknowledged, as Lambda does. */
  deliver(
    queue: LocalQueue,
    options?: { remainingMs?: number },
  ): Promise<{ records: SQSRecord[]; response: SQSBatchResponse }>;
  /** Runs the handler on records built from messages that are sitting (possibly delayed) in a queue. */
  deliverQueued(queue: LocalQueue): Promise<SQSBatchResponse>;
  queued(queue: LocalQueue): QueuedMessage[];
  /** The create-order requests the simulator received for one orderRef. */
  creates(orderRef: string): RecordedRequest[];
  stop(): Promise<void>;
}

export async function startRelayHarness(
  options: {
    simulator?: SimulatorOptions;
    settings?: Partial<Record<SettingName, string | number>>;
    credentials?: ImburseCredentials;
    overrides?: Omit<SubmitHandlerOverrides, "env" | "clock">;
  } = {},
): Promise<RelayHarness> {
  const simulator = await startSimulator({ seed: 1, ...options.simulator });
  const local = await startLocalEnvironment({
    credentials: options.credentials ?? { ...DEMO_CREDENTIALS },
    imburseBaseUrl: simulator.url,
    settings: {
      retryBaseSeconds: 2,
      retryCapSeconds: 60,
      maxAttempts: 3,
      // Loopback answers in milliseconds; the margin is for a CI machine busy bundling in parallel.
      imburseTimeoutMs: 2_000,
      ...options.settings,
    },
  });
  Object.assign(process.env, local.env, {
    POWERTOOLS_LOG_LEVEL: "DEBUG",
    POWERTOOLS_METRICS_DISABLED: "true",
  });
  const lines = captureJsonOutput();
  const clock = { now: Date.now() };
  // No jitter: a retry waits exactly max(Retry-After, 0), so tests can assert the delay.
  const handler = createSubmitHandler({ random: () => 0, ...options.overrides, clock: () => clock.now });
  const sqs = sqsClient();

  const queued = (queue: LocalQueue): QueuedMessage[] => {
    const state = local.fauxqs.inspectQueue(queue.name);
    if (!state) throw new Error(`no queue ${queue.name}`);
    const messages = [
      ...state.messages.ready,
      ...state.messages.delayed,
      ...state.messages.inflight.map((m) => m.message),
    ];
    return messages.map((message) => {
      const attributes = Object.fromEntries(
        Object.entries(message.messageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]),
      );
      return {
        body: message.body,
        attributes,
        delaySeconds: message.delayUntil
          ? Math.round((message.delayUntil - message.sentTimestamp) / 1000)
          : 0,
        reason: parseDeadLetterReason(attributes[MESSAGE_ATTRIBUTES.deadLetterReason]),
      };
    });
  };

  return {
    simulator,
    local,
    sqs,
    handler: (event, context) => handler(event, context),
    logs: () => lines,
    clock,
    async publish(body, correlationId, extra = {}, queue = local.queues.orders) {
      const sent = await sqs.send(
        new SendMessageCommand({
          QueueUrl: queue.url,
          MessageBody: typeof body === "string" ? body : JSON.stringify(body),
          MessageAttributes: {
            ...extra,
            ...(correlationId
              ? { [MESSAGE_ATTRIBUTES.correlationId]: { DataType: "String", StringValue: correlationId } }
              : {}),
          },
        }),
      );
      return sent.MessageId!;
    },
    async deliver(queue, deliverOptions = {}) {
      const received = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue.url,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          MessageAttributeNames: ["All"],
          MessageSystemAttributeNames: ["All"],
        }),
      );
      const records = (received.Messages ?? []).map((m) => toSqsRecord(m, queue, REGION));
      const context = lambdaContext({
        functionName: "Submit",
        timeoutMs: deliverOptions.remainingMs ?? 60_000,
        region: REGION,
      });
      const response = await handler({ Records: records }, context);
      // As the event source mapping does: delete what the function did not hand back.
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      const acknowledged = (received.Messages ?? []).filter((m) => !failed.has(m.MessageId ?? ""));
      if (acknowledged.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queue.url,
            Entries: acknowledged.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })),
          }),
        );
      }
      return { records, response };
    },
    async deliverQueued(queue) {
      const state = local.fauxqs.inspectQueue(queue.name)!;
      const messages = [...state.messages.ready, ...state.messages.delayed];
      // Taken off this queue only, as if their delay had passed and they were received.
      await sqs.send(new PurgeQueueCommand({ QueueUrl: queue.url }));
      const records = messages.map((message) => {
        const record = toSqsRecord(
          {
            MessageId: message.messageId,
            Body: message.body,
            MessageAttributes: message.messageAttributes as Record<string, MessageAttributeValue>,
            ReceiptHandle: randomUUID(),
          },
          queue,
          REGION,
        );
        return record;
      });
      return handler(
        { Records: records },
        lambdaContext({ functionName: "Submit", timeoutMs: 60_000, region: REGION }),
      );
    },
    queued,
    creates: (orderRef) =>
      simulator
        .requestsTo("create")
        .filter((r) => (r.body as { orderRef?: string } | undefined)?.orderRef === orderRef),
    async stop() {
      vi.restoreAllMocks();
      sqs.destroy();
      await Promise.all([local.stop(), simulator.close()]);
    },
  };
}

/** A valid order, settling 60 days from now; `overrides` replace top-level fields. */
export function order(orderRef: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    orderRef,
    instructions: [
      {
        instructionRef: `${orderRef}-1`,
        customerRef: "CUST-1",
        direction: "DEBIT",
        amount: "210.00",
        currency: "EUR",
        country: "IE",
        settledByDate: settledByDateIn(60),
        schemeId: "654EB81FA1B24B6C8B2E1C3D4E5F6A7B",
      },
    ],
    metadata: { source: "test" },
    ...overrides,
  };
}
