/** lib/ops/redrive-handler.ts: the scheduled redrive over SQS on the local stand-ins. */
import { type MessageAttributeValue, SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { sqsClient } from "../../lib/aws/index.ts";
import { MESSAGE_ATTRIBUTES, METRICS } from "../../lib/config/index.ts";
import type { DeadLetterCause } from "../../lib/events/index.ts";
import {
  type LocalEnvironment,
  type LocalQueue,
  lambdaContext,
  startLocalEnvironment,
} from "../../lib/local/index.ts";
import { createRedriveHandler } from "../../lib/ops/redrive-handler.ts";
import { DEMO_CREDENTIALS } from "../../lib/simulator/index.ts";
import { exhausted, LETTERS, reason, str } from "../support/dead-letters.ts";
import { captureJsonOutput } from "../support/json-output.ts";

describe("scheduled redrive handler", () => {
  let local: LocalEnvironment;
  let sqs: SQSClient;
  let lines: Array<Record<string, unknown>>;

  beforeAll(async () => {
    local = await startLocalEnvironment({
      credentials: { ...DEMO_CREDENTIALS },
      // The redrive never calls Imburse.
      imburseBaseUrl: "http://127.0.0.1:9",
    });
    sqs = sqsClient({}, local.env);
  });
  afterAll(async () => {
    sqs.destroy();
    await local.stop();
  });

  beforeEach(() => {
    local.fauxqs.reset();
    for (const [name, value] of Object.entries(local.env)) vi.stubEnv(name, value);
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
    lines = captureJsonOutput();
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  /** Dead-letters an order as the relay does: its relay attributes, the reason, a publisher attribute. */
  const seed = async (orderRef: string, cause: DeadLetterCause | undefined, padding = 0) => {
    const attributes: Record<string, MessageAttributeValue> = {
      [MESSAGE_ATTRIBUTES.correlationId]: str(`corr-${orderRef}`),
      [MESSAGE_ATTRIBUTES.attempt]: { DataType: "Number", StringValue: "3" },
      [MESSAGE_ATTRIBUTES.firstReceivedAt]: str("2026-01-01T00:00:00.000Z"),
      [MESSAGE_ATTRIBUTES.originMessageId]: str(`origin-${orderRef}`),
      "x-publisher": str("billing"),
    };
    if (cause) attributes[MESSAGE_ATTRIBUTES.deadLetterReason] = str(JSON.stringify(reason(orderRef, cause)));
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: local.queues.deadLetter.url,
        MessageBody: JSON.stringify(padding ? { orderRef, padding: "p".repeat(padding) } : { orderRef }),
        MessageAttributes: attributes,
      }),
    );
  };

  /** Every message of a queue, visible or not, by orderRef. */
  const contents = (queue: LocalQueue) => {
    const state = local.fauxqs.inspectQueue(queue.name)!;
    const view = (message: (typeof state.messages.ready)[number]) => ({
      orderRef: (JSON.parse(message.body) as { orderRef: string }).orderRef,
      attributes: Object.fromEntries(
        Object.entries(message.messageAttributes ?? {}).map(([name, value]) => [name, value.StringValue]),
      ),
    });
    const byRef = (a: { orderRef: string }, b: { orderRef: string }) => a.orderRef.localeCompare(b.orderRef);
    return {
      visible: state.messages.ready.map(view).sort(byRef),
      hidden: [...state.messages.delayed, ...state.messages.inflight.map((entry) => entry.message)].map(view),
    };
  };

  const context = (timeoutMs = 60_000) =>
    lambdaContext({ functionName: "Redrive", timeoutMs, region: "us-east-1" });

  it("moves only transiently failed retries-exhausted letters, attempts reset, and leaves the rest visible", async () => {
    for (const [orderRef, cause] of Object.entries(LETTERS)) await seed(orderRef, cause);

    const summary = await createRedriveHandler()({}, context());

    expect(summary.moved.map((moved) => moved.correlationId).sort()).toEqual([
      "corr-T-429",
      "corr-T-503",
      "corr-T-NET",
    ]);
    expect(summary.left).toEqual({
      "retries-exhausted": 1,
      invalid: 1,
      rejected: 1,
      conflict: 1,
      unknown: 1,
    });
    expect(summary.failed).toEqual([]);

    const orders = contents(local.queues.orders);
    expect(orders.hidden).toEqual([]);
    expect(orders.visible).toEqual(
      ["T-429", "T-503", "T-NET"].map((orderRef) => ({
        orderRef,
        // No relay-attempt, first-received or reason: the order starts again at attempt 1.
        attributes: {
          [MESSAGE_ATTRIBUTES.correlationId]: `corr-${orderRef}`,
          [MESSAGE_ATTRIBUTES.originMessageId]: `origin-${orderRef}`,
          "x-publisher": "billing",
        },
      })),
    );
    const dlq = contents(local.queues.deadLetter);
    expect(dlq.hidden).toEqual([]);
    expect(dlq.visible.map((letter) => letter.orderRef)).toEqual([
      "X-400",
      "X-CONFLICT",
      "X-INVALID",
      "X-POISON",
      "X-REJECTED",
    ]);

    expect(lines.find((line) => METRICS.redriven in line)?.[METRICS.redriven]).toBe(3);
    expect(lines.find((line) => line.message === "Scheduled redrive finished")).toMatchObject({
      moved: 3,
      left: summary.left,
      failed: 0,
    });
    expect(
      lines
        .filter((line) => line.message === "Dead letter moved back to the orders queue")
        .map((line) => line.correlation_id)
        .sort(),
    ).toEqual(["corr-T-429", "corr-T-503", "corr-T-NET"]);
  });

  it("moves at most RELAY_REDRIVE_MAX_MESSAGES per run", async () => {
    vi.stubEnv("RELAY_REDRIVE_MAX_MESSAGES", "2");
    for (const orderRef of ["T-1", "T-2", "T-3"]) await seed(orderRef, exhausted("throttled", 429));
    await seed("X-INVALID", LETTERS["X-INVALID"]);
    const handler = createRedriveHandler();

    const first = await handler({}, context());
    expect(first.moved).toHaveLength(2);
    expect(first.left).toEqual({ "retries-exhausted": 1, invalid: 1 });
    expect(contents(local.queues.orders).visible).toHaveLength(2);
    expect(contents(local.queues.deadLetter)).toMatchObject({ hidden: [], visible: { length: 2 } });

    const second = await handler({}, context());
    expect(second.moved).toHaveLength(1);
    expect(contents(local.queues.orders).visible.map((message) => message.orderRef)).toEqual([
      "T-1",
      "T-2",
      "T-3",
    ]);
    expect(contents(local.queues.deadLetter).visible.map((letter) => letter.orderRef)).toEqual(["X-INVALID"]);

    expect(lines.filter((line) => METRICS.redriven in line).map((line) => line[METRICS.redriven])).toEqual([
      2, 1,
    ]);
  });

  it("sends letters one per request when together they would pass SQS's 1 MiB request limit", async () => {
    // Three letters of 400 KB: each fits the orders queue, the three together not one request.
    for (const orderRef of ["L-1", "L-2", "L-3"]) await seed(orderRef, exhausted("throttled", 429), 400_000);
    const summary = await createRedriveHandler()({}, context());
    expect(summary.failed).toEqual([]);
    expect(summary.moved).toHaveLength(3);
    expect(contents(local.queues.orders).visible.map((m) => m.orderRef)).toEqual(["L-1", "L-2", "L-3"]);
    expect(contents(local.queues.deadLetter)).toEqual({ visible: [], hidden: [] });
  });

  it("keeps a letter in the DLQ, visible, when its send fails", async () => {
    vi.stubEnv("RELAY_ORDERS_QUEUE_URL", `${local.queues.orders.url}-missing`);
    await seed("T-1", exhausted("network", undefined));
    await seed("X-INVALID", LETTERS["X-INVALID"]);
    await expect(createRedriveHandler()({}, context())).rejects.toThrow(/queue/i);
    expect(contents(local.queues.deadLetter)).toMatchObject({
      hidden: [],
      visible: [{ orderRef: "T-1" }, { orderRef: "X-INVALID" }],
    });
  });

  it("receives nothing when the invocation is about to time out", async () => {
    await seed("T-1", exhausted("network", undefined));
    const summary = await createRedriveHandler()({}, context(4_000));
    expect(summary).toEqual({ moved: [], left: {}, failed: [] });
    expect(contents(local.queues.deadLetter)).toMatchObject({ hidden: [], visible: [{ orderRef: "T-1" }] });
    expect(lines.find((line) => METRICS.redriven in line)?.[METRICS.redriven]).toBe(0);
  });
});
