import { PutSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_CREDENTIALS } from "../../lib/simulator/index.ts";
import { order, type RelayHarness, startRelayHarness } from "../support/relay-harness.ts";

// A fresh process (vitest forks per file): the module-scope token and secret caches start empty.
let relay: RelayHarness;
const rotated = {
  ...DEMO_CREDENTIALS,
  publicKey: "rotated-public-key",
  privateKey: Buffer.from("rotated-test-key").toString("base64"),
};

beforeAll(async () => {
  relay = await startRelayHarness({
    simulator: { credentials: [DEMO_CREDENTIALS, rotated] },
    settings: { recordConcurrency: 10, secretMaxAgeSeconds: 300 },
  });
});
afterAll(async () => relay?.stop());

describe("credentials and token cost", () => {
  it("100 messages cost one GetSecretValue and one token", async () => {
    for (let i = 0; i < 100; i++) await relay.publish(order(`COST-${i}`), `corr-cost-${i}`);
    let delivered = 0;
    while (delivered < 100) delivered += (await relay.deliver(relay.local.queues.orders)).records.length;
    expect(relay.simulator.orders()).toHaveLength(100);
    expect(relay.local.secretsManager.calls.GetSecretValue).toBe(1);
    expect(relay.simulator.requestsTo("token")).toHaveLength(1);
  });

  it("after a key rotation, a 401 that survives a token refresh re-reads the secret once and carries on", async () => {
    const sm = new SecretsManagerClient({});
    await sm.send(
      new PutSecretValueCommand({ SecretId: relay.local.secretId, SecretString: JSON.stringify(rotated) }),
    );
    sm.destroy();
    // The old key is revoked: every call with its token, and every exchange with it, is refused.
    relay.simulator.faults.enqueue({ route: "create", kind: 401, orderRef: "ROTATE-1", times: 2 });
    const secretReads = relay.local.secretsManager.calls.GetSecretValue ?? 0;
    const tokens = relay.simulator.requestsTo("token").length;
    await relay.publish(order("ROTATE-1"), "corr-rotate");
    const { response } = await relay.deliver(relay.local.queues.orders);
    expect(response.batchItemFailures).toEqual([]);
    expect(relay.local.secretsManager.calls.GetSecretValue).toBe(secretReads + 1);
    expect(relay.simulator.orders().some((o) => o.orderRef === "ROTATE-1")).toBe(true);
    // One refresh with the old key, then one exchange with the rotated key.
    expect(relay.simulator.requestsTo("token")).toHaveLength(tokens + 2);
  });
});
