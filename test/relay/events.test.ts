/**
 * Outcome events end to end: the real submit handler on fauxqs, dynalite, the Secrets Manager stand-in, the
 * Imburse simulator and the EventBridge stand-in (the real SDK client over HTTP).
 */
import { DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { sqsClient } from "../../lib/aws/index.ts";
import { DEFAULTS, LEDGER_TABLE } from "../../lib/config/index.ts";
import type { OutcomeDetail } from "../../lib/events/index.ts";
import { createOutboxSweepHandler, outcomeDetailJsonSchema } from "../../lib/events/index.ts";
import { ImburseClient, staticCredentials } from "../../lib/imburse/index.ts";
import type { LedgerItem } from "../../lib/ledger/index.ts";
import type { DeliveredEvent } from "../../lib/local/index.ts";
import { lambdaContext } from "../../lib/local/index.ts";
import { type MessageSender, sqsMessageSender } from "../../lib/relay/sender.ts";
import { DEMO_CREDENTIALS } from "../../lib/simulator/index.ts";
import { order, type RelayHarness, startRelayHarness } from "../support/relay-harness.ts";

const validate = new Ajv2020({ strict: true, allErrors: true }).compile(outcomeDetailJsonSchema());
const SWEEP_AFTER_MS = DEFAULTS.outboxSweepAfterSeconds * 1000;

let relay: RelayHarness;
const queue = (name: "orders" | "retry" | "deadLetter") => relay.local.queues[name];
const events = (): DeliveredEvent[] => relay.local.eventBridge.events(relay.local.eventBusName);
const details = () => events().map((event) => event.detail as unknown as OutcomeDetail);
const detailOf = (orderRef: string) => details().filter((detail) => detail.orderRef === orderRef);
const ddb = () => new DynamoDBClient({ endpoint: relay.local.dynamoEndpoint, region: "us-east-1" });

async function ledgerItem(orderRef: string): Promise<LedgerItem | undefined> {
  const client = ddb();
  const read = await DynamoDBDocumentClient.from(client).send(
    new GetCommand({
      TableName: relay.local.tableName,
      Key: { orderRef, tenantId: DEMO_CREDENTIALS.tenantId },
    }),
  );
  client.destroy();
  return read.Item as LedgerItem | undefined;
}

/** Items with events still due, read from the outbox index. */
async function outboxDue(): Promise<number> {
  const client = ddb();
  let count = 0;
  for (let shard = 0; shard < 4; shard++) {
    const page = await client.send(
      new QueryCommand({
        TableName: relay.local.tableName,
        IndexName: LEDGER_TABLE.outboxIndex.name,
        KeyConditionExpression: "outboxShard = :shard",
        ExpressionAttributeValues: { ":shard": { S: String(shard) } },
      }),
    );
    count += page.Count ?? 0;
  }
  client.destroy();
  return count;
}

/** Runs the scheduled outbox sweep once, `afterMs` after the relay's clock. */
async function sweep(afterMs = SWEEP_AFTER_MS) {
  const handler = createOutboxSweepHandler({ clock: () => relay.clock.now + afterMs });
  return handler({}, lambdaContext({ functionName: "OutboxSweep", timeoutMs: 60_000, region: "us-east-1" }));
}

afterEach(async () => {
  await relay?.stop();
});

describe("outcome events", () => {
  beforeEach(async () => {
    relay = await startRelayHarness({
      simulator: { faults: "create[ref^=REJECT-]:400:code=SCHEME_NOT_FOUND,create[ref^=DOWN-]:503" },
      settings: { maxAttempts: 1 },
    });
  });

  it("every terminal outcome yields exactly one event with the right detail; a duplicate none", async () => {
    // Created earlier by another path: the relay's POST meets ORDER_ALREADY_EXISTS, then the GET agrees.
    const earlier = order("EXISTS-5", { metadata: { system: "claims" } });
    await new ImburseClient({
      baseUrl: relay.simulator.url,
      credentials: staticCredentials({ ...DEMO_CREDENTIALS }),
    }).createOrder(earlier);

    const ok = await relay.publish(
      order("OK-1", { metadata: { system: "claims", claimId: "C-1" } }),
      "corr-ok",
    );
    await relay.publish(order("REJECT-2", { metadata: { system: "claims" } }), "corr-reject");
    await relay.publish(order("DOWN-3"), "corr-down");
    const invalid = await relay.publish(
      order("BAD-4", { metadata: { system: "claims", note: "card 4111 1111 1111 1111" }, amount: 1 }),
      "corr-bad",
    );
    const noRef = await relay.publish('{"instructions": [', "corr-noref");
    await relay.publish(earlier, "corr-exists");
    await relay.deliver(queue("orders"));
    // A duplicate of OK-1, and OK-1's orderRef with other content.
    await relay.publish(order("OK-1", { metadata: { system: "claims", claimId: "C-1" } }), "corr-dup");
    await relay.publish(order("OK-1", { metadata: { system: "other" } }), "corr-conflict");
    await relay.deliver(queue("orders"));

    expect(
      details()
        .map((d) => [d.orderRef, d.outcome, d.kind])
        .sort(),
    ).toEqual(
      [
        ["OK-1", "submitted", null],
        ["REJECT-2", "dead-lettered", "rejected"],
        ["DOWN-3", "dead-lettered", "retries-exhausted"],
        ["BAD-4", "dead-lettered", "invalid"],
        [null, "dead-lettered", "invalid"],
        ["EXISTS-5", "already-existed", null],
        ["OK-1", "dead-lettered", "conflict"],
      ].sort(),
    );
    expect(new Set(details().map((d) => d.eventId)).size).toBe(events().length);
    for (const event of events()) {
      expect(event.source).toBe("imburse-relay");
      expect(validate(event.detail), JSON.stringify(validate.errors)).toBe(true);
      // No amounts and no customer refs by default.
      // (a space in the card number: the details' random ids may contain "4111")
      expect(JSON.stringify(event.detail)).not.toMatch(/210\.00|CUST-1|4111 1111/);
    }
    const [submitted] = detailOf("OK-1").filter((d) => d.outcome === "submitted");
    const item = await ledgerItem("OK-1");
    expect(submitted).toMatchObject({
      tenant: DEMO_CREDENTIALS.tenantId,
      correlationId: "corr-ok",
      originMessageId: ok,
      attempts: 1,
      metadata: { system: "claims", claimId: "C-1" },
      decidedAt: new Date(relay.clock.now).toISOString(),
    });
    expect(events().find((e) => e.detail.eventId === submitted?.eventId)?.["detail-type"]).toBe(
      "Order Submitted",
    );
    expect(new Date(submitted!.firstReceivedAt).getTime()).toBe(item?.firstReceivedAt);
    const [rejected] = detailOf("REJECT-2");
    expect(rejected?.reason).toMatchObject({ kind: "rejected", codes: ["SCHEME_NOT_FOUND"] });
    expect(rejected?.imburseCorrelationId).toEqual(expect.any(String));
    const [bad] = detailOf("BAD-4");
    // The refused value is not echoed, the entry that passed is.
    expect(bad).toMatchObject({
      metadata: { system: "claims" },
      originMessageId: invalid,
      tenant: DEMO_CREDENTIALS.tenantId,
    });
    expect(bad?.reason?.paths).toContain("metadata.note");
    expect(details().find((d) => d.orderRef === null)).toMatchObject({
      originMessageId: noRef,
      metadata: {},
    });
    // The dead-lettered conflict marks its own event; the completed item keeps its own state.
    expect(detailOf("OK-1").find((d) => d.outcome === "dead-lettered")?.correlationId).toBe("corr-conflict");
  });

  it("a conflict found at Imburse is announced without the amounts its differences quote", async () => {
    const theirs = order("DIFF-6");
    (theirs.instructions as Array<Record<string, unknown>>)[0]!.amount = "999.99";
    await new ImburseClient({
      baseUrl: relay.simulator.url,
      credentials: staticCredentials({ ...DEMO_CREDENTIALS }),
    }).createOrder(theirs);
    await relay.publish(order("DIFF-6"), "corr-diff");
    await relay.deliver(queue("orders"));
    const [dead] = relay.queued(queue("deadLetter"));
    // The dead-letter reason keeps the sentences for a person…
    expect(JSON.stringify(dead?.reason)).toContain("999.99");
    // …the event, which goes to the archive, the alarm e-mail and every subscriber, does not.
    const [detail] = detailOf("DIFF-6");
    expect(detail).toMatchObject({ outcome: "dead-lettered", kind: "conflict" });
    expect(JSON.stringify(detail)).not.toMatch(/999\.99|210\.00/);
  });

  it("a PutEvents failure is retried: one event per outcome, and the orders' outcomes unchanged", async () => {
    // Every attempt of the SDK fails (an outage of EventBridge), then one entry is refused on its own.
    relay.local.eventBridge.failNext(3);
    await relay.publish(order("OK-1"), "corr-1");
    await relay.publish(order("REJECT-2"), "corr-2");
    // No ledger item keeps an invalid order: its event gets one of its own when it cannot be published.
    await relay.publish(order("BAD-3", { amount: 1 }), "corr-3");
    const { response } = await relay.deliver(queue("orders"));
    expect(response.batchItemFailures).toEqual([]);
    expect(events()).toEqual([]);
    expect(await ledgerItem("OK-1")).toMatchObject({ state: "submitted" });
    const deadLetters = relay.queued(queue("deadLetter")).map((m) => m.reason?.kind);
    expect(deadLetters.sort()).toEqual(["invalid", "rejected"]);
    expect(await outboxDue()).toBe(3);
    const failedLog = relay
      .logs()
      .find(
        (l) => l.message === "Outcome events could not be published; they stay due in the ledger's outbox",
      );
    expect(failedLog?.event_ids).toHaveLength(3);

    // Not yet due for the sweep: nothing goes out twice while a first publish may still be recorded.
    expect(await sweep(SWEEP_AFTER_MS - 1)).toMatchObject({ items: 0 });
    relay.local.eventBridge.failEntries(1);
    expect(await sweep()).toMatchObject({ items: 3, published: 3, failed: 0 });
    expect(details().map((d) => `${d.orderRef} ${d.correlationId}`)).toEqual(
      expect.arrayContaining(["OK-1 corr-1", "REJECT-2 corr-2", "BAD-3 corr-3"]),
    );
    expect(await outboxDue()).toBe(0);
    expect(await sweep()).toMatchObject({ items: 0 });
    expect(events()).toHaveLength(3);
    expect(await ledgerItem("OK-1")).toMatchObject({ state: "submitted" });
    expect(relay.queued(queue("deadLetter"))).toHaveLength(2);
  });
});

describe("a dead letter whose message could not be sent", () => {
  it("announces nothing: the event is withdrawn from the ledger and the record goes back to SQS", async () => {
    let failDeadLetters = true;
    let real: MessageSender | undefined;
    const sender = (): MessageSender => {
      real ??= sqsMessageSender(sqsClient());
      return real;
    };
    relay = await startRelayHarness({
      simulator: { faults: "create[ref^=REJECT-]:400:code=SCHEME_NOT_FOUND" },
      overrides: {
        sender: {
          send: async (message, options) => {
            if (failDeadLetters && message.queueUrl === queue("deadLetter").url)
              throw new Error("SQS is down");
            return sender().send(message, options);
          },
          changeVisibility: (...args) => sender().changeVisibility(...args),
        },
      },
    });
    await relay.publish(order("REJECT-1"), "corr-1");
    const { response } = await relay.deliver(queue("orders"));
    expect(response.batchItemFailures).toHaveLength(1);
    expect(events()).toEqual([]);
    expect(await ledgerItem("REJECT-1")).not.toHaveProperty("outbox");
    expect(await sweep()).toMatchObject({ items: 0 });
    failDeadLetters = false;
  });
});

describe("settings", () => {
  it("publishes retries and order details only when asked to", async () => {
    relay = await startRelayHarness({
      simulator: { faults: "create[ref^=FLAKY-]:503:times=1" },
      settings: { eventsRetryScheduled: "true", eventsIncludeOrderDetails: "true" },
    });
    await relay.publish(order("FLAKY-1"), "corr-flaky");
    await relay.deliver(queue("orders"));
    const [retry] = details();
    const [queued] = relay.queued(queue("retry"));
    expect(retry).toMatchObject({
      outcome: "retry-scheduled",
      kind: "server-error",
      attempts: 1,
      nextAttemptAt: new Date(relay.clock.now + queued!.delaySeconds * 1000).toISOString(),
    });
    expect(events()[0]?.["detail-type"]).toBe("Order Retry Scheduled");
    // Recorded at once: a waiting item may be claimed again, so only on its version.
    expect(await ledgerItem("FLAKY-1")).not.toHaveProperty("outbox");
    await relay.deliverQueued(queue("retry"));
    const submitted = details().find((d) => d.outcome === "submitted");
    expect(submitted).toMatchObject({
      attempts: 2,
      instructions: [
        { instructionRef: "FLAKY-1-1", customerRef: "CUST-1", amount: "210.00", currency: "EUR" },
      ],
    });
    expect(validate(submitted), JSON.stringify(validate.errors)).toBe(true);
    expect(submitted?.eventId).not.toBe(retry?.eventId);
  });
});

describe("the outbox's cost", () => {
  it("adds no DynamoDB request: two batches of ten clean orders cost 22, the first's events recorded in the second's write", async () => {
    relay = await startRelayHarness();
    const batch = async (prefix: string) => {
      for (let i = 0; i < 10; i++) await relay.publish(order(`${prefix}-${i}`), `corr-${prefix}-${i}`);
      const records = [];
      while (records.length < 10) records.push(...(await relay.deliver(queue("orders"))).records);
    };
    const before = relay.local.dynamoRequests();
    await batch("FIRST");
    await batch("SECOND");
    expect(relay.local.dynamoRequests() - before).toBe(22);
    expect(events()).toHaveLength(20);
    expect(relay.local.eventBridge.calls.PutEvents).toBe(2);
    expect(await ledgerItem("FIRST-0")).not.toHaveProperty("outbox");
    // The last batch's are recorded by the next invocation (or published again by the sweep).
    expect(await ledgerItem("SECOND-0")).toMatchObject({ outbox: [expect.anything()] });
  });
});

describe("the outbox", () => {
  it("keeps the event when the handler stops between the ledger write and PutEvents: it still arrives, once", async () => {
    // The function dies right after its batch's ledger write (a crash, a timeout): PutEvents never happens.
    relay = await startRelayHarness({
      overrides: {
        publisher: {
          publish: () => {
            throw new Error("the function stopped here");
          },
        },
      },
    });
    await relay.publish(order("OK-1"), "corr-1");
    await relay.publish(order("OK-2"), "corr-2");
    await expect(relay.deliver(queue("orders"))).rejects.toThrow("the function stopped here");
    expect(await ledgerItem("OK-1")).toMatchObject({ state: "submitted", outbox: [expect.anything()] });
    expect(events()).toEqual([]);

    await sweep();
    expect(
      details()
        .map((d) => d.orderRef)
        .sort(),
    ).toEqual(["OK-1", "OK-2"]);
    expect(await ledgerItem("OK-1")).not.toHaveProperty("outbox");
    await sweep();
    expect(events()).toHaveLength(2);
  });

  it("the order's next delivery republishes what is still due, with the same id, and only once", async () => {
    let stopped = true;
    relay = await startRelayHarness();
    const real = (await import("../../lib/events/index.ts")).eventBridgePublisher;
    const { EventBridgeClient } = await import("@aws-sdk/client-eventbridge");
    const client = new EventBridgeClient({});
    const publisher = real(client, relay.local.eventBusName);
    const { createSubmitHandler } = await import("../../lib/relay/index.ts");
    const handler = createSubmitHandler({
      clock: () => relay.clock.now,
      random: () => 0,
      publisher: {
        publish: (entries, options) => {
          if (stopped) throw new Error("the function stopped here");
          return publisher.publish(entries, options);
        },
      },
    });
    const deliver = async () => {
      const { ReceiveMessageCommand } = await import("@aws-sdk/client-sqs");
      const { toSqsRecord } = await import("../../lib/local/index.ts");
      const received = await relay.sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue("orders").url,
          MaxNumberOfMessages: 10,
          MessageAttributeNames: ["All"],
        }),
      );
      const records = (received.Messages ?? []).map((m) => toSqsRecord(m, queue("orders"), "us-east-1"));
      return handler(
        { Records: records },
        lambdaContext({ functionName: "Submit", timeoutMs: 60_000, region: "us-east-1" }),
      );
    };
    await relay.publish(order("OK-1"), "corr-1");
    await expect(deliver()).rejects.toThrow("the function stopped here");
    stopped = false;
    // Published again at once, the duplicate finds the event due only moments ago: not republished yet.
    await relay.publish(order("OK-1"), "corr-dup-1");
    await deliver();
    expect(events()).toEqual([]);
    relay.clock.now += SWEEP_AFTER_MS;
    await relay.publish(order("OK-1"), "corr-dup-2");
    await deliver();
    expect(details().map((d) => [d.orderRef, d.correlationId])).toEqual([["OK-1", "corr-1"]]);
    // Recorded lazily, in the next invocation's batched write.
    await relay.publish(order("OK-3"), "corr-3");
    await deliver();
    expect(await ledgerItem("OK-1")).not.toHaveProperty("outbox");
    relay.clock.now += SWEEP_AFTER_MS;
    await sweep();
    expect(detailOf("OK-1")).toHaveLength(1);
    client.destroy();
  });
});
