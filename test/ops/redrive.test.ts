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
import {
  classifyDeadLetter,
  DEFAULT_REDRIVE_KINDS,
  type DeadLetterMessage,
  lastFailureWasTransient,
  planRedrive,
  REDRIVE_KINDS,
} from "../../lib/ops/redrive.ts";
import { createRedriveHandler } from "../../lib/ops/redrive-handler.ts";
import type { DeadLetterReason } from "../../lib/relay/index.ts";
import { DEMO_CREDENTIALS } from "../../lib/simulator/index.ts";
import { captureJsonOutput } from "../support/json-output.ts";

const str = (value: string): MessageAttributeValue => ({ DataType: "String", StringValue: value });

/** A dead-letter reason as the relay writes it. */
function reason(orderRef: string, cause: DeadLetterCause): DeadLetterReason {
  return {
    ...cause,
    correlationId: `corr-${orderRef}`,
    orderRef,
    attempts: cause.kind === "retries-exhausted" ? 3 : 1,
    originMessageId: `origin-${orderRef}`,
    firstReceivedAt: "2026-01-01T00:00:00.000Z",
    deadLetteredAt: "2026-01-01T00:05:00.000Z",
  };
}

const exhausted = (
  lastReason: "throttled" | "server-error" | "network",
  lastStatus: number | undefined,
): DeadLetterCause => ({
  kind: "retries-exhausted",
  lastReason,
  lastStatus,
  mayExistInImburse: false,
  lastErrorCodes: lastStatus === undefined ? ["ECONNRESET"] : [`HTTP_${lastStatus}`],
  imburseCorrelationId: undefined,
});

/** One dead letter of every kind; the first three are the only ones the scheduled redrive may move. */
const LETTERS: Record<string, DeadLetterCause | undefined> = {
  "T-429": exhausted("throttled", 429),
  "T-503": exhausted("server-error", 503),
  "T-NET": exhausted("network", undefined),
  "X-400": exhausted("server-error", 400),
  "X-INVALID": { kind: "invalid", errors: [{ path: "orderRef", code: "required", message: "is required" }] },
  "X-REJECTED": {
    kind: "rejected",
    status: 422,
    errors: [{ errorCode: "X" }],
    imburseCorrelationId: "IMB-1",
  },
  "X-CONFLICT": { kind: "conflict", detail: "differs", differences: ["amount"] },
  "X-POISON": undefined,
};

describe("lastFailureWasTransient", () => {
  it("accepts retries-exhausted letters whose last failure was throttling, a 5xx or the network", () => {
    const letter = (cause: DeadLetterCause) => ({ kind: cause.kind, reason: reason("R", cause) });
    expect(lastFailureWasTransient(letter(exhausted("throttled", 429)))).toBe(true);
    expect(lastFailureWasTransient(letter(exhausted("server-error", 500)))).toBe(true);
    expect(lastFailureWasTransient(letter(exhausted("network", undefined)))).toBe(true);
    expect(lastFailureWasTransient(letter(exhausted("server-error", 400)))).toBe(false);
    expect(lastFailureWasTransient(letter(exhausted("throttled", 404)))).toBe(false);
    const odd = { ...exhausted("network", undefined), lastReason: "rejected" } as unknown as DeadLetterCause;
    expect(lastFailureWasTransient(letter(odd))).toBe(false);
    expect(lastFailureWasTransient(letter(LETTERS["X-REJECTED"]!))).toBe(false);
    expect(lastFailureWasTransient({ kind: "unknown", reason: undefined })).toBe(false);
  });

  it("leaves a letter whose settledByDate passed, and one that arrived late, for a person", () => {
    const letter = (cause: DeadLetterCause) => ({ kind: cause.kind, reason: reason("R", cause) });
    const deadline = "2026-12-01T00:00:00.000Z";
    const exhaustedBy = (limit: "settled-by-date" | "retry-budget", lastReason = "server-error") =>
      ({
        ...exhausted("server-error", 503),
        lastReason,
        exhausted: { limit, deadline },
      }) as DeadLetterCause;
    expect(lastFailureWasTransient(letter(exhaustedBy("settled-by-date")))).toBe(false);
    expect(lastFailureWasTransient(letter(exhaustedBy("retry-budget")))).toBe(true);
    expect(lastFailureWasTransient(letter(exhaustedBy("retry-budget", "arrived-late")))).toBe(false);
  });
});

describe("lastFailureWasTransient: the statuses and reasons that agree", () => {
  const letter = (lastReason: string, lastStatus: number | null | undefined) => {
    const cause = {
      ...exhausted("server-error", undefined),
      lastReason,
      lastStatus,
    } as unknown as DeadLetterCause;
    return { kind: cause.kind, reason: reason("R", cause) };
  };

  it.each([
    [500, true],
    [599, true],
    [429, true],
    [null, true],
    [499, false],
    [600, false],
    [428, false],
  ])("with the last status %j: %j", (status, expected) => {
    expect(lastFailureWasTransient(letter("server-error", status))).toBe(expected);
  });

  it.each(["auth", "exists", "not-found", "rejected", "unexpected", "pending"])(
    "leaves a letter whose last reason was %s for a person",
    (lastReason) => {
      expect(lastFailureWasTransient(letter(lastReason, undefined))).toBe(false);
    },
  );
});

describe("planRedrive", () => {
  const relayAttributes = {
    [MESSAGE_ATTRIBUTES.attempt]: { DataType: "Number", StringValue: "4" },
    [MESSAGE_ATTRIBUTES.firstReceivedAt]: str("2026-01-01T00:00:00.000Z"),
    [MESSAGE_ATTRIBUTES.notBefore]: str("2026-01-01T00:10:00.000Z"),
    [MESSAGE_ATTRIBUTES.unknownOutcome]: str("true"),
  };
  const letter = (cause: DeadLetterCause, attributes: Record<string, MessageAttributeValue> = {}) => ({
    MessageId: "dlq-7",
    Body: '{"orderRef":"P-1"}',
    MessageAttributes: {
      [MESSAGE_ATTRIBUTES.deadLetterReason]: str(JSON.stringify(reason("P-1", cause))),
      ...relayAttributes,
      ...attributes,
    },
  });

  it("moves only retries-exhausted letters by default", () => {
    expect(DEFAULT_REDRIVE_KINDS).toEqual(["retries-exhausted"]);
    expect(planRedrive(letter(exhausted("throttled", 429)), DEFAULT_REDRIVE_KINDS).action).toBe("redrive");
    expect(planRedrive(letter(LETTERS["X-CONFLICT"]!), DEFAULT_REDRIVE_KINDS)).toMatchObject({
      action: "skip",
      kind: "conflict",
    });
  });

  it("of the chosen kinds, moves only what the filter accepts", () => {
    const transient = letter(exhausted("throttled", 429));
    const permanent = letter(exhausted("server-error", 400));
    expect(planRedrive(transient, ["retries-exhausted"], lastFailureWasTransient).action).toBe("redrive");
    expect(planRedrive(permanent, ["retries-exhausted"], lastFailureWasTransient)).toMatchObject({
      action: "skip",
      kind: "retries-exhausted",
      reason: { orderRef: "P-1" },
    });
  });

  it("sends the order as new: the relay's attempt, wait, first receipt, read-first mark and reason are dropped", () => {
    const plan = planRedrive(
      letter(exhausted("network", undefined), {
        "x-blob": {
          DataType: "Binary",
          BinaryValue: new Uint8Array([7]),
          StringListValues: [],
          BinaryListValues: [],
        },
      }),
      ["retries-exhausted"],
    );
    expect(plan.action === "redrive" && plan.message).toStrictEqual({
      body: '{"orderRef":"P-1"}',
      attributes: {
        // Not on the message: taken from the reason.
        [MESSAGE_ATTRIBUTES.correlationId]: str("corr-P-1"),
        [MESSAGE_ATTRIBUTES.originMessageId]: str("origin-P-1"),
        "x-blob": { DataType: "Binary", BinaryValue: new Uint8Array([7]) },
      },
    });
  });

  it("prefers the message's own ids to the reason's, and ignores blank ones", () => {
    const own = planRedrive(
      letter(exhausted("network", undefined), {
        [MESSAGE_ATTRIBUTES.correlationId]: str("corr-own"),
        [MESSAGE_ATTRIBUTES.originMessageId]: str("origin-own"),
      }),
      ["retries-exhausted"],
    );
    expect(own.action === "redrive" && own.message.attributes).toMatchObject({
      [MESSAGE_ATTRIBUTES.correlationId]: str("corr-own"),
      [MESSAGE_ATTRIBUTES.originMessageId]: str("origin-own"),
    });
    const blank = planRedrive(
      letter(exhausted("network", undefined), {
        [MESSAGE_ATTRIBUTES.correlationId]: str("  "),
        [MESSAGE_ATTRIBUTES.originMessageId]: str(""),
      }),
      ["retries-exhausted"],
    );
    expect(blank.action === "redrive" && blank.message.attributes).toMatchObject({
      [MESSAGE_ATTRIBUTES.correlationId]: str("corr-P-1"),
      [MESSAGE_ATTRIBUTES.originMessageId]: str("origin-P-1"),
    });
  });

  it("moves every letter when an operator chooses every kind, and none when they choose none", () => {
    const letters = Object.entries(LETTERS).map(
      ([ref, cause]): DeadLetterMessage => ({
        MessageId: `dlq-${ref}`,
        Body: "{}",
        MessageAttributes: cause
          ? { [MESSAGE_ATTRIBUTES.deadLetterReason]: str(JSON.stringify(reason(ref, cause))) }
          : {},
      }),
    );
    expect(letters.map((m) => planRedrive(m, REDRIVE_KINDS).action)).toEqual(letters.map(() => "redrive"));
    expect(new Set(letters.map((m) => classifyDeadLetter(m).kind))).toEqual(new Set(REDRIVE_KINDS));
    expect(letters.map((m) => planRedrive(m, []).action)).toEqual(letters.map(() => "skip"));
  });

  it("ignores ids sent as binary, and sends no origin id when there is none", () => {
    const plan = planRedrive(
      {
        MessageAttributes: {
          [MESSAGE_ATTRIBUTES.correlationId]: { DataType: "Binary", BinaryValue: new Uint8Array([1]) },
        },
      },
      ["unknown"],
    );
    expect(plan.action === "redrive" && plan.message.attributes).toStrictEqual({});
  });

  it("redrives a message without a body or a correlation id as an empty body under its own id", () => {
    const plan = planRedrive({ MessageId: "m-0" }, ["unknown"]);
    expect(plan).toEqual({
      action: "redrive",
      kind: "unknown",
      reason: undefined,
      message: { body: "", attributes: { [MESSAGE_ATTRIBUTES.originMessageId]: str("m-0") } },
    });
    expect(classifyDeadLetter({ MessageId: "m-0", MessageAttributes: {} }).kind).toBe("unknown");
  });
});

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
