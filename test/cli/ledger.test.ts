/**
 * `imburse-relay status`, `ledger stuck` and `ledger settle` as a person runs them against a local run: the
 * ledger on dynalite, Imburse on the simulator. The first runs the real CLI in its own process; the others
 * run its `main` in this one (the same argv and environment, half a second of CPU less each).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dynamoDbLedger } from "../../lib/ledger/index.ts";
import { DEMO_CREDENTIALS } from "../../lib/simulator/index.ts";
import { order, type RelayHarness, startRelayHarness } from "../support/relay-harness.ts";
import { runCli, runCliInProcess } from "../support/run-cli.ts";

let relay: RelayHarness;
let target: string[];
const demoCredentials = {
  IMBURSE_PUBLIC_KEY: DEMO_CREDENTIALS.publicKey,
  IMBURSE_PRIVATE_KEY: DEMO_CREDENTIALS.privateKey,
  IMBURSE_ACCOUNT_ID: DEMO_CREDENTIALS.accountId,
  IMBURSE_TENANT_ID: DEMO_CREDENTIALS.tenantId,
};

beforeAll(async () => {
  relay = await startRelayHarness();
  target = ["--table", relay.local.tableName, "--endpoint", relay.local.dynamoEndpoint];
  // A clean order; one Imburse stored without answering (may exist); one Imburse never saw (connection reset).
  await relay.publish(order("CLI-OK-1"), "corr-cli-ok");
  relay.simulator.faults.enqueue({ route: "create", kind: "timeout", orderRef: "CLI-LOST-1" });
  await relay.publish(order("CLI-LOST-1"), "corr-cli-lost");
  relay.simulator.faults.enqueue({ route: "create", kind: "reset", times: 2, orderRef: "CLI-NEVER-1" });
  await relay.publish(order("CLI-NEVER-1"), "corr-cli-never");
  let delivered = 0;
  while (delivered < 3) delivered += (await relay.deliver(relay.local.queues.orders)).records.length;
});
afterAll(async () => relay?.stop());

const ledgerState = async (orderRef: string) => {
  const client = new DynamoDBClient({ endpoint: relay.local.dynamoEndpoint, region: "us-east-1" });
  try {
    return (await dynamoDbLedger(client, relay.local.tableName).find(orderRef))[0];
  } finally {
    client.destroy();
  }
};

describe("imburse-relay status", () => {
  it("prints an order's ledger item: state, attempts, correlation id, last outcome", async () => {
    const run = await runCli(["status", "CLI-OK-1", ...target]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`CLI-OK-1  (tenant ${DEMO_CREDENTIALS.tenantId})`);
    expect(run.stdout).toMatch(/state\s+submitted/);
    expect(run.stdout).toMatch(/attempts\s+1/);
    expect(run.stdout).toMatch(/correlation id\s+corr-cli-ok/);
    expect(run.stdout).toMatch(/last outcome\s+submitted, HTTP 20[12]\n/);
  });

  it("shows a try that may have reached Imburse, with the reason", async () => {
    const run = await runCliInProcess(["status", "CLI-LOST-1", ...target, "--json"]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      orderRef: "CLI-LOST-1",
      state: "waiting",
      mayExist: true,
      lastOutcome: { result: "network" },
    });
  });

  it("says so, exit 1, for an order the ledger does not know", async () => {
    const run = await runCliInProcess(["status", "NEVER-SEEN", ...target]);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("no ledger item for NEVER-SEEN");
  });

  it("needs --stage or --table (usage, exit 2)", async () => {
    const run = await runCliInProcess(["status", "CLI-OK-1"]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("--stage NAME");
  });
});

describe("imburse-relay ledger stuck and settle", () => {
  it("lists the orders that may exist in Imburse, and not the settled ones", async () => {
    const run = await runCliInProcess(["ledger", "stuck", ...target, "--older-than", "0.001"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("CLI-LOST-1");
    expect(run.stdout).toContain("CLI-NEVER-1");
    expect(run.stdout).not.toContain("CLI-OK-1");
    expect(run.stdout).toContain("2 stuck");
  });

  it("settles an order Imburse holds: recorded, no longer stuck, still read before any POST", async () => {
    const run = await runCliInProcess(
      ["ledger", "settle", "CLI-LOST-1", ...target, "--imburse-url", relay.simulator.url],
      { env: demoCredentials },
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Imburse holds this orderRef");
    expect(run.stdout).toContain('"orderRef":"CLI-LOST-1"');
    expect(await ledgerState("CLI-LOST-1")).toMatchObject({
      state: "waiting",
      mayExist: true,
      lastOutcome: { result: "settled: found at Imburse" },
    });
    const stuck = await runCliInProcess(["ledger", "stuck", ...target, "--older-than", "0.001"]);
    expect(stuck.stdout).not.toContain("CLI-LOST-1");
  });

  it("settles an order Imburse does not show, keeping the may-exist mark (Imburse may be late)", async () => {
    const run = await runCliInProcess(
      ["ledger", "settle", "CLI-NEVER-1", ...target, "--imburse-url", relay.simulator.url],
      { env: demoCredentials },
    );
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Imburse does not hold this orderRef");
    expect(await ledgerState("CLI-NEVER-1")).toMatchObject({
      mayExist: true,
      lastOutcome: { result: "settled: not at Imburse (yet)" },
    });
  });

  it("refuses to settle a complete order (exit 1), writing nothing", async () => {
    const before = await ledgerState("CLI-OK-1");
    const run = await runCliInProcess(
      ["ledger", "settle", "CLI-OK-1", ...target, "--imburse-url", relay.simulator.url],
      {
        env: demoCredentials,
      },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("already submitted");
    expect(await ledgerState("CLI-OK-1")).toEqual(before);
  });
});
