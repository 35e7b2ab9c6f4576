/**
 * The order ledger end to end: real handlers on fauxqs, dynalite, the Secrets Manager stand-in and the
 * simulator over loopback HTTP; one of them in a process of its own that is killed mid-flight.
 */
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  ChangeMessageVisibilityCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
} from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { MESSAGE_ATTRIBUTES } from "../../lib/config/index.ts";
import { ImburseClient, staticCredentials, TokenCache } from "../../lib/imburse/index.ts";
import { dynamoDbLedger, type LedgerItem } from "../../lib/ledger/index.ts";
import { lambdaContext, toSqsRecord } from "../../lib/local/index.ts";
import { redriveDeadLetters } from "../../lib/ops/index.ts";
import { createSubmitHandler } from "../../lib/relay/submit-handler.ts";
import { DEMO_CREDENTIALS } from "../../lib/simulator/index.ts";
import { startOutageProxy } from "../support/outage-proxy.ts";
import { order, type RelayHarness, startRelayHarness } from "../support/relay-harness.ts";

let relay: RelayHarness;
const queue = (name: "orders" | "retry" | "deadLetter") => relay.local.queues[name];

beforeAll(async () => {
  relay = await startRelayHarness();
});
afterAll(async () => relay?.stop());
afterEach(() => {
  relay.local.fauxqs.reset();
  relay.simulator.faults.clear();
});

const creates = (orderRef: string) => relay.creates(orderRef);
const gets = (orderRef: string) =>
  relay.simulator.requestsTo("get").filter((r) => r.path.endsWith(`/${orderRef}`));
/** The routes of the Imburse calls made for one order, in order. */
const callsFor = (orderRef: string) =>
  relay.simulator.requests
    .filter(
      (r) => r.path.endsWith(`/${orderRef}`) || (r.body as { orderRef?: string })?.orderRef === orderRef,
    )
    .map((r) => r.route);

const ddb = () => new DynamoDBClient({ endpoint: relay.local.dynamoEndpoint, region: "us-east-1" });
async function ledgerItem(orderRef: string): Promise<LedgerItem | undefined> {
  const client = ddb();
  try {
    return (await dynamoDbLedger(client, relay.local.tableName).find(orderRef))[0];
  } finally {
    client.destroy();
  }
}

/** Receives every message waiting in a queue (without running a handler) as Lambda records. */
async function receiveRecords(name: "orders" | "retry"): Promise<SQSRecord[]> {
  const received = await relay.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queue(name).url,
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ["All"],
      MessageSystemAttributeNames: ["All"],
    }),
  );
  return (received.Messages ?? []).map((m) => toSqsRecord(m, queue(name), "us-east-1"));
}
const context = () => lambdaContext({ functionName: "Submit", timeoutMs: 60_000, region: "us-east-1" });

describe("the order ledger", () => {
  it("two containers receiving the same order at once make exactly one POST; the other is handed back to the lease's end", async () => {
    const body = order("TWINS-1");
    await relay.publish(body, "corr-twin-a");
    await relay.publish(body, "corr-twin-b");
    const records = await receiveRecords("orders");
    expect(records).toHaveLength(2);
    // Imburse takes its time, so the second claim lands while the first delivery is posting.
    relay.simulator.faults.enqueue({ route: "create", kind: "latency", latencyMs: 300, orderRef: "TWINS-1" });
    const second = createSubmitHandler({ random: () => 0, clock: () => relay.clock.now });
    const [a, b] = await Promise.all([
      relay.handler({ Records: [records[0]!] }, context()),
      second({ Records: [records[1]!] }, context()),
    ]);
    expect(creates("TWINS-1")).toHaveLength(1);
    const handedBack = [...a.batchItemFailures, ...b.batchItemFailures];
    expect(handedBack).toHaveLength(1);
    // Visible again when the first delivery's lease ends (the local function timeout), not after the
    // queue's visibility timeout.
    const inflight = relay.local.fauxqs.inspectQueue(queue("orders").name)!.messages.inflight;
    const back = inflight.find((m) => m.message.messageId === handedBack[0]!.itemIdentifier)!;
    const leaseSeconds = Number(relay.local.env.RELAY_LEASE_SECONDS);
    expect((back.visibilityDeadline - Date.now()) / 1000).toBeLessThanOrEqual(leaseSeconds);
    expect(relay.logs().some((l) => l.message === "Record handed back to SQS: it comes back later")).toBe(
      true,
    );
    expect(
      relay
        .logs()
        .some((l) => l.level === "ERROR" && l.message === "Record handed back to SQS for redelivery"),
    ).toBe(false);
    // Delivered again once the lease has ended: a duplicate, acknowledged without calling Imburse.
    const again = records.find((r) => r.messageId === handedBack[0]!.itemIdentifier)!;
    const requestsBefore = relay.simulator.requests.length;
    expect((await relay.handler({ Records: [again] }, context())).batchItemFailures).toEqual([]);
    expect(relay.simulator.requests.length).toBe(requestsBefore);
    expect(await ledgerItem("TWINS-1")).toMatchObject({ state: "submitted", mayExist: false });
  });

  it("after a handler died with its POST at Imburse, the next delivery reads the order and does not post again", async () => {
    // Imburse creates the order but never answers: the child is killed while it waits.
    relay.simulator.faults.enqueue({ route: "create", kind: "timeout", orderRef: "DIES-1" });
    await relay.publish(order("DIES-1"), "corr-dies");
    const child = spawn(process.execPath, ["test/support/submit-once.ts", JSON.stringify(relay.local.env)], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    const exited = new Promise((resolve) => child.once("exit", resolve));
    const [line] = await createInterface({ input: child.stdout! })
      [Symbol.asyncIterator]()
      .next()
      .then((next) => [next.value as string]);
    const { receiptHandles } = JSON.parse(line!) as { receiptHandles: string[] };
    expect(receiptHandles).toHaveLength(1);
    await vi.waitFor(() => expect(relay.simulator.orders().map((o) => o.orderRef)).toContain("DIES-1"), {
      timeout: 15_000,
      interval: 20,
    });
    child.kill("SIGKILL");
    await exited;
    expect(await ledgerItem("DIES-1")).toMatchObject({ state: "claimed" });

    // SQS makes the message visible again after its visibility timeout; by then the claim's lease has ended.
    await relay.sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queue("orders").url,
        ReceiptHandle: receiptHandles[0],
        VisibilityTimeout: 0,
      }),
    );
    relay.clock.now = Date.now() + 10 * 60_000;
    const { response } = await relay.deliver(queue("orders"));
    expect(response.batchItemFailures).toEqual([]);
    expect(creates("DIES-1")).toHaveLength(1);
    expect(gets("DIES-1")).toHaveLength(1);
    expect(await ledgerItem("DIES-1")).toMatchObject({ state: "already-existed", mayExist: false });
    relay.clock.now = Date.now();
  });

  it("a redriven letter whose tries may have reached Imburse is read first, though the redrive drops its attributes", async () => {
    // Connection resets after the request was sent, on every try: retries-exhausted, may exist in Imburse.
    relay.simulator.faults.enqueue({ route: "create", kind: "reset", times: 10, orderRef: "REDRIVEN-1" });
    await relay.publish(order("REDRIVEN-1"), "corr-redriven");
    await relay.deliver(queue("orders"));
    await relay.deliverQueued(queue("retry"));
    await relay.deliverQueued(queue("retry"));
    const [dead] = relay.queued(queue("deadLetter"));
    expect(dead?.reason).toMatchObject({ kind: "retries-exhausted", mayExistInImburse: true });
    expect(await ledgerItem("REDRIVEN-1")).toMatchObject({ state: "dead-lettered", mayExist: true });
    // Imburse did act on the last try after all (processed late).
    relay.simulator.faults.clear();
    const other = new ImburseClient({
      baseUrl: relay.simulator.url,
      credentials: staticCredentials({ ...DEMO_CREDENTIALS }),
      tokenCache: new TokenCache(),
    });
    await other.createOrder(order("REDRIVEN-1") as never);

    const moved = await redriveDeadLetters(relay.sqs, {
      from: queue("deadLetter").url,
      to: queue("orders").url,
      kinds: ["retries-exhausted"],
    });
    expect(moved.moved).toHaveLength(1);
    expect(relay.queued(queue("orders"))[0]?.attributes[MESSAGE_ATTRIBUTES.unknownOutcome]).toBeUndefined();
    const postsBefore = creates("REDRIVEN-1").length;
    const { response } = await relay.deliver(queue("orders"));
    expect(response.batchItemFailures).toEqual([]);
    expect(callsFor("REDRIVEN-1").at(-1)).toBe("get");
    expect(creates("REDRIVEN-1")).toHaveLength(postsBefore);
    expect(await ledgerItem("REDRIVEN-1")).toMatchObject({ state: "already-existed" });
  });

  it("a ledger that stays down for seven receive cycles: no POST, no dead letter, attempts kept; then each order once", async () => {
    const proxy = await startOutageProxy(relay.local.dynamoEndpoint);
    const dynamoDb = new DynamoDBClient({ endpoint: proxy.url, region: "us-east-1", maxAttempts: 2 });
    const handler = createSubmitHandler({ random: () => 0, clock: () => relay.clock.now, dynamoDb });
    const refs = ["LEDGER-DOWN-1", "LEDGER-DOWN-2", "LEDGER-DOWN-3"];
    try {
      proxy.down = true;
      for (const ref of refs) await relay.publish(order(ref), `corr-${ref}`);
      const records = await receiveRecords("orders");
      expect((await handler({ Records: records }, context())).batchItemFailures).toEqual([]);
      for (let cycle = 2; cycle <= 7; cycle++) {
        const waiting = relay.queued(queue("retry"));
        expect(waiting, `cycle ${cycle}`).toHaveLength(3);
        for (const message of waiting) {
          expect(message.attributes[MESSAGE_ATTRIBUTES.attempt]).toBe("1");
          expect(message.delaySeconds).toBeGreaterThan(0);
        }
        expect(relay.queued(queue("deadLetter"))).toEqual([]);
        await deliverQueuedWith(handler);
      }
      expect(proxy.refused).toBeGreaterThan(0);
      for (const ref of refs) expect(callsFor(ref)).toEqual([]);
      expect(relay.queued(queue("deadLetter"))).toEqual([]);

      proxy.down = false;
      await deliverQueuedWith(handler);
      for (const ref of refs) {
        expect(creates(ref), ref).toHaveLength(1);
        expect(await ledgerItem(ref)).toMatchObject({ state: "submitted" });
      }
      expect(relay.queued(queue("retry"))).toEqual([]);
      expect(relay.queued(queue("deadLetter"))).toEqual([]);
      expect(relay.logs().some((l) => String(l.message).startsWith("Order ledger unavailable"))).toBe(true);
    } finally {
      dynamoDb.destroy();
      await proxy.close();
    }
  });

  it("ends cleanly when a slow ledger call meets the end of the invocation: nothing posted, no receive spent", async () => {
    const proxy = await startOutageProxy(relay.local.dynamoEndpoint);
    proxy.latencyMs = 3_000;
    const dynamoDb = new DynamoDBClient({ endpoint: proxy.url, region: "us-east-1" });
    const handler = createSubmitHandler({
      env: { ...process.env, RELAY_REMAINING_TIME_MARGIN_MS: "500" },
      random: () => 0,
      clock: () => relay.clock.now,
      dynamoDb,
    });
    try {
      await relay.publish(order("SLOW-SDK-1"), "corr-slow-sdk");
      const records = await receiveRecords("orders");
      // 4 s left: the record starts (over the 0.5 s margin) and must be done 3 s before the end.
      const started = Date.now();
      const response = await handler(
        { Records: records },
        lambdaContext({ functionName: "Submit", timeoutMs: 4_000, region: "us-east-1" }),
      );
      expect(Date.now() - started).toBeLessThan(3_000);
      // Acknowledged: the order waits on the retry queue, attempt unchanged, instead of burning a receive.
      expect(response.batchItemFailures).toEqual([]);
      expect(creates("SLOW-SDK-1")).toEqual([]);
      const [waiting] = relay.queued(queue("retry"));
      expect(waiting?.attributes[MESSAGE_ATTRIBUTES.attempt]).toBe("1");
      expect(waiting?.attributes[MESSAGE_ATTRIBUTES.correlationId]).toBe("corr-slow-sdk");
    } finally {
      dynamoDb.destroy();
      await proxy.close();
    }
  });

  it("costs 1.1 DynamoDB requests per clean order in a batch of ten: ten claims and one BatchWriteItem", async () => {
    const refs = Array.from({ length: 10 }, (_, i) => `COST-${i}`);
    for (const ref of refs) await relay.publish(order(ref), `corr-${ref}`);
    const records: SQSRecord[] = [];
    while (records.length < 10) records.push(...(await receiveRecords("orders")));
    const before = relay.local.dynamoRequests();
    const response = await relay.handler({ Records: records }, context());
    expect(response.batchItemFailures).toEqual([]);
    expect(relay.local.dynamoRequests() - before).toBe(11);
    for (const ref of refs) expect(await ledgerItem(ref)).toMatchObject({ state: "submitted", attempts: 1 });
  });
});

/** Runs `handler` on what waits (even delayed) in the retry queue, as if the delay had passed. */
async function deliverQueuedWith(handler: ReturnType<typeof createSubmitHandler>): Promise<void> {
  const state = relay.local.fauxqs.inspectQueue(queue("retry").name)!;
  const messages = [...state.messages.ready, ...state.messages.delayed];
  await relay.sqs.send(new PurgeQueueCommand({ QueueUrl: queue("retry").url }));
  const records = messages.map((message) =>
    toSqsRecord(
      {
        MessageId: message.messageId,
        Body: message.body,
        MessageAttributes: message.messageAttributes as never,
        ReceiptHandle: message.messageId,
      },
      queue("retry"),
      "us-east-1",
    ),
  );
  await handler({ Records: records }, context());
}
