/**
 * End to end, not part of `npm test` (it takes about a minute): `npm run test:e2e`.
 *
 * A local run of 120 orders while Imburse answers 503 to every call for 40 s, with the probe every second
 * and alarm periods of 2 s: the stacks' breaker rules (hysteresis and the half-open trial in alarm
 * periods) on a shorter clock. With a retry budget of 600 s every order is submitted once Imburse is back,
 * none is exhausted, and each is created exactly once. The first version counted attempts instead of
 * time, and lost 17 of 120 orders to `retries-exhausted` here. Once the breaker had time to open, only the
 * probe calls Imburse until the outage ends, and the backlog drains within 15 periods of recovery.
 */
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout } from "node:timers/promises";
import { afterAll, beforeAll, expect, it } from "vitest";
import { DEMO_CREDENTIALS, type Simulator, startSimulator } from "../../lib/simulator/index.ts";
import { ordersFile, validOrder } from "../support/orders.ts";
import { runCli } from "../support/run-cli.ts";

const ORDERS = 120;
const OUTAGE_MS = 40_000;
const PERIOD_MS = 2_000;
const PROBE_REF = "imburse-relay-health-probe";

let simulator: Simulator;
let dir: string;
beforeAll(async () => {
  simulator = await startSimulator({ seed: 3 });
  dir = await mkdtemp(join(tmpdir(), "imburse-relay-e2e-"));
});
afterAll(async () => {
  await simulator?.close();
  await rm(dir, { recursive: true, force: true });
});

it("rides out a 40 s Imburse outage with a 600 s retry budget: every order submitted once, none exhausted", {
  timeout: 180_000,
}, async () => {
  const refs = Array.from({ length: ORDERS }, (_, i) => `OUTAGE-${i}`);
  const ordersPath = join(dir, "orders.jsonl");
  const reportPath = join(dir, "report.json");
  await writeFile(
    ordersPath,
    ordersFile(refs.map((ref) => ({ body: validOrder(ref), correlationId: `c-${ref}` }))),
  );
  simulator.faults.set("*:503");
  const run = runCli(
    [
      "local",
      "--orders",
      ordersPath,
      "--imburse-url",
      simulator.url,
      "--until-drained",
      "--retry-budget-seconds",
      "600",
      "--probe-every",
      "1",
      "--alarm-period",
      String(PERIOD_MS / 1000),
      "--report",
      reportPath,
    ],
    {
      env: {
        IMBURSE_PUBLIC_KEY: DEMO_CREDENTIALS.publicKey,
        IMBURSE_PRIVATE_KEY: DEMO_CREDENTIALS.privateKey,
        IMBURSE_ACCOUNT_ID: DEMO_CREDENTIALS.accountId,
        IMBURSE_TENANT_ID: DEMO_CREDENTIALS.tenantId,
      },
      timeoutMs: 170_000,
    },
  );
  // The outage is a span of time, not a number of calls: it ends on the clock.
  await setTimeout(OUTAGE_MS);
  const failedDuringOutage = simulator.requests.filter((r) => r.status === 503).length;
  simulator.faults.clear();
  const recoveredAt = Date.now();
  const result = await run;

  // The outage was real: enough failed calls to trip the error-rate alarm (20 a period), yet fewer than one
  // per order, because the breaker stopped the relay from spending retries on a down Imburse.
  expect(failedDuringOutage).toBeGreaterThanOrEqual(20);
  expect(result.code, result.stderr).toBe(0);
  const report = JSON.parse(await readFile(reportPath, "utf8")) as {
    orders: { orderRef: string; outcome: string }[];
  };
  expect(report.orders.filter((o) => o.outcome !== "submitted")).toEqual([]);
  const created = new Map<string, number>();
  for (const request of simulator.requestsTo("create")) {
    if (request.status !== 201 && request.status !== 202) continue;
    const ref = (request.body as { orderRef: string }).orderRef;
    created.set(ref, (created.get(ref) ?? 0) + 1);
  }
  expect(refs.filter((ref) => created.get(ref) !== 1)).toEqual([]);

  // The breaker: after 3 periods from the relay's first call, nothing but the probe reaches Imburse
  // while it is down (the probe alarm keeps "Imburse unavailable" in ALARM throughout).
  const firstCall = Math.min(...simulator.requests.map((r) => r.timestamp));
  const orderCalls = simulator.requests.filter(
    (r) => (r.route === "create" || r.route === "get") && !r.path.includes(PROBE_REF),
  );
  // The alarm stays in ALARM at least a period past the recovery (that period's probes include failed ones),
  // and the breaker waits for a whole healthy period after it: still no order calls by then.
  const duringOpen = orderCalls.filter(
    (r) => r.timestamp >= firstCall + 3 * PERIOD_MS && r.timestamp < recoveredAt + PERIOD_MS,
  );
  expect(duringOpen.map((r) => [r.method, r.path, r.timestamp - firstCall])).toEqual([]);
  expect(
    simulator.requests.some((r) => r.path.includes(PROBE_REF) && r.timestamp >= firstCall + 3 * PERIOD_MS),
  ).toBe(true);
  const lastCreated = Math.max(
    ...simulator
      .requestsTo("create")
      .filter((r) => r.status === 202 || r.status === 201)
      .map((r) => r.timestamp),
  );
  expect(lastCreated - recoveredAt).toBeLessThanOrEqual(15 * PERIOD_MS);
  // Progress says why nothing moves, and the trial before the relay runs at full speed again.
  expect(result.stdout).toMatch(/paused: Imburse unavailable since \d\d:\d\d:\d\d UTC, \d+ orders? waiting/);
  expect(result.stdout).toContain("Circuit breaker half-open");
});
