import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { type FauxqsServer, startFauxqs } from "fauxqs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { regionOfQueueUrl } from "../../lib/cli/options.ts";
import { MESSAGE_ATTRIBUTES } from "../../lib/config/index.ts";
import { classifyDeadLetter, planRedrive } from "../../lib/ops/index.ts";
import type { DeadLetterReason } from "../../lib/relay/index.ts";
import {
  describeDeadLetter,
  messageBytes,
  parseOrdersFile,
  parseOrdersLine,
  publishAttributes,
  toBatches,
} from "../../lib/tools/index.ts";
import { runCli } from "../support/run-cli.ts";

const SCHEME = "0123456789ABCDEF0123456789ABCDEF";
const order = (orderRef: string, amount = "10.00") => ({
  orderRef,
  instructions: [
    {
      instructionRef: `${orderRef}-1`,
      customerRef: "c-1",
      direction: "CREDIT",
      amount,
      currency: "GBP",
      country: "GB",
      settledByDate: "2030-06-30",
      schemeId: SCHEME,
    },
  ],
});

const str = (value: string) => ({ DataType: "String", StringValue: value });

function reason(kind: DeadLetterReason["kind"], orderRef: string, correlationId: string): DeadLetterReason {
  const common = {
    correlationId,
    orderRef,
    attempts: kind === "retries-exhausted" ? 4 : 1,
    originMessageId: `origin-${orderRef}`,
    firstReceivedAt: "2026-01-01T00:00:00.000Z",
    deadLetteredAt: "2026-01-01T00:01:00.000Z",
  };
  switch (kind) {
    case "retries-exhausted":
      return {
        ...common,
        kind,
        lastReason: "server-error",
        lastStatus: 503,
        mayExistInImburse: false,
        lastErrorCodes: ["SERVICE_UNAVAILABLE"],
        imburseCorrelationId: "IMB-1",
      };
    case "invalid":
      return {
        ...common,
        kind,
        errors: [
          {
            path: "instructions[0].amount",
            code: "amount_too_precise",
            message: "must have at most 2 fraction digits",
          },
        ],
      };
    case "rejected":
      return {
        ...common,
        kind,
        status: 400,
        errors: [{ errorCode: "SCHEME_NOT_FOUND" }],
        imburseCorrelationId: "IMB-2",
      };
    case "conflict":
      return { ...common, kind, detail: "different content", differences: ["amount 1.00 ≠ 2.00"] };
  }
}

/** The attributes the relay puts on a dead letter, plus one of the publisher's. */
function deadLetterAttributes(r: DeadLetterReason) {
  return {
    [MESSAGE_ATTRIBUTES.correlationId]: str(r.correlationId),
    [MESSAGE_ATTRIBUTES.attempt]: { DataType: "Number", StringValue: String(r.attempts) },
    [MESSAGE_ATTRIBUTES.firstReceivedAt]: str(r.firstReceivedAt),
    [MESSAGE_ATTRIBUTES.originMessageId]: str(r.originMessageId),
    [MESSAGE_ATTRIBUTES.deadLetterReason]: str(JSON.stringify(r)),
    "x-publisher": str("billing"),
  };
}

describe("orders file, batching and redrive planning", () => {
  it("parses lines, skips blanks, and reports lines that are not order lines with their number", () => {
    const text = [
      JSON.stringify({ body: order("A-1"), correlationId: "c1" }),
      "",
      JSON.stringify({ body: "raw text" }),
      "[1, 2]",
      JSON.stringify({ body: order("A-4"), correlationID: "typo" }),
      JSON.stringify({ correlationId: "c5" }),
      JSON.stringify({ body: null }),
      JSON.stringify({ body: order("A-8"), correlationId: "  " }),
      "{oops",
    ].join("\r\n");
    const lines = parseOrdersFile(text);
    expect(lines.map((line) => line.line)).toEqual([1, 3, 4, 5, 6, 7, 8, 9]);
    expect(lines[0]).toEqual({ line: 1, ok: true, body: JSON.stringify(order("A-1")), correlationId: "c1" });
    expect(lines[1]).toEqual({ line: 3, ok: true, body: "raw text" });
    const problems = lines.filter((line) => !line.ok).map((line) => [line.line, line.problem]);
    expect(problems).toEqual([
      [4, expect.stringContaining("not a JSON object")],
      [5, expect.stringContaining('unknown field "correlationID"')],
      [6, '"body" is missing'],
      [7, '"body" must be an order object or a string sent verbatim'],
      [8, "correlationId must be a non-empty string"],
      [9, expect.stringContaining("not valid JSON")],
    ]);
    expect(lines.find((line) => line.line === 6)).toMatchObject({ correlationId: "c5" });
  });

  it("passes an object body on as written, so the relay sees repeated keys and deep nesting", () => {
    const body = '{ "orderRef": "A-1", "metadata": {"k": "1", "k": "2"} }';
    expect(parseOrdersLine(`{"correlationId": "c", "body": ${body} }`, 1)).toEqual({
      line: 1,
      ok: true,
      body: body.trim(),
      correlationId: "c",
    });
    const deep = `{"orderRef":"D",${"[".repeat(5000).replace(/^/, '"x":')}${"]".repeat(5000)}}`;
    expect(parseOrdersLine(`{"body":${deep}}`, 2)).toEqual({ line: 2, ok: true, body: deep });
    expect(parseOrdersLine('{"body": {"orderRef": "A"}, "body": {"orderRef": "B"}}', 3)).toMatchObject({
      ok: false,
      problem: 'field "body" appears more than once',
    });
    expect(parseOrdersLine('{"body": {}, "4012888888881881": 1}', 4)).toMatchObject({
      ok: false,
      problem: expect.stringContaining('unknown field "4012…1881 (card number)"'),
    });
  });

  it("splits publishes into batches of at most 10 entries and 256 KiB", () => {
    const small = Array.from({ length: 23 }, (_, i) => ({ line: i + 1, body: "x" }));
    expect(toBatches(small).map((batch) => batch.length)).toEqual([10, 10, 3]);
    const big = "y".repeat(100_000);
    const large = Array.from({ length: 5 }, (_, i) => ({ line: i + 1, body: big, correlationId: "c" }));
    expect(toBatches(large).map((batch) => batch.map((entry) => entry.line))).toEqual([[1, 2], [3, 4], [5]]);
    expect(messageBytes("ab", publishAttributes({ line: 1, body: "ab", correlationId: "c" }))).toBe(
      2 + "x-correlation-id".length + "String".length + 1,
    );
    expect(publishAttributes({ line: 1, body: "" })).toEqual({});
  });

  it("redrives the chosen kinds with the body verbatim, identity kept and attempts reset", () => {
    const r = reason("retries-exhausted", "R-1", "corr-r");
    const message = {
      MessageId: "dlq-1",
      Body: '{"orderRef":"R-1"}',
      MessageAttributes: deadLetterAttributes(r),
    };
    const plan = planRedrive(message, ["retries-exhausted"]);
    expect(plan).toMatchObject({ action: "redrive", kind: "retries-exhausted" });
    expect(plan.action === "redrive" && plan.message).toEqual({
      body: '{"orderRef":"R-1"}',
      attributes: {
        [MESSAGE_ATTRIBUTES.correlationId]: str("corr-r"),
        [MESSAGE_ATTRIBUTES.originMessageId]: str("origin-R-1"),
        "x-publisher": str("billing"),
      },
    });
    expect(planRedrive(message, ["invalid", "rejected"])).toMatchObject({
      action: "skip",
      kind: "retries-exhausted",
    });
  });

  it("treats a message without a relay reason as kind unknown and keeps its id as the origin", () => {
    const message = {
      MessageId: "m-9",
      Body: "{}",
      MessageAttributes: { [MESSAGE_ATTRIBUTES.correlationId]: str("c9") },
    };
    expect(classifyDeadLetter(message)).toEqual({ kind: "unknown", reason: undefined });
    const plan = planRedrive(message, ["unknown"]);
    expect(plan.action === "redrive" && plan.message.attributes).toEqual({
      [MESSAGE_ATTRIBUTES.correlationId]: str("c9"),
      [MESSAGE_ATTRIBUTES.originMessageId]: str("m-9"),
    });
  });

  it("describes reasons without quoting order content", () => {
    expect(describeDeadLetter(reason("retries-exhausted", "R", "c"))).toEqual([
      "gave up after 4 attempts; last failure server-error HTTP 503 SERVICE_UNAVAILABLE (Imburse correlation id IMB-1)",
    ]);
    const many: DeadLetterReason = {
      ...reason("invalid", "I", "c"),
      kind: "invalid",
      errors: Array.from({ length: 7 }, (_, i) => ({
        path: `p${i}`,
        code: "required" as const,
        message: "is required",
      })),
      truncatedErrors: 3,
    };
    const lines = describeDeadLetter(many);
    expect(lines).toHaveLength(6);
    expect(lines[5]).toBe("… and 5 more");
  });

  it("reads the region of AWS, legacy and local queue URLs", () => {
    expect(regionOfQueueUrl("https://sqs.eu-west-1.amazonaws.com/123456789012/q")).toBe("eu-west-1");
    expect(regionOfQueueUrl("https://ap-southeast-2.queue.amazonaws.com/123456789012/q")).toBe(
      "ap-southeast-2",
    );
    expect(regionOfQueueUrl("http://sqs.us-east-1.127.0.0.1:4566/000000000000/q")).toBe("us-east-1");
    expect(regionOfQueueUrl("http://127.0.0.1:4566/000000000000/q")).toBeUndefined();
  });
});

describe("publish and dlq against fauxqs", () => {
  let fauxqs: FauxqsServer;
  let endpoint: string;
  let dir: string;
  let sqs: SQSClient;
  let orders: { queueUrl: string; queueName: string };
  let dlq: { queueUrl: string; queueName: string };
  const env = { AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_REGION: undefined };

  beforeAll(async () => {
    fauxqs = await startFauxqs({ port: 0, host: "127.0.0.1", logger: false });
    endpoint = `http://127.0.0.1:${fauxqs.port}`;
    orders = fauxqs.createQueue("ops-orders");
    dlq = fauxqs.createQueue("ops-dlq");
    dir = await mkdtemp(join(tmpdir(), "imburse-relay-ops-"));
    sqs = new SQSClient({
      endpoint,
      region: "us-east-1",
      useQueueUrlAsEndpoint: false,
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    });
  });
  afterAll(async () => {
    sqs?.destroy();
    await fauxqs?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => fauxqs.reset());

  const queued = (name: string) => {
    const state = fauxqs.inspectQueue(name);
    return [
      ...(state?.messages.ready ?? []),
      ...(state?.messages.delayed ?? []),
      ...(state?.messages.inflight ?? []).map((m) => m.message),
    ];
  };
  const file = async (name: string, lines: unknown[]) => {
    const path = join(dir, name);
    await writeFile(
      path,
      lines.map((line) => (typeof line === "string" ? line : JSON.stringify(line))).join("\n"),
    );
    return path;
  };

  it("publishes every line with its correlation id and reports each message id", async () => {
    const path = await file("ok.jsonl", [
      { body: order("P-1"), correlationId: "corr-p1" },
      { body: order("P-2") },
      { body: order("P-3"), correlationId: "corr-p3" },
    ]);
    const run = await runCli(["publish", "--endpoint", endpoint, "--queue-url", orders.queueUrl, path], {
      env,
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const sent = [...run.stdout.matchAll(/^line (\d): sent (\S+)$/gm)].map((m) => [Number(m[1]), m[2]]);
    expect(sent.map(([line]) => line)).toEqual([1, 2, 3]);
    expect(run.stdout).toContain(`Sent 3 of 3 lines to ${orders.queueUrl}.`);

    const messages = queued(orders.queueName);
    expect(messages.map((m) => m.messageId).sort()).toEqual(sent.map(([, id]) => id).sort());
    const byBody = new Map(messages.map((m) => [m.body, m.messageAttributes]));
    expect(byBody.get(JSON.stringify(order("P-1")))).toEqual({
      [MESSAGE_ATTRIBUTES.correlationId]: str("corr-p1"),
    });
    expect(byBody.get(JSON.stringify(order("P-2")))).toEqual({});
  });

  it("sends nothing when a line is invalid, and sends the orders with --allow-invalid", async () => {
    const path = await file("mixed.jsonl", [
      { body: order("V-1") },
      "{not json",
      { body: order("V-3", "1.234"), correlationId: "corr-v3" },
    ]);
    const refused = await runCli(["publish", "--endpoint", endpoint, "--queue-url", orders.queueUrl, path], {
      env,
    });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("line 2: not valid JSON");
    expect(refused.stderr).toContain(
      "line 3: invalid order: instructions[0].amount: must have at most 2 fraction digits",
    );
    expect(refused.stderr).toMatch(/^error: 2 of 3 lines are invalid; nothing was sent/m);
    expect(queued(orders.queueName)).toEqual([]);

    const allowed = await runCli(
      ["publish", "--allow-invalid", "--endpoint", endpoint, "--queue-url", orders.queueUrl, path],
      { env },
    );
    // The skipped line was never sent: the command fails, as local mode does for an unpublishable line.
    expect(allowed.code).toBe(1);
    expect(allowed.stdout).toContain("Sent 2 of 3 lines");
    expect(allowed.stdout).toContain("1 skipped (not order lines)");
    expect(
      queued(orders.queueName)
        .map((m) => m.body)
        .sort(),
    ).toEqual([JSON.stringify(order("V-1")), JSON.stringify(order("V-3", "1.234"))].sort());
  });

  it("fails with one line when the queue does not exist", async () => {
    const path = await file("one.jsonl", [{ body: order("N-1") }]);
    const missing = orders.queueUrl.replace("ops-orders", "no-such-queue");
    const run = await runCli(["publish", "--endpoint", endpoint, "--queue-url", missing, path], { env });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
    expect(run.stderr).toMatch(/^error: QueueDoesNotExist/);
  });

  const seedDeadLetters = () => {
    const reasons = [
      reason("retries-exhausted", "DOWN-1", "corr-down-1"),
      reason("invalid", "BAD-2", "corr-bad-2"),
      reason("retries-exhausted", "DOWN-3", "corr-down-3"),
      reason("rejected", "REJ-4", "corr-rej-4"),
    ];
    for (const r of reasons) {
      fauxqs.sendMessage(dlq.queueName, JSON.stringify({ orderRef: r.orderRef }), {
        messageAttributes: deadLetterAttributes(r),
      });
    }
    fauxqs.sendMessage(dlq.queueName, "poison", {
      messageAttributes: { [MESSAGE_ATTRIBUTES.correlationId]: str("corr-poison") },
    });
  };

  it("peeks at dead letters with their reasons without consuming them", async () => {
    seedDeadLetters();
    const run = await runCli(["dlq", "peek", "--endpoint", endpoint, "--queue-url", dlq.queueUrl], { env });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /retries-exhausted {2}orderRef DOWN-1 {2}correlation corr-down-1 {2}attempts 4/,
    );
    expect(run.stdout).toContain(
      "last failure server-error HTTP 503 SERVICE_UNAVAILABLE (Imburse correlation id IMB-1)",
    );
    expect(run.stdout).toContain(
      "instructions[0].amount: must have at most 2 fraction digits [amount_too_precise]",
    );
    expect(run.stdout).toContain("Imburse answered HTTP 400: SCHEME_NOT_FOUND");
    expect(run.stdout).toMatch(/unknown {2}orderRef - {2}correlation corr-poison/);
    expect(run.stdout).toContain("5 dead-lettered messages shown; none consumed.");
    expect(run.stdout).not.toContain("poison\n");

    // Still there and visible at once.
    const again = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq.queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    );
    expect(again.Messages).toHaveLength(5);

    const json = await runCli(
      ["dlq", "peek", "--json", "--max", "2", "--endpoint", endpoint, "--queue-url", dlq.queueUrl],
      {
        env,
      },
    );
    const rows = json.stdout
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({
      kind: expect.any(String),
      messageId: expect.any(String),
      details: expect.any(Array),
    });
  });

  it("redrives only the chosen kinds, rewritten, and leaves the rest visible in the DLQ", async () => {
    seedDeadLetters();
    const run = await runCli(
      ["dlq", "redrive", "--endpoint", endpoint, "--queue-url", dlq.queueUrl, "--to", orders.queueUrl],
      { env },
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^moved \S+ \(retries-exhausted, orderRef DOWN-1, correlation corr-down-1\) as \S+$/m,
    );
    expect(run.stdout).toContain("Moved 2 messages (retries-exhausted)");
    expect(run.stdout).toMatch(/left in the DLQ: (?=.*invalid 1)(?=.*rejected 1)(?=.*unknown 1)/);

    const moved = queued(orders.queueName).sort((a, b) => a.body.localeCompare(b.body));
    expect(moved.map((m) => [m.body, m.messageAttributes])).toEqual([
      [
        JSON.stringify({ orderRef: "DOWN-1" }),
        {
          [MESSAGE_ATTRIBUTES.correlationId]: str("corr-down-1"),
          [MESSAGE_ATTRIBUTES.originMessageId]: str("origin-DOWN-1"),
          "x-publisher": str("billing"),
        },
      ],
      [
        JSON.stringify({ orderRef: "DOWN-3" }),
        {
          [MESSAGE_ATTRIBUTES.correlationId]: str("corr-down-3"),
          [MESSAGE_ATTRIBUTES.originMessageId]: str("origin-DOWN-3"),
          "x-publisher": str("billing"),
        },
      ],
    ]);
    const left = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: dlq.queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 0,
        MessageAttributeNames: ["All"],
      }),
    );
    expect(
      left.Messages?.map((m) => m.MessageAttributes?.[MESSAGE_ATTRIBUTES.correlationId]?.StringValue).sort(),
    ).toEqual(["corr-bad-2", "corr-poison", "corr-rej-4"]);

    const one = await runCli(
      [
        "dlq",
        "redrive",
        "--kind",
        "invalid",
        "unknown",
        "--max",
        "1",
        "--endpoint",
        endpoint,
        "--queue-url",
        dlq.queueUrl,
        "--to",
        orders.queueUrl,
      ],
      { env },
    );
    expect(one.code).toBe(0);
    expect(one.stdout).toContain("Moved 1 message (invalid, unknown)");
    expect(queued(dlq.queueName)).toHaveLength(2);
  });
});
