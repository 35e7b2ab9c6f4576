import { describe, expect, it } from "vitest";
import {
  type Claim,
  claimedItem,
  describeState,
  fingerprintOf,
  hasEventsDue,
  isStuck,
  judgeClaim,
  type LedgerItem,
  OPEN_SHARDS,
  type OutboxEntry,
  openShardOf,
  outboxOnlyItem,
  publishedItem,
  settledItem,
} from "../../lib/ledger/index.ts";
import { CASE_CLAIM, CLAIM_CASES, NOW } from "../support/claim-cases.ts";

const claim = (overrides: Partial<Claim> = {}): Claim => ({ ...CASE_CLAIM, ...overrides });

const item = (overrides: Partial<LedgerItem> = {}): LedgerItem => ({
  ...claimedItem(undefined, claim()),
  ...overrides,
});

describe("judgeClaim", () => {
  it.each(CLAIM_CASES)("$name → $kind", ({ existing, kind, readFirst }) => {
    const verdict = judgeClaim(existing, claim());
    expect(verdict.kind).toBe(kind);
    if (verdict.kind === "claimable") expect(verdict.readFirst).toBe(readFirst);
  });

  it("tells a busy claim when the other lease ends", () => {
    expect(judgeClaim(item({ leaseOwner: "other", leaseExpiresAt: NOW + 42_000 }), claim())).toEqual({
      kind: "busy",
      until: NOW + 42_000,
    });
  });
});

describe("claimedItem", () => {
  it("holds the lease, the claim's facts and a first version", () => {
    expect(claimedItem(undefined, claim())).toEqual({
      orderRef: "ORDER-1",
      tenantId: "tenant-1",
      state: "claimed",
      mayExist: false,
      fingerprint: "fp-1",
      correlationId: "corr-1",
      attempts: 1,
      firstReceivedAt: NOW - 1_000,
      lastAttemptAt: NOW,
      leaseOwner: "owner-1",
      leaseExpiresAt: NOW + 60_000,
      version: 1,
      expiresAt: NOW / 1000 + 1_209_600,
      openShard: openShardOf("ORDER-1"),
    });
  });

  it("keeps the may-exist mark and the last outcome, drops the dead-letter kind, counts the version", () => {
    const previous = item({
      state: "dead-lettered",
      deadLetterKind: "retries-exhausted",
      mayExist: true,
      version: 7,
      lastOutcome: { result: "network", errorCodes: ["ETIMEDOUT"] },
    });
    const next = claimedItem(previous, claim({ owner: "owner-2", attempt: 1 }));
    expect(next).toMatchObject({ state: "claimed", mayExist: true, version: 8, leaseOwner: "owner-2" });
    expect(next.lastOutcome).toEqual({ result: "network", errorCodes: ["ETIMEDOUT"] });
    expect(next).not.toHaveProperty("deadLetterKind");
  });
});

describe("settledItem", () => {
  const claimed = item({ mayExist: true });

  it("a confirmed outcome clears the may-exist mark, the lease and the open-orders index entry", () => {
    const done = settledItem(
      claimed,
      { state: "submitted", lastOutcome: { result: "submitted", status: 201 } },
      true,
      NOW + 5,
    );
    expect(done).toMatchObject({ state: "submitted", mayExist: false, lastAttemptAt: NOW + 5 });
    for (const gone of ["leaseOwner", "leaseExpiresAt", "openShard", "deadLetterKind"]) {
      expect(done).not.toHaveProperty(gone);
    }
  });

  it("an order Imburse already had is complete too: no may-exist mark, out of the open-orders index", () => {
    const existed = settledItem(
      claimed,
      { state: "already-existed", lastOutcome: { result: "already-existed", status: 200 } },
      true,
      NOW,
    );
    expect(existed).toMatchObject({ state: "already-existed", mayExist: false });
    expect(existed).not.toHaveProperty("openShard");
  });

  it.each([
    ["a try that may have reached Imburse", false, false, true, true],
    ["a read-first attempt that learned nothing", false, true, false, true],
    ["an earlier mark", true, false, false, true],
    ["every try answered", false, false, false, false],
  ])("waiting after %s: may exist is %s", (_name, previous, readFirst, reached, expected) => {
    const waiting = settledItem(
      item({ mayExist: previous }),
      { state: "waiting", mayHaveReached: reached, lastOutcome: { result: "server-error", status: 503 } },
      readFirst,
      NOW,
    );
    expect(waiting).toMatchObject({
      state: "waiting",
      mayExist: expected,
      openShard: openShardOf("ORDER-1"),
    });
    expect(waiting).not.toHaveProperty("leaseOwner");
  });

  it("records a dead letter's kind and keeps it open for the stuck check", () => {
    const dead = settledItem(
      item(),
      {
        state: "dead-lettered",
        kind: "rejected",
        mayHaveReached: false,
        lastOutcome: { result: "rejected", status: 422 },
      },
      false,
      NOW,
    );
    expect(dead).toMatchObject({ state: "dead-lettered", deadLetterKind: "rejected", mayExist: false });
    expect(dead.openShard).toBeDefined();
  });
});

describe("isStuck", () => {
  const AFTER = 900_000;
  it.each<[string, Partial<LedgerItem>, boolean]>([
    ["claimed, lease ended long ago", { leaseExpiresAt: NOW - AFTER }, true],
    ["claimed, lease ended recently", { leaseExpiresAt: NOW - AFTER + 1 }, false],
    ["claimed, lease live", { leaseExpiresAt: NOW + 1 }, false],
    ["waiting, may exist, long ago", { state: "waiting", mayExist: true, lastAttemptAt: NOW - AFTER }, true],
    ["waiting, may exist, recently", { state: "waiting", mayExist: true, lastAttemptAt: NOW - 1 }, false],
    ["waiting, answered", { state: "waiting", mayExist: false, lastAttemptAt: NOW - AFTER }, false],
    [
      "dead-lettered, may exist",
      { state: "dead-lettered", mayExist: true, lastAttemptAt: NOW - AFTER },
      true,
    ],
    ["submitted", { state: "submitted", lastAttemptAt: NOW - AFTER }, false],
    ["expired", { leaseExpiresAt: NOW - AFTER, expiresAt: NOW / 1000 }, false],
    // `ledger settle` recorded what Imburse says after the last attempt: no longer stuck.
    [
      "may exist, settled at the last attempt",
      { state: "waiting", mayExist: true, lastAttemptAt: NOW - AFTER, settledAt: NOW - AFTER },
      false,
    ],
    [
      "may exist, attempted again after it was settled",
      { state: "waiting", mayExist: true, lastAttemptAt: NOW - AFTER, settledAt: NOW - AFTER - 1 },
      true,
    ],
  ])("%s: %s", (_name, overrides, stuck) => {
    expect(isStuck(item(overrides), NOW, AFTER)).toBe(stuck);
  });
});

describe("describeState", () => {
  it.each<[Partial<LedgerItem>, string]>([
    [{ leaseExpiresAt: NOW + 1 }, "claimed"],
    [{ leaseExpiresAt: NOW }, "claimed (lease ended: may exist in Imburse)"],
    [{ state: "waiting", mayExist: true }, "may-exist (retry scheduled)"],
    [{ state: "waiting", mayExist: false }, "retry-waiting"],
    [{ state: "dead-lettered", deadLetterKind: "conflict", mayExist: false }, "dead-lettered (conflict)"],
    [
      { state: "dead-lettered", deadLetterKind: "retries-exhausted", mayExist: true },
      "dead-lettered (retries-exhausted, may exist in Imburse)",
    ],
    [{ state: "submitted" }, "submitted"],
    [{ state: "submitted", expiresAt: NOW / 1000 }, "submitted (expired: treated as absent)"],
  ])("%o reads %s", (overrides, text) => {
    expect(describeState(item(overrides), NOW)).toBe(text);
  });
});

describe("fingerprintOf", () => {
  it("does not depend on key order, and tells any other content apart", () => {
    const a = { orderRef: "X", metadata: { a: "1", b: "2" }, instructions: [{ amount: "1.00" }] };
    const b = { instructions: [{ amount: "1.00" }], metadata: { b: "2", a: "1" }, orderRef: "X" };
    expect(fingerprintOf(a)).toBe(fingerprintOf(b));
    expect(fingerprintOf(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(fingerprintOf({ ...a, instructions: [{ amount: "1.01" }] })).not.toBe(fingerprintOf(a));
  });
});

describe("openShardOf", () => {
  it("spreads refs over every shard", () => {
    const shards = new Set(Array.from({ length: 40 }, (_, i) => openShardOf(`ORDER-${i}`)));
    expect([...shards].sort()).toEqual(Array.from({ length: OPEN_SHARDS }, (_, i) => String(i)));
  });
});

describe("the outbox: outcome events kept in the ledger until they reach the bus", () => {
  const event = (id: string): OutboxEntry => ({
    id,
    detailType: "Order Submitted",
    detail: JSON.stringify({ eventId: id }),
  });
  const submitted = { state: "submitted", lastOutcome: { result: "submitted", status: 201 } } as const;

  it("a settled outcome puts its event in the outbox, due now, on the order's shard", () => {
    const done = settledItem(item(), submitted, false, NOW + 5, event("E1"));
    expect(done).toMatchObject({
      outbox: [event("E1")],
      outboxShard: openShardOf("ORDER-1"),
      outboxDueAt: NOW + 5,
    });
    expect(hasEventsDue(done, NOW + 5, 0)).toBe(true);
  });

  it("an event still due keeps its place and due time; the same event is never kept twice", () => {
    const first = settledItem(item(), submitted, false, NOW, event("E1"));
    const again = settledItem({ ...first, state: "claimed" }, submitted, false, NOW + 9, event("E2"));
    expect(again.outbox).toEqual([event("E1"), event("E2")]);
    expect(again.outboxDueAt).toBe(NOW);
    const repeated = settledItem({ ...first, state: "claimed" }, submitted, false, NOW + 9, event("E1"));
    expect(repeated.outbox).toEqual([event("E1")]);
    expect(repeated.outboxDueAt).toBe(NOW + 9);
  });

  it.each<[string, Partial<LedgerItem>, number, boolean]>([
    ["no outbox", {}, NOW + 10, false],
    ["an empty outbox", { outbox: [], outboxDueAt: NOW }, NOW + 10, false],
    ["due exactly as long as asked", { outbox: [event("E1")], outboxDueAt: NOW }, NOW + 10, true],
    ["due for less", { outbox: [event("E1")], outboxDueAt: NOW + 1 }, NOW + 10, false],
  ])("events due after 10 ms, %s: %s", (_name, overrides, now, due) => {
    expect(hasEventsDue(item(overrides), now, 10)).toBe(due);
  });

  it("an event no order keeps gets an item of its own: never an order's ref, never open, expiring with the TTL", () => {
    const kept = outboxOnlyItem(event("E9"), "tenant-1", NOW, 3600);
    expect(kept).toEqual({
      orderRef: "event#E9",
      tenantId: "tenant-1",
      state: "dead-lettered",
      mayExist: false,
      fingerprint: "",
      correlationId: "",
      attempts: 0,
      firstReceivedAt: NOW,
      lastAttemptAt: NOW,
      version: 0,
      expiresAt: Math.floor(NOW / 1000) + 3600,
      outbox: [event("E9")],
      outboxShard: openShardOf("E9"),
      outboxDueAt: NOW,
    });
    expect(isStuck(kept, NOW + 10 ** 9, 0)).toBe(false);
    expect(hasEventsDue(kept, NOW, 0)).toBe(true);
  });

  it("published events leave the outbox; the outbox fields go with the last of them", () => {
    const held = item({
      state: "submitted",
      outbox: [event("E1"), event("E2")],
      outboxShard: "7",
      outboxDueAt: NOW - 5,
    });
    expect(publishedItem(held, new Set(["E1"]))).toMatchObject({
      outbox: [event("E2")],
      outboxShard: "7",
      outboxDueAt: NOW - 5,
    });
    const empty = publishedItem(held, new Set(["E1", "E2"]))!;
    for (const gone of ["outbox", "outboxShard", "outboxDueAt"]) expect(empty).not.toHaveProperty(gone);
    expect(empty).toMatchObject({ state: "submitted", orderRef: "ORDER-1" });
    expect(publishedItem(held, new Set(["E3"]))).toBeUndefined();
  });

  it("an outbox written before its shard and due time were kept gets them from the order", () => {
    const older = item({ lastAttemptAt: NOW - 7, outbox: [event("E1"), event("E2")] });
    expect(publishedItem(older, new Set(["E2"]))).toMatchObject({
      outbox: [event("E1")],
      outboxShard: openShardOf("ORDER-1"),
      outboxDueAt: NOW - 7,
    });
  });
});
