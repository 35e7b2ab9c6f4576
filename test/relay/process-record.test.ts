/**
 * The submit handler's pipeline with in-memory fakes at its edges (ledger, SQS sender, Imburse, metrics):
 * what each path records, counts and sends. The same paths over real protocols: ledger.test.ts.
 */
import { Logger } from "@aws-lambda-powertools/logger";
import type { SQSRecord } from "aws-lambda";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CredentialsUnavailableError } from "../../lib/aws/index.ts";
import {
  DEFAULTS,
  MESSAGE_ATTRIBUTES,
  ORDER_BODY_MAX_BYTES,
  SQS_MAX_MESSAGE_BYTES,
} from "../../lib/config/index.ts";
import { ImburseApiError, ImburseNetworkError } from "../../lib/imburse/index.ts";
import {
  claimedItem,
  LedgerBatchWriter,
  type LedgerItem,
  LedgerUnavailableError,
  type OrderLedger,
} from "../../lib/ledger/index.ts";
import { lambdaContext } from "../../lib/local/index.ts";
import { createBatchHandler } from "../../lib/relay/batch.ts";
import { attributeBytes } from "../../lib/relay/envelope.ts";
import {
  minimumRemainingTimeMarginMs,
  processRecord,
  type RecordDependencies,
  SEND_RESERVE_MS,
} from "../../lib/relay/process-record.ts";
import type { OutgoingMessage } from "../../lib/relay/sender.ts";
import type { RecordEvent, RelayMetrics } from "../../lib/relay/telemetry.ts";
import { captureJsonOutput } from "../support/json-output.ts";
import { order } from "../support/relay-harness.ts";

const NOW = Date.parse("2026-11-30T12:00:00Z");
const ORDERS = "https://sqs.eu-west-1.amazonaws.com/123456789012/imburse-relay-test-Orders";
const RETRY = "https://sqs.eu-west-1.amazonaws.com/123456789012/imburse-relay-test-Retry";
const DLQ = "https://sqs.eu-west-1.amazonaws.com/123456789012/imburse-relay-test-DeadLetter";
const arnOf = (url: string) => `arn:aws:sqs:eu-west-1:123456789012:${url.split("/").pop()}`;

const record = (
  body: unknown,
  id = "m-1",
  source = ORDERS,
  attributes: Record<string, string> = {},
): SQSRecord =>
  ({
    messageId: id,
    receiptHandle: `handle-${id}`,
    body: JSON.stringify(body),
    attributes: {},
    messageAttributes: Object.fromEntries(
      Object.entries(attributes).map(([name, value]) => [name, { dataType: "String", stringValue: value }]),
    ),
    eventSourceARN: arnOf(source),
  }) as unknown as SQSRecord;

/** A retry of `body` from the retry queue: its attempt, first seen `ageMs` ago. */
const retryRecord = (body: unknown, attempt: number, ageMs: number) =>
  record(body, "m-r", RETRY, {
    [MESSAGE_ATTRIBUTES.attempt]: String(attempt),
    [MESSAGE_ATTRIBUTES.firstReceivedAt]: new Date(NOW - ageMs).toISOString(),
  });

/**
 * Imburse refusing or failing a POST with `status` and these error codes, with its correlation id when given;
 * a GET of the order answers `found`.
 */
const refusing = (
  status: number,
  errors: { errorCode: string; message?: string }[] = [],
  { imburseCorrelationId, found = {} }: { imburseCorrelationId?: string; found?: unknown } = {},
) => ({
  createOrder: () =>
    Promise.reject(
      new ImburseApiError({
        status,
        method: "POST",
        path: "/v1/order-management",
        errors,
        ...(imburseCorrelationId ? { imburseCorrelationId } : {}),
      }),
    ),
  getOrder: async () => found,
});

/** A relay whose edges are fakes; `ledger` overrides parts of an in-memory ledger. */
function relay(
  ledgerOverrides: Partial<OrderLedger> = {},
  api?: RecordDependencies["api"],
  extra: Partial<RecordDependencies> = {},
  publish = false,
) {
  const counted: string[] = [];
  /** Each metric call with its arguments (a dimension such as the dead-letter kind). */
  const metricCalls: unknown[][] = [];
  const sent: OutgoingMessage[] = [];
  const visibility: { queueUrl: string; handle: string; seconds: number }[] = [];
  const posted: string[] = [];
  const items = new Map<string, LedgerItem>();
  const ledger: OrderLedger = {
    claim: async (claim) => {
      const item = claimedItem(items.get(claim.orderRef), claim);
      items.set(claim.orderRef, item);
      return { kind: "claimed", item, readFirst: false };
    },
    putIfOwner: async (item) => {
      items.set(item.orderRef, item);
      return true;
    },
    putAll: async (all) => {
      for (const item of all) items.set(item.orderRef, item);
      return [];
    },
    putIfVersion: async () => true,
    putIfUnchanged: async () => true,
    find: async (ref) => [...items.values()].filter((i) => i.orderRef === ref),
    stuck: async () => [],
    dueEvents: async () => [],
    ...ledgerOverrides,
  };
  const metrics = new Proxy({} as RelayMetrics, {
    get:
      (_target, name) =>
      (...args: unknown[]) => {
        counted.push(String(name));
        metricCalls.push([String(name), ...args]);
      },
  });
  const deps: RecordDependencies = {
    settings: {
      ...DEFAULTS,
      retryQueueUrl: RETRY,
      deadLetterQueueUrl: DLQ,
      retryBaseSeconds: 5,
      remainingTimeMarginMs: 10_000,
      maxAttempts: undefined,
      eventsRetryScheduled: false,
      eventsIncludeOrderDetails: false,
    },
    api: api ?? {
      createOrder: async (body) => {
        posted.push((body as { orderRef: string }).orderRef);
        return { status: 201, body: undefined };
      },
      getOrder: async () => ({}),
    },
    ledger,
    tenantId: async () => "tenant-1",
    sender: {
      send: async (message) => {
        sent.push(message);
      },
      changeVisibility: async (queueUrl, handle, seconds) => {
        visibility.push({ queueUrl, handle, seconds });
      },
    },
    logger: new Logger({ serviceName: "test", logLevel: "SILENT" }),
    metrics,
    clock: () => NOW,
    random: () => 0.5,
    newLeaseOwner: () => "owner-1",
    ...extra,
  };
  /** The outcome events published, as their details; events are on when `publish` is given. */
  const published: Array<Record<string, unknown>> = [];
  const handler = createBatchHandler(deps, {
    concurrency: 5,
    sourceQueueUrls: [ORDERS, RETRY],
    ...(publish
      ? {
          publisher: {
            publish: async (entries) => {
              for (const entry of entries) published.push(JSON.parse(entry.detail));
              return { published: entries.map((entry) => entry.id), failed: [] };
            },
          },
        }
      : {}),
  });
  const run = (records: SQSRecord[], remainingMs = 60_000, marginMs = 10_000) => {
    deps.settings = { ...deps.settings, remainingTimeMarginMs: marginMs };
    return handler(
      { Records: records },
      lambdaContext({ functionName: "Submit", timeoutMs: remainingMs, region: "eu-west-1", now: () => NOW }),
    );
  };
  return { run, counted, metricCalls, sent, visibility, posted, items, deps, published };
}

const unavailable = (name = "ProvisionedThroughputExceededException") =>
  new LedgerUnavailableError("the order ledger could not claim the order", {
    cause: Object.assign(new Error("throttled"), { name }),
  });

describe("the submit pipeline at its edges", () => {
  it("submits a clean order: one POST, the completed state written with the batch, counted once", async () => {
    const putAll: LedgerItem[][] = [];
    const r = relay({
      putAll: async (items) => {
        putAll.push(items);
        return [];
      },
    });
    const response = await r.run([record(order("CLEAN-1")), record(order("CLEAN-2"), "m-2")]);
    expect(response.batchItemFailures).toEqual([]);
    expect(r.posted).toEqual(["CLEAN-1", "CLEAN-2"]);
    expect(putAll).toHaveLength(1);
    expect(putAll[0]?.map((i) => [i.orderRef, i.state])).toEqual([
      ["CLEAN-1", "submitted"],
      ["CLEAN-2", "submitted"],
    ]);
    expect(r.counted.filter((m) => m === "submitted")).toHaveLength(2);
    expect(r.sent).toEqual([]);
  });

  it("posts nothing while the ledger fails: the order waits on the retry queue, attempt unchanged, counted", async () => {
    const r = relay({ claim: () => Promise.reject(unavailable()) });
    expect((await r.run([record(order("DOWN-1"))])).batchItemFailures).toEqual([]);
    expect(r.posted).toEqual([]);
    expect(r.sent).toHaveLength(1);
    expect(r.sent[0]).toMatchObject({ queueUrl: RETRY, delaySeconds: 4 });
    expect(r.sent[0]?.attributes[MESSAGE_ATTRIBUTES.attempt]?.StringValue).toBe("1");
    expect(r.counted).toContain("ledgerUnavailable");
  });

  it("fails loudly, posting nothing, when the ledger table is missing or refused: waiting would not help", async () => {
    const r = relay({ claim: () => Promise.reject(unavailable("ResourceNotFoundException")) });
    const response = await r.run([record(order("GONE-1"))]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "m-1" }]);
    expect(r.posted).toEqual([]);
    expect(r.sent).toEqual([]);
  });

  it("hands an order another delivery holds back to its queue until that lease ends, and counts it", async () => {
    const r = relay({ claim: async () => ({ kind: "busy", until: NOW + 42_000 }) });
    const response = await r.run([record(order("HELD-1"), "m-9", RETRY)]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "m-9" }]);
    expect(r.visibility).toEqual([{ queueUrl: RETRY, handle: "handle-m-9", seconds: 42 }]);
    expect(r.counted).toContain("handedBack");
    expect(r.posted).toEqual([]);
  });

  it("hands a record back for 5 s when too little of the invocation is left to start it", async () => {
    const r = relay();
    const response = await r.run([record(order("LATE-1"))], 9_000);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "m-1" }]);
    expect(r.visibility).toEqual([{ queueUrl: ORDERS, handle: "handle-m-1", seconds: 5 }]);
    expect(r.posted).toEqual([]);
  });

  it("still hands back a record from a queue it does not know, leaving the visibility to SQS", async () => {
    const r = relay({ claim: async () => ({ kind: "busy", until: NOW + 42_000 }) });
    const stranger = "https://sqs.eu-west-1.amazonaws.com/123456789012/someone-elses-queue";
    const response = await r.run([record(order("HELD-2"), "m-3", stranger)]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "m-3" }]);
    expect(r.visibility).toEqual([]);
  });

  it("records a retry's state in the ledger before it sends the retry message", async () => {
    const events: string[] = [];
    const r = relay(
      {
        putIfOwner: async (item) => {
          events.push(`ledger ${item.state}`);
          return true;
        },
      },
      refusing(503),
      {
        sender: {
          send: async (message) => {
            events.push(`send ${message.queueUrl === RETRY ? "retry" : message.queueUrl}`);
          },
          changeVisibility: async () => undefined,
        },
      },
    );
    await r.run([record(order("ORDERED-1"))]);
    expect(events).toEqual(["ledger waiting", "send retry"]);
  });

  it.each([
    ["its retry budget", 86_400_000 + 1, "2030-01-01", "retry-budget"],
    ["its earliest settledByDate", 60_000, "2026-11-29", "settled-by-date"],
  ])(
    "dead-letters a retry that arrives after %s without calling Imburse, naming the limit",
    async (_name, ageMs, settledByDate, limit) => {
      const r = relay();
      const body = order("LATE-RETRY-1");
      (body.instructions as Array<Record<string, unknown>>)[0]!.settledByDate = settledByDate;
      const response = await r.run([retryRecord(body, 7, ageMs)]);
      expect(response.batchItemFailures).toEqual([]);
      expect(r.posted).toEqual([]);
      expect(r.sent).toHaveLength(1);
      expect(r.sent[0]?.queueUrl).toBe(DLQ);
      const reason = JSON.parse(r.sent[0]!.attributes[MESSAGE_ATTRIBUTES.deadLetterReason]!.StringValue!);
      expect(reason).toMatchObject({
        kind: "retries-exhausted",
        lastReason: "arrived-late",
        exhausted: { limit },
      });
      expect(r.items.get("LATE-RETRY-1")).toMatchObject({
        state: "dead-lettered",
        deadLetterKind: "retries-exhausted",
      });
    },
  );

  it("still tries a first delivery whose settledByDate has passed (only retries stop at the deadline)", async () => {
    const r = relay();
    const body = order("PAST-FIRST-1");
    (body.instructions as Array<Record<string, unknown>>)[0]!.settledByDate = "2026-11-01";
    await r.run([record(body)]);
    expect(r.posted).toEqual(["PAST-FIRST-1"]);
  });

  it("does not spend an SQS receive on a claim the ledger does not answer in time: the order waits", async () => {
    const r = relay({
      claim: (_claim, options) =>
        new Promise((_resolve, reject) => {
          options?.abortSignal?.addEventListener("abort", () =>
            reject(
              new LedgerUnavailableError("the order ledger could not claim the order", {
                cause: new Error("aborted"),
              }),
            ),
          );
        }),
    });
    // 3.3 s left, 3 s of them kept back: the claim is abandoned after 0.3 s.
    const response = await r.run([record(order("SLOW-CLAIM-1"))], 3_300, 100);
    expect(response.batchItemFailures).toEqual([]);
    expect(r.posted).toEqual([]);
    expect(r.sent[0]).toMatchObject({ queueUrl: RETRY });
    expect(r.counted).toContain("ledgerUnavailable");
  });

  it("lets an order wait on the retry queue while the credentials cannot be read, posting nothing", async () => {
    const r = relay({}, undefined, {
      tenantId: () =>
        Promise.reject(new CredentialsUnavailableError("could not read the Imburse credentials secret")),
    });
    const response = await r.run([record(order("NO-KEY-1"))]);
    expect(response.batchItemFailures).toEqual([]);
    expect(r.posted).toEqual([]);
    expect(r.sent[0]).toMatchObject({ queueUrl: RETRY });
    expect(r.sent[0]?.attributes[MESSAGE_ATTRIBUTES.attempt]?.StringValue).toBe("1");
  });

  it("sends a retry even when the ledger write before it fails", async () => {
    const order503 = refusing(503);
    const events: string[] = [];
    const r = relay(
      {
        putIfOwner: async (item) => {
          events.push(`ledger ${item.state}`);
          throw new Error("DynamoDB is down");
        },
      },
      order503,
    );
    const response = await r.run([record(order("FLAKY-1"))]);
    expect(response.batchItemFailures).toEqual([]);
    expect(events).toEqual(["ledger waiting"]);
    expect(r.sent).toHaveLength(1);
    expect(r.sent[0]?.queueUrl).toBe(RETRY);
    expect(r.counted).toEqual(expect.arrayContaining(["retried", "ledgerUnavailable"]));
  });

  it("counts each completed order the batch could not record, and still acknowledges it (its claim stands)", async () => {
    const r = relay({ putAll: async (items) => items });
    const response = await r.run([record(order("UNREC-1")), record(order("UNREC-2"), "m-2")]);
    expect(response.batchItemFailures).toEqual([]);
    expect(r.counted.filter((m) => m === "ledgerUnavailable")).toHaveLength(2);
  });
});

/** The dead-letter reason a sent message carries. */
const reasonOf = (message: OutgoingMessage | undefined) =>
  JSON.parse(message?.attributes[MESSAGE_ATTRIBUTES.deadLetterReason]?.StringValue ?? "null");

describe("what the dashboards and alarms count", () => {
  it("counts a new order once as received and once as submitted", async () => {
    const r = relay();
    await r.run([record(order("COUNT-1"))]);
    expect(r.metricCalls).toEqual([["received"], ["submitted"]]);
  });

  it("does not count a retry as received again", async () => {
    const r = relay();
    await r.run([retryRecord(order("COUNT-2"), 2, 60_000)]);
    expect(r.metricCalls).toEqual([["submitted"]]);
  });

  it.each([
    ["invalid", record(order("BAD-1", { metadata: { "": "an empty key" } })), undefined],
    ["rejected", record(order("REFUSED-1")), refusing(400, [{ errorCode: "INVALID_SCHEME" }])],
  ] as const)(
    "counts a %s dead letter by its kind: the metric the dead-letter alarm watches",
    async (kind, rec, api) => {
      const r = relay({}, api);
      const response = await r.run([rec]);
      expect(response.batchItemFailures).toEqual([]);
      expect(r.metricCalls).toEqual([["received"], ["deadLettered", kind]]);
      expect(r.sent.map((m) => m.queueUrl)).toEqual([DLQ]);
      expect(reasonOf(r.sent[0])).toMatchObject({ kind });
    },
  );

  it("counts a retry by its reason", async () => {
    const r = relay({}, refusing(503));
    await r.run([record(order("RETRY-1"))]);
    expect(r.metricCalls).toEqual([["received"], ["retried", "server-error"]]);
  });

  it("counts an order Imburse already held with the same content as already existing, not submitted", async () => {
    const body = order("THERE-1");
    const r = relay({}, refusing(400, [{ errorCode: "ORDER_ALREADY_EXISTS" }], { found: body }));
    expect(await r.run([record(body)])).toEqual({ batchItemFailures: [] });
    expect(r.metricCalls).toEqual([["received"], ["alreadyExisted"]]);
    expect(r.items.get("THERE-1")?.state).toBe("already-existed");
  });

  it("counts a duplicate delivery of a completed order, and posts nothing", async () => {
    const r = relay({
      claim: async (claim) => ({
        kind: "duplicate",
        item: { ...claimedItem(undefined, claim), state: "submitted" },
      }),
    });
    const events: RecordEvent[] = [];
    r.deps.observer = { record: (event) => events.push(event) };
    await r.run([record(order("AGAIN-1"))]);
    expect(r.posted).toEqual([]);
    expect(r.sent).toEqual([]);
    expect(r.metricCalls).toEqual([["received"], ["duplicateDelivery"]]);
    expect(events).toEqual([{ type: "duplicate", originMessageId: "m-1", correlationId: "m-1" }]);
  });
});

describe("the dead-letter reason", () => {
  it("lists at most 50 issues of an invalid order and counts the rest", async () => {
    const r = relay();
    const metadata = Object.fromEntries(
      Array.from({ length: 70 }, (_, i) => [`key-${i}-${"k".repeat(100)}`, "v"]),
    );
    await r.run([record(order("MANY-ISSUES-1", { metadata }))]);
    const reason = reasonOf(r.sent[0]);
    expect(reason).toMatchObject({
      kind: "invalid",
      orderRef: "MANY-ISSUES-1",
      attempts: 1,
      originMessageId: "m-1",
    });
    // 70 keys too long, and one issue for too many keys.
    expect(reason.errors).toHaveLength(50);
    expect(reason.truncatedErrors).toBe(21);
    expect(r.metricCalls).toContainEqual(["deadLettered", "invalid"]);
  });

  it("keeps the body of the largest order intact and cuts a long rejection to fit SQS's message limit", async () => {
    const r = relay(
      {},
      refusing(
        400,
        Array.from({ length: 40 }, (_, i) => ({ errorCode: `E${i}`, message: "m".repeat(1_000) })),
      ),
    );
    const text = JSON.stringify(order("HUGE-1"));
    const body = text + " ".repeat(ORDER_BODY_MAX_BYTES - Buffer.byteLength(text));
    const big = { ...record({}), body };
    await r.run([big]);
    const [letter] = r.sent;
    expect(letter?.queueUrl).toBe(DLQ);
    expect(letter?.body).toBe(body);
    expect(Buffer.byteLength(body) + attributeBytes(letter!.attributes)).toBeLessThanOrEqual(
      SQS_MAX_MESSAGE_BYTES,
    );
    const reason = reasonOf(letter);
    expect(reason).toMatchObject({ kind: "rejected", status: 400, orderRef: "HUGE-1", truncated: true });
    expect(reason.errors.length).toBeGreaterThan(0);
    expect(reason.errors.length).toBeLessThan(40);
    expect(reason.errors[0]).toMatchObject({ errorCode: "E0" });
    expect(r.metricCalls).toContainEqual(["deadLettered", "rejected"]);
  });

  it("names the order, its attempts, its first receipt and when it was dead-lettered", async () => {
    const r = relay({}, refusing(400, [{ errorCode: "INVALID_SCHEME" }]));
    await r.run([retryRecord(order("NAMED-1"), 3, 60_000)]);
    expect(reasonOf(r.sent[0])).toEqual({
      kind: "rejected",
      status: 400,
      errors: [{ errorCode: "INVALID_SCHEME" }],
      correlationId: "m-r",
      orderRef: "NAMED-1",
      attempts: 3,
      originMessageId: "m-r",
      firstReceivedAt: new Date(NOW - 60_000).toISOString(),
      deadLetteredAt: new Date(NOW).toISOString(),
    });
    expect(r.sent[0]).toMatchObject({ delaySeconds: 0 });
    expect(r.sent[0]?.attributes[MESSAGE_ATTRIBUTES.attempt]?.StringValue).toBe("3");
    expect(r.items.get("NAMED-1")).toMatchObject({ state: "dead-lettered", deadLetterKind: "rejected" });
  });
});

describe("what the logs tell an operator", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  /** A relay whose logger writes JSON lines, and the lines it wrote. */
  function loggedRelay(...args: Parameters<typeof relay>) {
    vi.stubEnv("POWERTOOLS_DEV", "false");
    const lines = captureJsonOutput();
    const r = relay(args[0], args[1], {
      logger: new Logger({ serviceName: "test", logLevel: "DEBUG" }),
      ...args[2],
    });
    const logged = (level: string, words: string) =>
      lines.filter((l) => l.level === level && String(l.message).includes(words));
    return { ...r, lines, logged };
  }

  it("logs a dead letter as an error with its reason, under the order's correlation id, ref, attempt and message id", async () => {
    const r = loggedRelay({}, refusing(400, [{ errorCode: "INVALID_SCHEME" }]));
    await r.run([retryRecord(order("LOGGED-1"), 2, 60_000)]);
    const [line] = r.logged("ERROR", "dead-lettered");
    expect(line).toMatchObject({
      correlation_id: "m-r",
      order_ref: "LOGGED-1",
      attempt: 2,
      message_id: "m-r",
      reason: {
        kind: "rejected",
        status: 400,
        errors: [{ errorCode: "INVALID_SCHEME" }],
        orderRef: "LOGGED-1",
      },
    });
  });

  it("logs a scheduled retry with what Imburse said and when the order comes back", async () => {
    const r = loggedRelay(
      {},
      refusing(503, [{ errorCode: "SERVICE_UNAVAILABLE" }], { imburseCorrelationId: "IMB-9" }),
    );
    await r.run([record(order("LOGGED-2"))]);
    expect(r.logged("WARN", "retry scheduled")).toEqual([
      expect.objectContaining({
        order_ref: "LOGGED-2",
        reason: "server-error",
        status: 503,
        error_codes: ["SERVICE_UNAVAILABLE"],
        imburse_correlation_id: "IMB-9",
        next_attempt: 2,
        wait_seconds: expect.any(Number),
        may_exist: false,
      }),
    ]);
  });

  it("warns of ignored relay attributes and a correlation id it replaced, naming them", async () => {
    const r = loggedRelay();
    await r.run([
      record(order("LOGGED-3"), "m-1", ORDERS, {
        [MESSAGE_ATTRIBUTES.attempt]: "9",
        [MESSAGE_ATTRIBUTES.correlationId]: "has space",
      }),
    ]);
    expect(r.logged("WARN", "were ignored")).toEqual([
      expect.objectContaining({ ignored: [MESSAGE_ATTRIBUTES.attempt], correlation_id: "m-1" }),
    ]);
    expect(r.logged("WARN", "correlation id")).toHaveLength(1);
    expect(r.logged("INFO", "accepted")).toEqual([expect.objectContaining({ outcome: "submitted" })]);
  });

  it("says why nothing was posted while the ledger or the credentials are unavailable", async () => {
    const ledgerDown = loggedRelay({ claim: () => Promise.reject(unavailable()) });
    await ledgerDown.run([record(order("LOGGED-4"))]);
    expect(ledgerDown.logged("WARN", "ledger unavailable")).toEqual([
      expect.objectContaining({ problem: "the order ledger could not claim the order" }),
    ]);
    expect(ledgerDown.logged("WARN", "until the ledger answers")).toHaveLength(1);
    vi.restoreAllMocks();
    const noKey = loggedRelay({}, undefined, {
      tenantId: () => Promise.reject(new CredentialsUnavailableError("could not read the secret")),
    });
    await noKey.run([record(order("LOGGED-5"))]);
    expect(noKey.logged("WARN", "credentials unavailable")).toEqual([
      expect.objectContaining({ problem: "could not read the secret" }),
    ]);
    expect(noKey.logged("WARN", "until the credentials can be read")).toHaveLength(1);
  });

  it("says when it reads first, when it lost the order to another delivery, and when the ledger write failed", async () => {
    const reading = loggedRelay(
      { claim: async (claim) => ({ kind: "claimed", item: claimedItem(undefined, claim), readFirst: true }) },
      refusing(503),
    );
    await reading.run([record(order("LOGGED-7"))]);
    expect(reading.logged("INFO", "reading the order before posting")).toHaveLength(1);
    vi.restoreAllMocks();
    const superseded = loggedRelay({ putIfOwner: async () => false }, refusing(503));
    await superseded.run([record(order("LOGGED-8"))]);
    expect(superseded.logged("WARN", "took the order over")).toHaveLength(1);
    vi.restoreAllMocks();
    const failed = loggedRelay(
      { putIfOwner: () => Promise.reject(new Error("DynamoDB is down")) },
      refusing(503),
    );
    await failed.run([record(order("LOGGED-9"))]);
    expect(failed.logged("ERROR", "Could not record the order's state")).toEqual([
      expect.objectContaining({ problem: "DynamoDB is down", state: "waiting" }),
    ]);
  });

  it("says the claim stands when the credentials become unreadable during the call", async () => {
    const r = loggedRelay(
      {},
      {
        createOrder: () => Promise.reject(new CredentialsUnavailableError("the secret is gone")),
        getOrder: async () => ({}),
      },
    );
    await r.run([record(order("LOGGED-12"))]);
    expect(r.logged("WARN", "the claim stands")).toEqual([
      expect.objectContaining({ problem: "the secret is gone" }),
    ]);
  });

  it("gives up on credentials that do not arrive before the record's time runs out, and lets the order wait", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    try {
      const r = loggedRelay({}, undefined, { tenantId: () => new Promise<string>(() => undefined) });
      const running = r.run([record(order("LOGGED-13"))], 20_000);
      // 20 s left, 3 s of them kept back for the record's own writes.
      await vi.advanceTimersByTimeAsync(16_999);
      expect(r.sent).toEqual([]);
      await vi.advanceTimersByTimeAsync(1);
      expect((await running).batchItemFailures).toEqual([]);
      expect(r.posted).toEqual([]);
      expect(r.sent[0]).toMatchObject({ queueUrl: RETRY });
      expect(r.logged("WARN", "credentials unavailable")).toEqual([
        expect.objectContaining({ problem: "no answer before the record's time ran out" }),
      ]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("logs how long an order waits when it is sent back to wait", async () => {
    const r = loggedRelay({ claim: () => Promise.reject(unavailable()) });
    await r.run([record(order("LOGGED-10"))]);
    expect(r.logged("WARN", "until the ledger answers")).toEqual([
      expect.objectContaining({ delay_seconds: 4 }),
    ]);
    vi.restoreAllMocks();
    const early = loggedRelay();
    const rec = retryRecord(order("LOGGED-11"), 3, 60_000);
    rec.messageAttributes[MESSAGE_ATTRIBUTES.notBefore] = {
      dataType: "String",
      stringValue: new Date(NOW + 120_000).toISOString(),
    } as never;
    await early.run([rec]);
    expect(early.logged("DEBUG", "not due yet")).toEqual([expect.objectContaining({ delay_seconds: 120 })]);
  });

  it("names the publisher attributes it had to drop to stay within SQS's limits", async () => {
    const r = loggedRelay({}, refusing(503));
    const publisher = Object.fromEntries(Array.from({ length: 7 }, (_, i) => [`x-pub-${i}`, "v"]));
    await r.run([record(order("LOGGED-6"), "m-1", ORDERS, publisher)]);
    // A short retry carries 4 relay attributes (no wait beyond SQS's delay, no unknown outcome): 6 of the
    // publisher's fit.
    expect(r.logged("WARN", "dropped")).toEqual([expect.objectContaining({ dropped: ["x-pub-6"] })]);
    expect(Object.keys(r.sent[0]!.attributes)).toHaveLength(10);
  });
});

describe("the outcome events a record announces", () => {
  const imburse503 = refusing(503, [], { imburseCorrelationId: "IMB-5" });
  const identity = {
    orderRef: "EVT-1",
    tenant: "tenant-1",
    correlationId: "m-1",
    originMessageId: "m-1",
    attempts: 1,
    firstReceivedAt: new Date(NOW).toISOString(),
    decidedAt: new Date(NOW).toISOString(),
    metadata: { source: "test" },
  };

  it("announces a submitted order once its state is written, without order details unless asked", async () => {
    const r = relay({}, undefined, {}, true);
    await r.run([record(order("EVT-1"))]);
    expect(r.published).toEqual([
      expect.objectContaining({ ...identity, outcome: "submitted", kind: null, imburseCorrelationId: null }),
    ]);
    expect(r.published[0]).not.toHaveProperty("instructions");
    // The event rode in the batch's write of the state it announces.
    expect(r.items.get("EVT-1")).toMatchObject({
      state: "submitted",
      outbox: [{ id: r.published[0]?.eventId }],
    });

    const detailed = relay({}, undefined, {}, true);
    detailed.deps.settings = { ...detailed.deps.settings, eventsIncludeOrderDetails: true };
    await detailed.run([record(order("EVT-1"))]);
    expect(detailed.published[0]).toHaveProperty("instructions", [
      expect.objectContaining({ instructionRef: "EVT-1-1", amount: "210.00" }),
    ]);
  });

  it("announces a scheduled retry only when asked to, with when the order is tried next", async () => {
    const quiet = relay({}, imburse503, {}, true);
    await quiet.run([record(order("EVT-1"))]);
    expect(quiet.published).toEqual([]);

    const r = relay({}, imburse503, {}, true);
    r.deps.settings = { ...r.deps.settings, eventsRetryScheduled: true };
    const response = await r.run([record(order("EVT-1"))]);
    const [detail] = r.published;
    expect(detail).toMatchObject({
      ...identity,
      outcome: "retry-scheduled",
      kind: "server-error",
      imburseCorrelationId: "IMB-5",
    });
    const wait = Number(r.sent[0]?.delaySeconds);
    expect(response.batchItemFailures).toEqual([]);
    expect(detail?.nextAttemptAt).toBe(new Date(NOW + wait * 1000).toISOString());
  });

  it("announces a dead letter with its kind, and an invalid order with its tenant and the metadata that passed", async () => {
    const rejected = relay({}, refusing(400, [{ errorCode: "INVALID_SCHEME" }]), {}, true);
    await rejected.run([record(order("EVT-1"))]);
    expect(rejected.published).toEqual([
      expect.objectContaining({ ...identity, outcome: "dead-lettered", kind: "rejected" }),
    ]);

    const invalid = relay({}, undefined, {}, true);
    await invalid.run([record(order("EVT-1", { metadata: { source: "test", "": "empty key" } }))]);
    expect(invalid.published).toEqual([
      expect.objectContaining({ ...identity, outcome: "dead-lettered", kind: "invalid", tenant: "tenant-1" }),
    ]);
    expect(invalid.items.has("EVT-1")).toBe(false);
  });

  it("tells a duplicate delivery the id of the event its order already announced", async () => {
    const first = relay({}, undefined, {}, true);
    await first.run([record(order("EVT-1"))]);
    const submitted = first.items.get("EVT-1")!;
    const events: RecordEvent[] = [];
    const again = relay({ claim: async () => ({ kind: "duplicate", item: submitted }) }, undefined, {}, true);
    again.deps.observer = { record: (event) => events.push(event) };
    await again.run([record(order("EVT-1"))]);
    expect(events).toEqual([
      {
        type: "duplicate",
        originMessageId: "m-1",
        correlationId: "m-1",
        outcomeEventId: first.published[0]?.eventId,
      },
    ]);
  });

  it("hands a record back and takes its event out of the ledger item when the retry cannot be sent", async () => {
    const withdrawn: LedgerItem[] = [];
    const r = relay(
      {
        putIfVersion: async (item) => {
          withdrawn.push(item);
          return true;
        },
      },
      imburse503,
      {
        sender: {
          send: () => Promise.reject(new Error("SQS is down")),
          changeVisibility: async () => undefined,
        },
      },
      true,
    );
    r.deps.settings = { ...r.deps.settings, eventsRetryScheduled: true };
    const response = await r.run([record(order("EVT-1"))]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "m-1" }]);
    expect(r.items.get("EVT-1")?.outbox).toHaveLength(1);
    expect(withdrawn).toHaveLength(1);
    expect(withdrawn[0]?.outbox).toBeUndefined();
    expect(r.published).toEqual([]);
  });
});

describe("what the ledger and the next delivery learn from an attempt", () => {
  const failing = (error: Error) => ({
    createOrder: () => Promise.reject(error),
    getOrder: async () => ({}),
  });
  const timedOut = new ImburseNetworkError({
    code: "ETIMEDOUT",
    method: "POST",
    path: "/v1/order-management",
    timedOut: true,
    mayHaveReachedServer: true,
  });

  it.each<[string, RecordDependencies["api"] | undefined, object]>([
    ["a submission", undefined, { result: "submitted", status: 201 }],
    [
      "a server error",
      failing(
        new ImburseApiError({
          status: 503,
          method: "POST",
          path: "/v1/order-management",
          errors: [{ errorCode: "SERVICE_UNAVAILABLE" }],
          imburseCorrelationId: "IMB-3",
        }),
      ),
      {
        result: "server-error",
        status: 503,
        errorCodes: ["SERVICE_UNAVAILABLE"],
        imburseCorrelationId: "IMB-3",
      },
    ],
    ["a timeout", failing(timedOut), { result: "network", errorCodes: ["ETIMEDOUT"] }],
    [
      "a rejection",
      refusing(422, [{ errorCode: "SCHEME_NOT_FOUND" }, { errorCode: "BAD_COUNTRY" }]),
      { result: "rejected", status: 422, errorCodes: ["SCHEME_NOT_FOUND", "BAD_COUNTRY"] },
    ],
  ])("records %s as the order's last outcome", async (_, api, lastOutcome) => {
    const r = relay({}, api);
    await r.run([record(order("LAST-1"))]);
    expect(r.items.get("LAST-1")?.lastOutcome).toStrictEqual(lastOutcome);
  });

  it("tells the next delivery to read first when this try may have reached Imburse, and records it", async () => {
    const r = relay({}, failing(timedOut));
    await r.run([record(order("MAYBE-1"))]);
    expect(r.sent[0]?.attributes[MESSAGE_ATTRIBUTES.unknownOutcome]?.StringValue).toBe("true");
    expect(r.items.get("MAYBE-1")?.mayExist).toBe(true);
    const refused = relay({}, refusing(503));
    await refused.run([record(order("MAYBE-2"))]);
    expect(refused.sent[0]?.attributes).not.toHaveProperty(MESSAGE_ATTRIBUTES.unknownOutcome);
    expect(refused.items.get("MAYBE-2")?.mayExist).toBe(false);
  });

  it("reads before posting when the ledger or the retry says a try may have reached Imburse, and passes that on", async () => {
    const calls: string[] = [];
    const api = {
      createOrder: async () => {
        calls.push("create");
        throw new ImburseApiError({ status: 503, method: "POST", path: "/v1/order-management", errors: [] });
      },
      getOrder: async () => {
        calls.push("get");
        throw new ImburseApiError({ status: 404, method: "GET", path: "/v1/order-management/R", errors: [] });
      },
    };
    const r = relay(
      {
        claim: async (claim) => ({ kind: "claimed", item: claimedItem(undefined, claim), readFirst: true }),
      },
      api,
    );
    await r.run([record(order("READ-1"))]);
    expect(calls).toEqual(["get", "create"]);
    expect(r.sent[0]?.attributes[MESSAGE_ATTRIBUTES.unknownOutcome]?.StringValue).toBe("true");

    calls.length = 0;
    const retry = relay({}, api);
    const rec = retryRecord(order("READ-2"), 2, 60_000);
    rec.messageAttributes[MESSAGE_ATTRIBUTES.unknownOutcome] = {
      dataType: "String",
      stringValue: "true",
    } as never;
    await retry.run([rec]);
    expect(calls).toEqual(["get", "create"]);
    expect(retry.sent[0]?.attributes[MESSAGE_ATTRIBUTES.unknownOutcome]?.StringValue).toBe("true");
  });

  it("dead-letters an order the relay already submitted with other content, posting nothing", async () => {
    const r = relay({ claim: async (claim) => ({ kind: "conflict", item: claimedItem(undefined, claim) }) });
    const response = await r.run([record(order("CLASH-1"))]);
    expect(response.batchItemFailures).toEqual([]);
    expect(r.posted).toEqual([]);
    expect(reasonOf(r.sent[0])).toMatchObject({ kind: "conflict", orderRef: "CLASH-1" });
    expect(r.metricCalls).toContainEqual(["deadLettered", "conflict"]);
  });

  it("lets the order wait when the credentials become unreadable during the call, the claim standing", async () => {
    const r = relay({}, failing(new CredentialsUnavailableError("the secret is gone")));
    const response = await r.run([record(order("KEYLESS-1"))]);
    expect(response.batchItemFailures).toEqual([]);
    expect(r.sent[0]).toMatchObject({ queueUrl: RETRY });
    expect(r.sent[0]?.attributes[MESSAGE_ATTRIBUTES.attempt]?.StringValue).toBe("1");
    expect(r.items.get("KEYLESS-1")?.state).toBe("claimed");
  });

  it("sends a retry that is not due yet back to wait, unchanged, calling nothing", async () => {
    const r = relay();
    const rec = retryRecord(order("EARLY-1"), 3, 60_000);
    const notBefore = new Date(NOW + 3_600_000).toISOString();
    rec.messageAttributes[MESSAGE_ATTRIBUTES.notBefore] = {
      dataType: "String",
      stringValue: notBefore,
    } as never;
    const response = await r.run([rec]);
    expect(response.batchItemFailures).toEqual([]);
    expect(r.posted).toEqual([]);
    expect(r.items.size).toBe(0);
    expect(r.metricCalls).toEqual([]);
    expect(r.sent[0]).toMatchObject({ queueUrl: RETRY, delaySeconds: 900 });
    expect(r.sent[0]?.attributes[MESSAGE_ATTRIBUTES.attempt]?.StringValue).toBe("3");
    expect(r.sent[0]?.attributes[MESSAGE_ATTRIBUTES.notBefore]?.StringValue).toBe(notBefore);
  });

  it("still sends the retry, but announces nothing, when another delivery took the order over meanwhile", async () => {
    const r = relay({ putIfOwner: async () => false }, refusing(503), {}, true);
    r.deps.settings = { ...r.deps.settings, eventsRetryScheduled: true };
    const response = await r.run([record(order("TAKEN-1"))]);
    expect(response.batchItemFailures).toEqual([]);
    expect(r.sent[0]).toMatchObject({ queueUrl: RETRY });
    expect(r.published).toEqual([]);
  });

  it("tells an in-process observer each final outcome, with the reason of a dead letter", async () => {
    const events: RecordEvent[] = [];
    const r = relay({}, refusing(400, [{ errorCode: "INVALID_SCHEME" }]), {}, true);
    r.deps.observer = { record: (event) => events.push(event) };
    await r.run([record(order("SEEN-1"))]);
    expect(events).toEqual([
      {
        type: "final",
        outcome: "rejected",
        originMessageId: "m-1",
        orderRef: "SEEN-1",
        correlationId: "m-1",
        attempts: 1,
        reason: expect.objectContaining({ kind: "rejected", orderRef: "SEEN-1" }),
        outcomeEventId: r.published[0]?.eventId,
      },
    ]);
  });
});

describe("processRecord's answer for each path", () => {
  /** Runs one record through processRecord itself, with the trace annotations it made. */
  async function processOne(r: ReturnType<typeof relay>, rec: SQSRecord) {
    const annotations: Array<[string, string]> = [];
    const result = await processRecord(rec, r.deps, {
      ledgerWrites: new LedgerBatchWriter(r.deps.ledger, r.deps.clock),
      remainingMs: () => 60_000,
      annotate: (key, value) => annotations.push([key, value]),
    });
    return { result, annotations };
  }

  it("answers submitted, and annotates the trace with the correlation id and the orderRef", async () => {
    expect(await processOne(relay(), record(order("ANS-1")))).toEqual({
      result: { status: "submitted" },
      annotations: [
        ["correlationId", "m-1"],
        ["orderRef", "ANS-1"],
      ],
    });
  });

  it("annotates no orderRef for a body that names none", async () => {
    const { result, annotations } = await processOne(relay(), record({ nothing: true }));
    expect(result).toEqual({ status: "dead-lettered", kind: "invalid" });
    expect(annotations).toEqual([["correlationId", "m-1"]]);
  });

  it.each<[string, () => ReturnType<typeof relay>, SQSRecord, object]>([
    [
      "already-existed",
      () => relay({}, refusing(409, [], { found: order("ANS-2") })),
      record(order("ANS-2")),
      { status: "already-existed" },
    ],
    [
      "a retry",
      () => relay({}, refusing(503)),
      record(order("ANS-3")),
      { status: "retry-scheduled", nextAttempt: 2, delaySeconds: expect.any(Number) },
    ],
    [
      "a dead letter",
      () => relay({}, refusing(422)),
      record(order("ANS-4")),
      { status: "dead-lettered", kind: "rejected" },
    ],
    [
      "a wait for the ledger",
      () => relay({ claim: () => Promise.reject(unavailable()) }),
      record(order("ANS-5")),
      { status: "deferred", delaySeconds: 4 },
    ],
  ])("answers %s", async (_, make, rec, expected) => {
    expect((await processOne(make(), rec)).result).toEqual(expected);
  });
});

describe("the edges of the record's limits", () => {
  it("lists exactly 50 issues without a count of dropped ones", async () => {
    const r = relay();
    const metadata = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`key-${i}-${"k".repeat(100)}`, "v"]),
    );
    await r.run([record(order("FIFTY-1", { metadata }))]);
    const reason = reasonOf(r.sent[0]);
    expect(reason.errors).toHaveLength(50);
    expect(reason).not.toHaveProperty("truncatedErrors");
  });

  it("dead-letters a retry that arrives exactly at its retry budget, recording why", async () => {
    const r = relay();
    await r.run([retryRecord(order("EDGE-1"), 2, DEFAULTS.retryBudgetSeconds * 1000)]);
    expect(r.posted).toEqual([]);
    expect(reasonOf(r.sent[0])).toMatchObject({ kind: "retries-exhausted", lastReason: "arrived-late" });
    expect(r.items.get("EDGE-1")?.lastOutcome).toStrictEqual({ result: "deadline-passed" });
  });

  it("records that an order given up after a timeout may exist at Imburse, and not after a 503", async () => {
    const timedOut = new ImburseNetworkError({
      code: "ETIMEDOUT",
      method: "POST",
      path: "/v1/order-management",
      timedOut: true,
      mayHaveReachedServer: true,
    });
    const r = relay({}, { createOrder: () => Promise.reject(timedOut), getOrder: async () => ({}) });
    r.deps.settings = { ...r.deps.settings, maxAttempts: 1 };
    await r.run([record(order("GIVEN-UP-1"))]);
    expect(reasonOf(r.sent[0])).toMatchObject({ kind: "retries-exhausted", mayExistInImburse: true });
    expect(r.items.get("GIVEN-UP-1")).toMatchObject({ state: "dead-lettered", mayExist: true });
    const plain = relay({}, refusing(503));
    plain.deps.settings = { ...plain.deps.settings, maxAttempts: 1 };
    await plain.run([record(order("GIVEN-UP-2"))]);
    expect(plain.items.get("GIVEN-UP-2")).toMatchObject({ state: "dead-lettered", mayExist: false });
  });

  it("keeps a large publisher attribute on the dead letter, where SQS leaves room, and drops it from a retry", async () => {
    const text = JSON.stringify(order("ROOM-1"));
    const body = text + " ".repeat(ORDER_BODY_MAX_BYTES - Buffer.byteLength(text));
    const big = { ...record({}, "m-1", ORDERS, { "x-big": "b".repeat(8_000) }), body };
    const retried = relay({}, refusing(503));
    await retried.run([big]);
    expect(retried.sent[0]?.queueUrl).toBe(RETRY);
    expect(retried.sent[0]?.attributes).not.toHaveProperty("x-big");
    const lettered = relay({}, refusing(422));
    await lettered.run([big]);
    expect(lettered.sent[0]?.queueUrl).toBe(DLQ);
    expect(lettered.sent[0]?.attributes).toHaveProperty("x-big");
  });

  it("publishes, on a later delivery, an event its order's earlier delivery left due", async () => {
    const first = relay({}, undefined, {}, true);
    await first.run([record(order("DUE-1"))]);
    const left = first.items.get("DUE-1")!;
    const late = (minutes: number) => {
      const r = relay(
        { claim: async () => ({ kind: "duplicate", item: left }) },
        undefined,
        {
          clock: () => NOW + minutes * 60_000,
        },
        true,
      );
      return r;
    };
    const soon = late(0);
    await soon.run([record(order("DUE-1"))]);
    expect(soon.published).toEqual([]);
    const later = late(60);
    await later.run([record(order("DUE-1"))]);
    expect(later.published.map((detail) => detail.eventId)).toEqual([first.published[0]?.eventId]);
  });

  it("tells a duplicate of an order that already existed the id of that outcome's event", async () => {
    const body = order("WAS-THERE-1");
    const first = relay({}, refusing(409, [], { found: body }), {}, true);
    await first.run([record(body)]);
    expect(first.published[0]).toMatchObject({ outcome: "already-existed" });
    const events: RecordEvent[] = [];
    const again = relay(
      { claim: async () => ({ kind: "duplicate", item: first.items.get("WAS-THERE-1")! }) },
      undefined,
      {},
      true,
    );
    again.deps.observer = { record: (event) => events.push(event) };
    await again.run([record(body)]);
    expect(events[0]).toMatchObject({ type: "duplicate", outcomeEventId: first.published[0]?.eventId });
  });
});

describe("more of what a record tells the ledger, the observer and the logs", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  const loggedLines = () => {
    vi.stubEnv("POWERTOOLS_DEV", "false");
    const lines = captureJsonOutput();
    return { lines, logger: new Logger({ serviceName: "test", logLevel: "DEBUG" }) };
  };

  it("warns of nothing for a clean order", async () => {
    const { lines, logger } = loggedLines();
    const r = relay({}, undefined, { logger });
    await r.run([record(order("QUIET-1"), "m-1", ORDERS, { "x-pub": "v" })]);
    expect(r.posted).toEqual(["QUIET-1"]);
    expect(lines.filter((l) => l.level === "WARN" || l.level === "ERROR")).toEqual([]);
  });

  it("says why it handed a record back: another delivery's lease, or too little time", async () => {
    const { lines, logger } = loggedLines();
    const busy = relay({ claim: async () => ({ kind: "busy", until: NOW + 42_000 }) }, undefined, { logger });
    await busy.run([record(order("BACK-1"))]);
    const late = relay({}, undefined, { logger });
    await late.run([record(order("BACK-2"))], 9_000);
    expect(lines.filter((l) => String(l.message).includes("handed back")).map((l) => l.why)).toEqual([
      "another delivery holds the order's lease for 42 s",
      "too little of the invocation is left to start it",
    ]);
  });

  it("logs a duplicate delivery as acknowledged without calling Imburse", async () => {
    const { lines, logger } = loggedLines();
    const r = relay(
      {
        claim: async (claim) => ({
          kind: "duplicate",
          item: { ...claimedItem(undefined, claim), state: "submitted" },
        }),
      },
      undefined,
      { logger },
    );
    await r.run([record(order("DUP-LOG-1"))]);
    expect(
      lines.filter((l) => l.level === "INFO" && String(l.message).includes("duplicate delivery")),
    ).toHaveLength(1);
  });

  it("starts a record with exactly the margin left", async () => {
    const r = relay();
    await r.run([record(order("MARGIN-1"))], 10_000, 10_000);
    expect(r.posted).toEqual(["MARGIN-1"]);
  });

  it("claims the order for its tenant, with this delivery's identity, for the lease the settings give", async () => {
    const claims: unknown[] = [];
    const r = relay({
      claim: async (claim) => {
        claims.push(claim);
        return { kind: "claimed", item: claimedItem(undefined, claim), readFirst: false };
      },
    });
    await r.run([retryRecord(order("CLAIM-1"), 2, 60_000)]);
    expect(claims).toEqual([
      expect.objectContaining({
        orderRef: "CLAIM-1",
        tenantId: "tenant-1",
        correlationId: "m-r",
        attempt: 2,
        firstReceivedAt: NOW - 60_000,
        owner: "owner-1",
        now: NOW,
        leaseMs: DEFAULTS.leaseSeconds * 1000,
        ttlSeconds: DEFAULTS.ledgerTtlSeconds,
      }),
    ]);
  });

  it("records an order that already existed without a status of its own", async () => {
    const body = order("EXISTED-1");
    const r = relay({}, refusing(409, [], { found: body }));
    await r.run([record(body)]);
    expect(r.items.get("EXISTED-1")?.lastOutcome).toStrictEqual({ result: "already-existed" });
  });

  it("tells the observer of a scheduled retry, and of Imburse's correlation id on a final outcome", async () => {
    const events: RecordEvent[] = [];
    const retry = relay({}, refusing(503));
    retry.deps.observer = { record: (event) => events.push(event) };
    await retry.run([record(order("OBS-1"))]);
    expect(events).toEqual([
      {
        type: "retry-scheduled",
        originMessageId: "m-1",
        correlationId: "m-1",
        nextAttempt: 2,
        delaySeconds: expect.any(Number),
        reason: "server-error",
      },
    ]);
    events.length = 0;
    const refused = relay({}, refusing(422, [], { imburseCorrelationId: "IMB-7" }));
    refused.deps.observer = { record: (event) => events.push(event) };
    await refused.run([record(order("OBS-2"))]);
    expect(events).toEqual([
      expect.objectContaining({ type: "final", outcome: "rejected", imburseCorrelationId: "IMB-7" }),
    ]);
  });

  it("works with an observer that watches nothing of records", async () => {
    const r = relay();
    r.deps.observer = {};
    expect((await r.run([record(order("OBS-3"))])).batchItemFailures).toEqual([]);
  });

  it("validates against the metadata limits of its settings", async () => {
    const r = relay();
    r.deps.settings = { ...r.deps.settings, metadataMaxKeys: 1 };
    await r.run([record(order("LIMIT-1", { metadata: { a: "1", b: "2" } }))]);
    expect(reasonOf(r.sent[0])).toMatchObject({
      kind: "invalid",
      errors: [{ path: "metadata", code: "too_many" }],
    });
  });
});

describe("the remaining paths of a record", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
    vi.useRealTimers();
  });

  it("needs a margin that lets a record started at it finish a read and a post", () => {
    expect(minimumRemainingTimeMarginMs(8_000)).toBe(SEND_RESERVE_MS + 16_000);
  });

  it("counts no dropped issues for an invalid order with few of them", async () => {
    const r = relay();
    await r.run([record(order("FEW-1", { metadata: { "": "an empty key" } }))]);
    expect(reasonOf(r.sent[0])).not.toHaveProperty("truncatedErrors");
  });

  it("fails loudly on an error that is not Imburse's (a bug): the record goes back, nothing is sent", async () => {
    const r = relay(
      {},
      { createOrder: () => Promise.reject(new TypeError("bug")), getOrder: async () => ({}) },
    );
    const response = await r.run([record(order("BUG-1"))]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: "m-1" }]);
    expect(r.sent).toEqual([]);
  });

  it("records Imburse's correlation id with a rejection", async () => {
    const r = relay({}, refusing(422, [{ errorCode: "X" }], { imburseCorrelationId: "IMB-8" }));
    await r.run([record(order("REJ-ID-1"))]);
    expect(r.items.get("REJ-ID-1")?.lastOutcome).toStrictEqual({
      result: "rejected",
      status: 422,
      errorCodes: ["X"],
      imburseCorrelationId: "IMB-8",
    });
  });

  it("keeps no outcome event in the ledger while events are off", async () => {
    const r = relay({}, refusing(503));
    r.deps.settings = { ...r.deps.settings, eventsRetryScheduled: true };
    await r.run([record(order("NO-EVENTS-1"))]);
    expect(r.items.get("NO-EVENTS-1")).toMatchObject({ state: "waiting" });
    expect(r.items.get("NO-EVENTS-1")).not.toHaveProperty("outbox");
  });

  it("answers a duplicate as such", async () => {
    const r = relay({
      claim: async (claim) => ({
        kind: "duplicate",
        item: { ...claimedItem(undefined, claim), state: "submitted" },
      }),
    });
    const result = await processRecord(record(order("DUP-ANS-1")), r.deps, {
      ledgerWrites: new LedgerBatchWriter(r.deps.ledger, r.deps.clock),
      remainingMs: () => 60_000,
    });
    expect(result).toEqual({ status: "duplicate" });
  });

  it("logs neither a read first nor dropped attributes on a plain retry, and how long a keyless order waits", async () => {
    vi.stubEnv("POWERTOOLS_DEV", "false");
    const lines = captureJsonOutput();
    const logger = new Logger({ serviceName: "test", logLevel: "DEBUG" });
    const r = relay({}, refusing(503), { logger });
    await r.run([record(order("PLAIN-1"), "m-1", ORDERS, { "x-pub": "v" })]);
    expect(r.sent[0]?.attributes).toHaveProperty("x-pub");
    expect(lines.filter((l) => /dropped|before posting/.test(String(l.message)))).toEqual([]);
    const keyless = relay({}, undefined, {
      logger,
      tenantId: () => Promise.reject(new CredentialsUnavailableError("no secret")),
    });
    await keyless.run([record(order("PLAIN-2"))]);
    expect(lines.filter((l) => String(l.message).includes("until the credentials can be read"))).toEqual([
      expect.objectContaining({ delay_seconds: expect.any(Number) }),
    ]);
  });

  it("waits the sweep's delay before a later delivery publishes what an earlier one left due, also after a ledger conflict", async () => {
    const first = relay({}, undefined, {}, true);
    await first.run([record(order("DUE-2"))]);
    const left = first.items.get("DUE-2")!;
    const at = (minutes: number, kind: "duplicate" | "conflict", events = true) =>
      relay(
        { claim: async () => ({ kind, item: left }) },
        undefined,
        { clock: () => NOW + minutes * 60_000 },
        events,
      );
    // The sweep waits 2 minutes: an event due for 1 is only not recorded as published yet.
    const early = at(1, "duplicate");
    await early.run([record(order("DUE-2"))]);
    expect(early.published).toEqual([]);
    const conflict = at(60, "conflict");
    await conflict.run([record(order("DUE-2"))]);
    // Beside its own dead letter's event, the conflict publishes the submitted order's event still due.
    expect(conflict.published.map((detail) => detail.outcome)).toEqual(["submitted", "dead-lettered"]);
    expect(conflict.published[0]?.eventId).toBe(first.published[0]?.eventId);
    const eventsOff = at(60, "duplicate", false);
    expect((await eventsOff.run([record(order("DUE-2"))])).batchItemFailures).toEqual([]);
  });

  it("bounds the tenant lookup of an invalid order's event by the record's time, and leaves no timer behind", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    const r = relay({}, undefined, { tenantId: () => new Promise<string>(() => undefined) }, true);
    const running = r.run([record(order("SLOW-TENANT-1", { metadata: { "": "x" } }))], 20_000);
    await vi.advanceTimersByTimeAsync(16_999);
    expect(r.sent).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await running;
    expect(r.sent[0]?.queueUrl).toBe(DLQ);
    expect(r.published).toEqual([expect.objectContaining({ kind: "invalid", tenant: null })]);

    const quick = relay();
    await quick.run([record(order("QUICK-1"))]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
