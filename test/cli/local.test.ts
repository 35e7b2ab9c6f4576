import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OutcomeDetail } from "../../lib/events/index.ts";
import type { DeliveredEvent, ReportEntry } from "../../lib/local/index.ts";
import { jsonBlockAfter, matchesEventPattern } from "../support/event-pattern.ts";
import { validOrder as order } from "../support/orders.ts";
import { runCli, runProcess } from "../support/run-cli.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
// One line per case; blank lines are skipped and keep the numbering of the file.
const ORDERS_FILE = [
  JSON.stringify({ body: order("OK-1"), correlationId: "corr-ok-1" }), // 1
  JSON.stringify({ body: order("OK-2") }), // 2: no correlation id
  "", // 3: blank
  JSON.stringify({ body: '{"orderRef": "BROKEN-4", ', correlationId: "corr-broken" }), // 4: body not JSON
  "this line is not JSON", // 5
  JSON.stringify({ body: 42, correlationId: "corr-number" }), // 6
  JSON.stringify({ body: order("CARD-7", "25.00", { metadata: { note: "4111111111111111" } }) }), // 7
  JSON.stringify({ body: order("OK-1"), correlationId: "corr-dup" }), // 8: duplicate of line 1
  JSON.stringify({ body: order("OK-2", "99.00"), correlationId: "corr-conflict" }), // 9: conflicts with line 2
  JSON.stringify({ body: order("FLAKY-10"), correlationId: "corr-flaky" }), // 10: 503 twice
  JSON.stringify({ body: order("THROTTLE-11"), correlationId: "corr-throttle" }), // 11: 429 once
  JSON.stringify({ body: order("DOWN-12"), correlationId: "corr-down" }), // 12: 503 always
  JSON.stringify({ body: order("REJECT-13"), correlationId: "corr-reject" }), // 13: 400
  "",
].join("\n");

const FAULTS = [
  "create[ref^=FLAKY-]:503:times=2",
  "create[ref^=THROTTLE-]:429:retry-after=1:times=1",
  "create[ref^=DOWN-]:503",
  "create[ref^=REJECT-]:400:code=SCHEME_NOT_FOUND",
].join(",");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "imburse-relay-local-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("imburse-relay local", () => {
  // Child processes that boot the whole local stack: allow for a loaded machine.
  it("relays a mixed orders file until drained and reports every line's outcome", {
    timeout: 60_000,
  }, async () => {
    const ordersPath = join(dir, "orders.jsonl");
    const reportPath = join(dir, "report.json");
    await writeFile(ordersPath, ORDERS_FILE);
    const run = await runCli([
      "local",
      "--orders",
      ordersPath,
      "--until-drained",
      "--report",
      reportPath,
      "--faults",
      FAULTS,
      "--seed",
      "7",
      "--retry-base-seconds",
      "1",
      "--retry-cap-seconds",
      "1",
      "--max-attempts",
      "3",
    ]);
    expect(run.stderr).toBe("");
    // Dead-lettered and unpublishable lines fail the run, and the last line says which.
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(
      /^Exit status 1: 7 lines did not end submitted or already-existed: line 4 \(invalid\), line 5 \(unpublishable\), line 6 \(unpublishable\), line 7 \(invalid\), line 9 \(conflict\), line 12 \(retries-exhausted\), line 13 \(rejected\)\.$/m,
    );
    const report = JSON.parse(await readFile(reportPath, "utf8")) as {
      orders: Array<Record<string, unknown>>;
      totals: Record<string, number>;
    };

    const published = report.orders.filter((entry) => entry.messageId !== null);
    for (const entry of published) expect(entry.messageId).toMatch(UUID);
    expect(new Set(published.map((entry) => entry.messageId)).size).toBe(published.length);

    const summary = report.orders.map(
      ({ line, orderRef, outcome, attempts, correlationId, duplicateOf }) => ({
        line,
        orderRef,
        outcome,
        attempts,
        correlationId,
        ...(duplicateOf === undefined ? {} : { duplicateOf }),
      }),
    );
    const generated = expect.stringMatching(UUID);
    expect(summary).toEqual([
      { line: 1, orderRef: "OK-1", outcome: "submitted", attempts: 1, correlationId: "corr-ok-1" },
      { line: 2, orderRef: "OK-2", outcome: "submitted", attempts: 1, correlationId: generated },
      { line: 4, orderRef: null, outcome: "invalid", attempts: 1, correlationId: "corr-broken" },
      { line: 5, orderRef: null, outcome: "unpublishable", attempts: 0, correlationId: null },
      { line: 6, orderRef: null, outcome: "unpublishable", attempts: 0, correlationId: "corr-number" },
      { line: 7, orderRef: "CARD-7", outcome: "invalid", attempts: 1, correlationId: generated },
      {
        line: 8,
        orderRef: "OK-1",
        outcome: "submitted",
        attempts: 1,
        correlationId: "corr-dup",
        duplicateOf: 1,
      },
      { line: 9, orderRef: "OK-2", outcome: "conflict", attempts: 1, correlationId: "corr-conflict" },
      { line: 10, orderRef: "FLAKY-10", outcome: "submitted", attempts: 3, correlationId: "corr-flaky" },
      {
        line: 11,
        orderRef: "THROTTLE-11",
        outcome: "submitted",
        attempts: 2,
        correlationId: "corr-throttle",
      },
      {
        line: 12,
        orderRef: "DOWN-12",
        outcome: "retries-exhausted",
        attempts: 3,
        correlationId: "corr-down",
      },
      { line: 13, orderRef: "REJECT-13", outcome: "rejected", attempts: 1, correlationId: "corr-reject" },
    ]);
    // Without a correlation id, the order's SQS message id becomes it.
    const byLineNumber = new Map(report.orders.map((entry) => [entry.line, entry]));
    for (const line of [2, 7]) {
      expect(byLineNumber.get(line)?.correlationId).toBe(byLineNumber.get(line)?.messageId);
    }

    const byLine = new Map(report.orders.map((entry) => [entry.line, entry]));
    expect(byLine.get(4)?.reason).toMatchObject({ kind: "invalid", errors: [{ code: "invalid_json" }] });
    expect(byLine.get(5)?.reason).toMatch(/^not valid JSON/);
    expect(byLine.get(6)?.reason).toMatch(/"body" must be an order object or a string/);
    expect(byLine.get(7)?.reason).toMatchObject({
      kind: "invalid",
      errors: [{ code: "card_number_in_metadata" }],
    });
    expect(byLine.get(9)?.reason).toMatchObject({ kind: "conflict", orderRef: "OK-2" });
    expect(byLine.get(12)).toMatchObject({
      imburseCorrelationId: expect.stringMatching(/^SIM:\d+$/),
      reason: { kind: "retries-exhausted", lastStatus: 503, attempts: 3 },
    });
    expect(byLine.get(13)).toMatchObject({
      imburseCorrelationId: expect.stringMatching(/^SIM:\d+$/),
      reason: { kind: "rejected", status: 400, errors: [{ errorCode: "SCHEME_NOT_FOUND" }] },
    });
    expect(byLine.get(1)).not.toHaveProperty("reason");

    expect(report.totals).toEqual({
      lines: 12,
      submitted: 5,
      "already-existed": 0,
      invalid: 2,
      conflict: 1,
      rejected: 1,
      "retries-exhausted": 1,
      unpublishable: 2,
      "relay-failed": 0,
    });
    expect(run.stdout).toContain("line 5: unpublishable: not valid JSON");
    expect(run.stdout).toMatch(/Drained: 12 lines in \d+\.\d s\./);
    expect(run.stdout).toContain(`Report written to ${reportPath}.`);
  });

  it("judges hostile lines one by one: deep nesting, repeated keys and personal data in refs, never echoed", {
    timeout: 60_000,
  }, async () => {
    const card = "4012888888881881";
    const deep = `${"[".repeat(5000)}${"]".repeat(5000)}`;
    const lines = [
      JSON.stringify({ body: order("FINE-1"), correlationId: "corr-fine" }), // 1
      `{"body":{"orderRef":"DEEP-2","metadata":{"k":${deep}}},"correlationId":"corr-deep"}`, // 2
      JSON.stringify({ body: order("TWICE-3") }).replace(
        '"amount":"25.00"',
        '"amount":"1.00","amount":"1000.00"',
      ), // 3
      JSON.stringify({ body: order("jane.doe@example.com") }), // 4
      JSON.stringify({ body: order(card) }), // 5
      JSON.stringify({ body: order("FINE-6") }), // 6
    ];
    const ordersPath = join(dir, "hostile.jsonl");
    const reportPath = join(dir, "hostile-report.json");
    await writeFile(ordersPath, lines.join("\n"));
    const run = await runCli(["local", "--orders", ordersPath, "--until-drained", "--report", reportPath]);
    expect(run.stderr).toBe("");
    // Four lines were dead-lettered: the run says so.
    expect(run.code).toBe(1);
    const reportText = await readFile(reportPath, "utf8");
    const report = JSON.parse(reportText) as { orders: Array<Record<string, unknown>> };
    expect(report.orders.map(({ line, orderRef, outcome }) => ({ line, orderRef, outcome }))).toEqual([
      { line: 1, orderRef: "FINE-1", outcome: "submitted" },
      { line: 2, orderRef: "DEEP-2", outcome: "invalid" },
      { line: 3, orderRef: "TWICE-3", outcome: "invalid" },
      { line: 4, orderRef: "j…@… (e-mail address)", outcome: "invalid" },
      { line: 5, orderRef: "4012…1881 (card number)", outcome: "invalid" },
      { line: 6, orderRef: "FINE-6", outcome: "submitted" },
    ]);
    const codes = (line: number) =>
      (report.orders[line - 1]!.reason as { errors: { path: string; code: string }[] }).errors;
    expect(codes(2)).toEqual([
      expect.objectContaining({ path: `metadata.k${"[0]".repeat(30)}`, code: "too_deep" }),
    ]);
    expect(codes(3)).toEqual([
      expect.objectContaining({ path: "instructions[0].amount", code: "duplicate_key" }),
    ]);
    expect(codes(5).map((issue) => issue.code)).toEqual(["card_number_in_ref", "card_number_in_ref"]);
    for (const text of [reportText, run.stdout]) {
      expect(text).not.toContain("jane");
      expect(text).not.toContain("888888");
    }
    expect(run.stdout).toContain("line 5 4012…1881 (card number): invalid");
  });

  it("npm start runs the demo set to its summary and exits 0", { timeout: 60_000 }, async () => {
    const reportPath = join(dir, "demo-report.json");
    const eventsPath = join(dir, "demo-events.jsonl");
    const run = await runProcess("npm", [
      "start",
      "--silent",
      "--",
      "--report",
      reportPath,
      "--events",
      eventsPath,
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("imburse-relay local: 13 lines from the demo set");
    expect(run.stdout).toMatch(/Drained: 13 lines in \d+\.\d s\./);
    const totals = Object.fromEntries(
      [...run.stdout.matchAll(/^│ (\S+)\s+│\s+(\d+) │$/gm)].map((match) => [match[1], Number(match[2])]),
    );
    expect(totals).toEqual({
      submitted: 6,
      "already-existed": 1,
      invalid: 3,
      conflict: 1,
      rejected: 1,
      "retries-exhausted": 1,
      total: 13,
    });
    expect(run.stdout).toContain("Demo: every line got its expected outcome.");

    // Exactly one outcome event per order that reached an outcome, matching its report entry.
    const report = JSON.parse(await readFile(reportPath, "utf8")) as { orders: ReportEntry[] };
    const events = (await readFile(eventsPath, "utf8"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as DeliveredEvent & { detail: OutcomeDetail });
    const byId = new Map(events.map((event) => [event.detail.eventId, event]));
    expect(byId.size).toBe(events.length);
    const duplicates = report.orders.filter((entry) => entry.duplicateOf !== undefined);
    expect(events).toHaveLength(report.orders.length - duplicates.length);
    for (const entry of report.orders) {
      expect(entry.outcomeEventId, `line ${entry.line}`).toMatch(/^[0-9a-f]{32}$/);
      const { detail, "detail-type": detailType } = byId.get(entry.outcomeEventId!)!;
      if (entry.duplicateOf !== undefined) {
        // A duplicate delivery points at the event of the order it repeats.
        const original = report.orders.find((o) => o.line === entry.duplicateOf);
        expect(entry.outcomeEventId).toBe(original?.outcomeEventId);
        continue;
      }
      const success = entry.outcome === "submitted" || entry.outcome === "already-existed";
      expect(detail).toMatchObject({
        outcome: success ? entry.outcome : "dead-lettered",
        kind: success ? null : entry.outcome,
        orderRef: entry.orderRef,
        correlationId: entry.correlationId,
        originMessageId: entry.messageId,
        attempts: entry.attempts,
      });
      expect(detailType).toBe(
        success
          ? entry.outcome === "submitted"
            ? "Order Submitted"
            : "Order Already Existed"
          : "Order Dead-Lettered",
      );
      expect(run.stdout).toContain(`eventId ${detail.eventId}`);
    }
    // The card number in line 5's metadata is refused and never echoed; the demo's other metadata is.
    const metadataOf = (line: number) =>
      byId.get(report.orders.find((o) => o.line === line)!.outcomeEventId!)!.detail.metadata;
    expect(metadataOf(1)).toEqual({ source: "imburse-relay demo" });
    expect(metadataOf(5)).toEqual({});
    expect(metadataOf(4)).toEqual({});
    // No card number, amount or customer ref in any detail (the envelopes' random ids are left out: a UUID
    // may well contain "4111").
    expect(JSON.stringify(events.map((event) => event.detail))).not.toMatch(/4111 1111|"25\.00"|cust-1/);

    // The documented subscription pattern, pointed at the demo's metadata, picks exactly its dead letters.
    const doc = await readFile(new URL("../../docs/publishers.md", import.meta.url), "utf8");
    const pattern = jsonBlockAfter(doc, "outcome-event-pattern") as {
      detail: { metadata: Record<string, unknown> };
    };
    pattern.detail.metadata = { source: ["imburse-relay demo"] };
    const matched = events
      .filter((event) => matchesEventPattern(pattern, event))
      .map((e) => e.detail.orderRef);
    expect(matched.sort()).toEqual(
      report.orders
        .filter((o) => ["invalid", "conflict", "rejected", "retries-exhausted"].includes(o.outcome))
        // Lines 4 (not JSON), 5 (its metadata refused) and 6 (3 decimals, metadata kept) are invalid.
        .filter((o) => o.line !== 4 && o.line !== 5)
        .map((o) => o.orderRef)
        .sort(),
    );
  });
});
