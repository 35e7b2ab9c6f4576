import { PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MESSAGE_ATTRIBUTES } from "../../lib/config/index.ts";
import { order, type RelayHarness, startRelayHarness } from "../support/relay-harness.ts";

let relay: RelayHarness;

beforeAll(async () => {
  // maxAge 0: every record reads the secret, so an outage is met on the next record.
  relay = await startRelayHarness({
    settings: { secretMaxAgeSeconds: 0, imburseTimeoutMs: 10_000, remainingTimeMarginMs: 1_000 },
  });
});
afterAll(async () => relay?.stop());

describe("failures around the submission", () => {
  it("keeps using the last good credentials when Secrets Manager fails", async () => {
    await relay.publish(order("STALE-0"), "corr-stale-0");
    await relay.deliver(relay.local.queues.orders);
    relay.local.secretsManager.failNext(3);
    await relay.publish(order("STALE-1"), "corr-stale-1");
    const { response } = await relay.deliver(relay.local.queues.orders);
    expect(response.batchItemFailures).toEqual([]);
    expect(relay.simulator.orders().map((o) => o.orderRef)).toContain("STALE-1");
    expect(relay.logs().some((l) => String(l.message).includes("last good value"))).toBe(true);
  });

  it("cuts an Imburse call short to fit the invocation's remaining time, and retries it", async () => {
    // 3 s of latency fits the 10 s Imburse timeout, but not an invocation with 5 s left (3 s kept to send the outcome).
    relay.simulator.faults.enqueue({
      route: "create",
      kind: "latency",
      latencyMs: 3_000,
      orderRef: "SLOW-1",
    });
    await relay.publish(order("SLOW-1"), "corr-slow");
    const { response } = await relay.deliver(relay.local.queues.orders, { remainingMs: 5_000 });
    expect(response.batchItemFailures).toEqual([]);
    const [retried] = relay.queued(relay.local.queues.retry);
    expect(retried?.attributes[MESSAGE_ATTRIBUTES.unknownOutcome]).toBe("true");
    const call = relay.logs().find((l) => l.message === "Imburse call" && l.order_ref === "SLOW-1");
    expect(call?.status).toBeUndefined();
    expect(Number(call?.duration_ms)).toBeLessThan(3_000);
  });

  it("keeps a malformed secret's text out of the logs while it serves the last good value", async () => {
    const sm = new SecretsManagerClient({});
    // A rotation with a typo: V8's JSON error would quote the text around it, part of the private key.
    const broken = '{"publicKey":"p","privateKey":c2VjcmV0LWZyYWdtZW50,"accountId":"a","tenantId":"t"}';
    await sm.send(new PutSecretValueCommand({ SecretId: relay.local.secretId, SecretString: broken }));
    sm.destroy();
    await relay.publish(order("TYPO-1"), "corr-typo");
    const { response } = await relay.deliver(relay.local.queues.orders);
    expect(response.batchItemFailures).toEqual([]);
    expect(relay.simulator.orders().map((o) => o.orderRef)).toContain("TYPO-1");
    const logs = JSON.stringify(relay.logs());
    expect(logs).toContain("the secret is not valid JSON");
    expect(logs).not.toContain("c2VjcmV0");
  });

  it("hands the record back to SQS when its retry message cannot be sent: nothing is lost", async () => {
    relay.simulator.faults.enqueue({ route: "create", kind: 503, orderRef: "NOSEND-1" });
    relay.local.fauxqs.deleteQueue(relay.local.queues.retry.name);
    await relay.publish(order("NOSEND-1"), "corr-nosend");
    await relay.publish(order("NOSEND-2"), "corr-nosend-2");
    const { records, response } = await relay.deliver(relay.local.queues.orders);
    const failed = records.find((r) => r.body.includes("NOSEND-1"))!;
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: failed.messageId }]);
    // The neighbour is not taken down with it.
    expect(relay.simulator.orders().map((o) => o.orderRef)).toContain("NOSEND-2");
  });
});
