import { DeleteTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  MESSAGE_ATTRIBUTES,
  ORDER_BODY_MAX_BYTES,
  SOURCE_QUEUE_MAX_MESSAGE_BYTES,
  SQS_MAX_MESSAGE_BYTES,
} from "../../lib/config/index.ts";
import { ImburseClient, staticCredentials, TokenCache } from "../../lib/imburse/index.ts";
import { createLedgerTable } from "../../lib/local/index.ts";
import { DEMO_CREDENTIALS } from "../../lib/simulator/index.ts";
import { order, type RelayHarness, startRelayHarness } from "../support/relay-harness.ts";

let relay: RelayHarness;
const { orders, retry, deadLetter } = { orders: "orders", retry: "retry", deadLetter: "deadLetter" } as const;
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

describe("submit Lambda against fauxqs, dynalite, the Secrets Manager stand-in and the simulator", () => {
  it("submits a valid order once, with the publisher's correlation id on the Imburse call", async () => {
    await relay.publish(order("OK-1"), "corr-ok-1");
    const { response } = await relay.deliver(queue(orders));
    expect(response.batchItemFailures).toEqual([]);
    expect(creates("OK-1")).toHaveLength(1);
    expect(creates("OK-1")[0]!.headers["x-correlation-id"]).toBe("corr-ok-1");
    expect(relay.simulator.orders().map((o) => o.orderRef)).toContain("OK-1");
    expect(relay.queued(queue(deadLetter))).toEqual([]);
    expect(relay.queued(queue(retry))).toEqual([]);
  });

  it("makes one POST for a message delivered twice", async () => {
    const body = order("TWICE-1");
    await relay.publish(body, "corr-twice");
    await relay.deliver(queue(orders));
    await relay.publish(body, "corr-twice-again");
    const second = await relay.deliver(queue(orders));
    expect(second.response.batchItemFailures).toEqual([]);
    expect(creates("TWICE-1")).toHaveLength(1);
    expect(relay.simulator.requestsTo("get")).toHaveLength(0);
    const duplicateLog = relay
      .logs()
      .find((l) => l.correlation_id === "corr-twice-again" && String(l.message).includes("duplicate"));
    expect(duplicateLog).toBeDefined();
  });

  it("dead-letters the same orderRef with different content as a conflict without submitting it", async () => {
    await relay.publish(order("CONFLICT-1"), "c1");
    await relay.deliver(queue(orders));
    await relay.publish(order("CONFLICT-1", { metadata: { source: "changed" } }), "c2");
    const { response } = await relay.deliver(queue(orders));
    expect(response.batchItemFailures).toEqual([]);
    expect(creates("CONFLICT-1")).toHaveLength(1);
    const [dead] = relay.queued(queue(deadLetter));
    expect(dead?.reason).toMatchObject({ kind: "conflict", orderRef: "CONFLICT-1", correlationId: "c2" });
  });

  it("dead-letters an invalid order with its errors, original body and attributes, and never calls Imburse", async () => {
    const before = relay.simulator.requests.length;
    const body = JSON.stringify({
      ...order("BAD-1"),
      instructions: [{ ...(order("BAD-1").instructions as object[])[0], amount: "-3" }],
    });
    await relay.publish(body, "corr-bad", { "x-publisher": { DataType: "String", StringValue: "billing" } });
    const { response } = await relay.deliver(queue(orders));
    expect(response.batchItemFailures).toEqual([]);
    expect(relay.simulator.requests.length).toBe(before);
    const [dead] = relay.queued(queue(deadLetter));
    expect(dead?.body).toBe(body);
    expect(dead?.attributes["x-publisher"]).toBe("billing");
    expect(dead?.attributes[MESSAGE_ATTRIBUTES.correlationId]).toBe("corr-bad");
    expect(dead?.reason).toMatchObject({ kind: "invalid", orderRef: "BAD-1", attempts: 1 });
    expect(dead?.reason?.kind === "invalid" && dead.reason.errors[0]?.path).toBe("instructions[0].amount");
  });

  it("dead-letters a body that is not JSON, naming the problem", async () => {
    await relay.publish("not json {", "corr-garbage");
    await relay.deliver(queue(orders));
    const [dead] = relay.queued(queue(deadLetter));
    expect(dead?.body).toBe("not json {");
    expect(dead?.reason).toMatchObject({ kind: "invalid", orderRef: null, correlationId: "corr-garbage" });
  });

  it("runs on queues of the stacks' sizes: the DLQ 1 MiB, orders and retry 16 KiB less", () => {
    const size = (name: "orders" | "retry" | "deadLetter") =>
      Number(relay.local.fauxqs.inspectQueue(queue(name).name)?.attributes.MaximumMessageSize);
    expect([size(orders), size(retry), size(deadLetter)]).toEqual([
      SOURCE_QUEUE_MAX_MESSAGE_BYTES,
      SOURCE_QUEUE_MAX_MESSAGE_BYTES,
      SQS_MAX_MESSAGE_BYTES,
    ]);
  });

  it("dead-letters a body over the size bound unread, with the body intact and the reason within the DLQ's limit", async () => {
    const valid = JSON.stringify(order("HUGE-1"));
    const body = valid + " ".repeat(ORDER_BODY_MAX_BYTES + 100 - valid.length);
    await relay.publish(body, "corr-huge");
    const { response } = await relay.deliver(queue(orders));
    expect(response.batchItemFailures).toEqual([]);
    const [dead] = relay.queued(queue(deadLetter));
    expect(dead?.body).toBe(body);
    expect(dead?.reason).toMatchObject({ kind: "invalid", errors: [{ path: "", code: "too_large" }] });
  });

  it("forwards a publisher attribute only while the retry still fits the retry queue, and keeps the body", async () => {
    relay.simulator.faults.enqueue({ route: "create", kind: 503 });
    const valid = JSON.stringify(order("BIG-1"));
    const body = valid + " ".repeat(ORDER_BODY_MAX_BYTES - valid.length);
    // The orders queue takes body and attribute (just under its limit); body, attribute and the relay's own
    // attributes would not fit the retry queue.
    const big = { "x-big": { DataType: "String", StringValue: "b".repeat(4_000) } };
    await relay.publish(body, "corr-big", big);
    const { response } = await relay.deliver(queue(orders));
    expect(response.batchItemFailures).toEqual([]);
    const [retried] = relay.queued(queue(retry));
    expect(retried?.body).toBe(body);
    expect(retried?.attributes["x-big"]).toBeUndefined();
    expect(retried?.attributes[MESSAGE_ATTRIBUTES.correlationId]).toBe("corr-big");
    expect(relay.logs()).toContainEqual(
      expect.objectContaining({ correlation_id: "corr-big", dropped: ["x-big"] }),
    );
  });

  it("makes a correlation id when the publisher sent none and keeps it on the retry message", async () => {
    relay.simulator.faults.enqueue({ route: "create", kind: 503 });
    await relay.publish(order("NOCORR-1"));
    await relay.deliver(queue(orders));
    const [retried] = relay.queued(queue(retry));
    const generated = retried?.attributes[MESSAGE_ATTRIBUTES.correlationId];
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    expect(creates("NOCORR-1")[0]!.headers["x-correlation-id"]).toBe(generated);
    await relay.deliverQueued(queue(retry));
    expect(creates("NOCORR-1")[1]!.headers["x-correlation-id"]).toBe(generated);
  });

  it("does not retry a 429 with Retry-After: 3 sooner than 3 s, and the retry succeeds", async () => {
    relay.simulator.faults.enqueue({ route: "create", kind: 429, retryAfter: 3, orderRef: "THROTTLED-1" });
    await relay.publish(order("THROTTLED-1"), "corr-429");
    await relay.deliver(queue(orders));
    const [retried] = relay.queued(queue(retry));
    expect(retried?.delaySeconds).toBe(3);
    expect(retried?.attributes).toMatchObject({
      [MESSAGE_ATTRIBUTES.correlationId]: "corr-429",
      [MESSAGE_ATTRIBUTES.attempt]: "2",
    });
    expect(retried?.attributes[MESSAGE_ATTRIBUTES.originMessageId]).toBeTruthy();
    const response = await relay.deliverQueued(queue(retry));
    expect(response.batchItemFailures).toEqual([]);
    expect(relay.simulator.orders().map((o) => o.orderRef)).toContain("THROTTLED-1");
    expect(creates("THROTTLED-1").map((r) => r.headers["x-correlation-id"])).toEqual([
      "corr-429",
      "corr-429",
    ]);
  });

  it("dead-letters as retries-exhausted after the maximum attempts, with the last status and Imburse's id", async () => {
    relay.simulator.faults.enqueue({ route: "create", kind: 503, times: 3, orderRef: "DOWN-1" });
    await relay.publish(order("DOWN-1"), "corr-down");
    await relay.deliver(queue(orders));
    await relay.deliverQueued(queue(retry));
    await relay.deliverQueued(queue(retry));
    expect(relay.queued(queue(retry))).toEqual([]);
    const [dead] = relay.queued(queue(deadLetter));
    expect(dead?.reason).toMatchObject({
      kind: "retries-exhausted",
      lastStatus: 503,
      lastReason: "server-error",
      attempts: 3,
      correlationId: "corr-down",
    });
    expect(dead?.reason?.kind === "retries-exhausted" && dead.reason.imburseCorrelationId).toMatch(/^SIM:/);
    expect(creates("DOWN-1")).toHaveLength(3);
  });

  it.each([
    [400, "AMOUNT_OUT_OF_RANGE"],
    [402, "REQUEST_FAILED"],
    [404, "NOT_FOUND"],
  ])("dead-letters a %d %s as rejected, with Imburse's errors", async (status, errorCode) => {
    const ref = `REJECT-${status}`;
    relay.simulator.faults.enqueue({ route: "create", kind: status, errorCode, orderRef: ref });
    await relay.publish(order(ref), `corr-${status}`);
    await relay.deliver(queue(orders));
    const [dead] = relay.queued(queue(deadLetter));
    expect(dead?.reason).toMatchObject({ kind: "rejected", status, errors: [{ errorCode }] });
    expect(relay.queued(queue(retry))).toEqual([]);
  });

  it("reconciles ORDER_ALREADY_EXISTS: same content is already-existed, other content is a conflict", async () => {
    // Orders created earlier by another path (a previous relay deployment, a person in the portal).
    await relay.publish(order("EXISTS-SAME"), "pre-1");
    await relay.publish(order("EXISTS-OTHER"), "pre-2");
    await relay.deliver(queue(orders));
    // A fresh ledger (a new deployment) would send them again: emulate it with an empty table.
    await relay.local.fauxqs.reset();
    const table = relay.local.tableName;
    const ddb = new DynamoDBClient({});
    await ddb.send(new DeleteTableCommand({ TableName: table }));
    await createLedgerTable(ddb, table);
    ddb.destroy();
    await relay.publish(order("EXISTS-SAME"), "again-1");
    const changed = order("EXISTS-OTHER");
    (changed.instructions as Array<Record<string, unknown>>)[0]!.amount = "99.99";
    await relay.publish(changed, "again-2");
    const { response } = await relay.deliver(queue(orders));
    expect(response.batchItemFailures).toEqual([]);
    const dead = relay.queued(queue(deadLetter));
    expect(dead).toHaveLength(1);
    expect(dead[0]?.reason).toMatchObject({ kind: "conflict", orderRef: "EXISTS-OTHER" });
    expect(JSON.stringify(dead[0]?.reason)).toContain("amount");
    expect(relay.logs().some((l) => l.correlation_id === "again-1" && l.outcome === "already-existed")).toBe(
      true,
    );
  });

  it("after a timeout that reached Imburse, reads the order before posting again: one order, already-existed", async () => {
    relay.simulator.faults.enqueue({ route: "create", kind: "timeout", orderRef: "TIMEOUT-1" });
    await relay.publish(order("TIMEOUT-1"), "corr-timeout");
    await relay.deliver(queue(orders));
    const [retried] = relay.queued(queue(retry));
    expect(retried?.attributes[MESSAGE_ATTRIBUTES.unknownOutcome]).toBe("true");
    const gets = relay.simulator.requestsTo("get").length;
    await relay.deliverQueued(queue(retry));
    expect(relay.simulator.requestsTo("get").length).toBe(gets + 1);
    expect(creates("TIMEOUT-1")).toHaveLength(1);
    expect(
      relay.logs().some((l) => l.correlation_id === "corr-timeout" && l.outcome === "already-existed"),
    ).toBe(true);
  });

  it("re-delays a retry that arrives before its not-before time without calling Imburse", async () => {
    const notBefore = new Date(relay.clock.now + 2000 * 1000).toISOString();
    const before = relay.simulator.requests.length;
    await relay.publish(
      order("HOP-1"),
      "corr-hop",
      {
        [MESSAGE_ATTRIBUTES.attempt]: { DataType: "Number", StringValue: "2" },
        [MESSAGE_ATTRIBUTES.notBefore]: { DataType: "String", StringValue: notBefore },
      },
      queue(retry),
    );
    await relay.deliver(queue(retry));
    expect(relay.simulator.requests.length).toBe(before);
    const [hop] = relay.queued(queue(retry));
    expect(hop?.delaySeconds).toBe(900);
    expect(hop?.attributes[MESSAGE_ATTRIBUTES.notBefore]).toBe(notBefore);
    expect(hop?.attributes[MESSAGE_ATTRIBUTES.attempt]).toBe("2");
  });

  it("keeps ten parallel records' correlation ids apart in logs and headers", async () => {
    const refs = Array.from({ length: 10 }, (_, i) => `PAR-${i}`);
    for (const ref of refs) await relay.publish(order(ref), `corr-${ref}`);
    let delivered = 0;
    while (delivered < 10) delivered += (await relay.deliver(queue(orders))).records.length;
    for (const ref of refs) {
      expect(creates(ref).map((r) => r.headers["x-correlation-id"])).toEqual([`corr-${ref}`]);
      const lines = relay.logs().filter((l) => l.order_ref === ref);
      expect(lines.length).toBeGreaterThan(0);
      expect(new Set(lines.map((l) => l.correlation_id))).toEqual(new Set([`corr-${ref}`]));
    }
    const imburseCalls = relay
      .logs()
      .filter((l) => l.message === "Imburse call" && l.route === "create-order");
    for (const ref of refs) {
      // Logged by the shared client, yet on the record's own logger: one line each, with its own ids.
      const lines = imburseCalls.filter((l) => l.order_ref === ref);
      expect(lines).toHaveLength(1);
      expect(lines[0]?.correlation_id).toBe(`corr-${ref}`);
    }
  });

  it("hands records back unstarted when the invocation is about to time out", async () => {
    await relay.publish(order("LATE-1"), "corr-late");
    const { records, response } = await relay.deliver(queue(orders), { remainingMs: 1000 });
    expect(response.batchItemFailures).toEqual(records.map((r) => ({ itemIdentifier: r.messageId })));
    expect(creates("LATE-1")).toHaveLength(0);
  });

  it("waits out a refused key or role (401/403) as an auth retry rather than dead-lettering the order", async () => {
    relay.simulator.faults.enqueue({ route: "create", kind: 403, orderRef: "ROLE-1" });
    await relay.publish(order("ROLE-1"), "corr-role");
    await relay.deliver(queue(orders));
    expect(relay.queued(queue(deadLetter))).toEqual([]);
    const [retried] = relay.queued(queue(retry));
    expect(retried?.attributes[MESSAGE_ATTRIBUTES.attempt]).toBe("2");
    expect(relay.logs().some((l) => l.correlation_id === "corr-role" && l.reason === "auth")).toBe(true);
  });

  it("ignores a publisher's relay-attempt and relay-not-before on the orders queue, with a warning", async () => {
    await relay.publish(order("SPOOF-1"), "corr-spoof", {
      [MESSAGE_ATTRIBUTES.attempt]: { DataType: "Number", StringValue: "99" },
      [MESSAGE_ATTRIBUTES.notBefore]: {
        DataType: "String",
        StringValue: new Date(relay.clock.now + 3_600_000).toISOString(),
      },
    });
    const { response } = await relay.deliver(queue(orders));
    expect(response.batchItemFailures).toEqual([]);
    // Submitted at once as a first attempt: not delayed an hour, not dead-lettered as past its attempts.
    expect(creates("SPOOF-1")).toHaveLength(1);
    expect(
      relay.logs().find((l) => l.correlation_id === "corr-spoof" && l.outcome === "submitted"),
    ).toMatchObject({
      attempt: 1,
    });
    const warning = relay
      .logs()
      .find((l) => l.correlation_id === "corr-spoof" && String(l.message).startsWith("Relay attributes"));
    expect(warning?.ignored).toEqual([MESSAGE_ATTRIBUTES.attempt, MESSAGE_ATTRIBUTES.notBefore]);
  });

  it("after an unknown outcome, posts the order when Imburse does not have it", async () => {
    await relay.publish(
      order("UNKNOWN-1"),
      "corr-unknown",
      {
        [MESSAGE_ATTRIBUTES.attempt]: { DataType: "Number", StringValue: "2" },
        [MESSAGE_ATTRIBUTES.unknownOutcome]: { DataType: "String", StringValue: "true" },
      },
      queue(retry),
    );
    const gets = relay.simulator.requestsTo("get").length;
    const { response } = await relay.deliver(queue(retry));
    expect(response.batchItemFailures).toEqual([]);
    expect(relay.simulator.requestsTo("get").length).toBe(gets + 1);
    expect(creates("UNKNOWN-1")).toHaveLength(1);
    expect(relay.simulator.orders().map((o) => o.orderRef)).toContain("UNKNOWN-1");
  });

  it("retries, never acknowledges, an ORDER_ALREADY_EXISTS that GET cannot show yet", async () => {
    relay.simulator.faults.enqueue({
      route: "create",
      kind: 400,
      errorCode: "ORDER_ALREADY_EXISTS",
      orderRef: "GHOST-1",
    });
    await relay.publish(order("GHOST-1"), "corr-ghost");
    await relay.deliver(queue(orders));
    expect(relay.queued(queue(deadLetter))).toEqual([]);
    const [retried] = relay.queued(queue(retry));
    expect(retried?.attributes[MESSAGE_ATTRIBUTES.unknownOutcome]).toBe("true");
    expect(relay.logs().some((l) => l.correlation_id === "corr-ghost" && l.reason === "pending")).toBe(true);
  });

  it("retries, rather than calling a conflict, an order whose instructions Imburse has not shown yet", async () => {
    const two = order("ASYNC-1");
    const [first] = two.instructions as Array<Record<string, unknown>>;
    (two.instructions as unknown[]).push({ ...first, instructionRef: "ASYNC-1-2" });
    // Created at Imburse by another path, with only its first instruction processed so far.
    const other = new ImburseClient({
      baseUrl: relay.simulator.url,
      credentials: staticCredentials({ ...DEMO_CREDENTIALS }),
      tokenCache: new TokenCache(),
    });
    await other.createOrder({ ...two, instructions: [first] });
    await relay.publish(two, "corr-async");
    await relay.deliver(queue(orders));
    expect(relay.queued(queue(deadLetter))).toEqual([]);
    expect(relay.queued(queue(retry))).toHaveLength(1);
    expect(relay.logs().some((l) => l.correlation_id === "corr-async" && l.reason === "pending")).toBe(true);
  });

  it("never logs the private key, the token or the HMAC signature", async () => {
    await relay.publish(order("SECRET-1"), "corr-secret");
    await relay.deliver(queue(orders));
    const logs = JSON.stringify(relay.logs());
    expect(logs).toContain("corr-secret");
    expect(logs).not.toContain("Bearer ");
    expect(logs).not.toContain("eyJ"); // any JWT
    expect(logs).not.toMatch(/Hmac [^"]/);
    expect(logs).not.toContain(
      Buffer.from("imburse-relay-simulator-demo-key-not-a-secret").toString("base64"),
    );
  });
});
