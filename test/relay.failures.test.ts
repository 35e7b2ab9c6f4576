import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { order, type RelayHarness, startRelayHarness } from "./support/relay-harness.ts";

let relay: RelayHarness;

beforeAll(async () => {
  // maxAge 0: every record reads the secret, so an outage is met on the next record.
  relay = await startRelayHarness({ settings: { secretMaxAgeSeconds: 0 } });
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
