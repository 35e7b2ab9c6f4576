import { afterEach, describe, expect, it, vi } from "vitest";
import { METRICS } from "../../lib/config/index.ts";
import { ImburseApiError } from "../../lib/imburse/index.ts";
import {
  type Claim,
  claimedItem,
  isStuck,
  LedgerBatchWriter,
  type LedgerItem,
  type OrderLedger,
  settledItem,
} from "../../lib/ledger/index.ts";
import { lambdaContext } from "../../lib/local/index.ts";
import { createLedgerCheckHandler } from "../../lib/ops/ledger-check.ts";
import { SettleRefusedError, settleOrder } from "../../lib/tools/index.ts";
import { CASE_CLAIM, NOW } from "../support/claim-cases.ts";
import { captureJsonOutput } from "../support/json-output.ts";

const claim = (overrides: Partial<Claim> = {}): Claim => ({
  ...CASE_CLAIM,
  fingerprint: "fp",
  correlationId: "corr",
  firstReceivedAt: NOW,
  ttlSeconds: 3_600,
  ...overrides,
});

/** An in-memory ledger holding some items, recording the writes made to it. */
function memoryLedger(items: LedgerItem[]) {
  const writes: { how: string; item: LedgerItem }[] = [];
  const ledger: OrderLedger = {
    claim: () => Promise.reject(new Error("not used")),
    putIfOwner: async (item, owner) => {
      const current = items.find((i) => i.orderRef === item.orderRef);
      if (current?.leaseOwner !== owner) return false;
      writes.push({ how: "owner", item });
      return true;
    },
    putAll: async (all) => {
      for (const item of all) writes.push({ how: "batch", item });
      return [];
    },
    putIfVersion: async (item, version) => {
      const current = items.find((i) => i.orderRef === item.orderRef);
      if (current?.version !== version) return false;
      writes.push({ how: "version", item });
      return true;
    },
    putIfUnchanged: async () => {
      throw new Error("not used");
    },
    find: async (orderRef) => items.filter((i) => i.orderRef === orderRef),
    stuck: async (now, olderThanMs) => items.filter((i) => isStuck(i, now, olderThanMs)),
    dueEvents: async () => [],
  };
  return { ledger, writes };
}

describe("LedgerBatchWriter", () => {
  const done = (owner: string, leaseEnd: number) => {
    const item = claimedItem(undefined, claim({ owner, orderRef: owner }));
    return {
      item: settledItem(item, { state: "submitted", lastOutcome: { result: "submitted" } }, false, NOW),
      lease: { owner, leaseExpiresAt: leaseEnd },
    };
  };

  it("writes the leased states in one batch and the lapsed ones only while their owner still holds them", async () => {
    const { ledger, writes } = memoryLedger([
      claimedItem(undefined, claim({ orderRef: "lapsed-mine", owner: "lapsed-mine" })),
      claimedItem(undefined, claim({ orderRef: "lapsed-taken", owner: "someone-else" })),
    ]);
    const writer = new LedgerBatchWriter(ledger, () => NOW + 1_000);
    for (const [owner, end] of [
      ["live-1", NOW + 5_000],
      ["live-2", NOW + 5_000],
      ["lapsed-mine", NOW + 1_000],
      ["lapsed-taken", NOW],
    ] as const) {
      const { item, lease } = done(owner, end);
      writer.add(item, lease);
    }
    const report = await writer.flush();
    expect(writes.map((w) => `${w.how} ${w.item.orderRef}`)).toEqual([
      "batch live-1",
      "batch live-2",
      "owner lapsed-mine",
    ]);
    expect(report).toMatchObject({ written: 3, failed: [] });
    expect(report.superseded.map((i) => i.orderRef)).toEqual(["lapsed-taken"]);
    expect((await writer.flush()).written).toBe(0);
  });

  it("reports what DynamoDB would not take, and never throws", async () => {
    const { ledger } = memoryLedger([]);
    const failing: OrderLedger = {
      ...ledger,
      putAll: async (items) => items,
      putIfOwner: () => Promise.reject(new Error("down")),
    };
    const writer = new LedgerBatchWriter(failing, () => NOW);
    writer.add(done("a", NOW + 1).item, done("a", NOW + 1).lease);
    writer.add(done("b", NOW).item, done("b", NOW).lease);
    const report = await writer.flush();
    expect(report.failed.map((i) => i.orderRef).sort()).toEqual(["a", "b"]);
    expect(report.written).toBe(0);
  });
});

describe("settleOrder", () => {
  const notFound = new ImburseApiError({
    status: 400,
    method: "GET",
    path: "/v1/order-management/ORDER-1",
    errors: [{ errorCode: "ORDER_NOT_FOUND" }],
  });
  const lapsed = claimedItem(undefined, claim({ now: NOW - 120_000 }));
  const inputs = (ledger: OrderLedger, getOrder: () => Promise<unknown>) => ({
    ledger,
    api: { getOrder },
    orderRef: "ORDER-1",
    tenantId: "tenant-1",
    now: NOW,
    correlationId: "settle-1",
  });

  it("records that Imburse holds the order, and never marks it complete: the next delivery compares", async () => {
    const { ledger, writes } = memoryLedger([lapsed]);
    const result = await settleOrder(inputs(ledger, async () => ({ orderRef: "ORDER-1" })));
    expect(result).toMatchObject({ foundAtImburse: true, imburseOrder: { orderRef: "ORDER-1" } });
    expect(writes).toHaveLength(1);
    const written = writes[0]!.item;
    expect(written).toMatchObject({
      state: "waiting",
      mayExist: true,
      version: 2,
      settledAt: NOW,
      lastOutcome: { result: "settled: found at Imburse" },
    });
    for (const gone of ["leaseOwner", "leaseExpiresAt"]) expect(written).not.toHaveProperty(gone);
    expect(isStuck(written, NOW + 3_600_000, 900_000)).toBe(false);
  });

  it("keeps the may-exist mark when Imburse does not show the order (yet)", async () => {
    const { ledger, writes } = memoryLedger([{ ...lapsed, state: "dead-lettered", mayExist: true }]);
    const result = await settleOrder(inputs(ledger, () => Promise.reject(notFound)));
    expect(result.foundAtImburse).toBe(false);
    expect(writes[0]?.item).toMatchObject({ state: "dead-lettered", mayExist: true, settledAt: NOW });
  });

  it.each<[string, LedgerItem[], RegExp]>([
    ["no item", [], /has no order ORDER-1 for tenant tenant-1/],
    ["another tenant's item only", [{ ...lapsed, tenantId: "tenant-2" }], /for tenant tenant-1/],
    ["a complete order", [{ ...lapsed, state: "submitted" }], /already submitted/],
    ["a live lease", [claimedItem(undefined, claim({ now: NOW - 1_000 }))], /working on order ORDER-1 until/],
  ])("refuses %s, writing nothing", async (_name, items, message) => {
    const { ledger, writes } = memoryLedger(items);
    const getOrder = vi.fn(async () => ({}));
    await expect(settleOrder(inputs(ledger, getOrder))).rejects.toThrow(message);
    expect(writes).toEqual([]);
  });

  it("refuses when the order moved on while Imburse was asked", async () => {
    const items = [lapsed];
    const { ledger, writes } = memoryLedger(items);
    const result = settleOrder(
      inputs(ledger, async () => {
        items[0] = { ...lapsed, version: 2 };
        return {};
      }),
    );
    await expect(result).rejects.toBeInstanceOf(SettleRefusedError);
    expect(writes).toEqual([]);
  });

  it("passes on an Imburse failure instead of guessing", async () => {
    const { ledger, writes } = memoryLedger([lapsed]);
    const outage = new ImburseApiError({ status: 503, method: "GET", path: "/", errors: [] });
    await expect(settleOrder(inputs(ledger, () => Promise.reject(outage)))).rejects.toBe(outage);
    expect(writes).toEqual([]);
  });
});

describe("the stuck-order check", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it("emits StuckOrders with the count and names the oldest in its log", async () => {
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
    vi.stubEnv("POWERTOOLS_DEV", "false");
    const lines = captureJsonOutput();
    const stuck = [
      // A claim whose lease ended an hour ago; one taken a moment ago.
      claimedItem(undefined, claim({ orderRef: "OLD-1", now: NOW - 3_660_000, ttlSeconds: 86_400 })),
      claimedItem(undefined, claim({ orderRef: "NEW-1", now: NOW - 10 })),
    ];
    const { ledger } = memoryLedger(stuck);
    const handler = createLedgerCheckHandler({
      env: { RELAY_LEDGER_TABLE: "ledger", RELAY_STUCK_AFTER_SECONDS: "900" },
      ledger,
      clock: () => NOW,
    });
    const result = await handler(
      {},
      lambdaContext({ functionName: "LedgerCheck", timeoutMs: 60_000, region: "us-east-1" }),
    );
    expect(result).toMatchObject({ stuck: 1, oldest: [{ orderRef: "OLD-1", tenantId: "tenant-1" }] });
    const emf = lines.find((l) => METRICS.stuckOrders in l);
    expect(emf?.[METRICS.stuckOrders]).toBe(1);
    expect(lines.some((l) => l.level === "WARN" && String(l.message).includes("ledger settle"))).toBe(true);
  });
});
