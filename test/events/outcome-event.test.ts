import { readFile } from "node:fs/promises";
import { Logger } from "@aws-lambda-powertools/logger";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { outcomeDetailJsonSchemaText } from "../../lib/cli/index.ts";
import { DEFAULTS } from "../../lib/config/index.ts";
import { outcomeDetailJsonSchema } from "../../lib/events/json-schema.ts";
import { OutcomeOutbox, publishDue } from "../../lib/events/outbox.ts";
import {
  guardedMetadata,
  type OutcomeDetail,
  type OutcomeFacts,
  outcomeEvent,
  outcomeEventId,
  summariseReason,
} from "../../lib/events/outcome-event.ts";
import { chunksOf } from "../../lib/events/publisher.ts";
import { sweepOutbox } from "../../lib/events/sweep.ts";
import {
  claimedItem,
  type LedgerItem,
  type OrderLedger,
  publishedItem,
  settledItem,
} from "../../lib/ledger/index.ts";
import { parseOrder } from "../../lib/orders/index.ts";
import { jsonBlockAfter, matchesEventPattern } from "../support/event-pattern.ts";
import { validOrder } from "../support/orders.ts";

const validate = new Ajv2020({ strict: true, allErrors: true }).compile(outcomeDetailJsonSchema());

const order = (() => {
  const parsed = parseOrder(validOrder("CLAIM-42", "210.00", { metadata: { system: "claims" } }));
  if (!parsed.success) throw new Error("fixture must be valid");
  return parsed.order;
})();

const facts = (overrides: Partial<OutcomeFacts> = {}): OutcomeFacts => ({
  outcome: "submitted",
  kind: null,
  orderRef: "CLAIM-42",
  tenant: "tenant-1",
  correlationId: "billing-7731",
  originMessageId: "m-1",
  attempts: 1,
  firstReceivedAt: Date.parse("2026-11-30T10:00:00Z"),
  decidedAt: Date.parse("2026-11-30T10:00:01Z"),
  version: 1,
  imburseCorrelationId: undefined,
  metadata: { system: "claims" },
  ...overrides,
});

const detailOf = (entry: { detail: string }) => JSON.parse(entry.detail) as OutcomeDetail;

describe("the outcome event", () => {
  it("carries the order's facts, its id and version, and validates against the published schema", () => {
    const entry = outcomeEvent(facts({ imburseCorrelationId: "imb-1" }));
    expect(entry.detailType).toBe("Order Submitted");
    expect(detailOf(entry)).toEqual({
      detailVersion: 1,
      eventId: entry.id,
      outcome: "submitted",
      kind: null,
      orderRef: "CLAIM-42",
      tenant: "tenant-1",
      correlationId: "billing-7731",
      originMessageId: "m-1",
      attempts: 1,
      firstReceivedAt: "2026-11-30T10:00:00.000Z",
      decidedAt: "2026-11-30T10:00:01.000Z",
      imburseCorrelationId: "imb-1",
      metadata: { system: "claims" },
    });
    expect(validate(detailOf(entry)), JSON.stringify(validate.errors)).toBe(true);
  });

  it("has an id that depends on tenant, orderRef, outcome, kind and version only", () => {
    const id = outcomeEventId(facts());
    // A republication, a later decidedAt, another delivery of the same version: the same id.
    expect(outcomeEvent(facts({ decidedAt: Date.now(), originMessageId: "m-2", attempts: 3 })).id).toBe(id);
    for (const other of [
      { tenant: "tenant-2" },
      { orderRef: "CLAIM-43" },
      { outcome: "already-existed" as const },
      { outcome: "dead-lettered" as const, kind: "rejected" as const },
      // Redriven and ended again: the claim raised the version.
      { version: 2 },
    ]) {
      expect(outcomeEventId(facts(other)), JSON.stringify(other)).not.toBe(id);
    }
  });

  it("identifies a message with no usable orderRef, or no ledger item, by its origin message id", () => {
    const noRef = facts({
      orderRef: undefined,
      version: undefined,
      outcome: "dead-lettered",
      kind: "invalid",
    });
    expect(outcomeEventId(noRef)).toBe(outcomeEvent({ ...noRef, attempts: 2 }).id);
    expect(outcomeEventId({ ...noRef, originMessageId: "m-2" })).not.toBe(outcomeEventId(noRef));
    const invalidWithRef = facts({ version: undefined, outcome: "dead-lettered", kind: "invalid" });
    expect(outcomeEventId({ ...invalidWithRef, originMessageId: "m-2" })).not.toBe(
      outcomeEventId(invalidWithRef),
    );
  });

  it("never carries amounts or customer refs, unless the setting adds the instructions", () => {
    const plain = outcomeEvent(facts({ order }));
    const without = outcomeEvent(facts());
    expect(without.detail).not.toContain("210.00");
    expect(without.detail).not.toContain("cust-1");
    expect(detailOf(without).instructions).toBeUndefined();
    // The record passes the order only when RELAY_EVENTS_INCLUDE_ORDER_DETAILS is on.
    const detail = detailOf(plain);
    expect(detail.instructions?.[0]).toMatchObject({ amount: "210.00", currency: "EUR" });
    expect(validate(detail), JSON.stringify(validate.errors)).toBe(true);
  });

  it("summarises each dead-letter reason in codes, paths and a sentence, without a refused value", () => {
    const invalid = summariseReason({
      kind: "invalid",
      errors: [
        {
          path: "metadata.note",
          code: "card_number_in_metadata",
          message: "value must not contain a card number",
        },
        { path: "instructions[0].amount", code: "amount_too_precise", message: "at most 2 fraction digits" },
      ],
    });
    expect(invalid).toMatchObject({
      kind: "invalid",
      codes: ["card_number_in_metadata", "amount_too_precise"],
      paths: ["metadata.note", "instructions[0].amount"],
    });
    expect(
      summariseReason({
        kind: "rejected",
        status: 400,
        errors: [{ errorCode: "SCHEME_NOT_FOUND" }],
        imburseCorrelationId: "x",
      }),
    ).toMatchObject({
      codes: ["SCHEME_NOT_FOUND"],
      text: "Imburse refused the order (HTTP 400: SCHEME_NOT_FOUND)",
    });
    // A conflict's differences quote amounts and Imburse's values: the event says how many, never which.
    const conflict = summariseReason({
      kind: "conflict",
      detail: "",
      differences: ['instruction "A-1": amount differs (requested 210.00, existing 999.99)'],
    });
    expect(conflict.paths).toEqual([]);
    expect(conflict.text).toContain("1 difference(s)");
    expect(JSON.stringify(conflict)).not.toMatch(/210\.00|999\.99/);
    const exhausted = summariseReason({
      kind: "retries-exhausted",
      lastReason: "server-error",
      lastStatus: 503,
      lastErrorCodes: [],
      imburseCorrelationId: undefined,
      mayExistInImburse: true,
      exhausted: { limit: "max-attempts", maxAttempts: 3 },
    });
    expect(exhausted.text).toBe(
      "retries exhausted (max-attempts); the last try ended server-error (HTTP 503); the order may exist in Imburse",
    );
    const dead = outcomeEvent(
      facts({
        outcome: "dead-lettered",
        kind: "retries-exhausted",
        cause: { kind: "conflict", detail: "", differences: [] },
      }),
    );
    expect(validate(detailOf(dead)), JSON.stringify(validate.errors)).toBe(true);
  });

  it("echoes of an invalid order's metadata only the entries that pass the guards", () => {
    const body = JSON.stringify({
      orderRef: "BAD-1",
      amount: "12.345",
      metadata: {
        system: "claims",
        note: "paid with 4111 1111 1111 1111",
        contact: "jane@example.com",
        "jane@example.com": "key holds an e-mail address",
        long: "x".repeat(DEFAULTS.metadataMaxValueLength + 1),
        count: 3,
      },
    });
    const kept = guardedMetadata(body, DEFAULTS);
    expect(kept).toEqual({ system: "claims" });
    expect(JSON.stringify(kept)).not.toMatch(/4111|jane/);
    expect(guardedMetadata('{"orderRef": "BAD-2", ', DEFAULTS)).toEqual({});
    expect(guardedMetadata(JSON.stringify({ metadata: ["a"] }), DEFAULTS)).toEqual({});
    // Through an SNS envelope too.
    const envelope = JSON.stringify({
      Type: "Notification",
      TopicArn: "arn:aws:sns:eu-west-1:123456789012:orders",
      MessageId: "n-1",
      Message: JSON.stringify({ metadata: { system: "billing" } }),
    });
    expect(guardedMetadata(envelope, DEFAULTS)).toEqual({ system: "billing" });
  });

  it("schema/outcome-event.schema.json is what `imburse-relay schema --outcome-event` prints", async () => {
    expect(await readFile(new URL("../../schema/outcome-event.schema.json", import.meta.url), "utf8")).toBe(
      outcomeDetailJsonSchemaText(),
    );
  });
});

describe("the outbox in the ledger item", () => {
  const claim = {
    orderRef: "CLAIM-42",
    tenantId: "tenant-1",
    fingerprint: "f",
    correlationId: "c",
    attempt: 1,
    firstReceivedAt: 1_000,
    owner: "o-1",
    now: 1_000,
    leaseMs: 60_000,
    ttlSeconds: 3_600,
  };
  const event = (id: string) => ({ id, detailType: "Order Dead-Lettered" as const, detail: "{}" });

  it("is marked due by the write that records the outcome, and kept by the next claim until published", () => {
    const claimed = claimedItem(undefined, claim);
    const dead = settledItem(
      claimed,
      {
        state: "dead-lettered",
        kind: "rejected",
        mayHaveReached: false,
        lastOutcome: { result: "rejected" },
      },
      false,
      2_000,
      event("e-1"),
    );
    expect(dead).toMatchObject({
      outbox: [event("e-1")],
      outboxDueAt: 2_000,
      outboxShard: expect.any(String),
    });
    // A redrive claims it before e-1 was published: the claim keeps it, the next outcome adds its own.
    const reclaimed = claimedItem(dead, { ...claim, owner: "o-2", now: 3_000 });
    expect(reclaimed.outbox).toEqual([event("e-1")]);
    const submitted = settledItem(
      reclaimed,
      { state: "submitted", lastOutcome: { result: "submitted" } },
      false,
      4_000,
      event("e-2"),
    );
    expect(submitted.outbox).toEqual([event("e-1"), event("e-2")]);
    expect(submitted.outboxDueAt).toBe(2_000); // the oldest due
    const onlyFirst = publishedItem(submitted, new Set(["e-1"])) as LedgerItem;
    expect(onlyFirst.outbox).toEqual([event("e-2")]);
    const none = publishedItem(submitted, new Set(["e-1", "e-2"])) as LedgerItem;
    expect(none).not.toHaveProperty("outbox");
    expect(none).not.toHaveProperty("outboxShard");
    expect(none).not.toHaveProperty("outboxDueAt");
    expect(none).toMatchObject({ state: "submitted", version: submitted.version });
    expect(publishedItem(submitted, new Set(["other"]))).toBeUndefined();
  });
});

describe("PutEvents batches", () => {
  const entry = (id: number, size = 10) => ({
    id: String(id),
    detailType: "Order Submitted" as const,
    detail: "x".repeat(size),
  });

  it("hold at most 10 entries and stay under 256 KiB", () => {
    expect(chunksOf(Array.from({ length: 23 }, (_, i) => entry(i))).map((c) => c.length)).toEqual([
      10, 10, 3,
    ]);
    const big = Array.from({ length: 10 }, (_, i) => entry(i, 60_000));
    expect(chunksOf(big).map((c) => c.length)).toEqual([4, 4, 2]);
    expect(chunksOf([])).toEqual([]);
  });
});

describe("the documented event and pattern", () => {
  it("the example event validates against the schema, and the pattern selects by metadata", async () => {
    const doc = await readFile(new URL("../../docs/publishers.md", import.meta.url), "utf8");
    const example = jsonBlockAfter(doc, "outcome-event-example") as { detail: OutcomeDetail };
    expect(validate(example.detail), JSON.stringify(validate.errors)).toBe(true);
    const pattern = jsonBlockAfter(doc, "outcome-event-pattern");
    expect(matchesEventPattern(pattern, example)).toBe(true);
    const otherSystem = { ...example, detail: { ...example.detail, metadata: { system: "billing" } } };
    expect(matchesEventPattern(pattern, otherSystem)).toBe(false);
    expect(matchesEventPattern(pattern, { ...example, "detail-type": "Order Submitted" })).toBe(false);
  });

  it("the matcher knows prefix, exists and anything-but, and refuses what it does not know", () => {
    const event = { source: "imburse-relay", detail: { orderRef: "CLAIM-1", kind: null, tags: ["a", "b"] } };
    expect(matchesEventPattern({ detail: { orderRef: [{ prefix: "CLAIM-" }] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { reason: [{ exists: false }] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { kind: [{ exists: true }] } }, event)).toBe(true);
    expect(matchesEventPattern({ detail: { orderRef: [{ "anything-but": ["CLAIM-1"] }] } }, event)).toBe(
      false,
    );
    expect(matchesEventPattern({ detail: { tags: ["b"] } }, event)).toBe(true);
    expect(() => matchesEventPattern({ detail: { n: [{ numeric: [">", 1] }] } }, event)).toThrow(/numeric/);
  });
});

describe("publishDue", () => {
  const entry = (id: string) => ({ id, detailType: "Order Submitted" as const, detail: '{"tenant":"t-1"}' });
  const item = (orderRef: string, id: string): LedgerItem => ({
    ...claimedItem(undefined, {
      orderRef,
      tenantId: "t-1",
      fingerprint: "f",
      correlationId: "c",
      attempt: 1,
      firstReceivedAt: 0,
      owner: "o",
      now: 0,
      leaseMs: 1,
      ttlSeconds: 60,
    }),
    state: "submitted",
    outbox: [entry(id)],
  });
  const run = async (publish: (ids: string[]) => { published: string[]; failed: string[] }) => {
    const puts: LedgerItem[][] = [];
    const versioned: LedgerItem[] = [];
    const ledger = {
      putAll: async (items: LedgerItem[]) => {
        puts.push(items);
        return [];
      },
      putIfUnchanged: async (written: LedgerItem) => {
        versioned.push(written);
        return true;
      },
    } as unknown as OrderLedger;
    const written = item("OK-1", "e-written");
    const unwritten = item("OK-2", "e-unwritten");
    const dead = { ...item("DEAD-3", "e-dead"), state: "dead-lettered" as const };
    const report = await publishDue(
      [written, unwritten, dead],
      [entry("e-loose")],
      {
        publisher: { publish: async (entries) => publish(entries.map((e) => e.id)) },
        ledger,
        metrics: { eventsPublished: () => undefined, eventsFailed: () => undefined },
        logger: new Logger({ logLevel: "SILENT" }),
        clock: () => 1_000,
        ledgerTtlSeconds: 60,
      },
      { unwritten: new Set([unwritten]) },
    );
    return { report, puts, versioned };
  };

  it("records what was published: complete items for the next batched write, others on their version", async () => {
    const { report, puts, versioned } = await run((ids) => ({ published: ids, failed: [] }));
    expect(report).toMatchObject({ published: 4, failed: 0 });
    expect(report.completeToRecord.map((i) => [i.orderRef, i.outbox])).toEqual([["OK-1", undefined]]);
    expect(versioned.map((i) => [i.orderRef, i.outbox])).toEqual([["DEAD-3", undefined]]);
    expect(puts).toEqual([]);
  });

  it("keeps in items of their own the unpublished events nothing else keeps", async () => {
    const { report, puts, versioned } = await run((ids) => ({ published: [], failed: ids }));
    expect(report).toMatchObject({ published: 0, failed: 4, completeToRecord: [] });
    expect(versioned).toEqual([]);
    expect(puts.flat().map((i) => [i.orderRef, i.tenantId, i.outbox?.[0]?.id, i.outboxDueAt])).toEqual([
      ["event#e-loose", "t-1", "e-loose", 1_000],
      ["event#e-unwritten", "t-1", "e-unwritten", 1_000],
    ]);
  });

  it("keeps one item per order, the later copy, so a batch write never names a key twice", () => {
    const outbox = new OutcomeOutbox();
    const first = item("DUP-1", "e-1");
    const later = { ...item("DUP-1", "e-2"), version: 2 };
    outbox.addItem(first);
    outbox.addItem(later);
    outbox.addItem(item("OTHER-2", "e-3"));
    expect(outbox.drain().items.map((i) => [i.orderRef, i.version])).toEqual([
      ["DUP-1", 2],
      ["OTHER-2", 1],
    ]);
  });

  it("leaves a claimed order's events to its delivery: the sweep never writes over an item being decided", async () => {
    const claimed = { ...item("CLAIMED-1", "e-claimed"), state: "claimed" as const };
    const waiting = { ...item("WAITING-2", "e-waiting"), state: "waiting" as const };
    const published: string[] = [];
    const ledger = {
      dueEvents: async () => [claimed, waiting],
      putAll: async () => [],
      putIfUnchanged: async () => true,
    } as unknown as OrderLedger;
    await sweepOutbox(
      {
        publisher: {
          publish: async (entries) => {
            published.push(...entries.map((e) => e.id));
            return { published: entries.map((e) => e.id), failed: [] };
          },
        },
        ledger,
        metrics: { eventsPublished: () => undefined, eventsFailed: () => undefined },
        logger: new Logger({ logLevel: "SILENT" }),
        clock: () => 1_000,
        ledgerTtlSeconds: 60,
      },
      { now: 1_000, olderThanMs: 0, maxItems: 10 },
    );
    expect(published).toEqual(["e-waiting"]);
  });
});
