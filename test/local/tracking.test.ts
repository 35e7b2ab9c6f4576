import { describe, expect, it } from "vitest";
import { infrastructureConfig } from "../../lib/config/index.ts";
import { DEMO_FAULTS, demoLines } from "../../lib/local/demo.ts";
import {
  externalOutcome,
  failedLines,
  type LineOutcome,
  OutcomeTracker,
  type ReportEntry,
  totals,
} from "../../lib/local/outcomes.ts";
import { breakerNote, describeEntry } from "../../lib/local/progress.ts";
import { SequencedPublisher } from "../../lib/local/publisher.ts";
import { breakerScheduleMs, localRelayProfile } from "../../lib/local/run-local.ts";
import { renderSummary } from "../../lib/local/summary.ts";
import type { DeadLetterReason } from "../../lib/relay/index.ts";
import { parseFaultSpec } from "../../lib/simulator/index.ts";
import type { OrderLine, PublishResult } from "../../lib/tools/index.ts";

const final = (
  originMessageId: string,
  outcome: "submitted" | "already-existed" | "invalid",
  extra = {},
) => ({
  type: "final" as const,
  outcome,
  originMessageId,
  orderRef: "R-1",
  correlationId: `corr-${originMessageId}`,
  attempts: 1,
  ...extra,
});

describe("OutcomeTracker", () => {
  it("joins events that arrive before the publish returned with their line", () => {
    const completed: ReportEntry[] = [];
    const tracker = new OutcomeTracker([{ line: 1, orderRef: "R-1", correlationId: undefined }], {
      completed: (entry) => completed.push(entry),
    });
    tracker.record({
      type: "retry-scheduled",
      originMessageId: "m1",
      correlationId: "corr-m1",
      nextAttempt: 2,
      delaySeconds: 1,
      reason: "throttled",
    });
    tracker.record(
      final("m1", "submitted", { attempts: 2, imburseCorrelationId: "SIM:3", outcomeEventId: "e-m1" }),
    );
    expect(tracker.complete).toBe(false);
    tracker.published(1, "m1");
    expect(tracker.complete).toBe(true);
    expect(completed).toEqual([
      {
        line: 1,
        orderRef: "R-1",
        messageId: "m1",
        outcome: "submitted",
        attempts: 2,
        correlationId: "corr-m1",
        outcomeEventId: "e-m1",
        imburseCorrelationId: "SIM:3",
      },
    ]);
    expect(Object.keys(completed[0] ?? {})).toEqual([
      "line",
      "orderRef",
      "messageId",
      "outcome",
      "attempts",
      "correlationId",
      "outcomeEventId",
      "imburseCorrelationId",
    ]);
  });

  it("gives a duplicate delivery the outcome of the line it repeats, once that line is done", () => {
    const tracker = new OutcomeTracker([
      { line: 1, orderRef: "R-1", correlationId: "a" },
      { line: 2, orderRef: "R-1", correlationId: "b" },
    ]);
    tracker.published(1, "m1");
    tracker.published(2, "m2");
    tracker.record({ type: "duplicate", originMessageId: "m2", correlationId: "b", outcomeEventId: "e-1" });
    expect(tracker.complete).toBe(false);
    expect(tracker.completeButOrphans).toBe(false);
    tracker.record(final("m1", "already-existed"));
    expect(tracker.entries()[1]).toEqual({
      line: 2,
      orderRef: "R-1",
      messageId: "m2",
      outcome: "already-existed",
      attempts: 1,
      correlationId: "b",
      // The event of the order it repeats.
      outcomeEventId: "e-1",
      duplicateOf: 1,
    });
  });

  it("resolves a duplicate whose original is not a line as submitted, only when asked", () => {
    const tracker = new OutcomeTracker([{ line: 1, orderRef: "R-1", correlationId: undefined }]);
    tracker.published(1, "m1");
    tracker.record({ type: "duplicate", originMessageId: "m1", correlationId: "c" });
    expect(tracker.completeButOrphans).toBe(true);
    expect(tracker.complete).toBe(false);
    tracker.resolveOrphans();
    expect(tracker.entries()[0]).toMatchObject({ outcome: "submitted", duplicateOf: null });
  });

  it("keeps the first final outcome of a redelivered message and reports relay failures and unpublishable lines", () => {
    const reason = { kind: "invalid", errors: [] } as unknown as DeadLetterReason;
    const tracker = new OutcomeTracker([
      { line: 1, orderRef: undefined, correlationId: "c1" },
      { line: 2, orderRef: "R-2", correlationId: undefined },
      { line: 3, orderRef: undefined, correlationId: "c3" },
    ]);
    tracker.published(1, "m1");
    tracker.record(final("m1", "invalid", { orderRef: undefined, reason }));
    tracker.record(final("m1", "submitted"));
    tracker.published(2, "m2");
    tracker.record({
      type: "retry-scheduled",
      originMessageId: "m2",
      correlationId: "g",
      nextAttempt: 2,
      delaySeconds: 1,
      reason: "network",
    });
    tracker.deadLetteredBySqs("m2");
    tracker.unpublishable(3, "not valid JSON");
    const entries = tracker.entries();
    expect(entries.map((entry) => [entry.line, entry.outcome, entry.attempts, entry.correlationId])).toEqual([
      [1, "invalid", 1, "corr-m1"],
      [2, "relay-failed", 2, "g"],
      [3, "unpublishable", 0, "c3"],
    ]);
    expect(entries[0]?.reason).toBe(reason);
    expect(entries[2]).toMatchObject({ messageId: null, reason: "not valid JSON" });
    expect(totals(entries)).toMatchObject({
      lines: 3,
      invalid: 1,
      "relay-failed": 1,
      unpublishable: 1,
      submitted: 0,
    });
  });

  it("reports finals of messages outside the lines as external once every line is sent", () => {
    const externals: string[] = [];
    const tracker = new OutcomeTracker([{ line: 1, orderRef: "R-1", correlationId: undefined }], {
      external: (event) => externals.push(event.originMessageId),
    });
    tracker.record(final("other", "submitted"));
    expect(externals).toEqual([]);
    tracker.published(1, "m1");
    expect(externals).toEqual(["other"]);
    expect(tracker.entries()[0]?.outcome).toBe("pending");
  });

  it("counts a duplicate delivery of a message outside the lines as external, once", () => {
    const tracker = new OutcomeTracker([{ line: 1, orderRef: "R-1", correlationId: undefined }]);
    tracker.published(1, "m1");
    const duplicate = { type: "duplicate" as const, originMessageId: "other", correlationId: "c" };
    tracker.record(duplicate);
    tracker.record(duplicate); // redelivered
    expect(tracker.externals().map(externalOutcome)).toEqual(["duplicate"]);
  });
});

describe("failedLines (exit status 1)", () => {
  const entry = (line: number, outcome: ReportEntry["outcome"]): ReportEntry => ({
    line,
    orderRef: null,
    messageId: null,
    outcome,
    attempts: 1,
    correlationId: null,
    outcomeEventId: null,
  });
  const entries = [
    entry(1, "submitted"),
    entry(2, "already-existed"),
    entry(3, "invalid"),
    entry(4, "unpublishable"),
    entry(5, "relay-failed"),
  ];

  it("fails every line that Imburse does not hold", () => {
    expect(failedLines(entries).map((e) => e.line)).toEqual([3, 4, 5]);
  });

  it("with expected outcomes (the demo), fails only the lines that got another", () => {
    const expected = new Map<number, LineOutcome>([
      [1, "submitted"],
      [2, "already-existed"],
      [3, "invalid"],
      [4, "unpublishable"],
      [5, "retries-exhausted"],
    ]);
    expect(failedLines(entries, expected).map((e) => e.line)).toEqual([5]);
  });
});

describe("SequencedPublisher", () => {
  const line = (n: number, orderRef: string | undefined): OrderLine => ({
    line: n,
    ok: true,
    body: orderRef === undefined ? "not json" : JSON.stringify({ orderRef }),
  });

  it("holds a line that repeats an orderRef until the earlier line has its outcome", async () => {
    const calls: number[][] = [];
    const results: PublishResult[] = [];
    const publisher = new SequencedPublisher(
      async (lines, onResult) => {
        calls.push(lines.map((l) => l.line));
        for (const l of lines) onResult({ line: l.line, ok: true, messageId: `m${l.line}` });
      },
      (result) => results.push(result),
    );
    await publisher.start([line(1, "A"), line(2, "B"), line(3, "A"), line(4, undefined), line(5, "A")]);
    expect(calls).toEqual([[1, 2, 4]]);
    await publisher.completed(2);
    await publisher.completed(1);
    await publisher.completed(1);
    expect(calls).toEqual([[1, 2, 4], [3]]);
    await publisher.completed(3);
    expect(calls).toEqual([[1, 2, 4], [3], [5]]);
    expect(results.map((r) => r.line)).toEqual([1, 2, 4, 3, 5]);
  });
});

describe("local run pieces", () => {
  it("keeps the local visibility timeout short and the margin above the Imburse timeout", () => {
    const relay = { retryBaseSeconds: 1, retryCapSeconds: 5, retryBudgetSeconds: 10, concurrency: 5 };
    const simulator = localRelayProfile(relay, false);
    expect(simulator).toEqual({
      settings: {
        retryBaseSeconds: 1,
        retryCapSeconds: 5,
        retryBudgetSeconds: 10,
        recordConcurrency: 5,
        imburseTimeoutMs: 2_000,
        remainingTimeMarginMs: 7_500,
      },
      functionTimeoutSeconds: 10,
    });
    expect(localRelayProfile({ ...relay, maxAttempts: 4 }, false).settings.maxAttempts).toBe(4);
    const remote = localRelayProfile(relay, true);
    expect(remote.settings.remainingTimeMarginMs).toBeGreaterThan(remote.settings.imburseTimeoutMs ?? 0);
    expect(remote.settings.remainingTimeMarginMs).toBeLessThan(remote.functionTimeoutSeconds * 1000);
  });

  it("has a demo set that covers every outcome with faults the simulator accepts", () => {
    expect(parseFaultSpec(DEMO_FAULTS)).toHaveLength(5);
    const now = Date.parse("2026-11-30T12:00:00Z");
    const expected = demoLines({ now }).map((line) => line.expected);
    expect(new Set(expected)).toEqual(
      new Set(["submitted", "already-existed", "invalid", "conflict", "rejected", "retries-exhausted"]),
    );
    expect(demoLines({ maxAttempts: 2, now }).find((line) => line.note.startsWith("429"))?.expected).toBe(
      "retries-exhausted",
    );
    expect(
      demoLines({ maxAttempts: 1, now }).find((line) => line.expected === "already-existed"),
    ).toBeUndefined();
  });

  it("dates the demo's instructions from the run's clock, so the demo never ages", () => {
    const dates = (now: number) =>
      new Set(
        demoLines({ now }).flatMap((line) => {
          try {
            return (
              JSON.parse(line.body as string) as { instructions: { settledByDate: string }[] }
            ).instructions.map((i) => i.settledByDate);
          } catch {
            return [];
          }
        }),
      );
    expect(dates(Date.parse("2026-11-30T12:00:00Z"))).toEqual(new Set(["2026-12-30"]));
    expect(dates(Date.parse("2031-05-01T00:00:00Z"))).toEqual(new Set(["2031-05-31"]));
  });

  it("describes lines and renders the summary tables", () => {
    const entries: ReportEntry[] = [
      {
        line: 1,
        orderRef: "A-1",
        messageId: "m1",
        outcome: "submitted",
        attempts: 3,
        correlationId: "c1",
        outcomeEventId: "e1",
      },
      {
        line: 2,
        orderRef: "A-1",
        messageId: "m2",
        outcome: "submitted",
        attempts: 1,
        correlationId: "c2",
        outcomeEventId: "e1",
        duplicateOf: 1,
      },
      {
        line: 3,
        orderRef: null,
        messageId: null,
        outcome: "unpublishable",
        attempts: 0,
        correlationId: null,
        outcomeEventId: null,
        reason: "not valid JSON",
      },
    ];
    expect(entries.map(describeEntry)).toEqual([
      "line 1 A-1: submitted after 3 attempts",
      "line 2 A-1: submitted (duplicate delivery of line 1; Imburse not called)",
      "line 3: unpublishable: not valid JSON",
    ]);
    const text = renderSummary({ heading: "Drained: 3 lines in 1.0 s.", entries });
    expect(text).toContain("│ submitted         │     2 │");
    expect(text).toContain("│ unpublishable     │     1 │");
    expect(text).not.toContain("relay-failed");
    expect(text).toContain("│ total             │     3 │");
    expect(text).toMatch(/│ 2\s+│ A-1\s+│ submitted\s+│ 1\s+│ c2\s+│ duplicate of line 1\s+│/);
  });
});

describe("the circuit breaker in local progress", () => {
  const since = "2026-01-05T13:58:38.120Z";

  it("says why nothing moves while open, and how many orders wait", () => {
    expect(breakerNote({ phase: "open", since }, 120)).toBe(
      "paused: Imburse unavailable since 13:58:38 UTC, 120 orders waiting",
    );
    expect(breakerNote({ phase: "open", since, healthySince: since }, 1)).toBe(
      "paused: Imburse unavailable since 13:58:38 UTC, 1 order waiting",
    );
  });

  it("names the trial and the close", () => {
    expect(breakerNote({ phase: "trial", since }, 7)).toMatch(
      /^Circuit breaker half-open since 13:58:38 UTC: .*7 orders waiting\.$/,
    );
    expect(breakerNote({ phase: "closed", since }, 0)).toMatch(/^Circuit breaker closed/);
  });

  it("runs the breaker's schedule as often, relative to the alarm period, as the stacks: a fifth of it", () => {
    expect(breakerScheduleMs(infrastructureConfig("local"), 2)).toBe(400);
    expect(breakerScheduleMs(infrastructureConfig("local"), 5)).toBe(1000);
  });
});
