import { describe, expect, it } from "vitest";
import {
  type Claim,
  claimedItem,
  describeState,
  fingerprintOf,
  isStuck,
  judgeClaim,
  type LedgerItem,
  OPEN_SHARDS,
  openShardOf,
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
